import { z } from "zod";
import { atLeast, boolKey, enumKey, intKey, key, KeySpec, MUST_BE_TRUE, productionKey, shown } from "./spec";

export const BROKERS = ["redis", "sqs"] as const;
export type Broker = (typeof BROKERS)[number];

/** PostgreSQL major versions Airflow 2.9-3.x supports and RDS offers. */
export const POSTGRES_VERSIONS = ["13", "14", "15", "16", "17"] as const;

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** Secrets Manager's recovery window of a deleted secret: 0 (delete at once) or 7 to 30 days. */
export function isRecoveryWindow(days: number): boolean {
    return Number.isInteger(days) && (days === 0 || (days >= 7 && days <= 30));
}
export const RECOVERY_WINDOW_ALLOWED = "0 or a whole number from 7 to 30";

export const storageKeys = {
    artifactsKmsKeyArn: key<string>({
        type: "string",
        description:
            "KMS key that encrypts the artifacts bucket (SSE-KMS with a bucket key). Empty: SSE-S3 (AES256), no KMS cost.",
        default: "",
        allowed: "empty or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
        schema: z.string().refine((v) => v === "" || KMS_KEY_ARN.test(v)),
    }),
    taskLogExpirationDays: intKey(
        1,
        3650,
        30,
        "Days after which task logs under logs/ in the artifacts bucket expire.",
    ),
    noncurrentVersionExpirationDays: intKey(
        1,
        3650,
        30,
        "Days after which replaced versions of DAGs, requirements and plugins in the artifacts bucket expire.",
    ),
    accessLogExpirationDays: intKey(
        1,
        3650,
        90,
        "Days after which objects in the stack's log bucket (S3 server access logs of the artifacts and ML buckets, the load balancer's access logs) expire.",
    ),
    protectData: productionKey(
        boolKey(
            false,
            "Data must survive: the bucket, database and file system are protected and retained on delete, the database keeps a final snapshot, and buckets are never force-emptied.",
        ),
        MUST_BE_TRUE("a production stack's data survives replace and destroy"),
    ),
    secretRecoveryWindowDays: key<number>({
        type: "integer",
        description:
            "Days a deleted Airflow secret can be restored. 0 deletes at once, so that a destroyed stack can be recreated with the same secret names straight away.",
        default: 7,
        allowed: RECOVERY_WINDOW_ALLOWED,
        schema: z.number().int().refine(isRecoveryWindow),
    }),
    dbEngineVersion: enumKey(
        POSTGRES_VERSIONS,
        "16",
        "PostgreSQL major version of the metadata database (celery layout). RDS applies minor versions automatically.",
    ),
    dbInstanceClass: key<string>({
        type: "string",
        description: "RDS instance class of the metadata database (celery layout).",
        default: "db.t4g.micro",
        allowed:
            'an RDS instance class offered for airflow:dbEngineVersion in the stack\'s region, such as "db.t4g.micro", "db.t4g.medium" or "db.m7g.large" (checked against config/aws-data/instance-types.json, from AWS\'s price list)',
        schema: z.string().regex(/^db\.[a-z0-9-]+\.[a-z0-9-]+$/),
    }),
    dbAllocatedStorageGb: intKey(
        20,
        65536,
        20,
        "Initial storage of the metadata database in GiB (gp3; RDS minimum 20).",
    ),
    dbMaxAllocatedStorageGb: intKey(
        20,
        65536,
        100,
        "Storage autoscaling ceiling of the metadata database in GiB; equal to dbAllocatedStorageGb turns autoscaling off.",
    ),
    dbMultiAz: productionKey(
        boolKey(false, "Run the metadata database with a standby in a second availability zone."),
        MUST_BE_TRUE("a production database survives the loss of an availability zone"),
    ),
    dbBackupRetentionDays: productionKey(
        intKey(1, 35, 7, "Days of automated backups (point-in-time recovery) of the metadata database."),
        atLeast(7, "a production database can be restored to any point of the last week"),
    ),
    dbDeletionProtection: productionKey(
        boolKey(false, "Turn on RDS deletion protection for the metadata database."),
        MUST_BE_TRUE("a production database cannot be deleted by a stray destroy"),
    ),
    dbPerformanceInsights: boolKey(
        false,
        "Turn on Performance Insights (7 days, free tier) for the metadata database.",
    ),
    broker: enumKey(
        BROKERS,
        "redis",
        "Celery broker (celery layout): redis (ElastiCache Valkey with TLS and AUTH; needed for Flower) or sqs (one SQS queue per worker pool, with a dead-letter queue).",
    ),
    brokerNodeType: key<string>({
        type: "string",
        description: "ElastiCache node type of the Redis broker.",
        default: "cache.t4g.micro",
        allowed:
            'an ElastiCache node type offered in the stack\'s region, such as "cache.t4g.micro" or "cache.m7g.large" (checked against config/aws-data/instance-types.json, from AWS\'s price list)',
        schema: z.string().regex(/^cache\.[a-z0-9-]+\.[a-z0-9-]+$/),
    }),
    brokerNodes: productionKey(
        intKey(1, 6, 1, "Nodes of the Redis broker; 2 or more add replicas in other AZs with automatic failover."),
        atLeast(2, "a production broker has a replica and fails over automatically"),
    ),
    flower: boolKey(true, "Run Flower, the Celery monitoring UI (redis broker only), behind basic auth."),
    sharedFileSystem: boolKey(
        true,
        "Create an EFS file system (encrypted, an access point at /airflow owned by uid 50000) shared by the Airflow components.",
    ),
    sharedFileSystemBackups: boolKey(false, "Back up the shared file system with AWS Backup's daily plan."),
} satisfies Record<string, KeySpec<unknown>>;

/** Flower with the SQS broker: Celery cannot inspect SQS, so Flower would show nothing. The one statement of the rule. */
export function flowerOnSqs(flower: boolean, broker: Broker): boolean {
    return flower && broker === "sqs";
}

/** A storage autoscaling ceiling below the storage the database starts with. The one statement of the rule. */
export function storageCeilingBelowAllocated(allocatedStorageGb: number, maxAllocatedStorageGb: number): boolean {
    return maxAllocatedStorageGb < allocatedStorageGb;
}

/** Cross-key checks of the storage section (AirflowStorage applies the same predicates to its arguments). */
export function storageRules(v: {
    broker: Broker;
    flower: boolean;
    dbAllocatedStorageGb: number;
    dbMaxAllocatedStorageGb: number;
}): string[] {
    const errors: string[] = [];
    if (flowerOnSqs(v.flower, v.broker)) {
        errors.push(
            `airflow:flower must be false when airflow:broker is "sqs" (Celery cannot inspect an SQS broker, so Flower would show no workers or tasks), got ${shown(v.flower)}`,
        );
    }
    if (storageCeilingBelowAllocated(v.dbAllocatedStorageGb, v.dbMaxAllocatedStorageGb)) {
        errors.push(
            `airflow:dbMaxAllocatedStorageGb must be at least airflow:dbAllocatedStorageGb (${v.dbAllocatedStorageGb}), got ${v.dbMaxAllocatedStorageGb}`,
        );
    }
    return errors;
}
