import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { dockerPlatform } from "../../config/levers";
import { policyDocument } from "../../lib/iam";
import { ecsTaskTrust, trustPolicy } from "../../lib/trust";
import { withName } from "../../lib/tags";
import { fargateCluster } from "../ecs";
import { metricsLogGroupName } from "../observability/agent";
import { WorkerStopEvents } from "../worker-events";
import { PORTS } from "../network";
import { CeleryClusterArgs, ResolvedCeleryArgs, resolveCeleryArgs } from "./args";
import { GrantContext, grantStatements, TASK_ROLE_NAMES, taskRoleGrants } from "./iam";
import { createLoadBalancer } from "./load-balancer";
import { createOffHours, createScaling } from "./scaling";
import { createService, sharedSettings } from "./service";
import { createUpgradeSnapshot } from "./snapshot";
import { airflowServices, apiRole, ServiceSpec, TaskRoleKey } from "./services";

export { celeryArgViolations, resolveCeleryArgs } from "./args";
export type { CeleryClusterArgs, CeleryQueue, ResolvedCeleryArgs } from "./args";
export { migrateScript, QUEUE_METRIC, SHARED_MOUNT, taskContainers } from "./containers";
export { grantStatements, taskRoleGrants } from "./iam";
export { listenerSpecs } from "./load-balancer";
export { queueSteps } from "./scaling";
export { airflowServices, componentCommand } from "./services";
export { sharedSettings } from "./service";
export { upgradeSnapshotIdentifier, upgradeSnapshotResourceName } from "./snapshot";
export type { ServiceSpec } from "./services";

/**
 * Airflow with the CeleryExecutor on ECS Fargate: one ECS service per component, all in private
 * subnets without public IPs, a load balancer in front of the UI (and Flower), migrations run once
 * per deployment by a control service that every other component waits for, DAGs synced from the
 * artifacts bucket by a sidecar, and worker pools that scale on their queue depth.
 *
 * The class only wires: the services (services.ts), their containers (containers.ts), the task
 * roles' statements (iam.ts), the listeners (load-balancer.ts) and the scaling steps (scaling.ts)
 * are exported functions of their own.
 */
export class CeleryCluster extends pulumi.ComponentResource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    public readonly imageUri: pulumi.Output<string>;
    public readonly repositoryUrl?: pulumi.Output<string>;
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
    /**
     * The CloudWatch dimensions of the load balancer (`LoadBalancer`) and of the api-server's target
     * group (`TargetGroup`): their ARN suffixes, which the dashboard and the alarms read.
     */
    public readonly loadBalancer: { arnSuffix: pulumi.Output<string>; apiTargetGroupArnSuffix: pulumi.Output<string> };
    /** Log group the metrics sidecars of every task write Airflow's metrics to (CloudWatch embedded metric format). */
    public readonly metricsLogGroupName: pulumi.Output<string>;

    constructor(name: string, args: CeleryClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:celery:CeleryCluster", name, {}, opts);
        const resolved = resolveCeleryArgs(name, args, this);
        const { tags } = args;
        const parent = { parent: this };
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = aws.getPartitionOutput({}, parent).partition;
        const image = this.image(name, args, resolved);
        this.imageUri = image.uri;
        this.repositoryUrl = image.repositoryUrl;

        const { cluster, capacityProviders } = fargateCluster(name, tags, this, resolved);
        // From the association, so that what runs tasks on the cluster (the fargate_jobs Variable) waits for it.
        this.clusterName = capacityProviders.clusterName;
        this.clusterArn = cluster.arn;

        const api = apiRole(resolved.airflowMajor);
        const { apiRegistry, executionApiUrl } = this.discovery(
            name,
            api,
            resolved.environment,
            args.network.vpcId,
            tags,
        );

        const lb = createLoadBalancer(
            name,
            {
                ...resolved,
                accessLogBucket: args.accessLogBucket,
                vpcId: args.network.vpcId,
                publicSubnetIds: args.network.publicSubnetIds,
                privateSubnetIds: args.network.privateSubnetIds,
                securityGroupId: args.network.loadBalancerSecurityGroupId,
                tags,
            },
            this,
        );
        this.loadBalancerDnsName = lb.alb.dnsName;
        this.loadBalancer = { arnSuffix: lb.alb.arnSuffix, apiTargetGroupArnSuffix: lb.targetGroups.api.arnSuffix };
        this.airflowUrl = lb.url;
        if (lb.targetGroups.flower) this.flowerUrl = pulumi.interpolate`${lb.url}:${PORTS.flower}`;

        const metricsLogGroup = this.metricsLogGroup(name, resolved, tags);
        this.metricsLogGroupName = metricsLogGroup.name;

        const queues = args.storage.queues ?? {};
        const roles = this.taskRoles(
            name,
            resolved,
            grantContext(resolved, args, { partition, region, account, cluster, metricsLogGroup }),
            tags,
        );
        this.workerTaskRole = roles.worker;
        this.triggererTaskRole = roles.triggerer;

        const settings = sharedSettings(resolved, {
            region,
            bucketName: args.storage.artifactsBucketName,
            baseUrl: this.airflowUrl,
            executionApiUrl,
            queues,
            secretArns: args.storage.secretArns,
        });

        for (const spec of airflowServices({ ...resolved, broker: resolved.brokerType })) {
            const { service, logGroup } = createService(
                name,
                {
                    environment: resolved.environment,
                    spec,
                    settings,
                    cluster,
                    capacityProviders,
                    image: this.imageUri,
                    repositoryArn: image.repositoryArn,
                    region,
                    account,
                    bucketName: args.storage.artifactsBucketName,
                    taskRole: roles[spec.taskRole],
                    targetGroup: spec.targetGroup ? lb.targetGroups[spec.targetGroup] : undefined,
                    serviceRegistry: spec.discovery ? apiRegistry : undefined,
                    queues: resolved.workerPools.map((p) => p.name),
                    logRetentionDays: resolved.logRetentionDays,
                    dagSyncIntervalSeconds: resolved.dagSyncIntervalSeconds,
                    ecsExec: resolved.ecsExec,
                    cpuArchitecture: resolved.cpuArchitecture,
                    scheduled: !!resolved.offHours,
                    subnetIds: args.network.privateSubnetIds,
                    securityGroupId: args.network.servicesSecurityGroupId,
                    fileSystem: args.storage.fileSystem,
                    metrics: this.metricsSidecar(name, resolved, metricsLogGroup),
                    tags,
                    taskDefinitionDependsOn: spec.control ? this.upgradeSnapshot(name, resolved, args) : [],
                },
                this,
            );
            this.serviceNames[spec.role] = service.name;
            this.logGroupNames[spec.role] = logGroup.name;
            this.scale(name, resolved, spec, cluster.name, service.name, tags);
        }
        this.workerPools(name, resolved, cluster, tags);
        this.registerOutputs({
            clusterName: this.clusterName,
            clusterArn: this.clusterArn,
            imageUri: this.imageUri,
            airflowUrl: this.airflowUrl,
            flowerUrl: this.flowerUrl,
            loadBalancerDnsName: this.loadBalancerDnsName,
            loadBalancer: this.loadBalancer,
            metricsLogGroupName: this.metricsLogGroupName,
            workerTaskRoleArn: this.workerTaskRole.arn,
            serviceNames: this.serviceNames,
        });
    }

    /**
     * What the worker pools get besides their services and scaling (scale): the metric of worker tasks
     * stopped mid-run (Spot interruptions: Observability's event rule counts them for the whole cluster).
     */
    private workerPools(
        name: string,
        resolved: ResolvedCeleryArgs,
        cluster: aws.ecs.Cluster,
        tags: CeleryClusterArgs["tags"],
    ): void {
        new WorkerStopEvents(
            `${name}-worker-stops`,
            {
                environment: resolved.environment,
                clusterArn: cluster.arn,
                workerServiceNames: resolved.workerPools.map((p) => this.serviceNames[`worker-${p.name}`]),
                logRetentionDays: resolved.logRetentionDays,
                tags,
            },
            { parent: this },
        );
    }

    /**
     * What every task's metrics sidecar needs: the Environment dimension is the component's name, as
     * MWAA's environment would be named; the log group it writes; its image (airflow:metricsAgentImage).
     */
    private metricsSidecar(name: string, resolved: ResolvedCeleryArgs, group: aws.cloudwatch.LogGroup) {
        return { environmentName: name, logGroupName: group.name, image: resolved.metricsAgentImage };
    }

    /** The log group every task's metrics sidecar (components/observability/agent.ts) writes Airflow's metrics to. */
    private metricsLogGroup(
        name: string,
        resolved: ResolvedCeleryArgs,
        tags: CeleryClusterArgs["tags"],
    ): aws.cloudwatch.LogGroup {
        return new aws.cloudwatch.LogGroup(
            `${name}-metrics`,
            {
                name: metricsLogGroupName(resolved.environment),
                retentionInDays: resolved.logRetentionDays,
                tags: withName(tags, `${name}-metrics`),
            },
            { parent: this },
        );
    }

    /** A worker pool's queue-depth scaling, and every service's off-hours schedule (when the stack has one). */
    private scale(
        name: string,
        resolved: ResolvedCeleryArgs,
        spec: ServiceSpec,
        clusterName: pulumi.Input<string>,
        serviceName: pulumi.Input<string>,
        tags: CeleryClusterArgs["tags"],
    ): void {
        const pool = resolved.workerPools.find((p) => spec.role === `worker-${p.name}`);
        const scaling = { environment: resolved.environment, clusterName, serviceName, tags };
        const target = pool ? createScaling(name, { ...scaling, pool }, this) : undefined;
        if (!resolved.offHours) return;
        const bounds = pool
            ? { min: pool.minCount, max: pool.maxCount }
            : { min: spec.desiredCount, max: spec.desiredCount };
        createOffHours(name, { ...scaling, role: spec.role, bounds, offHours: resolved.offHours, target }, this);
    }

    /** Before the control service migrates to a new version: an RDS snapshot named after it, if there is a database. */
    private upgradeSnapshot(name: string, resolved: ResolvedCeleryArgs, args: CeleryClusterArgs): pulumi.Resource[] {
        const dbInstanceIdentifier = args.storage.databaseInstanceId;
        if (dbInstanceIdentifier === undefined) return [];
        const snapshotArgs = { airflowVersion: resolved.airflowVersion, dbInstanceIdentifier, tags: args.tags };
        return [createUpgradeSnapshot(name, snapshotArgs, this)];
    }

    /** Service discovery: the private DNS namespace and the UI/API service's registration in it, where workers reach the execution API. */
    private discovery(
        name: string,
        api: string,
        environment: string,
        vpcId: pulumi.Input<string>,
        tags: CeleryClusterArgs["tags"],
    ): { apiRegistry: aws.servicediscovery.Service; executionApiUrl: pulumi.Output<string> } {
        const parent = { parent: this };
        const namespace = new aws.servicediscovery.PrivateDnsNamespace(
            `${name}-namespace`,
            {
                name: `${name}.local`,
                vpc: vpcId,
                description: `Airflow ${environment} services`,
                tags: withName(tags, `${name}-namespace`),
            },
            parent,
        );
        const apiRegistry = new aws.servicediscovery.Service(
            `${name}-${api}-discovery`,
            {
                name: api,
                dnsConfig: {
                    namespaceId: namespace.id,
                    routingPolicy: "MULTIVALUE",
                    dnsRecords: [{ type: "A", ttl: 10 }],
                },
                healthCheckCustomConfig: { failureThreshold: 1 },
                tags: withName(tags, `${name}-${api}-discovery`),
            },
            parent,
        );
        const executionApiUrl = pulumi.interpolate`http://${api}.${namespace.name}:${PORTS.airflowWeb}/execution/`;
        return { apiRegistry, executionApiUrl };
    }

    /** The image: built from the repository into an ECR repository of the cluster, or the one given. */
    private image(
        name: string,
        args: CeleryClusterArgs,
        resolved: ResolvedCeleryArgs,
    ): { uri: pulumi.Output<string>; repositoryUrl?: pulumi.Output<string>; repositoryArn?: pulumi.Output<string> } {
        if (!("build" in args.image)) return { uri: pulumi.output(args.image.uri) };
        const parent = { parent: this };
        const repository = new aws.ecr.Repository(
            `${name}-repo`,
            {
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                forceDelete: !resolved.protectData,
                tags: withName(args.tags, `${name}-repo`),
            },
            parent,
        );
        new aws.ecr.LifecyclePolicy(
            `${name}-repo-lifecycle`,
            { repository: repository.name, policy: JSON.stringify(lifecyclePolicy(resolved.ecrKeepImages)) },
            parent,
        );
        const image = new awsx.ecr.Image(
            `${name}-image`,
            {
                repositoryUrl: repository.repositoryUrl,
                context: args.image.build.context,
                dockerfile: args.image.build.dockerfile,
                platform: dockerPlatform(resolved.cpuArchitecture),
                imageTag: args.image.build.tag,
                args: { AIRFLOW_VERSION: resolved.airflowVersion },
            },
            parent,
        );
        return { uri: image.imageUri, repositoryUrl: repository.repositoryUrl, repositoryArn: repository.arn };
    }

    /** One task role per class of service, each with its grants' statements. */
    private taskRoles(
        name: string,
        resolved: ResolvedCeleryArgs,
        context: GrantContext,
        tags: CeleryClusterArgs["tags"],
    ): Record<TaskRoleKey, aws.iam.Role> {
        const grants = taskRoleGrants(resolved.airflowMajor);
        return Object.fromEntries(
            (Object.keys(TASK_ROLE_NAMES) as TaskRoleKey[]).map((key) => [
                key,
                this.taskRole(
                    name,
                    TASK_ROLE_NAMES[key],
                    resolved.environment,
                    context,
                    grantStatements(grants[key], context),
                    tags,
                ),
            ]),
        ) as Record<TaskRoleKey, aws.iam.Role>;
    }

    /** A task role (`<name>-<role>-task-role`) with its statements as one inline policy, if any. */
    private taskRole(
        name: string,
        role: string,
        environment: string,
        where: Pick<GrantContext, "partition" | "region" | "account">,
        statements: ReturnType<typeof grantStatements>,
        tags: CeleryClusterArgs["tags"],
    ): aws.iam.Role {
        const taskRole = new aws.iam.Role(
            `${name}-${role}-task-role`,
            {
                description: `Airflow ${environment} ${role} tasks`,
                assumeRolePolicy: trustPolicy(ecsTaskTrust(where)),
                tags: withName(tags, `${name}-${role}-task-role`),
            },
            { parent: this },
        );
        if (statements.length > 0) {
            new aws.iam.RolePolicy(
                `${name}-${role}-task-policy`,
                { role: taskRole.id, policy: policyDocument(statements) },
                { parent: this },
            );
        }
        return taskRole;
    }
}

/** What the task roles' statements name: the cluster's resources and the stack's. */
function grantContext(
    resolved: ResolvedCeleryArgs,
    args: CeleryClusterArgs,
    r: {
        partition: pulumi.Input<string>;
        region: pulumi.Input<string>;
        account: pulumi.Input<string>;
        cluster: aws.ecs.Cluster;
        metricsLogGroup: aws.cloudwatch.LogGroup;
    },
): GrantContext {
    return {
        partition: r.partition,
        region: r.region,
        account: r.account,
        environment: resolved.environment,
        bucketArn: args.storage.artifactsBucketArn,
        kmsKeyArn: args.storage.artifactsKmsKeyArn,
        queueArns: Object.values(args.storage.queues ?? {}).map((q) => q.arn),
        fileSystem: args.storage.fileSystem,
        ecsExec: resolved.ecsExec,
        cluster: { name: r.cluster.name, arn: r.cluster.arn },
        metricsLogGroupArn: r.metricsLogGroup.arn,
    };
}

/** The ECR lifecycle policy that keeps the last `keep` images. */
export function lifecyclePolicy(keep: number): object {
    return {
        rules: [
            {
                rulePriority: 1,
                description: `Keep the last ${keep} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
        ],
    };
}
