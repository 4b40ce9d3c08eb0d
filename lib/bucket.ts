import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransport, policyDocument, Statement } from "./iam";
import { withName } from "./tags";

export interface SecureBucketArgs {
    /** KMS key ARN for SSE-KMS (with a bucket key); undefined: SSE-S3 (AES256). */
    kmsKeyArn?: pulumi.Input<string>;
    /** Days after which noncurrent object versions expire. */
    noncurrentVersionExpirationDays: number;
    /** Extra lifecycle expirations: objects under `prefix` expire after `days`. */
    expirations?: { id: string; prefix: string; days: number }[];
    /** Keep the bucket and its objects on delete, and protect it from `pulumi destroy`. */
    protectData: boolean;
    /** S3 server access logs of this bucket go to `bucket` under `prefix`. Undefined: none (a log bucket). */
    accessLogs?: { bucket: pulumi.Input<string>; prefix: string };
    /** Statements added to the bucket policy after the TLS-only ones (e.g. log delivery), given the bucket's ARN. */
    extraStatements?: (bucketArn: pulumi.Output<string>) => Statement[];
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface SecureBucket {
    bucket: aws.s3.Bucket;
    /** The bucket policy: TLS only (other statements can be added by the caller's own policy). */
    policy: aws.s3.BucketPolicy;
    /**
     * Versioning: every object put into the bucket must wait for it (`dependsOn`), or an object
     * written before it is on has no version id to pin.
     */
    versioning: aws.s3.BucketVersioning;
}

/**
 * A private S3 bucket as every bucket of this project must be: ACLs off, all four public access
 * blocks on, versioning, default encryption, a TLS-only (1.2+) bucket policy and lifecycle rules.
 * Creates `${name}` and `${name}-<setting>` resources as children of `parent`.
 */
export function createSecureBucket(name: string, args: SecureBucketArgs, parent: pulumi.Resource): SecureBucket {
    const opts = { parent };
    const bucket = new aws.s3.Bucket(
        name,
        { forceDestroy: !args.protectData, tags: withName(args.tags, name) },
        { parent, protect: args.protectData, retainOnDelete: args.protectData },
    );
    new aws.s3.BucketOwnershipControls(
        `${name}-ownership`,
        { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
        opts,
    );
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
        `${name}-public-access-block`,
        {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        },
        opts,
    );
    const versioning = new aws.s3.BucketVersioning(
        `${name}-versioning`,
        { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
        opts,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-encryption`,
        {
            bucket: bucket.id,
            rules: [
                args.kmsKeyArn
                    ? {
                          applyServerSideEncryptionByDefault: {
                              sseAlgorithm: "aws:kms",
                              kmsMasterKeyId: args.kmsKeyArn,
                          },
                          bucketKeyEnabled: true,
                      }
                    : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
            ],
        },
        opts,
    );
    new aws.s3.BucketLifecycleConfiguration(
        `${name}-lifecycle`,
        {
            bucket: bucket.id,
            rules: [
                ...(args.expirations ?? []).map((e) => ({
                    id: e.id,
                    status: "Enabled",
                    filter: { prefix: e.prefix },
                    expiration: { days: e.days },
                })),
                {
                    id: "expire-noncurrent-versions",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays },
                    abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                },
            ],
        },
        { parent, dependsOn: [versioning] },
    );
    const policy = new aws.s3.BucketPolicy(
        `${name}-policy`,
        {
            bucket: bucket.id,
            policy: policyDocument([
                denyInsecureTransport("s3:*", [bucket.arn, pulumi.interpolate`${bucket.arn}/*`]),
                {
                    Sid: "DenyOutdatedTls",
                    Effect: "Deny",
                    Principal: { AWS: "*" },
                    Action: "s3:*",
                    Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                    Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
                },
                ...(args.extraStatements?.(bucket.arn) ?? []),
            ]),
        },
        { parent, dependsOn: [publicAccessBlock] },
    );
    if (args.accessLogs) {
        new aws.s3.BucketLogging(
            `${name}-access-logging`,
            { bucket: bucket.id, targetBucket: args.accessLogs.bucket, targetPrefix: args.accessLogs.prefix },
            opts,
        );
    }
    return { bucket, policy, versioning };
}
