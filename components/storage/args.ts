// AirflowStorage's arguments: their types, their defaults (those of the stack configuration) and the
// up-front check (the configuration keys' own rules).
import * as pulumi from "@pulumi/pulumi";
import {
    Broker,
    CELERY_DEFAULTS,
    CONFIG_KEYS,
    Layout,
    STORAGE_DEFAULTS,
    StorageSettings as ConfigStorageSettings,
} from "../../config";
import { POOL_NAME } from "../../config/celery";
import { flowerOnSqs, storageCeilingBelowAllocated } from "../../config/storage";
import { KeySpec } from "../../config/spec";
import { airflowMajor, DEFAULT_AIRFLOW_VERSION } from "../../config/versions";

export interface AirflowStorageArgs {
    /** Environment name, used in secret names (`airflow/<environment>/config/...`). Required. */
    environment: string;
    /**
     * Layout the storage serves: "celery" creates the metadata database, broker, shared file system
     * and Airflow's secrets; "mwaa" only the artifacts bucket (MWAA brings the rest). Required.
     */
    layout: Layout;
    /** Airflow major version (3 adds the JWT secret). Default: the major of DEFAULT_AIRFLOW_VERSION (3). */
    airflowMajor?: 2 | 3;
    /** Where the stateful services run. Required for the celery layout. */
    network: {
        /** Private subnets, one per AZ (their number decides the EFS mount targets). */
        privateSubnetIds: pulumi.Input<string>[];
        databaseSecurityGroupId: pulumi.Input<string>;
        brokerSecurityGroupId: pulumi.Input<string>;
        fileSystemSecurityGroupId: pulumi.Input<string>;
    };
    /** Keep the bucket, database and file system on delete and protect them (airflow:protectData). Default: false. */
    protectData?: boolean;
    /** The stack's log bucket: the artifacts bucket's S3 server access logs go there. Default: none. */
    accessLogBucket?: pulumi.Input<string>;
    /**
     * The artifacts bucket (airflow:artifactsKmsKeyArn, airflow:taskLogExpirationDays,
     * airflow:noncurrentVersionExpirationDays). Defaults: SSE-S3, task logs kept 30 days, old versions 30 days.
     */
    artifacts?: {
        kmsKeyArn?: pulumi.Input<string>;
        taskLogExpirationDays?: number;
        noncurrentVersionExpirationDays?: number;
    };
    /** Days a deleted secret can be restored: 0, or 7 to 30 (airflow:secretRecoveryWindowDays). Default: 7. */
    secretRecoveryWindowDays?: number;
    /**
     * The metadata database (celery layout; the airflow:db* keys). Defaults: PostgreSQL 16, db.t4g.micro,
     * 20 GiB growing to 100 GiB, single-AZ, 7 days of backups, no deletion protection, no Performance Insights.
     */
    database?: {
        engineVersion?: string;
        instanceClass?: pulumi.Input<string>;
        allocatedStorageGb?: number;
        maxAllocatedStorageGb?: number;
        multiAz?: pulumi.Input<boolean>;
        backupRetentionDays?: number;
        deletionProtection?: pulumi.Input<boolean>;
        performanceInsights?: pulumi.Input<boolean>;
    };
    /**
     * The Celery broker (celery layout; airflow:broker, airflow:brokerNodeType, airflow:brokerNodes).
     * Default: "redis" on one cache.t4g.micro node. With "sqs", one queue per name in `queues`, each
     * with a dead-letter queue.
     */
    broker?: { type?: Broker; nodeType?: pulumi.Input<string>; nodes?: number };
    /** Celery queues (one per worker pool). Default: the default worker pool's, ["default"]. */
    queues?: string[];
    /** Create the Flower basic-auth secret (redis broker only; airflow:flower). Default: true. */
    flower?: boolean;
    /** The shared file system (celery layout; airflow:sharedFileSystem*). Default: enabled, backups off. */
    sharedFileSystem?: { enabled?: boolean; backups?: boolean };
    /**
     * What the program deploys to the artifacts bucket, on both layouts: every file of `dagsDir`
     * under `dags/` (byte code, caches, README.md and requirements.txt left out), `requirementsFile`
     * as `requirements/requirements.txt` (when the file exists), and `pluginsDir` zipped as `plugins/plugins.zip` when it
     * has files. Paths are read when the program runs. Default: nothing is uploaded.
     */
    deploy?: { dagsDir: string; requirementsFile?: string; pluginsDir?: string };
    /**
     * Retention in days of the database's exported log groups (`/aws/rds/instance/<id>/postgresql` and
     * `.../upgrade`), which the component creates before the database: RDS would otherwise create
     * them, kept forever (airflow:logRetentionDays). Default: 30.
     */
    logRetentionDays?: number;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The stack configuration's storage slice (without the log bucket's expiration) as AirflowStorage's
 * arguments: `Pick` fails to compile when the slice has a field the arguments do not, the assignment
 * in index.ts when a field's type differs. So index.ts passes the slice as it is.
 */
export type AirflowStorageSettings = Pick<AirflowStorageArgs, keyof ConfigStorageSettings>;

/** The arguments with every default applied and every rule checked. */
export interface ResolvedStorageArgs {
    environment: string;
    layout: Layout;
    airflowMajor: 2 | 3;
    protectData: boolean;
    taskLogExpirationDays: number;
    noncurrentVersionExpirationDays: number;
    secretRecoveryWindowDays: number;
    database: {
        engineVersion: string;
        instanceClass: pulumi.Input<string>;
        allocatedStorageGb: number;
        maxAllocatedStorageGb: number;
        multiAz: pulumi.Input<boolean>;
        backupRetentionDays: number;
        deletionProtection: pulumi.Input<boolean>;
        performanceInsights: pulumi.Input<boolean>;
    };
    broker: { type: Broker; nodeType: pulumi.Input<string>; nodes: number };
    queues: readonly string[];
    flower: boolean;
    sharedFileSystem: { enabled: boolean; backups: boolean };
    logRetentionDays: number;
}

/** Each setting left out takes the default of its configuration key, so a stack without the key and the component agree. */
export function resolveStorageDefaults(args: AirflowStorageArgs): ResolvedStorageArgs {
    const d: ConfigStorageSettings = STORAGE_DEFAULTS;
    const given = <T extends object>(o: T | undefined): Partial<T> =>
        Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
    const artifacts = { ...d.artifacts, ...given(args.artifacts) };
    return {
        environment: args.environment,
        layout: args.layout,
        airflowMajor: args.airflowMajor ?? airflowMajor(DEFAULT_AIRFLOW_VERSION),
        protectData: args.protectData ?? d.protectData,
        taskLogExpirationDays: artifacts.taskLogExpirationDays,
        noncurrentVersionExpirationDays: artifacts.noncurrentVersionExpirationDays,
        secretRecoveryWindowDays: args.secretRecoveryWindowDays ?? d.secretRecoveryWindowDays,
        database: { ...d.database, ...given(args.database) },
        broker: { ...d.broker, ...given(args.broker) },
        queues: args.queues ?? CELERY_DEFAULTS.workerPools.map((p) => p.name),
        flower: args.flower ?? CELERY_DEFAULTS.flower,
        sharedFileSystem: { ...d.sharedFileSystem, ...given(args.sharedFileSystem) },
        logRetentionDays: args.logRetentionDays ?? CELERY_DEFAULTS.logRetentionDays,
    };
}

/** One broken rule: the field and the rest of the sentence (`must be ..., got ...`). */
export interface ArgViolation {
    field: string;
    message: string;
}

/**
 * Every rule the arguments break, in field order. Each plain value is checked against its
 * configuration key's own schema and reported with the key's allowed values, so the loader and the
 * component apply one rule.
 */
export function storageArgViolations(
    resolved: ResolvedStorageArgs,
    args: Pick<AirflowStorageArgs, "network">,
): ArgViolation[] {
    const out: ArgViolation[] = [];
    const fail = (field: string, allowed: string, got: unknown) =>
        out.push({ field, message: `must be ${allowed}, got ${JSON.stringify(got)}` });
    // Each value against its configuration key's schema (airflow:<key> in the README's key table).
    const keyed: [string, KeySpec<unknown>, unknown][] = [
        ["environment", CONFIG_KEYS.environment, resolved.environment],
        ["layout", CONFIG_KEYS.layout, resolved.layout],
        ["artifacts.taskLogExpirationDays", CONFIG_KEYS.taskLogExpirationDays, resolved.taskLogExpirationDays],
        [
            "artifacts.noncurrentVersionExpirationDays",
            CONFIG_KEYS.noncurrentVersionExpirationDays,
            resolved.noncurrentVersionExpirationDays,
        ],
        ["broker.type", CONFIG_KEYS.broker, resolved.broker.type],
        ["broker.nodes", CONFIG_KEYS.brokerNodes, resolved.broker.nodes],
        ["database.engineVersion", CONFIG_KEYS.dbEngineVersion, resolved.database.engineVersion],
        ["database.allocatedStorageGb", CONFIG_KEYS.dbAllocatedStorageGb, resolved.database.allocatedStorageGb],
        ["database.backupRetentionDays", CONFIG_KEYS.dbBackupRetentionDays, resolved.database.backupRetentionDays],
        ["secretRecoveryWindowDays", CONFIG_KEYS.secretRecoveryWindowDays, resolved.secretRecoveryWindowDays],
        ["logRetentionDays", CONFIG_KEYS.logRetentionDays, resolved.logRetentionDays],
    ];
    for (const [field, spec, value] of keyed)
        if (!spec.schema.safeParse(value).success) fail(field, spec.allowed, value);
    if (resolved.airflowMajor !== 2 && resolved.airflowMajor !== 3)
        fail("airflowMajor", "2 or 3", resolved.airflowMajor);
    // The rules between settings, written once in config/storage.ts.
    const { allocatedStorageGb, maxAllocatedStorageGb } = resolved.database;
    if (storageCeilingBelowAllocated(allocatedStorageGb, maxAllocatedStorageGb)) {
        fail(
            "database.maxAllocatedStorageGb",
            `at least database.allocatedStorageGb (${allocatedStorageGb})`,
            maxAllocatedStorageGb,
        );
    }
    if (flowerOnSqs(resolved.flower, resolved.broker.type)) {
        fail("flower", "false with the sqs broker (Celery cannot inspect SQS)", resolved.flower);
    }
    if (resolved.queues.length === 0 || !resolved.queues.every((q) => POOL_NAME.test(q))) {
        fail("queues", "a non-empty list of lowercase queue names", resolved.queues);
    }
    if (
        resolved.layout === "celery" &&
        resolved.sharedFileSystem.enabled &&
        args.network.privateSubnetIds.length === 0
    ) {
        fail("network.privateSubnetIds", "at least one subnet", []);
    }
    return out;
}

/** Applies the defaults and checks the arguments, throwing a ResourceError naming the first bad field. */
export function resolveStorageArgs(
    name: string,
    args: AirflowStorageArgs,
    resource: pulumi.Resource,
): ResolvedStorageArgs {
    const resolved = resolveStorageDefaults(args);
    const problem = storageArgViolations(resolved, args)[0];
    if (problem) {
        throw new pulumi.ResourceError(`AirflowStorage ${name}: ${problem.field} ${problem.message}`, resource);
    }
    return resolved;
}
