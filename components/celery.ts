import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "fs";
import * as path from "path";
import { Broker, SIZED_SERVICES, SizedService, WEB_ACCESS, WebAccess, WorkerPool } from "../config";
import { FARGATE_CPUS, isFargateSize, memoryChoices } from "../config/fargate";
import { choiceText, LOG_RETENTION_DAYS } from "../config/spec";
import { secretPrefixes } from "../lib/airflow";
import { AirflowComponent, DAGS_FOLDER, renderAirflowEnvironment } from "../lib/airflow-env";
import { assumeRolePolicy, ecrPullStatements, policyDocument, Statement } from "../lib/iam";
import { withName } from "../lib/tags";
import { PORTS } from "./network";
import { AIRFLOW_GID, AIRFLOW_UID, AirflowSecretArns, ARTIFACT_KEYS } from "./storage";

/** CloudWatch namespace and metric of the queue-depth publisher that drives worker scaling. */
export const QUEUE_METRIC = { namespace: "Airflow/Celery", name: "QueuedAndRunningTasks" } as const;

/** The sidecar programs, shipped in the task definitions so they run in any Airflow image. */
const SIDECARS = path.join(__dirname, "..", "sidecars");

/** Where the shared file system is mounted in every Airflow container. */
export const SHARED_MOUNT = "/opt/airflow/shared";

export interface CeleryClusterArgs {
    /** Environment name (resource names, secret prefixes, metric dimension). Required. */
    environment: string;
    /** Airflow version; the major decides the components (3: api-server + dag-processor). Required. */
    airflowVersion: string;
    /** Where the services run. Required. */
    network: {
        vpcId: pulumi.Input<string>;
        vpcCidr: pulumi.Input<string>;
        publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
        privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
        servicesSecurityGroupId: pulumi.Input<string>;
        loadBalancerSecurityGroupId: pulumi.Input<string>;
    };
    /** What AirflowStorage created. Required. */
    storage: {
        artifactsBucketName: pulumi.Input<string>;
        artifactsBucketArn: pulumi.Input<string>;
        /** The bucket's KMS key, if SSE-KMS: the task roles get encrypt/decrypt through S3. */
        artifactsKmsKeyArn?: pulumi.Input<string>;
        secretArns: AirflowSecretArns;
        /** Decides the broker settings and permissions. */
        brokerType: Broker;
        /** SQS queues by Celery queue name (sqs broker). */
        queues?: Record<string, { url: pulumi.Input<string>; arn: pulumi.Input<string> }>;
        /** The shared file system; mounted at /opt/airflow/shared when given. */
        fileSystem?: {
            id: pulumi.Input<string>;
            arn: pulumi.Input<string>;
            accessPointId: pulumi.Input<string>;
            accessPointArn: pulumi.Input<string>;
        };
    };
    /**
     * The Airflow image. With `uri`, that image runs; otherwise `build` is built with awsx and
     * pushed to the cluster's ECR repository. Required (one of the two).
     */
    image: { uri: string } | { build: { context: string; dockerfile: string; tag: string } };
    /** Images the ECR repository keeps. Default: 20. */
    ecrKeepImages?: number;
    /** Log retention in days (a CloudWatch value). Default: 30. */
    logRetentionDays?: number;
    /** "public" (internet-facing ALB in public subnets) or "internal". Default: "public". */
    webAccess?: WebAccess;
    /** ACM certificate ARN for HTTPS; without it the ALB serves HTTP only. Default: none. */
    certificateArn?: string;
    /** Run Flower (redis broker only). Default: false. */
    flower?: boolean;
    /** Seconds between DAG syncs from the artifacts bucket. Default: 60. */
    dagSyncIntervalSeconds?: number;
    /** Allow ECS Exec. Default: false. */
    ecsExec?: boolean;
    /** api-server (webserver) tasks. Default: 1. */
    apiServerCount?: number;
    /** Scheduler tasks. Default: 1. */
    schedulerCount?: number;
    /** CPU and memory of each service. Default: the SIZED_SERVICES defaults. */
    sizes?: Partial<Record<SizedService, { cpu: number; memory: number }>>;
    /** Worker pools. Default: one "default" pool of 1 to 4 on-demand workers of 1 vCPU / 2 GiB. */
    workerPools?: readonly WorkerPool[];
    /** Protect the load balancer from deletion and keep images on destroy. Default: false. */
    protectData?: boolean;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

interface ServiceSpec {
    /** Role in resource names: api-server, scheduler, worker-default, ... */
    role: string;
    component: AirflowComponent;
    command: string[];
    cpu: number;
    memory: number;
    desiredCount: number;
    needsDags: boolean;
    port?: number;
    healthCheck: string;
    taskRole: aws.iam.Role;
    capacityProviders: { capacityProvider: string; weight: number; base?: number }[];
    workerConcurrency?: number;
    stopTimeout?: number;
    targetGroup?: aws.lb.TargetGroup;
    serviceRegistry?: aws.servicediscovery.Service;
    /** Extra containers that replace the main one's waiting (the control service). */
    control?: boolean;
}

/**
 * Airflow with the CeleryExecutor on ECS Fargate: one ECS service per component, all in private
 * subnets without public IPs, a load balancer in front of the UI (and Flower), migrations run once
 * per deployment by a control service that every other component waits for, DAGs synced from the
 * artifacts bucket by a sidecar, and worker pools that scale on their queue depth.
 */
export class CeleryCluster extends pulumi.ComponentResource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    public readonly imageUri: pulumi.Output<string>;
    public readonly repositoryUrl?: pulumi.Output<string>;
    private readonly repositoryArn?: pulumi.Output<string>;
    public readonly loadBalancerDnsName: pulumi.Output<string>;
    /** The Airflow UI's URL. */
    public readonly airflowUrl: pulumi.Output<string>;
    /** Flower's URL, when Flower runs. */
    public readonly flowerUrl?: pulumi.Output<string>;
    /** The task role of every worker pool: DAG tasks run with it. */
    public readonly workerTaskRole: aws.iam.Role;
    /** The triggerer's task role: deferred waits (operators' triggers) run with it. */
    public readonly triggererTaskRole: aws.iam.Role;
    /** ECS service names by role. */
    public readonly serviceNames: Record<string, pulumi.Output<string>> = {};
    /** Log group names by role. */
    public readonly logGroupNames: Record<string, pulumi.Output<string>> = {};

    private readonly name: string;
    private readonly a: ResolvedArgs;
    private readonly args: CeleryClusterArgs;
    private readonly cluster: aws.ecs.Cluster;
    private readonly region: pulumi.Output<string>;
    private readonly account: pulumi.Output<string>;

    constructor(name: string, args: CeleryClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:celery:CeleryCluster", name, {}, opts);
        const a = validateArgs(name, args, this);
        this.name = name;
        this.a = a;
        this.args = args;
        const tags = args.tags;
        const parent = { parent: this };
        this.region = aws.getRegionOutput({}, parent).region;
        this.account = aws.getCallerIdentityOutput({}, parent).accountId;

        // Image: built from the repository, or the one given.
        if ("build" in args.image) {
            const repository = new aws.ecr.Repository(
                `${name}-repo`,
                {
                    imageTagMutability: "IMMUTABLE",
                    imageScanningConfiguration: { scanOnPush: true },
                    encryptionConfigurations: [{ encryptionType: "AES256" }],
                    forceDelete: !a.protectData,
                    tags: withName(tags, `${name}-repo`),
                },
                parent,
            );
            new aws.ecr.LifecyclePolicy(
                `${name}-repo-lifecycle`,
                {
                    repository: repository.name,
                    policy: JSON.stringify({
                        rules: [
                            {
                                rulePriority: 1,
                                description: `Keep the last ${a.ecrKeepImages} images`,
                                selection: {
                                    tagStatus: "any",
                                    countType: "imageCountMoreThan",
                                    countNumber: a.ecrKeepImages,
                                },
                                action: { type: "expire" },
                            },
                        ],
                    }),
                },
                parent,
            );
            const image = new awsx.ecr.Image(
                `${name}-image`,
                {
                    repositoryUrl: repository.repositoryUrl,
                    context: args.image.build.context,
                    dockerfile: args.image.build.dockerfile,
                    platform: "linux/amd64",
                    imageTag: args.image.build.tag,
                    args: { AIRFLOW_VERSION: args.airflowVersion },
                },
                parent,
            );
            this.imageUri = image.imageUri;
            this.repositoryUrl = repository.repositoryUrl;
            this.repositoryArn = repository.arn;
        } else {
            this.imageUri = pulumi.output(args.image.uri);
        }

        this.cluster = new aws.ecs.Cluster(
            `${name}-cluster`,
            {
                settings: [{ name: "containerInsights", value: "enabled" }],
                tags: withName(tags, `${name}-cluster`),
            },
            parent,
        );
        new aws.ecs.ClusterCapacityProviders(
            `${name}-capacity-providers`,
            {
                clusterName: this.cluster.name,
                capacityProviders: ["FARGATE", "FARGATE_SPOT"],
                defaultCapacityProviderStrategies: [{ capacityProvider: "FARGATE", weight: 1 }],
            },
            parent,
        );
        this.clusterName = this.cluster.name;
        this.clusterArn = this.cluster.arn;

        // Service discovery: workers reach the api-server's execution API at a private DNS name.
        const namespace = new aws.servicediscovery.PrivateDnsNamespace(
            `${name}-namespace`,
            {
                name: `${name}.local`,
                vpc: args.network.vpcId,
                description: `Airflow ${a.environment} services`,
                tags: withName(tags, `${name}-namespace`),
            },
            parent,
        );
        const apiRole = a.major === 3 ? "api-server" : "webserver";
        const apiRegistry = new aws.servicediscovery.Service(
            `${name}-${apiRole}-discovery`,
            {
                name: apiRole,
                dnsConfig: {
                    namespaceId: namespace.id,
                    routingPolicy: "MULTIVALUE",
                    dnsRecords: [{ type: "A", ttl: 10 }],
                },
                healthCheckCustomConfig: { failureThreshold: 1 },
                tags: withName(tags, `${name}-${apiRole}-discovery`),
            },
            parent,
        );
        const executionApiUrl = pulumi.interpolate`http://${apiRole}.${namespace.name}:${PORTS.airflowWeb}/execution/`;

        // Load balancer.
        const lb = this.createLoadBalancer();
        this.loadBalancerDnsName = lb.alb.dnsName;
        const scheme = a.certificateArn ? "https" : "http";
        this.airflowUrl = pulumi.interpolate`${scheme}://${lb.alb.dnsName}`;
        if (lb.flowerTargetGroup) this.flowerUrl = pulumi.interpolate`${scheme}://${lb.alb.dnsName}:${PORTS.flower}`;

        // Task roles, one per service class.
        // The scheduler and webserver of Airflow 2 parse DAG files; Airflow 3's use the serialized DAGs.
        const parsesDags: Grant[] = a.major === 2 ? ["readDags"] : [];
        const roles = {
            control: this.taskRole("control", ["publishQueueMetric"]),
            web: this.taskRole("web", [...parsesDags, "readLogs", "secretsBackend", "mountSharedFs"]),
            scheduler: this.taskRole("scheduler", [...parsesDags, "secretsBackend", "sendToQueues", "mountSharedFs"]),
            dagProcessor: this.taskRole("dag-processor", ["readDags", "writeLogs", "secretsBackend", "mountSharedFs"]),
            triggerer: this.taskRole("triggerer", ["readDags", "writeLogs", "secretsBackend", "mountSharedFs"]),
            worker: this.taskRole("worker", [
                "readDags",
                "writeLogs",
                "secretsBackend",
                "consumeQueues",
                "sendToQueues",
                "mountSharedFs",
            ]),
            flower: this.taskRole("flower", []),
        };
        this.workerTaskRole = roles.worker;
        this.triggererTaskRole = roles.triggerer;

        const settings = pulumi
            .all([
                this.region,
                args.storage.artifactsBucketName,
                this.airflowUrl,
                executionApiUrl,
                this.queueUrls(),
                secretRefs(args.storage.secretArns),
            ])
            .apply(([region, bucket, baseUrl, executionUrl, queueUrls, secrets]) => ({
                airflowVersion: args.airflowVersion,
                environment: a.environment,
                region,
                artifactsBucket: bucket,
                baseUrl,
                executionApiUrl: executionUrl,
                broker: a.brokerType === "sqs" ? { type: "sqs" as const, queueUrls } : { type: "redis" as const },
                secrets,
            }));

        const jobsCheck = (job: string) => `airflow jobs check --job-type ${job} --local`;
        const fargate = [{ capacityProvider: "FARGATE", weight: 1 }];
        const specs: ServiceSpec[] = [
            {
                role: "control",
                component: "migrations",
                command: [],
                cpu: 512,
                memory: 1024,
                desiredCount: 1,
                needsDags: false,
                healthCheck: "",
                taskRole: roles.control,
                capacityProviders: fargate,
                control: true,
            },
            {
                role: apiRole,
                component: a.major === 3 ? "api-server" : "webserver",
                command:
                    a.major === 3
                        ? ["api-server", "--port", String(PORTS.airflowWeb)]
                        : ["webserver", "--port", String(PORTS.airflowWeb)],
                ...a.sizes.apiServer,
                desiredCount: a.apiServerCount,
                needsDags: a.major === 2,
                port: PORTS.airflowWeb,
                healthCheck: `curl --fail --silent http://localhost:${PORTS.airflowWeb}${a.major === 3 ? "/api/v2/monitor/health" : "/health"}`,
                taskRole: roles.web,
                capacityProviders: fargate,
                targetGroup: lb.apiTargetGroup,
                serviceRegistry: apiRegistry,
            },
            {
                role: "scheduler",
                component: "scheduler",
                command: ["scheduler"],
                ...a.sizes.scheduler,
                desiredCount: a.schedulerCount,
                needsDags: a.major === 2,
                healthCheck: jobsCheck("SchedulerJob"),
                taskRole: roles.scheduler,
                capacityProviders: fargate,
            },
            ...(a.major === 3
                ? [
                      {
                          role: "dag-processor",
                          component: "dag-processor" as const,
                          command: ["dag-processor"],
                          ...a.sizes.dagProcessor,
                          desiredCount: 1,
                          needsDags: true,
                          healthCheck: jobsCheck("DagProcessorJob"),
                          taskRole: roles.dagProcessor,
                          capacityProviders: fargate,
                      },
                  ]
                : []),
            {
                role: "triggerer",
                component: "triggerer",
                command: ["triggerer"],
                ...a.sizes.triggerer,
                desiredCount: 1,
                needsDags: true,
                healthCheck: jobsCheck("TriggererJob"),
                taskRole: roles.triggerer,
                capacityProviders: fargate,
            },
            ...a.workerPools.map((pool): ServiceSpec => ({
                role: `worker-${pool.name}`,
                component: "worker",
                command: ["celery", "worker", "--queues", pool.name, "--concurrency", String(pool.concurrency)],
                cpu: pool.cpu,
                memory: pool.memory,
                desiredCount: pool.minCount,
                needsDags: true,
                healthCheck:
                    a.brokerType === "redis"
                        ? 'celery --app airflow.providers.celery.executors.celery_executor.app inspect ping --timeout 10 -d "celery@$HOSTNAME"'
                        : `python -c "import os,sys; sys.exit(0 if any(b'celery' in open(f'/proc/{p}/cmdline','rb').read() for p in os.listdir('/proc') if p.isdigit()) else 1)"`,
                taskRole: roles.worker,
                capacityProviders: pool.spot
                    ? [
                          { capacityProvider: "FARGATE", weight: 0, base: pool.onDemandBase },
                          { capacityProvider: "FARGATE_SPOT", weight: 1 },
                      ]
                    : fargate,
                workerConcurrency: pool.concurrency,
                // Fargate's maximum: a worker gets 2 minutes for a warm Celery shutdown.
                stopTimeout: 120,
            })),
            ...(a.flower
                ? [
                      {
                          role: "flower",
                          component: "flower" as const,
                          command: ["celery", "flower", "--port", String(PORTS.flower)],
                          ...a.sizes.flower,
                          desiredCount: 1,
                          needsDags: false,
                          port: PORTS.flower,
                          healthCheck: `python -c "import socket; socket.create_connection(('localhost', ${PORTS.flower}), 5)"`,
                          taskRole: roles.flower,
                          capacityProviders: fargate,
                          targetGroup: lb.flowerTargetGroup,
                      },
                  ]
                : []),
        ];

        const services: Record<string, aws.ecs.Service> = {};
        for (const spec of specs) services[spec.role] = this.createService(spec, settings);
        for (const pool of a.workerPools) this.createScaling(pool, services[`worker-${pool.name}`]);

        this.registerOutputs({
            clusterName: this.clusterName,
            clusterArn: this.clusterArn,
            imageUri: this.imageUri,
            airflowUrl: this.airflowUrl,
            flowerUrl: this.flowerUrl,
            loadBalancerDnsName: this.loadBalancerDnsName,
            workerTaskRoleArn: this.workerTaskRole.arn,
            serviceNames: this.serviceNames,
        });
    }

    /** SQS queue URLs by Celery queue name, or an empty map on the redis broker. */
    private queueUrls(): pulumi.Output<Record<string, string>> {
        const queues = this.args.storage.queues ?? {};
        return pulumi.all(Object.fromEntries(Object.entries(queues).map(([q, v]) => [q, v.url]))) as pulumi.Output<
            Record<string, string>
        >;
    }

    private createLoadBalancer(): {
        alb: aws.lb.LoadBalancer;
        apiTargetGroup: aws.lb.TargetGroup;
        flowerTargetGroup?: aws.lb.TargetGroup;
    } {
        const { name, a } = this;
        const tags = this.args.tags;
        const parent = { parent: this };
        const alb = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                name: `${name}`.slice(0, 32),
                loadBalancerType: "application",
                internal: a.webAccess === "internal",
                subnets:
                    a.webAccess === "internal" ? this.args.network.privateSubnetIds : this.args.network.publicSubnetIds,
                securityGroups: [this.args.network.loadBalancerSecurityGroupId],
                dropInvalidHeaderFields: true,
                enableDeletionProtection: a.protectData,
                idleTimeout: 120,
                tags: withName(tags, `${name}-alb`),
            },
            parent,
        );
        const targetGroup = (role: string, prefix: string, port: number, healthPath: string, matcher: string) =>
            new aws.lb.TargetGroup(
                `${name}-${role}-tg`,
                {
                    namePrefix: prefix,
                    port,
                    protocol: "HTTP",
                    targetType: "ip",
                    vpcId: this.args.network.vpcId,
                    deregistrationDelay: 30,
                    healthCheck: {
                        path: healthPath,
                        matcher,
                        interval: 30,
                        timeout: 10,
                        healthyThreshold: 2,
                        unhealthyThreshold: 5,
                    },
                    tags: withName(tags, `${name}-${role}-tg`),
                },
                parent,
            );
        const apiTargetGroup = targetGroup(
            "api",
            "api-",
            PORTS.airflowWeb,
            a.major === 3 ? "/api/v2/monitor/health" : "/health",
            "200",
        );
        const flowerTargetGroup = a.flower
            ? targetGroup("flower", "flwr-", PORTS.flower, "/healthcheck", "200-401")
            : undefined;

        const listener = (
            role: string,
            port: number,
            https: boolean,
            defaultActions: aws.types.input.lb.ListenerDefaultAction[],
        ) =>
            new aws.lb.Listener(
                `${name}-${role}-listener`,
                {
                    loadBalancerArn: alb.arn,
                    port,
                    protocol: https ? "HTTPS" : "HTTP",
                    ...(https
                        ? { certificateArn: a.certificateArn, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" }
                        : {}),
                    defaultActions,
                    tags: withName(tags, `${name}-${role}-listener`),
                },
                parent,
            );
        const forward = (tg: aws.lb.TargetGroup): aws.types.input.lb.ListenerDefaultAction[] => [
            { type: "forward", targetGroupArn: tg.arn },
        ];
        if (a.certificateArn) {
            listener("https", PORTS.https, true, forward(apiTargetGroup));
            listener("http", PORTS.http, false, [
                {
                    type: "redirect",
                    redirect: { protocol: "HTTPS", port: String(PORTS.https), statusCode: "HTTP_301" },
                },
            ]);
        } else {
            listener("http", PORTS.http, false, forward(apiTargetGroup));
        }
        if (flowerTargetGroup) listener("flower", PORTS.flower, !!a.certificateArn, forward(flowerTargetGroup));
        return { alb, apiTargetGroup, flowerTargetGroup };
    }

    /** A task role with the named permission sets (see the statements below). */
    private taskRole(role: string, grants: Grant[]): aws.iam.Role {
        const { name, a } = this;
        const tags = this.args.tags;
        const taskRole = new aws.iam.Role(
            `${name}-${role}-task-role`,
            {
                description: `Airflow ${a.environment} ${role} tasks`,
                assumeRolePolicy: assumeRolePolicy(["ecs-tasks.amazonaws.com"], this.account),
                tags: withName(tags, `${name}-${role}-task-role`),
            },
            { parent: this },
        );
        const statements = this.grantStatements(grants);
        if (statements.length > 0) {
            new aws.iam.RolePolicy(
                `${name}-${role}-task-policy`,
                { role: taskRole.id, policy: policyDocument(statements) },
                { parent: this },
            );
        }
        return taskRole;
    }

    private grantStatements(grants: Grant[]): Statement[] {
        const { a, args } = this;
        const bucketArn = args.storage.artifactsBucketArn;
        const prefixes = secretPrefixes(a.environment);
        const secretArn = (prefix: string) =>
            pulumi.interpolate`arn:aws:secretsmanager:${this.region}:${this.account}:secret:${prefix}/*`;
        const queues = Object.values(args.storage.queues ?? {});
        const statements: Statement[] = [];
        const add = (grant: Grant, statement: Statement) => grants.includes(grant) && statements.push(statement);
        add("readDags", {
            Sid: "ListDags",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: bucketArn,
            Condition: { StringLike: { "s3:prefix": [ARTIFACT_KEYS.dags, `${ARTIFACT_KEYS.dags}*`] } },
        });
        add("readDags", {
            Sid: "ReadDags",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: pulumi.interpolate`${bucketArn}/${ARTIFACT_KEYS.dags}*`,
        });
        add("readLogs", {
            Sid: "ListLogs",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: bucketArn,
            Condition: { StringLike: { "s3:prefix": [ARTIFACT_KEYS.logs, `${ARTIFACT_KEYS.logs}*`] } },
        });
        add("readLogs", {
            Sid: "ReadLogs",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: pulumi.interpolate`${bucketArn}/${ARTIFACT_KEYS.logs}*`,
        });
        add("writeLogs", {
            Sid: "ListLogs",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: bucketArn,
            Condition: { StringLike: { "s3:prefix": [ARTIFACT_KEYS.logs, `${ARTIFACT_KEYS.logs}*`] } },
        });
        add("writeLogs", {
            Sid: "ReadWriteLogs",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:PutObject"],
            Resource: pulumi.interpolate`${bucketArn}/${ARTIFACT_KEYS.logs}*`,
        });
        if (
            args.storage.artifactsKmsKeyArn &&
            grants.some((g) => g === "readDags" || g === "readLogs" || g === "writeLogs")
        ) {
            statements.push({
                Sid: "ArtifactsKms",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                Resource: args.storage.artifactsKmsKeyArn,
                Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`s3.${this.region}.amazonaws.com` } },
            });
        }
        add("secretsBackend", {
            Sid: "ReadConnectionsAndVariables",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: [secretArn(prefixes.connections), secretArn(prefixes.variables)],
        });
        if (queues.length > 0) {
            add("sendToQueues", {
                Sid: "SendTasks",
                Effect: "Allow",
                Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                Resource: queues.map((q) => q.arn),
            });
            add("consumeQueues", {
                Sid: "ConsumeTasks",
                Effect: "Allow",
                Action: [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                ],
                Resource: queues.map((q) => q.arn),
            });
        }
        add("publishQueueMetric", {
            Sid: "PublishQueueMetric",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            Resource: "*", // PutMetricData has no resource type; the namespace condition scopes it
            Condition: { StringEquals: { "cloudwatch:namespace": QUEUE_METRIC.namespace } },
        });
        if (args.storage.fileSystem && grants.includes("mountSharedFs")) {
            statements.push({
                Sid: "MountSharedFileSystem",
                Effect: "Allow",
                Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                Resource: args.storage.fileSystem.arn,
                Condition: {
                    StringEquals: { "elasticfilesystem:AccessPointArn": args.storage.fileSystem.accessPointArn },
                },
            });
        }
        if (a.ecsExec) {
            statements.push({
                Sid: "EcsExec",
                Effect: "Allow",
                Action: [
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                Resource: "*", // Session Manager channels have no resource ARN
            });
        }
        return statements;
    }

    private createService(
        spec: ServiceSpec,
        settings: pulumi.Output<Omit<Parameters<typeof renderAirflowEnvironment>[0], "component">>,
    ): aws.ecs.Service {
        const { name, a, args } = this;
        const tags = args.tags;
        const parent = { parent: this };
        const role = spec.role;
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-${role}-logs`,
            {
                name: `/airflow/${a.environment}/${role}`,
                retentionInDays: a.logRetentionDays,
                tags: withName(tags, `${name}-${role}-logs`),
            },
            parent,
        );
        this.logGroupNames[role] = logGroup.name;

        const env = settings.apply((s) =>
            renderAirflowEnvironment({ ...s, component: spec.component, workerConcurrency: spec.workerConcurrency }),
        );
        // Every secret ARN the task's containers read, and nothing else, for the execution role.
        const secretArns = env.apply((e) => [...new Set(e.secrets.map((s) => s.valueFrom))].sort());

        const executionRole = new aws.iam.Role(
            `${name}-${role}-execution-role`,
            {
                description: `Starts Airflow ${a.environment} ${role} tasks`,
                assumeRolePolicy: assumeRolePolicy(["ecs-tasks.amazonaws.com"], this.account),
                tags: withName(tags, `${name}-${role}-execution-role`),
            },
            parent,
        );
        const executionStatements: Statement[] = [
            {
                Sid: "WriteLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: pulumi.interpolate`${logGroup.arn}:log-stream:*`,
            },
            { Sid: "ReadTaskSecrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArns },
        ];
        if (this.repositoryArn) {
            executionStatements.push(...ecrPullStatements(this.repositoryArn, "PullAirflowImage"));
        }
        new aws.iam.RolePolicy(
            `${name}-${role}-execution-policy`,
            { role: executionRole.id, policy: policyDocument(executionStatements) },
            parent,
        );

        const containerDefinitions = pulumi
            .all([env, this.imageUri, logGroup.name, this.region, args.storage.artifactsBucketName])
            .apply(([e, image, group, region, bucket]) =>
                JSON.stringify(this.containers(spec, e, image, group, region, bucket)),
            );

        const taskDefinition = new aws.ecs.TaskDefinition(
            `${name}-${role}-task`,
            {
                family: `${name}-${role}`,
                requiresCompatibilities: ["FARGATE"],
                networkMode: "awsvpc",
                cpu: String(spec.cpu),
                memory: String(spec.memory),
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
                executionRoleArn: executionRole.arn,
                taskRoleArn: spec.taskRole.arn,
                containerDefinitions,
                volumes: [
                    ...(spec.needsDags ? [{ name: "dags" }] : []),
                    ...(args.storage.fileSystem && !spec.control && spec.component !== "flower"
                        ? [
                              {
                                  name: "shared",
                                  efsVolumeConfiguration: {
                                      fileSystemId: args.storage.fileSystem.id,
                                      transitEncryption: "ENABLED",
                                      authorizationConfig: {
                                          accessPointId: args.storage.fileSystem.accessPointId,
                                          iam: "ENABLED",
                                      },
                                  },
                              },
                          ]
                        : []),
                ],
                tags: withName(tags, `${name}-${role}-task`),
            },
            parent,
        );

        const service = new aws.ecs.Service(
            `${name}-${role}`,
            {
                name: `${name}-${role}`,
                cluster: this.cluster.arn,
                taskDefinition: taskDefinition.arn,
                desiredCount: spec.desiredCount,
                capacityProviderStrategies: spec.capacityProviders,
                platformVersion: "1.4.0",
                networkConfiguration: {
                    subnets: args.network.privateSubnetIds,
                    securityGroups: [args.network.servicesSecurityGroupId],
                    assignPublicIp: false,
                },
                deploymentCircuitBreaker: { enable: true, rollback: true },
                // The control service must never run twice at once: it runs the migrations.
                deploymentMinimumHealthyPercent: spec.control ? 0 : 100,
                deploymentMaximumPercent: spec.control ? 100 : 200,
                enableExecuteCommand: a.ecsExec,
                enableEcsManagedTags: true,
                propagateTags: "SERVICE",
                healthCheckGracePeriodSeconds: spec.targetGroup ? 300 : undefined,
                loadBalancers: spec.targetGroup
                    ? [
                          {
                              targetGroupArn: spec.targetGroup.arn,
                              containerName: spec.component,
                              containerPort: spec.port!,
                          },
                      ]
                    : undefined,
                serviceRegistries: spec.serviceRegistry ? { registryArn: spec.serviceRegistry.arn } : undefined,
                // Autoscaling owns the workers' desired count after creation.
                tags: withName(tags, `${name}-${role}`),
            },
            { parent: this, ignoreChanges: spec.component === "worker" ? ["desiredCount"] : [] },
        );
        this.serviceNames[role] = service.name;
        return service;
    }

    /** The containers of one task: sidecars, the migration wait, and the component itself. */
    private containers(
        spec: ServiceSpec,
        env: { environment: { name: string; value: string }[]; secrets: { name: string; valueFrom: string }[] },
        image: string,
        logGroup: string,
        region: string,
        bucket: string,
    ): object[] {
        const { a, args } = this;
        const log = (prefix: string) => ({
            logDriver: "awslogs",
            options: { "awslogs-group": logGroup, "awslogs-region": region, "awslogs-stream-prefix": prefix },
        });
        const linuxParameters = a.ecsExec ? { initProcessEnabled: true } : undefined;
        const dagsMount = { sourceVolume: "dags", containerPath: DAGS_FOLDER, readOnly: true };
        const sharedMount =
            args.storage.fileSystem && !spec.control && spec.component !== "flower"
                ? [{ sourceVolume: "shared", containerPath: SHARED_MOUNT }]
                : [];
        const sidecarEnv = (extra: Record<string, string>) =>
            Object.entries({ CONNECTION_CHECK_MAX_COUNT: "0", AWS_DEFAULT_REGION: region, ...extra })
                .map(([n, v]) => ({ name: n, value: v }))
                .sort((x, y) => x.name.localeCompare(y.name));
        const containers: object[] = [];

        if (spec.control) {
            containers.push(
                {
                    name: "migrate",
                    image,
                    essential: false,
                    user: `${AIRFLOW_UID}:${AIRFLOW_GID}`,
                    command: ["bash", "-c", migrateScript()],
                    environment: env.environment,
                    secrets: env.secrets,
                    logConfiguration: log("migrate"),
                    linuxParameters,
                },
                {
                    // Starts only when the migrations succeeded; keeps the task (and so the
                    // deployment) alive, publishing the queue depth that scales the workers.
                    name: "queue-metrics",
                    image,
                    essential: true,
                    user: `${AIRFLOW_UID}:${AIRFLOW_GID}`,
                    command: ["python", "-c", readFileSync(path.join(SIDECARS, "queue_metrics.py"), "utf8")],
                    environment: sidecarEnv({
                        QUEUE_METRICS_ENVIRONMENT: a.environment,
                        QUEUE_METRICS_NAMESPACE: QUEUE_METRIC.namespace,
                        QUEUE_METRICS_NAME: QUEUE_METRIC.name,
                        QUEUE_METRICS_QUEUES: a.workerPools.map((p) => p.name).join(","),
                        QUEUE_METRICS_INTERVAL_SECONDS: "60",
                    }),
                    secrets: env.secrets.filter((s) => s.name === "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"),
                    dependsOn: [{ containerName: "migrate", condition: "SUCCESS" }],
                    logConfiguration: log("queue-metrics"),
                    linuxParameters,
                },
            );
            return containers;
        }

        const dependsOn: { containerName: string; condition: string }[] = [];
        if (spec.component !== "flower") {
            containers.push({
                name: "wait-for-migrations",
                image,
                essential: false,
                user: `${AIRFLOW_UID}:${AIRFLOW_GID}`,
                command: ["db", "check-migrations", "--migration-wait-timeout", "1200"],
                environment: env.environment,
                secrets: env.secrets.filter((s) => s.name === "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"),
                logConfiguration: log("wait-for-migrations"),
            });
            dependsOn.push({ containerName: "wait-for-migrations", condition: "SUCCESS" });
        }
        if (spec.needsDags) {
            containers.push({
                name: "dag-sync",
                image,
                essential: true,
                user: `${AIRFLOW_UID}:${AIRFLOW_GID}`,
                command: ["python", "-c", readFileSync(path.join(SIDECARS, "dag_sync.py"), "utf8")],
                environment: sidecarEnv({
                    DAG_SYNC_BUCKET: bucket,
                    DAG_SYNC_PREFIX: ARTIFACT_KEYS.dags,
                    DAG_SYNC_DEST: DAGS_FOLDER,
                    DAG_SYNC_INTERVAL_SECONDS: String(a.dagSyncIntervalSeconds),
                    DAG_SYNC_READY_FILE: "/tmp/dags-synced",
                }),
                mountPoints: [{ ...dagsMount, readOnly: false }],
                healthCheck: {
                    // Healthy once the first sync finished, and as long as syncs keep finishing.
                    command: [
                        "CMD-SHELL",
                        `python -c "import os,sys,time; sys.exit(0 if time.time() - os.path.getmtime('/tmp/dags-synced') < ${3 * a.dagSyncIntervalSeconds + 60} else 1)"`,
                    ],
                    interval: 15,
                    timeout: 5,
                    retries: 4,
                    startPeriod: 30,
                },
                logConfiguration: log("dag-sync"),
            });
            dependsOn.push({ containerName: "dag-sync", condition: "HEALTHY" });
        }
        containers.push({
            name: spec.component,
            image,
            essential: true,
            user: `${AIRFLOW_UID}:${AIRFLOW_GID}`,
            command: spec.command,
            environment: env.environment,
            secrets: env.secrets,
            portMappings: spec.port ? [{ containerPort: spec.port, protocol: "tcp" }] : [],
            mountPoints: [...(spec.needsDags ? [dagsMount] : []), ...sharedMount],
            healthCheck: {
                command: ["CMD-SHELL", spec.healthCheck],
                interval: 30,
                timeout: 20,
                retries: 5,
                startPeriod: 180,
            },
            dependsOn,
            stopTimeout: spec.stopTimeout,
            logConfiguration: log(spec.component),
            linuxParameters,
        });
        return containers;
    }

    /**
     * Scales a pool on its queue depth (queued + running tasks, published by the control service):
     * ExactCapacity steps of `concurrency` tasks per worker up to maxCount while there is work, and
     * back to minCount after 10 idle minutes. Works from zero workers, and the same on both brokers.
     */
    private createScaling(pool: WorkerPool, service: aws.ecs.Service): void {
        if (pool.minCount === pool.maxCount) return;
        const { name, a } = this;
        const parent = { parent: this };
        const role = `worker-${pool.name}`;
        const target = new aws.appautoscaling.Target(
            `${name}-${role}-scaling-target`,
            {
                serviceNamespace: "ecs",
                scalableDimension: "ecs:service:DesiredCount",
                resourceId: pulumi.interpolate`service/${this.cluster.name}/${service.name}`,
                minCapacity: pool.minCount,
                maxCapacity: pool.maxCount,
                tags: withName(this.args.tags, `${name}-${role}-scaling-target`),
            },
            parent,
        );
        const policy = (
            kind: string,
            steps: aws.types.input.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustment[],
        ) =>
            new aws.appautoscaling.Policy(
                `${name}-${role}-${kind}`,
                {
                    policyType: "StepScaling",
                    serviceNamespace: target.serviceNamespace,
                    scalableDimension: target.scalableDimension,
                    resourceId: target.resourceId,
                    stepScalingPolicyConfiguration: {
                        adjustmentType: "ExactCapacity",
                        cooldown: 60,
                        metricAggregationType: "Maximum",
                        stepAdjustments: steps,
                    },
                },
                parent,
            );
        const scaleOut = policy("scale-on-queue", queueSteps(pool));
        const scaleIn = policy("scale-in-when-idle", [
            { metricIntervalUpperBound: "0", scalingAdjustment: pool.minCount },
        ]);
        const alarm = (
            kind: string,
            comparison: string,
            periods: number,
            action: aws.appautoscaling.Policy,
            description: string,
        ) =>
            new aws.cloudwatch.MetricAlarm(
                `${name}-${role}-${kind}`,
                {
                    alarmDescription: description,
                    namespace: QUEUE_METRIC.namespace,
                    metricName: QUEUE_METRIC.name,
                    dimensions: { Environment: a.environment, Queue: pool.name },
                    statistic: "Maximum",
                    period: 60,
                    evaluationPeriods: periods,
                    threshold: 0,
                    comparisonOperator: comparison,
                    treatMissingData: "notBreaching",
                    alarmActions: [action.arn],
                    tags: withName(this.args.tags, `${name}-${role}-${kind}`),
                },
                parent,
            );
        alarm(
            "queue-has-work",
            "GreaterThanThreshold",
            1,
            scaleOut,
            `Tasks are queued or running on the ${pool.name} queue: size the pool to them`,
        );
        alarm(
            "queue-idle",
            "LessThanOrEqualToThreshold",
            10,
            scaleIn,
            `The ${pool.name} queue has been idle for 10 minutes: scale the pool in to ${pool.minCount}`,
        );
    }
}

/**
 * Step adjustments (relative to the alarm threshold 0) that give ceil(tasks / concurrency) workers,
 * capped at maxCount, in at most 20 steps (Application Auto Scaling's limit).
 */
export function queueSteps(
    pool: Pick<WorkerPool, "maxCount" | "concurrency">,
): { metricIntervalLowerBound: string; metricIntervalUpperBound?: string; scalingAdjustment: number }[] {
    const n = Math.min(pool.maxCount, 20);
    const capacities = [...Array(n).keys()].map((i) => Math.ceil(((i + 1) * pool.maxCount) / n));
    return capacities.map((capacity, i) => ({
        metricIntervalLowerBound: String(i === 0 ? 0 : capacities[i - 1] * pool.concurrency),
        ...(i < n - 1 ? { metricIntervalUpperBound: String(capacity * pool.concurrency) } : {}),
        scalingAdjustment: capacity,
    }));
}

/** The migration container's script: migrate, then create the admin user only if it is absent. */
export function migrateScript(): string {
    return [
        "set -euo pipefail",
        // Refuses, in one line, an Airflow older than the one that migrated the database (a rollback),
        // run by the interpreter of the airflow command (its #! line), whatever `python` is on the PATH.
        'read -r airflow_python < "$(command -v airflow)"',
        `\${airflow_python#\\#!} - <<'MIGRATION_GUARD'\n${readFileSync(path.join(SIDECARS, "migration_guard.py"), "utf8")}MIGRATION_GUARD`,
        "airflow db migrate",
        "if airflow users list --output json | python -c \"import json,sys; sys.exit(0 if any(u.get('username') == 'admin' for u in json.load(sys.stdin)) else 1)\"; then",
        '  echo "admin user exists"',
        "else",
        '  airflow users create --username admin --role Admin --firstname Airflow --lastname Admin --email admin@example.invalid --password "$AIRFLOW_ADMIN_PASSWORD"',
        "fi",
    ].join("\n");
}

function secretRefs(arns: AirflowSecretArns): pulumi.Output<Parameters<typeof renderAirflowEnvironment>[0]["secrets"]> {
    return pulumi.all({
        sqlAlchemyConn: arns.sqlAlchemyConn,
        resultBackend: arns.resultBackend,
        brokerUrl: arns.brokerUrl,
        fernetKey: arns.fernetKey,
        apiSecretKey: arns.apiSecretKey,
        jwtSecret: arns.jwtSecret ?? pulumi.output(undefined),
        adminPassword: arns.adminPassword,
        flowerBasicAuth: arns.flowerBasicAuth ?? pulumi.output(undefined),
    }) as unknown as pulumi.Output<Parameters<typeof renderAirflowEnvironment>[0]["secrets"]>;
}

type Grant =
    | "readDags"
    | "readLogs"
    | "writeLogs"
    | "secretsBackend"
    | "sendToQueues"
    | "consumeQueues"
    | "publishQueueMetric"
    | "mountSharedFs";

interface ResolvedArgs {
    environment: string;
    major: 2 | 3;
    brokerType: Broker;
    ecrKeepImages: number;
    logRetentionDays: number;
    webAccess: WebAccess;
    certificateArn?: string;
    flower: boolean;
    dagSyncIntervalSeconds: number;
    ecsExec: boolean;
    apiServerCount: number;
    schedulerCount: number;
    sizes: Record<SizedService, { cpu: number; memory: number }>;
    workerPools: readonly WorkerPool[];
    protectData: boolean;
}

function validateArgs(name: string, args: CeleryClusterArgs, resource: pulumi.Resource): ResolvedArgs {
    const defaults = Object.fromEntries(
        Object.entries(SIZED_SERVICES).map(([k, v]) => [k, { cpu: v.cpu, memory: v.memory }]),
    ) as Record<SizedService, { cpu: number; memory: number }>;
    const a: ResolvedArgs = {
        environment: args.environment,
        major: args.airflowVersion.startsWith("3.") ? 3 : 2,
        brokerType: args.storage.brokerType,
        ecrKeepImages: args.ecrKeepImages ?? 20,
        logRetentionDays: args.logRetentionDays ?? 30,
        webAccess: args.webAccess ?? "public",
        certificateArn: args.certificateArn,
        flower: args.flower ?? false,
        dagSyncIntervalSeconds: args.dagSyncIntervalSeconds ?? 60,
        ecsExec: args.ecsExec ?? false,
        apiServerCount: args.apiServerCount ?? 1,
        schedulerCount: args.schedulerCount ?? 1,
        sizes: { ...defaults, ...(args.sizes ?? {}) },
        workerPools: args.workerPools ?? [
            {
                name: "default",
                cpu: 1024,
                memory: 2048,
                minCount: 1,
                maxCount: 4,
                spot: false,
                onDemandBase: 0,
                concurrency: 16,
            },
        ],
        protectData: args.protectData ?? false,
    };
    const fail = (field: string, allowed: string, got: unknown) => {
        throw new pulumi.ResourceError(
            `CeleryCluster ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    if (!/^[23]\.\d+\.\d+$/.test(args.airflowVersion))
        fail("airflowVersion", "an Airflow 2.x or 3.x version such as 3.0.6", args.airflowVersion);
    if (!WEB_ACCESS.includes(a.webAccess)) fail("webAccess", choiceText(WEB_ACCESS), a.webAccess);
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(a.logRetentionDays))
        fail("logRetentionDays", choiceText(LOG_RETENTION_DAYS), a.logRetentionDays);
    if (a.flower && a.brokerType === "sqs")
        fail("flower", "false with the sqs broker (Celery cannot inspect SQS)", a.flower);
    if (a.flower && !args.storage.secretArns.flowerBasicAuth)
        fail("storage.secretArns.flowerBasicAuth", "set when flower is on", undefined);
    if (a.major === 3 && !args.storage.secretArns.jwtSecret)
        fail("storage.secretArns.jwtSecret", "set for Airflow 3", undefined);
    if (a.brokerType === "sqs") {
        const missing = a.workerPools.map((p) => p.name).filter((q) => !args.storage.queues?.[q]);
        if (missing.length > 0)
            fail(
                "storage.queues",
                `an SQS queue for every worker pool (missing ${missing.join(", ")})`,
                Object.keys(args.storage.queues ?? {}),
            );
    }
    for (const [service, size] of Object.entries(a.sizes)) {
        if (!FARGATE_CPUS.includes(size.cpu)) fail(`sizes.${service}.cpu`, choiceText(FARGATE_CPUS), size.cpu);
        if (!isFargateSize(size.cpu, size.memory))
            fail(`sizes.${service}.memory`, `one of ${memoryChoices(size.cpu)} with cpu ${size.cpu}`, size.memory);
    }
    if (a.workerPools.length === 0 || !a.workerPools.some((p) => p.name === "default")) {
        fail(
            "workerPools",
            'a list of pools including one named "default"',
            a.workerPools.map((p) => p.name),
        );
    }
    for (const pool of a.workerPools) {
        if (!isFargateSize(pool.cpu, pool.memory))
            fail(`workerPools.${pool.name}`, `a Fargate size (cpu ${pool.cpu}: memory ${memoryChoices(pool.cpu)})`, {
                cpu: pool.cpu,
                memory: pool.memory,
            });
        if (pool.minCount < 0 || pool.minCount > pool.maxCount)
            fail(`workerPools.${pool.name}.minCount`, `from 0 to maxCount (${pool.maxCount})`, pool.minCount);
    }
    return a;
}
