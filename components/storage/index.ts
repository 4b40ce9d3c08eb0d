import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Broker } from "../../config";
import { redisBrokerUri, SQS_BROKER_URI } from "../../lib/airflow-uris";
import { createSecureBucket } from "../../lib/bucket";
import { PORTS } from "../network";
import { AirflowStorageArgs, resolveStorageArgs } from "./args";
import { artifactsBucketArgs, DeployedArtifacts, deployArtifacts } from "./artifacts";
import { createQueues, createRedis } from "./broker";
import { createDatabase, DATABASE_NAME, DATABASE_USER } from "./database";
import { createFileSystem, SharedFileSystem } from "./file-system";
import { AirflowSecretArns, createAirflowSecrets } from "./secrets";

export { resolveStorageArgs, resolveStorageDefaults, storageArgViolations } from "./args";
export type { AirflowStorageArgs, ArgViolation, ResolvedStorageArgs, AirflowStorageSettings } from "./args";
export { ARTIFACT_KEYS, artifactsBucketArgs, artifactUploads, deployArtifacts } from "./artifacts";
export type { ArtifactUpload, DeployedArtifacts } from "./artifacts";
export { CELERY_QUEUE, celeryQueueNames, queuePolicyStatements, redisReplicationGroupArgs } from "./broker";
export {
    databaseIdentifier,
    databaseInstanceArgs,
    databaseParameterGroupArgs,
    RDS_EXPORTED_LOGS,
    rdsLogGroupName,
} from "./database";
export { accessPointSettings, AIRFLOW_GID, AIRFLOW_UID, fileSystemPolicyStatements } from "./file-system";
export type { SharedFileSystem } from "./file-system";
export { airflowSecretName, airflowSecretSpecs, urlSafeBase64 } from "./secrets";
export type { AirflowSecretArns, AirflowSecretSpec, SecretValueSource } from "./secrets";

/**
 * Every stateful piece of an Airflow environment. Both layouts get the artifacts bucket, the one
 * place DAGs, requirements, plugins (and, on the celery layout, task logs) are deployed to. The
 * celery layout also gets the metadata database (RDS PostgreSQL, TLS forced), the Celery broker
 * (ElastiCache Valkey with TLS and AUTH, or SQS), the shared file system (EFS) and Airflow's own
 * secrets, each generated with @pulumi/random and kept only in Secrets Manager.
 *
 * The class only wires: the arguments (args.ts), the bucket and uploads (artifacts.ts), the database
 * (database.ts), the broker (broker.ts), the file system (file-system.ts) and the secrets
 * (secrets.ts) are exported functions of their own.
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
        const resolved = resolveStorageArgs(name, args, this);
        const parent = { parent: this };

        const artifacts = createSecureBucket(`${name}-artifacts`, artifactsBucketArgs(resolved, args), this);
        this.artifactsBucket = artifacts.bucket;
        this.artifactsBucketName = artifacts.bucket.bucket;
        this.artifactsBucketArn = artifacts.bucket.arn;
        this.artifactsBucketVersioning = artifacts.versioning;
        // After versioning is on: an object put before has no version id, and MWAA pins versions.
        this.artifacts = deployArtifacts(
            name,
            args.deploy,
            artifacts.bucket,
            [artifacts.policy, artifacts.versioning],
            this,
        );

        if (resolved.layout === "celery") {
            const dbPassword = new random.RandomPassword(`${name}-db-password`, { length: 32, special: false }, parent);
            const database = createDatabase(name, resolved, args, dbPassword.result, this);
            this.databaseEndpoint = database.address;
            this.databasePort = database.port;
            this.databaseInstanceId = database.identifier;
            const dbCredentials = pulumi.interpolate`${DATABASE_USER}:${dbPassword.result}@${database.address}:${database.port}/${DATABASE_NAME}`;

            this.brokerType = resolved.broker.type;
            let brokerUrl: pulumi.Output<string>;
            if (resolved.broker.type === "redis") {
                const token = new random.RandomPassword(
                    `${name}-broker-auth-token`,
                    { length: 64, special: false },
                    parent,
                );
                const group = createRedis(name, resolved, args, token.result, this);
                this.brokerEndpoint = group.primaryEndpointAddress;
                this.brokerReplicationGroupId = group.replicationGroupId;
                brokerUrl = pulumi
                    .all([token.result, group.primaryEndpointAddress])
                    .apply(([password, host]) => redisBrokerUri({ password, host, port: PORTS.redis, tls: true }));
            } else {
                this.queues = createQueues(name, resolved.queues, args.tags, this);
                brokerUrl = pulumi.output(SQS_BROKER_URI);
            }

            if (resolved.sharedFileSystem.enabled) {
                const { fileSystem, accessPoint } = createFileSystem(name, resolved, args, this);
                this.fileSystem = {
                    id: fileSystem.id,
                    arn: fileSystem.arn,
                    accessPointId: accessPoint.id,
                    accessPointArn: accessPoint.arn,
                };
                this.fileSystemId = this.fileSystem.id;
                this.fileSystemArn = this.fileSystem.arn;
                this.accessPointId = this.fileSystem.accessPointId;
                this.accessPointArn = this.fileSystem.accessPointArn;
            }

            this.secretArns = createAirflowSecrets(name, resolved, { dbCredentials, brokerUrl }, args.tags, this);
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
}
