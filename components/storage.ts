import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENVIRONMENT_PATTERN } from "../config/core";
import { isRecoveryWindow, RECOVERY_WINDOW_ALLOWED } from "../config/storage";
import * as random from "@pulumi/random";
import { BROKERS, Broker, Layout, LAYOUTS } from "../config";
import { POSTGRES_VERSIONS } from "../config/storage";
import { choiceText, LOG_RETENTION_DAYS } from "../config/spec";
import { existsSync } from "fs";
import * as path from "path";
import { dagFiles, fileHash, folderHash, hasFiles, pathSlug } from "../lib/artifacts";
import { createSecureBucket } from "../lib/bucket";
import { redisBrokerUri, resultBackendUri, SQS_BROKER_URI, sqlAlchemyConnUri } from "../lib/airflow-uris";
import { denyInsecureTransport, policyDocument } from "../lib/iam";
import { withName } from "../lib/tags";
import { PORTS } from "./network";

/** Where DAGs, requirements, plugins and task logs live in the artifacts bucket, on both layouts. */
export const ARTIFACT_KEYS = {
    dags: "dags/",
    requirements: "requirements/requirements.txt",
    plugins: "plugins/plugins.zip",
    logs: "logs/",
} as const;

/** The Airflow user of the official image: uid 50000, gid 0. */
export const AIRFLOW_UID = 50000;
export const AIRFLOW_GID = 0;

export interface AirflowStorageArgs {
    /** Environment name, used in secret names (`airflow/<environment>/config/...`). Required. */
    environment: string;
    /**
     * Layout the storage serves: "celery" creates the metadata database, broker, shared file system
     * and Airflow's secrets; "mwaa" only the artifacts bucket (MWAA brings the rest). Required.
     */
    layout: Layout;
    /** Airflow major version (3 adds the JWT secret). Default: 3. */
    airflowMajor?: 2 | 3;
    /** Where the stateful services run. Required for the celery layout. */
    network: {
        /** Private subnets, one per AZ (their number decides the EFS mount targets). */
        privateSubnetIds: pulumi.Input<string>[];
        databaseSecurityGroupId: pulumi.Input<string>;
        brokerSecurityGroupId: pulumi.Input<string>;
        fileSystemSecurityGroupId: pulumi.Input<string>;
    };
    /** Keep the bucket, database and file system on delete and protect them. Default: false. */
    protectData?: boolean;
    /** The stack's log bucket: the artifacts bucket's S3 server access logs go there. Default: none. */
    accessLogBucket?: pulumi.Input<string>;
    /** The artifacts bucket. Defaults: SSE-S3, task logs kept 30 days, old versions 30 days. */
    artifacts?: {
        kmsKeyArn?: pulumi.Input<string>;
        taskLogExpirationDays?: number;
        noncurrentVersionExpirationDays?: number;
    };
    /** Days a deleted secret can be restored: 0, or 7 to 30. Default: 7. */
    secretRecoveryWindowDays?: number;
    /**
     * The metadata database (celery layout). Defaults: PostgreSQL 16, db.t4g.micro, 20 GiB growing
     * to 100 GiB, single-AZ, 7 days of backups, no deletion protection, no Performance Insights.
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
     * The Celery broker (celery layout). Default: "redis" on one cache.t4g.micro node.
     * With "sqs", one queue per name in `queues`, each with a dead-letter queue.
     */
    broker?: { type?: Broker; nodeType?: pulumi.Input<string>; nodes?: number };
    /** Celery queues (one per worker pool). Default: ["default"]. */
    queues?: string[];
    /** Create the Flower basic-auth secret (redis broker only). Default: false. */
    flower?: boolean;
    /** The shared file system (celery layout). Default: enabled, backups off. */
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
     * them, kept forever. Default: 30.
     */
    logRetentionDays?: number;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The logs the metadata database exports to CloudWatch Logs, each to `/aws/rds/instance/<id>/<log>`. */
export const RDS_EXPORTED_LOGS = ["postgresql", "upgrade"] as const;

/** The log group RDS exports one of an instance's logs to. */
export function rdsLogGroupName(instanceIdentifier: string, log: string): string {
    return `/aws/rds/instance/${instanceIdentifier}/${log}`;
}

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

/** ARNs of the Secrets Manager secrets the Airflow components read (never their values). */
export interface AirflowSecretArns {
    /** AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: postgresql+psycopg2://... */
    sqlAlchemyConn: pulumi.Output<string>;
    /** AIRFLOW__CELERY__RESULT_BACKEND: db+postgresql://... */
    resultBackend: pulumi.Output<string>;
    /** AIRFLOW__CELERY__BROKER_URL: rediss://... or sqs:// */
    brokerUrl: pulumi.Output<string>;
    /** AIRFLOW__CORE__FERNET_KEY */
    fernetKey: pulumi.Output<string>;
    /** AIRFLOW__API__SECRET_KEY (3.x) or AIRFLOW__WEBSERVER__SECRET_KEY (2.x) */
    apiSecretKey: pulumi.Output<string>;
    /** AIRFLOW__API_AUTH__JWT_SECRET (3.x only) */
    jwtSecret?: pulumi.Output<string>;
    /** Password of the "admin" user created by the migration task. */
    adminPassword: pulumi.Output<string>;
    /** AIRFLOW__CELERY__FLOWER_BASIC_AUTH: user:password (when Flower runs) */
    flowerBasicAuth?: pulumi.Output<string>;
}

/** The shared EFS file system and the access point every Airflow container mounts it through. */
export interface SharedFileSystem {
    id: pulumi.Output<string>;
    arn: pulumi.Output<string>;
    accessPointId: pulumi.Output<string>;
    accessPointArn: pulumi.Output<string>;
}

/**
 * Every stateful piece of an Airflow environment. Both layouts get the artifacts bucket, the one
 * place DAGs, requirements, plugins (and, on the celery layout, task logs) are deployed to. The
 * celery layout also gets the metadata database (RDS PostgreSQL, TLS forced), the Celery broker
 * (ElastiCache Valkey with TLS and AUTH, or SQS), the shared file system (EFS) and Airflow's own
 * secrets, each generated with @pulumi/random and kept only in Secrets Manager.
 */
export class AirflowStorage extends pulumi.ComponentResource {
    public readonly artifactsBucketName: pulumi.Output<string>;
    public readonly artifactsBucketArn: pulumi.Output<string>;
    /** The bucket resource, for uploads that other components make (DAGs, requirements). */
    public readonly artifactsBucket: aws.s3.Bucket;
    /**
     * The bucket's versioning: whatever writes objects into the bucket, or pins their versions (MWAA),
     * waits for it.
     */
    public readonly artifactsBucketVersioning: aws.s3.BucketVersioning;
    public readonly databaseEndpoint?: pulumi.Output<string>;
    public readonly databasePort?: pulumi.Output<number>;
    /** RDS instance identifier of the metadata database (its CloudWatch dimension). */
    public readonly databaseInstanceId?: pulumi.Output<string>;
    public readonly brokerType?: Broker;
    /** Redis primary endpoint address (redis broker). */
    public readonly brokerEndpoint?: pulumi.Output<string>;
    /** ElastiCache replication group id (redis broker). */
    public readonly brokerReplicationGroupId?: pulumi.Output<string>;
    /** SQS queue URL and ARN per Celery queue name (sqs broker). */
    public readonly queues?: Record<string, { url: pulumi.Output<string>; arn: pulumi.Output<string> }>;
    public readonly fileSystemId?: pulumi.Output<string>;
    public readonly fileSystemArn?: pulumi.Output<string>;
    public readonly accessPointId?: pulumi.Output<string>;
    public readonly accessPointArn?: pulumi.Output<string>;
    /** The shared file system and its access point together, when there is one. */
    public readonly fileSystem?: SharedFileSystem;
    /** Present on the celery layout. */
    public readonly secretArns?: AirflowSecretArns;
    /** What `deploy` uploaded. */
    public readonly artifacts: DeployedArtifacts;

    constructor(name: string, args: AirflowStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:storage:AirflowStorage", name, {}, opts);
        const resolved = validateArgs(name, args, this);
        const tags = args.tags;
        const parent = { parent: this };

        const artifacts = createSecureBucket(
            `${name}-artifacts`,
            {
                kmsKeyArn: args.artifacts?.kmsKeyArn,
                noncurrentVersionExpirationDays: resolved.noncurrentVersionExpirationDays,
                expirations: [
                    { id: "expire-task-logs", prefix: ARTIFACT_KEYS.logs, days: resolved.taskLogExpirationDays },
                ],
                protectData: resolved.protectData,
                accessLogs: args.accessLogBucket
                    ? { bucket: args.accessLogBucket, prefix: "s3/artifacts/" }
                    : undefined,
                tags,
            },
            this,
        );
        this.artifactsBucket = artifacts.bucket;
        this.artifactsBucketName = artifacts.bucket.bucket;
        this.artifactsBucketArn = artifacts.bucket.arn;
        this.artifactsBucketVersioning = artifacts.versioning;
        // After versioning is on: an object put before has no version id, and MWAA pins versions.
        this.artifacts = this.deployArtifacts(name, args.deploy, artifacts.bucket, [
            artifacts.policy,
            artifacts.versioning,
        ]);

        if (resolved.layout === "celery") {
            const dbPassword = new random.RandomPassword(`${name}-db-password`, { length: 32, special: false }, parent);
            const database = this.createDatabase(name, resolved, args, dbPassword.result);
            this.databaseEndpoint = database.address;
            this.databasePort = database.port;
            this.databaseInstanceId = database.identifier;
            const dbCredentials = pulumi.interpolate`airflow:${dbPassword.result}@${database.address}:${database.port}/airflow`;

            this.brokerType = resolved.broker.type;
            let brokerUrl: pulumi.Output<string>;
            if (resolved.broker.type === "redis") {
                const token = new random.RandomPassword(
                    `${name}-broker-auth-token`,
                    { length: 64, special: false },
                    parent,
                );
                const group = this.createRedis(name, resolved, args, token.result);
                this.brokerEndpoint = group.primaryEndpointAddress;
                this.brokerReplicationGroupId = group.replicationGroupId;
                brokerUrl = pulumi
                    .all([token.result, group.primaryEndpointAddress])
                    .apply(([password, host]) => redisBrokerUri({ password, host, port: PORTS.redis, tls: true }));
            } else {
                this.queues = this.createQueues(name, resolved.queues, tags);
                brokerUrl = pulumi.output(SQS_BROKER_URI);
            }

            if (resolved.sharedFileSystem.enabled) {
                const fs = this.createFileSystem(name, resolved, args);
                this.fileSystemId = fs.fileSystem.id;
                this.fileSystemArn = fs.fileSystem.arn;
                this.accessPointId = fs.accessPoint.id;
                this.accessPointArn = fs.accessPoint.arn;
                this.fileSystem = {
                    id: fs.fileSystem.id,
                    arn: fs.fileSystem.arn,
                    accessPointId: fs.accessPoint.id,
                    accessPointArn: fs.accessPoint.arn,
                };
            }

            // Fernet key: URL-safe base64 of 32 random bytes, as cryptography.fernet.Fernet expects.
            const fernetBytes = new random.RandomBytes(`${name}-fernet-key`, { length: 32 }, parent);
            const fernetKey = fernetBytes.base64.apply((b) => b.replace(/\+/g, "-").replace(/\//g, "_"));
            const apiSecretKey = new random.RandomPassword(
                `${name}-api-secret-key`,
                { length: 64, special: false },
                parent,
            );
            const adminPassword = new random.RandomPassword(
                `${name}-admin-password`,
                { length: 24, special: false },
                parent,
            );

            const secret = (role: string, description: string, value: pulumi.Output<string>) =>
                this.createSecret(name, resolved, role, description, value, tags);
            this.secretArns = {
                sqlAlchemyConn: secret(
                    "sql-alchemy-conn",
                    "Airflow metadata database URI",
                    dbCredentials.apply((c) => sqlAlchemyConnUri(c, true)),
                ),
                resultBackend: secret(
                    "result-backend",
                    "Celery result backend URI",
                    dbCredentials.apply((c) => resultBackendUri(c, true)),
                ),
                brokerUrl: secret("broker-url", "Celery broker URL", brokerUrl),
                fernetKey: secret("fernet-key", "Airflow Fernet key", fernetKey),
                apiSecretKey: secret("api-secret-key", "Airflow API/webserver secret key", apiSecretKey.result),
                adminPassword: secret("admin-password", "Password of the Airflow admin user", adminPassword.result),
            };
            if (resolved.airflowMajor === 3) {
                const jwt = new random.RandomPassword(`${name}-jwt-secret`, { length: 64, special: false }, parent);
                this.secretArns.jwtSecret = secret("jwt-secret", "Airflow API JWT signing secret", jwt.result);
            }
            if (resolved.flower) {
                const flowerPassword = new random.RandomPassword(
                    `${name}-flower-password`,
                    { length: 24, special: false },
                    parent,
                );
                this.secretArns.flowerBasicAuth = secret(
                    "flower-basic-auth",
                    "Flower basic auth (user:password)",
                    pulumi.interpolate`admin:${flowerPassword.result}`,
                );
            }
        }

        this.registerOutputs({
            artifactsBucketName: this.artifactsBucketName,
            artifactsBucketArn: this.artifactsBucketArn,
            databaseEndpoint: this.databaseEndpoint,
            databasePort: this.databasePort,
            brokerEndpoint: this.brokerEndpoint,
            queues: this.queues,
            fileSystemId: this.fileSystemId,
            accessPointId: this.accessPointId,
            secretArns: this.secretArns,
            requirementsVersion: this.artifacts.requirementsVersion,
            pluginsVersion: this.artifacts.pluginsVersion,
        });
    }

    /** Uploads the DAGs, requirements and plugins. One code path for both layouts. */
    private deployArtifacts(
        name: string,
        deploy: AirflowStorageArgs["deploy"],
        bucket: aws.s3.Bucket,
        dependsOn: pulumi.Resource[],
    ): DeployedArtifacts {
        const result: DeployedArtifacts = { dagKeys: [], objects: [] };
        if (!deploy) return result;
        const opts = { parent: this, dependsOn };
        const upload = (
            role: string,
            key: string,
            source: pulumi.asset.Asset | pulumi.asset.Archive,
            hash: string,
            contentType: string,
        ) => {
            const object = new aws.s3.BucketObjectv2(
                `${name}-${role}`,
                { bucket: bucket.id, key, source, sourceHash: hash, contentType },
                opts,
            );
            result.objects.push(object);
            return object;
        };
        for (const rel of dagFiles(deploy.dagsDir)) {
            const file = path.join(deploy.dagsDir, rel);
            const key = `${ARTIFACT_KEYS.dags}${rel}`;
            upload(
                `dag-${pathSlug(rel)}`,
                key,
                new pulumi.asset.FileAsset(file),
                fileHash(file),
                rel.endsWith(".py") ? "text/x-python" : "application/octet-stream",
            );
            result.dagKeys.push(key);
        }
        if (deploy.requirementsFile && existsSync(deploy.requirementsFile)) {
            const file = deploy.requirementsFile;
            result.requirementsVersion = upload(
                "requirements",
                ARTIFACT_KEYS.requirements,
                new pulumi.asset.FileAsset(file),
                fileHash(file),
                "text/plain",
            ).versionId;
        }
        if (deploy.pluginsDir && hasFiles(deploy.pluginsDir)) {
            result.pluginsVersion = upload(
                "plugins",
                ARTIFACT_KEYS.plugins,
                new pulumi.asset.FileArchive(deploy.pluginsDir),
                folderHash(deploy.pluginsDir),
                "application/zip",
            ).versionId;
        }
        return result;
    }

    private createDatabase(
        name: string,
        resolved: ResolvedArgs,
        args: AirflowStorageArgs,
        password: pulumi.Output<string>,
    ): aws.rds.Instance {
        const tags = args.tags;
        const parent = { parent: this };
        const subnets = new aws.rds.SubnetGroup(
            `${name}-db-subnets`,
            { subnetIds: args.network.privateSubnetIds, tags: withName(tags, `${name}-db-subnets`) },
            parent,
        );
        const parameters = new aws.rds.ParameterGroup(
            `${name}-db-params`,
            {
                family: `postgres${resolved.database.engineVersion}`,
                description: "Airflow metadata database: TLS required",
                parameters: [{ name: "rds.force_ssl", value: "1" }],
                tags: withName(tags, `${name}-db-params`),
            },
            parent,
        );
        const finalSnapshotSuffix = new random.RandomId(`${name}-db-final-snapshot-suffix`, { byteLength: 4 }, parent);
        const db = args.database ?? {};
        // A fixed identifier, so that the log groups RDS exports to can be created first, with a retention.
        const identifier = `${name}-db`;
        const logGroups = RDS_EXPORTED_LOGS.map(
            (log) =>
                new aws.cloudwatch.LogGroup(
                    `${name}-db-logs-${log}`,
                    {
                        name: rdsLogGroupName(identifier, log),
                        retentionInDays: resolved.logRetentionDays,
                        tags: withName(tags, `${name}-db-logs-${log}`),
                    },
                    parent,
                ),
        );
        return new aws.rds.Instance(
            `${name}-db`,
            {
                identifier,
                engine: "postgres",
                engineVersion: resolved.database.engineVersion,
                autoMinorVersionUpgrade: true,
                instanceClass: db.instanceClass ?? "db.t4g.micro",
                allocatedStorage: resolved.database.allocatedStorageGb,
                maxAllocatedStorage: resolved.database.maxAllocatedStorageGb,
                storageType: "gp3",
                storageEncrypted: true,
                dbName: "airflow",
                username: "airflow",
                password,
                port: PORTS.postgres,
                dbSubnetGroupName: subnets.name,
                parameterGroupName: parameters.name,
                vpcSecurityGroupIds: [args.network.databaseSecurityGroupId],
                publiclyAccessible: false,
                multiAz: db.multiAz ?? false,
                backupRetentionPeriod: resolved.database.backupRetentionDays,
                copyTagsToSnapshot: true,
                deletionProtection: db.deletionProtection ?? false,
                skipFinalSnapshot: !resolved.protectData,
                finalSnapshotIdentifier: resolved.protectData
                    ? pulumi.interpolate`${name}-db-final-${finalSnapshotSuffix.hex}`
                    : undefined,
                performanceInsightsEnabled: db.performanceInsights ?? false,
                enabledCloudwatchLogsExports: [...RDS_EXPORTED_LOGS],
                caCertIdentifier: "rds-ca-rsa2048-g1",
                applyImmediately: !resolved.protectData,
                tags: withName(tags, `${name}-db`),
            },
            { parent: this, protect: resolved.protectData, retainOnDelete: resolved.protectData, dependsOn: logGroups },
        );
    }

    private createRedis(
        name: string,
        resolved: ResolvedArgs,
        args: AirflowStorageArgs,
        authToken: pulumi.Output<string>,
    ): aws.elasticache.ReplicationGroup {
        const tags = args.tags;
        const subnets = new aws.elasticache.SubnetGroup(
            `${name}-broker-subnets`,
            { subnetIds: args.network.privateSubnetIds, tags: withName(tags, `${name}-broker-subnets`) },
            { parent: this },
        );
        const failover = resolved.broker.nodes > 1;
        return new aws.elasticache.ReplicationGroup(
            `${name}-broker`,
            {
                description: `Airflow ${resolved.environment} Celery broker`,
                engine: "valkey",
                engineVersion: "8.0",
                parameterGroupName: "default.valkey8",
                nodeType: args.broker?.nodeType ?? "cache.t4g.micro",
                numCacheClusters: resolved.broker.nodes,
                automaticFailoverEnabled: failover,
                multiAzEnabled: failover,
                port: PORTS.redis,
                subnetGroupName: subnets.name,
                securityGroupIds: [args.network.brokerSecurityGroupId],
                atRestEncryptionEnabled: true,
                transitEncryptionEnabled: true,
                transitEncryptionMode: "required",
                authToken,
                autoMinorVersionUpgrade: true,
                applyImmediately: true,
                tags: withName(tags, `${name}-broker`),
            },
            { parent: this },
        );
    }

    private createQueues(
        name: string,
        queues: readonly string[],
        tags: AirflowStorageArgs["tags"],
    ): Record<string, { url: pulumi.Output<string>; arn: pulumi.Output<string> }> {
        const parent = { parent: this };
        const result: Record<string, { url: pulumi.Output<string>; arn: pulumi.Output<string> }> = {};
        for (const queue of queues) {
            const dlq = new aws.sqs.Queue(
                `${name}-celery-${queue}-dlq`,
                {
                    sqsManagedSseEnabled: true,
                    messageRetentionSeconds: 1209600, // 14 days, the SQS maximum
                    tags: withName(tags, `${name}-celery-${queue}-dlq`),
                },
                parent,
            );
            const main = new aws.sqs.Queue(
                `${name}-celery-${queue}`,
                {
                    sqsManagedSseEnabled: true,
                    // Celery re-delivers a task not acknowledged within this time: longer than any task.
                    visibilityTimeoutSeconds: 43200,
                    messageRetentionSeconds: 345600,
                    redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 5 }),
                    tags: withName(tags, `${name}-celery-${queue}`),
                },
                parent,
            );
            for (const [role, q] of [
                [queue, main],
                [`${queue}-dlq`, dlq],
            ] as const) {
                new aws.sqs.QueuePolicy(
                    `${name}-celery-${role}-policy`,
                    {
                        queueUrl: q.url,
                        policy: policyDocument([denyInsecureTransport("sqs:*", q.arn)]),
                    },
                    parent,
                );
            }
            result[queue] = { url: main.url, arn: main.arn };
        }
        return result;
    }

    private createFileSystem(
        name: string,
        resolved: ResolvedArgs,
        args: AirflowStorageArgs,
    ): { fileSystem: aws.efs.FileSystem; accessPoint: aws.efs.AccessPoint } {
        const tags = args.tags;
        const parent = { parent: this };
        const fileSystem = new aws.efs.FileSystem(
            `${name}-fs`,
            {
                encrypted: true,
                performanceMode: "generalPurpose",
                throughputMode: "elastic",
                lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }],
                tags: withName(tags, `${name}-fs`),
            },
            { parent: this, protect: resolved.protectData, retainOnDelete: resolved.protectData },
        );
        args.network.privateSubnetIds.forEach(
            (subnetId, i) =>
                new aws.efs.MountTarget(
                    `${name}-fs-mount-${i}`,
                    {
                        fileSystemId: fileSystem.id,
                        subnetId,
                        securityGroups: [args.network.fileSystemSecurityGroupId],
                    },
                    parent,
                ),
        );
        const accessPoint = new aws.efs.AccessPoint(
            `${name}-fs-ap`,
            {
                fileSystemId: fileSystem.id,
                posixUser: { uid: AIRFLOW_UID, gid: AIRFLOW_GID },
                rootDirectory: {
                    path: "/airflow",
                    creationInfo: { ownerUid: AIRFLOW_UID, ownerGid: AIRFLOW_GID, permissions: "0775" },
                },
                tags: withName(tags, `${name}-fs-ap`),
            },
            parent,
        );
        new aws.efs.BackupPolicy(
            `${name}-fs-backup`,
            {
                fileSystemId: fileSystem.id,
                backupPolicy: { status: resolved.sharedFileSystem.backups ? "ENABLED" : "DISABLED" },
            },
            parent,
        );
        new aws.efs.FileSystemPolicy(
            `${name}-fs-policy`,
            {
                fileSystemId: fileSystem.id,
                policy: policyDocument([
                    denyInsecureTransport("*", fileSystem.arn),
                    {
                        Sid: "MountThroughAccessPointOnly",
                        Effect: "Deny",
                        Principal: { AWS: "*" },
                        Action: "elasticfilesystem:ClientMount",
                        Resource: fileSystem.arn,
                        Condition: { Null: { "elasticfilesystem:AccessPointArn": "true" } },
                    },
                ]),
            },
            parent,
        );
        return { fileSystem, accessPoint };
    }

    private createSecret(
        name: string,
        resolved: ResolvedArgs,
        role: string,
        description: string,
        value: pulumi.Output<string>,
        tags: AirflowStorageArgs["tags"],
    ): pulumi.Output<string> {
        const secret = new aws.secretsmanager.Secret(
            `${name}-${role}`,
            {
                name: `airflow/${resolved.environment}/config/${role}`,
                description: `${description} (${resolved.environment})`,
                recoveryWindowInDays: resolved.secretRecoveryWindowDays,
                tags: withName(tags, `${name}-${role}`),
            },
            { parent: this },
        );
        new aws.secretsmanager.SecretVersion(
            `${name}-${role}-value`,
            { secretId: secret.id, secretString: pulumi.secret(value) },
            { parent: this },
        );
        return secret.arn;
    }
}

interface ResolvedArgs {
    environment: string;
    layout: Layout;
    airflowMajor: 2 | 3;
    protectData: boolean;
    taskLogExpirationDays: number;
    noncurrentVersionExpirationDays: number;
    secretRecoveryWindowDays: number;
    database: {
        engineVersion: string;
        allocatedStorageGb: number;
        maxAllocatedStorageGb: number;
        backupRetentionDays: number;
    };
    broker: { type: Broker; nodes: number };
    queues: readonly string[];
    flower: boolean;
    sharedFileSystem: { enabled: boolean; backups: boolean };
    logRetentionDays: number;
}

function validateArgs(name: string, args: AirflowStorageArgs, resource: pulumi.Resource): ResolvedArgs {
    const resolved: ResolvedArgs = {
        environment: args.environment,
        layout: args.layout,
        airflowMajor: args.airflowMajor ?? 3,
        protectData: args.protectData ?? false,
        taskLogExpirationDays: args.artifacts?.taskLogExpirationDays ?? 30,
        noncurrentVersionExpirationDays: args.artifacts?.noncurrentVersionExpirationDays ?? 30,
        secretRecoveryWindowDays: args.secretRecoveryWindowDays ?? 7,
        database: {
            engineVersion: args.database?.engineVersion ?? "16",
            allocatedStorageGb: args.database?.allocatedStorageGb ?? 20,
            maxAllocatedStorageGb: args.database?.maxAllocatedStorageGb ?? 100,
            backupRetentionDays: args.database?.backupRetentionDays ?? 7,
        },
        broker: { type: args.broker?.type ?? "redis", nodes: args.broker?.nodes ?? 1 },
        queues: args.queues ?? ["default"],
        flower: args.flower ?? false,
        sharedFileSystem: {
            enabled: args.sharedFileSystem?.enabled ?? true,
            backups: args.sharedFileSystem?.backups ?? false,
        },
        logRetentionDays: args.logRetentionDays ?? 30,
    };
    const fail = (field: string, allowed: string, got: unknown) => {
        throw new pulumi.ResourceError(
            `AirflowStorage ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    if (!ENVIRONMENT_PATTERN.test(resolved.environment ?? "")) {
        fail("environment", "2 to 16 lowercase letters, digits or hyphens", resolved.environment);
    }
    if (!LAYOUTS.includes(resolved.layout)) fail("layout", choiceText(LAYOUTS), resolved.layout);
    if (resolved.airflowMajor !== 2 && resolved.airflowMajor !== 3)
        fail("airflowMajor", "2 or 3", resolved.airflowMajor);
    if (!BROKERS.includes(resolved.broker.type)) fail("broker.type", choiceText(BROKERS), resolved.broker.type);
    if (!Number.isInteger(resolved.broker.nodes) || resolved.broker.nodes < 1 || resolved.broker.nodes > 6) {
        fail("broker.nodes", "a whole number from 1 to 6", resolved.broker.nodes);
    }
    if (!(POSTGRES_VERSIONS as readonly string[]).includes(resolved.database.engineVersion)) {
        fail("database.engineVersion", choiceText(POSTGRES_VERSIONS), resolved.database.engineVersion);
    }
    if (resolved.database.allocatedStorageGb < 20 || resolved.database.allocatedStorageGb > 65536) {
        fail("database.allocatedStorageGb", "from 20 to 65536", resolved.database.allocatedStorageGb);
    }
    if (resolved.database.maxAllocatedStorageGb < resolved.database.allocatedStorageGb) {
        fail(
            "database.maxAllocatedStorageGb",
            `at least database.allocatedStorageGb (${resolved.database.allocatedStorageGb})`,
            resolved.database.maxAllocatedStorageGb,
        );
    }
    if (resolved.database.backupRetentionDays < 1 || resolved.database.backupRetentionDays > 35) {
        fail("database.backupRetentionDays", "from 1 to 35", resolved.database.backupRetentionDays);
    }
    if (!isRecoveryWindow(resolved.secretRecoveryWindowDays))
        fail("secretRecoveryWindowDays", RECOVERY_WINDOW_ALLOWED, resolved.secretRecoveryWindowDays);
    if (resolved.flower && resolved.broker.type === "sqs") {
        fail("flower", "false with the sqs broker (Celery cannot inspect SQS)", resolved.flower);
    }
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(resolved.logRetentionDays)) {
        fail("logRetentionDays", choiceText(LOG_RETENTION_DAYS), resolved.logRetentionDays);
    }
    if (resolved.queues.length === 0 || !resolved.queues.every((q) => /^[a-z][a-z0-9-]{0,30}$/.test(q))) {
        fail("queues", "a non-empty list of lowercase queue names", resolved.queues);
    }
    if (
        resolved.layout === "celery" &&
        resolved.sharedFileSystem.enabled &&
        args.network.privateSubnetIds.length === 0
    ) {
        fail("network.privateSubnetIds", "at least one subnet", []);
    }
    return resolved;
}
