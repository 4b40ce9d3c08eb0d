// The metadata database: RDS PostgreSQL with TLS forced, private, encrypted, its logs kept for a while.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { RDS_CA_IDENTIFIER } from "../../lib/airflow-uris";
import { withName } from "../../lib/tags";
import { PORTS } from "../network";
import { AirflowStorageArgs, ResolvedStorageArgs } from "./args";

/** The logs the metadata database exports to CloudWatch Logs, each to `/aws/rds/instance/<id>/<log>`. */
export const RDS_EXPORTED_LOGS = ["postgresql", "upgrade"] as const;

/** The log group RDS exports one of an instance's logs to. */
export function rdsLogGroupName(instanceIdentifier: string, log: string): string {
    return `/aws/rds/instance/${instanceIdentifier}/${log}`;
}

/** The database and user Airflow connects as. */
export const DATABASE_NAME = "airflow";
export const DATABASE_USER = "airflow";

/**
 * The RDS instance identifier: fixed, so that the log groups RDS exports to can be created first,
 * with a retention.
 */
export function databaseIdentifier(name: string): string {
    return `${name}-db`;
}

/** The parameter group: the engine's family, and TLS required of every client (`rds.force_ssl`). */
export function databaseParameterGroupArgs(engineVersion: string): {
    family: string;
    description: string;
    parameters: { name: string; value: string }[];
} {
    return {
        family: `postgres${engineVersion}`,
        description: "Airflow metadata database: TLS required",
        parameters: [{ name: "rds.force_ssl", value: "1" }],
    };
}

/** What the instance needs from the resources created before it. */
export interface DatabaseRefs {
    password: pulumi.Input<string>;
    subnetGroupName: pulumi.Input<string>;
    parameterGroupName: pulumi.Input<string>;
    securityGroupId: pulumi.Input<string>;
    /** Random suffix of the final snapshot's name (a kept database takes one on delete). */
    finalSnapshotSuffix: pulumi.Input<string>;
}

/**
 * The instance: gp3 with storage autoscaling, encrypted, private, exporting its logs, on the
 * RSA 2048 CA. With `protectData` it keeps a final snapshot and applies changes in the maintenance
 * window; otherwise it is deleted without one and changes apply at once.
 */
export function databaseInstanceArgs(
    name: string,
    resolved: Pick<ResolvedStorageArgs, "database" | "protectData">,
    refs: DatabaseRefs,
    tags: AirflowStorageArgs["tags"],
): aws.rds.InstanceArgs {
    const db = resolved.database;
    return {
        identifier: databaseIdentifier(name),
        engine: "postgres",
        engineVersion: db.engineVersion,
        autoMinorVersionUpgrade: true,
        instanceClass: db.instanceClass,
        allocatedStorage: db.allocatedStorageGb,
        maxAllocatedStorage: db.maxAllocatedStorageGb,
        storageType: "gp3",
        storageEncrypted: true,
        dbName: DATABASE_NAME,
        username: DATABASE_USER,
        password: refs.password,
        port: PORTS.postgres,
        dbSubnetGroupName: refs.subnetGroupName,
        parameterGroupName: refs.parameterGroupName,
        vpcSecurityGroupIds: [refs.securityGroupId],
        publiclyAccessible: false,
        multiAz: db.multiAz,
        backupRetentionPeriod: db.backupRetentionDays,
        copyTagsToSnapshot: true,
        deletionProtection: db.deletionProtection,
        skipFinalSnapshot: !resolved.protectData,
        finalSnapshotIdentifier: resolved.protectData
            ? pulumi.interpolate`${name}-db-final-${refs.finalSnapshotSuffix}`
            : undefined,
        performanceInsightsEnabled: db.performanceInsights,
        enabledCloudwatchLogsExports: [...RDS_EXPORTED_LOGS],
        // The clients verify the server against this CA's root (lib/airflow-uris.ts).
        caCertIdentifier: RDS_CA_IDENTIFIER,
        applyImmediately: !resolved.protectData,
        tags: withName(tags, `${name}-db`),
    };
}

/** The subnet group, parameter group, log groups and instance of the metadata database. */
export function createDatabase(
    name: string,
    resolved: ResolvedStorageArgs,
    args: AirflowStorageArgs,
    password: pulumi.Output<string>,
    parent: pulumi.Resource,
): aws.rds.Instance {
    const tags = args.tags;
    const subnets = new aws.rds.SubnetGroup(
        `${name}-db-subnets`,
        { subnetIds: args.network.privateSubnetIds, tags: withName(tags, `${name}-db-subnets`) },
        { parent },
    );
    const parameters = new aws.rds.ParameterGroup(
        `${name}-db-params`,
        { ...databaseParameterGroupArgs(resolved.database.engineVersion), tags: withName(tags, `${name}-db-params`) },
        { parent },
    );
    const finalSnapshotSuffix = new random.RandomId(`${name}-db-final-snapshot-suffix`, { byteLength: 4 }, { parent });
    const logGroups = RDS_EXPORTED_LOGS.map(
        (log) =>
            new aws.cloudwatch.LogGroup(
                `${name}-db-logs-${log}`,
                {
                    name: rdsLogGroupName(databaseIdentifier(name), log),
                    retentionInDays: resolved.logRetentionDays,
                    tags: withName(tags, `${name}-db-logs-${log}`),
                },
                { parent },
            ),
    );
    const refs: DatabaseRefs = {
        password,
        subnetGroupName: subnets.name,
        parameterGroupName: parameters.name,
        securityGroupId: args.network.databaseSecurityGroupId,
        finalSnapshotSuffix: finalSnapshotSuffix.hex,
    };
    return new aws.rds.Instance(`${name}-db`, databaseInstanceArgs(name, resolved, refs, tags), {
        parent,
        protect: resolved.protectData,
        retainOnDelete: resolved.protectData,
        dependsOn: logGroups,
    });
}
