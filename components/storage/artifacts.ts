// The artifacts bucket and what the program deploys into it, the same on both layouts.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { existsSync } from "fs";
import * as path from "path";
import { dagFiles, fileHash, folderHash, hasFiles, pathSlug } from "../../lib/artifacts";
import { SecureBucketArgs } from "../../lib/bucket";
import { AirflowStorageArgs, ResolvedStorageArgs } from "./args";

/** Where DAGs, requirements, plugins and task logs live in the artifacts bucket, on both layouts. */
export const ARTIFACT_KEYS = {
    dags: "dags/",
    requirements: "requirements/requirements.txt",
    plugins: "plugins/plugins.zip",
    logs: "logs/",
} as const;

/** The deployed artifacts: S3 keys and, for MWAA's pinning, object versions. */
export interface DeployedArtifacts {
    /** Keys of the uploaded DAG files. */
    dagKeys: string[];
    /** Version id of requirements/requirements.txt (MWAA's requirementsS3ObjectVersion). */
    requirementsVersion?: pulumi.Output<string>;
    /** Version id of plugins/plugins.zip (MWAA's pluginsS3ObjectVersion). */
    pluginsVersion?: pulumi.Output<string>;
    /** The upload resources, for `dependsOn`. */
    objects: aws.s3.BucketObjectv2[];
}

/**
 * The artifacts bucket: task logs under logs/ and replaced versions expire, S3 server access logs go
 * to the stack's log bucket under s3/artifacts/, and it is kept on delete when the data must survive.
 */
export function artifactsBucketArgs(
    resolved: Pick<ResolvedStorageArgs, "protectData" | "taskLogExpirationDays" | "noncurrentVersionExpirationDays">,
    args: Pick<AirflowStorageArgs, "artifacts" | "accessLogBucket" | "tags">,
): SecureBucketArgs {
    return {
        kmsKeyArn: args.artifacts?.kmsKeyArn,
        noncurrentVersionExpirationDays: resolved.noncurrentVersionExpirationDays,
        expirations: [{ id: "expire-task-logs", prefix: ARTIFACT_KEYS.logs, days: resolved.taskLogExpirationDays }],
        protectData: resolved.protectData,
        accessLogs: args.accessLogBucket ? { bucket: args.accessLogBucket, prefix: "s3/artifacts/" } : undefined,
        tags: args.tags,
    };
}

/** One object the program uploads: a file, or a folder zipped. */
export interface ArtifactUpload {
    /** The object resource is named `<name>-<role>`. */
    role: string;
    key: string;
    source: { file: string } | { archive: string };
    /** Content hash: a changed file changes the object (and, pinned, MWAA's environment). */
    hash: string;
    contentType: string;
    /** The object whose version MWAA pins. */
    pin?: "requirements" | "plugins";
}

/**
 * What `deploy` uploads, read from disk when the program runs: every DAG file under dags/, the
 * requirements file when it exists, the plugins folder zipped when it has files.
 */
export function artifactUploads(deploy: NonNullable<AirflowStorageArgs["deploy"]>): ArtifactUpload[] {
    const uploads: ArtifactUpload[] = dagFiles(deploy.dagsDir).map((rel) => {
        const file = path.join(deploy.dagsDir, rel);
        return {
            role: `dag-${pathSlug(rel)}`,
            key: `${ARTIFACT_KEYS.dags}${rel}`,
            source: { file },
            hash: fileHash(file),
            contentType: rel.endsWith(".py") ? "text/x-python" : "application/octet-stream",
        };
    });
    if (deploy.requirementsFile && existsSync(deploy.requirementsFile)) {
        const file = deploy.requirementsFile;
        uploads.push({
            role: "requirements",
            key: ARTIFACT_KEYS.requirements,
            source: { file },
            hash: fileHash(file),
            contentType: "text/plain",
            pin: "requirements",
        });
    }
    if (deploy.pluginsDir && hasFiles(deploy.pluginsDir)) {
        uploads.push({
            role: "plugins",
            key: ARTIFACT_KEYS.plugins,
            source: { archive: deploy.pluginsDir },
            hash: folderHash(deploy.pluginsDir),
            contentType: "application/zip",
            pin: "plugins",
        });
    }
    return uploads;
}

/** Uploads the DAGs, requirements and plugins after `dependsOn` (the bucket's versioning and policy). */
export function deployArtifacts(
    name: string,
    deploy: AirflowStorageArgs["deploy"],
    bucket: aws.s3.Bucket,
    dependsOn: pulumi.Resource[],
    parent: pulumi.Resource,
): DeployedArtifacts {
    const result: DeployedArtifacts = { dagKeys: [], objects: [] };
    if (!deploy) return result;
    for (const upload of artifactUploads(deploy)) {
        const source =
            "file" in upload.source
                ? new pulumi.asset.FileAsset(upload.source.file)
                : new pulumi.asset.FileArchive(upload.source.archive);
        const object = new aws.s3.BucketObjectv2(
            `${name}-${upload.role}`,
            { bucket: bucket.id, key: upload.key, source, sourceHash: upload.hash, contentType: upload.contentType },
            { parent, dependsOn },
        );
        result.objects.push(object);
        if (upload.pin === "requirements") result.requirementsVersion = object.versionId;
        else if (upload.pin === "plugins") result.pluginsVersion = object.versionId;
        else result.dagKeys.push(upload.key);
    }
    return result;
}
