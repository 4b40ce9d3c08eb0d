// The shared file system: EFS, encrypted, TLS only, mounted only through one access point.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransport, policyDocument, Statement } from "../../lib/iam";
import { withName } from "../../lib/tags";
import { AirflowStorageArgs, ResolvedStorageArgs } from "./args";

/** The Airflow user of the official image: uid 50000, gid 0. */
export const AIRFLOW_UID = 50000;
export const AIRFLOW_GID = 0;

/** The shared EFS file system and the access point every Airflow container mounts it through. */
export interface SharedFileSystem {
    id: pulumi.Output<string>;
    arn: pulumi.Output<string>;
    accessPointId: pulumi.Output<string>;
    accessPointArn: pulumi.Output<string>;
}

/** The access point: every client is the Airflow user, rooted at /airflow, which EFS creates owned by it. */
export function accessPointSettings(): Pick<aws.efs.AccessPointArgs, "posixUser" | "rootDirectory"> {
    return {
        posixUser: { uid: AIRFLOW_UID, gid: AIRFLOW_GID },
        rootDirectory: {
            path: "/airflow",
            creationInfo: { ownerUid: AIRFLOW_UID, ownerGid: AIRFLOW_GID, permissions: "0775" },
        },
    };
}

/** The file system policy: TLS only, and no mount except through an access point. */
export function fileSystemPolicyStatements(fileSystemArn: pulumi.Input<string>): Statement[] {
    return [
        denyInsecureTransport("*", fileSystemArn),
        {
            Sid: "MountThroughAccessPointOnly",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "elasticfilesystem:ClientMount",
            Resource: fileSystemArn,
            Condition: { Null: { "elasticfilesystem:AccessPointArn": "true" } },
        },
    ];
}

/** The file system, a mount target per private subnet, the access point, its backup setting and policy. */
export function createFileSystem(
    name: string,
    resolved: ResolvedStorageArgs,
    args: AirflowStorageArgs,
    parent: pulumi.Resource,
): { fileSystem: aws.efs.FileSystem; accessPoint: aws.efs.AccessPoint } {
    const tags = args.tags;
    const fileSystem = new aws.efs.FileSystem(
        `${name}-fs`,
        {
            encrypted: true,
            performanceMode: "generalPurpose",
            throughputMode: "elastic",
            lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }],
            tags: withName(tags, `${name}-fs`),
        },
        { parent, protect: resolved.protectData, retainOnDelete: resolved.protectData },
    );
    args.network.privateSubnetIds.forEach(
        (subnetId, i) =>
            new aws.efs.MountTarget(
                `${name}-fs-mount-${i}`,
                { fileSystemId: fileSystem.id, subnetId, securityGroups: [args.network.fileSystemSecurityGroupId] },
                { parent },
            ),
    );
    const accessPoint = new aws.efs.AccessPoint(
        `${name}-fs-ap`,
        { fileSystemId: fileSystem.id, ...accessPointSettings(), tags: withName(tags, `${name}-fs-ap`) },
        { parent },
    );
    new aws.efs.BackupPolicy(
        `${name}-fs-backup`,
        {
            fileSystemId: fileSystem.id,
            backupPolicy: { status: resolved.sharedFileSystem.backups ? "ENABLED" : "DISABLED" },
        },
        { parent },
    );
    new aws.efs.FileSystemPolicy(
        `${name}-fs-policy`,
        { fileSystemId: fileSystem.id, policy: policyDocument(fileSystemPolicyStatements(fileSystem.arn)) },
        { parent },
    );
    return { fileSystem, accessPoint };
}
