import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CpuArchitecture } from "../../config";
import { AirflowEnvSettings, AirflowSecretRefs, renderAirflowEnvironment } from "../../lib/airflow-env";
import { withName } from "../../lib/tags";
import { executionRole } from "../ecs";
import { STATSD_ENDPOINT } from "../observability/agent";
import { STATSD_PREFIX } from "../observability/metrics";
import { AirflowSecretArns } from "../storage";
import type { ResolvedCeleryArgs } from "./args";
import { taskContainers } from "./containers";
import { RDS_CA_VOLUME } from "./tls";
import { executionStatements } from "./iam";
import { mountsSharedFs, ServiceSpec } from "./services";

/** The Airflow settings every component shares; the component (and worker concurrency) is per service. */
export type SharedSettings = Omit<AirflowEnvSettings, "component" | "workerConcurrency">;

/** What one ECS service is made of besides its spec. */
export interface ServiceArgs {
    environment: string;
    spec: ServiceSpec;
    settings: pulumi.Output<SharedSettings>;
    cluster: aws.ecs.Cluster;
    /**
     * The cluster's capacity providers: a service with a capacity-provider strategy waits for them,
     * as CreateService fails while the provider is not associated with the cluster.
     */
    capacityProviders: aws.ecs.ClusterCapacityProviders;
    image: pulumi.Input<string>;
    /** The cluster's ECR repository, when the program built the image. */
    repositoryArn?: pulumi.Input<string>;
    region: pulumi.Input<string>;
    account: pulumi.Input<string>;
    bucketName: pulumi.Input<string>;
    taskRole: aws.iam.Role;
    targetGroup?: aws.lb.TargetGroup;
    serviceRegistry?: aws.servicediscovery.Service;
    queues: readonly string[];
    logRetentionDays: number;
    dagSyncIntervalSeconds: number;
    ecsExec: boolean;
    /** The tasks' CPU architecture (the image must be built for it). */
    cpuArchitecture: CpuArchitecture;
    /** An off-hours schedule scales the service: its desired count is then not the program's. */
    scheduled: boolean;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupId: pulumi.Input<string>;
    fileSystem?: { id: pulumi.Input<string>; accessPointId: pulumi.Input<string> };
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** The metrics sidecar: the Environment dimension of Airflow's metrics, the log group it writes and its image. Default: none. */
    metrics?: { environmentName: string; logGroupName: pulumi.Input<string>; image: string };
    /** What the task definition is registered after (the control service: the pre-upgrade snapshot). Default: none. */
    taskDefinitionDependsOn?: pulumi.Resource[];
}

/** The task definition's volumes: the RDS CA bundle, the dags scratch volume and the shared file system (EFS over TLS, IAM). */
export function taskVolumes(
    spec: Pick<ServiceSpec, "needsDags" | "control" | "component">,
    fileSystem?: ServiceArgs["fileSystem"],
): aws.types.input.ecs.TaskDefinitionVolume[] {
    return [
        // Every Airflow task connects to the metadata database: the RDS CA bundle (./tls.ts).
        { name: RDS_CA_VOLUME },
        ...(spec.needsDags ? [{ name: "dags" }] : []),
        ...(fileSystem && mountsSharedFs(spec)
            ? [
                  {
                      name: "shared",
                      efsVolumeConfiguration: {
                          fileSystemId: fileSystem.id,
                          transitEncryption: "ENABLED",
                          authorizationConfig: { accessPointId: fileSystem.accessPointId, iam: "ENABLED" },
                      },
                  },
              ]
            : []),
    ];
}

/** One Airflow component as an ECS service: log group, execution role, task definition, service. */
export function createService(
    name: string,
    args: ServiceArgs,
    parent: pulumi.Resource,
): { service: aws.ecs.Service; logGroup: aws.cloudwatch.LogGroup } {
    const { spec, tags } = args;
    const role = spec.role;
    const logGroup = new aws.cloudwatch.LogGroup(
        `${name}-${role}-logs`,
        {
            name: `/airflow/${args.environment}/${role}`,
            retentionInDays: args.logRetentionDays,
            tags: withName(tags, `${name}-${role}-logs`),
        },
        { parent },
    );
    const env = args.settings.apply((s) =>
        renderAirflowEnvironment({ ...s, component: spec.component, workerConcurrency: spec.workerConcurrency }),
    );
    // Every secret ARN the task's containers read, and nothing else, for the execution role.
    const secretArns = env.apply((e) => [...new Set(e.secrets.map((s) => s.valueFrom))].sort());
    const execution = executionRole(
        `${name}-${role}`,
        {
            description: `Starts Airflow ${args.environment} ${role} tasks`,
            account: args.account,
            statements: executionStatements({
                logGroupArn: logGroup.arn,
                secretArns,
                repositoryArn: args.repositoryArn,
            }),
            tags,
        },
        parent,
    );
    const containerDefinitions = pulumi
        .all([env, args.image, logGroup.name, args.region, args.bucketName, args.metrics?.logGroupName ?? ""])
        .apply(([e, image, group, region, bucket, metricsGroup]) =>
            JSON.stringify(
                taskContainers({
                    spec,
                    env: e,
                    image,
                    logGroup: group,
                    region,
                    bucket,
                    environment: args.environment,
                    queues: args.queues,
                    dagSyncIntervalSeconds: args.dagSyncIntervalSeconds,
                    ecsExec: args.ecsExec,
                    sharedFileSystem: !!args.fileSystem,
                    metrics: args.metrics
                        ? {
                              environmentName: args.metrics.environmentName,
                              logGroupName: metricsGroup,
                              image: args.metrics.image,
                          }
                        : undefined,
                }),
            ),
        );
    const taskDefinition = new aws.ecs.TaskDefinition(
        `${name}-${role}-task`,
        {
            family: `${name}-${role}`,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: String(spec.cpu),
            memory: String(spec.memory),
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.cpuArchitecture },
            executionRoleArn: execution.arn,
            taskRoleArn: args.taskRole.arn,
            containerDefinitions,
            volumes: taskVolumes(spec, args.fileSystem),
            tags: withName(tags, `${name}-${role}-task`),
        },
        { parent, dependsOn: args.taskDefinitionDependsOn ?? [] },
    );
    const service = new aws.ecs.Service(
        `${name}-${role}`,
        {
            name: `${name}-${role}`,
            cluster: args.cluster.arn,
            taskDefinition: taskDefinition.arn,
            desiredCount: spec.desiredCount,
            capacityProviderStrategies: spec.capacityProviders,
            platformVersion: "1.4.0",
            networkConfiguration: {
                subnets: args.subnetIds,
                securityGroups: [args.securityGroupId],
                assignPublicIp: false,
            },
            deploymentCircuitBreaker: { enable: true, rollback: true },
            // The control service must never run twice at once: it runs the migrations.
            deploymentMinimumHealthyPercent: spec.control ? 0 : 100,
            deploymentMaximumPercent: spec.control ? 100 : 200,
            enableExecuteCommand: args.ecsExec,
            enableEcsManagedTags: true,
            propagateTags: "SERVICE",
            healthCheckGracePeriodSeconds: args.targetGroup ? 300 : undefined,
            loadBalancers: args.targetGroup
                ? [{ targetGroupArn: args.targetGroup.arn, containerName: spec.component, containerPort: spec.port! }]
                : undefined,
            serviceRegistries: args.serviceRegistry ? { registryArn: args.serviceRegistry.arn } : undefined,
            tags: withName(tags, `${name}-${role}`),
        },
        // Autoscaling (and an off-hours schedule) owns the desired count after creation.
        {
            parent,
            dependsOn: spec.capacityProviders.length > 0 ? [args.capacityProviders] : [],
            ignoreChanges: spec.component === "worker" || args.scheduled ? ["desiredCount"] : [],
        },
    );
    return { service, logGroup };
}

/** The Airflow settings every component of the cluster shares (the component is set per service). */
export function sharedSettings(
    resolved: Pick<ResolvedCeleryArgs, "airflowVersion" | "environment" | "brokerType">,
    inputs: {
        region: pulumi.Input<string>;
        bucketName: pulumi.Input<string>;
        baseUrl: pulumi.Input<string>;
        executionApiUrl: pulumi.Input<string>;
        queues: Record<string, { url: pulumi.Input<string> }>;
        secretArns: AirflowSecretArns;
    },
): pulumi.Output<SharedSettings> {
    const queueUrls = pulumi.all(
        Object.fromEntries(Object.entries(inputs.queues).map(([q, v]) => [q, v.url])),
    ) as pulumi.Output<Record<string, string>>;
    return pulumi
        .all([
            inputs.region,
            inputs.bucketName,
            inputs.baseUrl,
            inputs.executionApiUrl,
            queueUrls,
            secretRefs(inputs.secretArns),
        ])
        .apply(([region, bucket, baseUrl, executionUrl, urls, secrets]) => ({
            airflowVersion: resolved.airflowVersion,
            environment: resolved.environment,
            region,
            artifactsBucket: bucket,
            baseUrl,
            executionApiUrl: executionUrl,
            broker:
                resolved.brokerType === "sqs" ? { type: "sqs" as const, queueUrls: urls } : { type: "redis" as const },
            secrets,
            // StatsD to the task's metrics sidecar (components/observability/agent.ts).
            metrics: { ...STATSD_ENDPOINT, prefix: STATSD_PREFIX },
        }));
}

function secretRefs(arns: AirflowSecretArns): pulumi.Output<AirflowSecretRefs> {
    return pulumi.all({
        sqlAlchemyConn: arns.sqlAlchemyConn,
        resultBackend: arns.resultBackend,
        brokerUrl: arns.brokerUrl,
        fernetKey: arns.fernetKey,
        apiSecretKey: arns.apiSecretKey,
        jwtSecret: arns.jwtSecret ?? pulumi.output(undefined),
        adminPassword: arns.adminPassword,
        flowerBasicAuth: arns.flowerBasicAuth ?? pulumi.output(undefined),
    }) as unknown as pulumi.Output<AirflowSecretRefs>;
}
