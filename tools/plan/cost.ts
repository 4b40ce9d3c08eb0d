/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs are untyped */
// The cost estimate of the offline plan: what the resources a stack registers cost a month, idle and
// at a stated load, from the inputs the program gives them and the price table (prices.ts).
//
//  - idle: every service at rest (its scaling minimum, or its desired count), the stored data the load
//    states (S3, EFS, ECR, Aurora storage), no traffic, no jobs.
//  - loaded: idle, plus each autoscaled service at its maximum for the busy hours, traffic through NAT
//    gateways and endpoints, logs, Fargate jobs, SageMaker training and transform, ALB capacity units.
//
// Every resource type is classified: priced, or free (with the reason). A type the classification does
// not know is listed as unpriced, never skipped; so is a priced type whose size the table lacks.
import { costLoadFrom, CostLoad } from "../../config/cost";
import { AGENT_CONTAINER } from "../../components/observability/agent";
import { AIRFLOW_NAMESPACE, airflowMetricRules, EVENT_METRICS } from "../../components/observability/metrics";
import { endpointsRequiredWithoutNat } from "../../config/network";
import {
    CONTAINER_INSIGHTS_METRICS,
    CpuArchitecture,
    ELASTICACHE_NODES,
    FARGATE_PRICES,
    FargateProvider,
    MWAA_CLASSES,
    Price,
    PRICE_TABLE,
    PRICES,
    RDS_POSTGRES_INSTANCES,
    SAGEMAKER_INSTANCES,
} from "./prices";
import { Bounds, MINUTES_PER_WEEK, ScheduledBounds, weekOfBounds } from "./schedule";

/** What the estimate reads of a registered resource. */
export interface CostResource {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    /** The id the provider gave it. */
    readonly id?: string;
    /** Inputs with secrets unwrapped (the SageMaker and jobs Variables are read from their JSON). */
    readonly inputs: Record<string, any>;
    /** What the provider returned (ids and ARNs, to follow references). */
    readonly state?: Record<string, any>;
}

/** One price applied to a quantity a month. */
export interface PriceUse {
    readonly item: string;
    readonly usd: number;
    readonly unit: string;
    readonly source: string;
    readonly quantityIdle: number;
    readonly quantityLoaded: number;
}

export interface CostLine {
    readonly type: string;
    readonly name: string;
    readonly monthlyIdle: number;
    readonly monthlyLoaded: number;
    /** How the figure was made, in words. */
    readonly basis: string;
    readonly prices: PriceUse[];
}

export interface UnpricedResource {
    readonly type: string;
    readonly name: string;
    readonly reason: string;
}

export interface NetworkChoice {
    readonly natGateways: number;
    readonly interfaceEndpoints: number;
    readonly endpointAzs: number;
    readonly monthlyIdle: number;
    readonly monthlyLoaded: number;
    readonly note?: string;
}

export interface CostEstimate {
    readonly currency: string;
    readonly region: string;
    readonly priceDate: string;
    readonly hoursPerMonth: number;
    readonly priceTable: string;
    readonly load: CostLoad;
    readonly monthlyIdle: number;
    readonly monthlyLoaded: number;
    readonly lines: CostLine[];
    readonly unpriced: UnpricedResource[];
    /** Resources that cost nothing themselves, by type, with the reason. */
    readonly free: { type: string; count: number; reason: string }[];
    /** The NAT gateways vs interface endpoints choice for this stack: the network's cost each way. */
    readonly network: { configured: NetworkChoice; natGatewaysOnly: NetworkChoice; endpointsOnly: NetworkChoice };
    readonly warnings: string[];
}

const H = PRICE_TABLE.hoursPerMonth;
const DAYS = PRICE_TABLE.daysPerMonth;

// ---------------------------------------------------------------------------------------------------
// Classification

/** What a priced resource's function returns: a line, a reason it cannot be priced, or that it is free. */
type Priced =
    | { line: Omit<CostLine, "type" | "name" | "monthlyIdle" | "monthlyLoaded"> }
    | { unpriced: string }
    | { free: string };

type Classification = { readonly free: string } | { readonly price: (r: CostResource, ctx: Context) => Priced };

const free = (reason: string): Classification => ({ free: reason });

/** Every resource type the stacks create, priced or free. A new type is unpriced until it is added here. */
export const RESOURCE_CLASSES: Readonly<Record<string, Classification>> = {
    // Priced
    "aws:ecs/service:Service": { price: priceService },
    "aws:ecs/taskDefinition:TaskDefinition": { price: priceStandaloneTaskDefinition },
    "aws:ecs/cluster:Cluster": { price: priceCluster },
    "aws:ec2/natGateway:NatGateway": { price: priceNatGateway },
    "aws:ec2/eip:Eip": { price: () => use(["public IPv4", PRICES.publicIpv4Hour, H, H]) },
    "aws:ec2/vpcEndpoint:VpcEndpoint": { price: priceEndpoint },
    "aws:lb/loadBalancer:LoadBalancer": { price: priceLoadBalancer },
    "aws:rds/instance:Instance": { price: priceRdsInstance },
    "aws:rds/snapshot:Snapshot": free(
        "backup storage up to the region's provisioned database storage is free (Amazon RDS pricing, backup storage); kept pre-upgrade snapshots beyond that are billed per GB-month",
    ),
    "aws:rds/cluster:Cluster": { price: priceAuroraCluster },
    "aws:rds/clusterInstance:ClusterInstance": { price: priceAuroraInstance },
    "aws:elasticache/replicationGroup:ReplicationGroup": { price: priceReplicationGroup },
    "aws:sqs/queue:Queue": { price: priceQueue },
    "aws:sqs/queuePolicy:QueuePolicy": free("queue policies are free"),
    "aws:efs/fileSystem:FileSystem": {
        price: (_r, ctx) => use(["storage", PRICES.efsStandardGbMonth, ctx.load.costEfsGb, ctx.load.costEfsGb]),
    },
    "aws:efs/backupPolicy:BackupPolicy": { price: priceEfsBackup },
    "aws:s3/bucket:Bucket": {
        price: (_r, ctx) =>
            shared(PRICES.s3StandardGbMonth, "storage", ctx.load.costS3Gb, ctx.count("aws:s3/bucket:Bucket")),
    },
    "aws:ecr/repository:Repository": {
        price: (_r, ctx) =>
            shared(PRICES.ecrGbMonth, "image storage", ctx.load.costEcrGb, ctx.count("aws:ecr/repository:Repository")),
    },
    "aws:secretsmanager/secret:Secret": { price: () => use(["secret", PRICES.secretMonth, 1, 1]) },
    "aws:secretsmanager/secretVersion:SecretVersion": { price: priceVariable },
    "aws:cloudwatch/logGroup:LogGroup": { price: priceLogGroup },
    "aws:cloudwatch/metricAlarm:MetricAlarm": { price: priceAlarm },
    "aws:cloudwatch/dashboard:Dashboard": { price: () => use(["dashboard", PRICES.dashboardMonth, 1, 1]) },
    "aws:kms/key:Key": { price: () => use(["key", PRICES.kmsKeyMonth, 1, 1]) },
    // Each metric filter publishes one custom metric (billed as any custom metric once it has data).
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": { price: () => use(["metric", PRICES.customMetricMonth, 1, 1]) },
    "aws:mwaa/environment:Environment": { price: priceMwaa },
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": {
        price: () => use(["hosted zone", PRICES.hostedZoneMonth, 1, 1]),
    },
    "aws:servicediscovery/service:Service": { price: priceDiscoveryService },
    // Free, or billed on another resource
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": free("resource policies are free"),
    "aws:cloudwatch/eventRule:EventRule": free(
        "rules on events that AWS services publish are free (EventBridge bills custom and partner events)",
    ),
    "aws:cloudwatch/eventTarget:EventTarget": free(
        "targets are free; delivery to CloudWatch Logs is billed as log ingestion",
    ),
    "aws:sns/topic:Topic": free(
        "topics are free; the alarm notifications they carry fall inside SNS's free tier (1,000 emails, 100,000 HTTPS a month)",
    ),
    "aws:sns/topicPolicy:TopicPolicy": free("topic policies are free"),
    "aws:sns/topicSubscription:TopicSubscription": free("subscriptions are free; see aws:sns/topic:Topic"),
    "aws:appautoscaling/policy:Policy": free("scaling policies are free; the service they scale is priced"),
    "aws:appautoscaling/target:Target": free("scalable targets are free; their bounds price the service"),
    "aws:appautoscaling/scheduledAction:ScheduledAction": free(
        "scheduled actions are free; their schedule prices the service",
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": free("security groups are free"),
    "aws:ec2/securityGroup:SecurityGroup": free("security groups are free"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": free("security group rules are free"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": free("security group rules are free"),
    "aws:ec2/flowLog:FlowLog": free("flow log records are billed as ingestion into their log group"),
    "aws:ec2/internetGateway:InternetGateway": free("internet gateways are free (data transfer out is not estimated)"),
    "aws:ec2/route:Route": free("routes are free"),
    "aws:ec2/routeTable:RouteTable": free("route tables are free"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": free("route tables are free"),
    "aws:ec2/subnet:Subnet": free("subnets are free"),
    "aws:ec2/vpc:Vpc": free("VPCs are free"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": free("lifecycle policies are free"),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": free(
        "capacity providers are free; their default strategy prices services",
    ),
    "aws:efs/accessPoint:AccessPoint": free("access points are free"),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": free("file system policies are free"),
    "aws:efs/mountTarget:MountTarget": free("mount targets are free"),
    "aws:elasticache/subnetGroup:SubnetGroup": free("subnet groups are free"),
    "aws:iam/role:Role": free("IAM is free"),
    "aws:iam/rolePolicy:RolePolicy": free("IAM is free"),
    "aws:kms/alias:Alias": free("aliases are free; the key is priced"),
    "aws:lb/listener:Listener": free("listeners are billed in the load balancer's LCUs"),
    "aws:lb/targetGroup:TargetGroup": free("target groups are billed in the load balancer's LCUs"),
    "aws:rds/parameterGroup:ParameterGroup": free("parameter groups are free"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": free("parameter groups are free"),
    "aws:rds/subnetGroup:SubnetGroup": free("subnet groups are free"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": free(
        "bucket settings are free; the bucket's storage is priced",
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": free("objects are counted in their bucket's storage"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": free(
        "bucket settings are free; the bucket's storage is priced",
    ),
    "aws:s3/bucketPolicy:BucketPolicy": free("bucket settings are free; the bucket's storage is priced"),
    "aws:s3/bucketLogging:BucketLogging": free(
        "server access logging is free; the log objects are counted in the log bucket's storage",
    ),
    "aws:acm/certificate:Certificate": free("ACM public certificates are free (AWS Certificate Manager pricing)"),
    "aws:acm/certificateValidation:CertificateValidation": free("a wait for ACM's validation, no AWS resource"),
    "aws:route53/record:Record": free(
        "records in a hosted zone are free, and alias queries to a load balancer are free (Route 53 pricing); the zone is the user's",
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": free(
        "bucket settings are free; the bucket's storage is priced",
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": free(
        "SSE-S3 is free (SSE-KMS requests would be billed by the key)",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": free("noncurrent versions are counted in their bucket's storage"),
    "awsx:ecr:Image": free("building and pushing the image is free; its storage is priced on the repository"),
    "random:index/randomBytes:RandomBytes": free("generated by the Pulumi engine, not AWS"),
    "random:index/randomId:RandomId": free("generated by the Pulumi engine, not AWS"),
    "random:index/randomPassword:RandomPassword": free("generated by the Pulumi engine, not AWS"),
};

/** How a type is classified: "priced", "free", or undefined when it is unknown. */
export function classify(type: string, custom = true): "priced" | "free" | undefined {
    if (!custom && type.startsWith("airflow:")) return "free";
    const c = RESOURCE_CLASSES[type];
    if (!c) return undefined;
    return "free" in c ? "free" : "priced";
}

// ---------------------------------------------------------------------------------------------------
// Context: lookups across resources

class Context {
    readonly warnings: string[] = [];
    private readonly timelines = new Map<CostResource, number[]>();
    constructor(
        readonly resources: readonly CostResource[],
        readonly load: CostLoad,
        readonly config: Readonly<Record<string, unknown>>,
    ) {}

    ofType(type: string): CostResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    count(type: string): number {
        return this.ofType(type).length;
    }

    /** The resource of a type whose ARN, id or name is this value. */
    byRef(type: string, ref: unknown): CostResource | undefined {
        if (typeof ref !== "string") return undefined;
        return this.ofType(type).find((r) =>
            [r.id, r.state?.arn, r.state?.id, r.state?.name, r.inputs.name, r.name].includes(ref),
        );
    }

    get busyHoursPerMonth(): number {
        return this.load.costBusyHoursPerDay * DAYS;
    }

    get interfaceEndpoints(): CostResource[] {
        return this.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((r) => r.inputs.vpcEndpointType === "Interface");
    }

    /** Log groups the load's log volume spreads over: the stack's own, and MWAA's per-module ones. */
    get logGroupCount(): number {
        const mwaa = this.ofType("aws:mwaa/environment:Environment").reduce((n, r) => n + mwaaLogModules(r).length, 0);
        return this.count("aws:cloudwatch/logGroup:LogGroup") + mwaa;
    }

    /** A service's running task count at rest, for each minute of a week. */
    restTimeline(service: CostResource): number[] {
        let timeline = this.timelines.get(service);
        if (!timeline) {
            const s = this.scaling(service);
            timeline = s.bounds.map((b) => clamp(s.rest, b));
            this.timelines.set(service, timeline);
        }
        return timeline;
    }

    /** A service's bounds through the week, from its scalable target and scheduled actions. */
    scaling(service: CostResource): { rest: number; bounds: Bounds[]; autoscaled: boolean } {
        const name = String(service.inputs.name ?? service.name);
        const matches = (r: CostResource) =>
            r.inputs.scalableDimension === "ecs:service:DesiredCount" &&
            typeof r.inputs.resourceId === "string" &&
            r.inputs.resourceId.split("/").pop() === name;
        const target = this.ofType("aws:appautoscaling/target:Target").find(matches);
        const desired = Number(service.inputs.desiredCount ?? 0);
        const base: Bounds = target
            ? { min: Number(target.inputs.minCapacity), max: Number(target.inputs.maxCapacity) }
            : { min: desired, max: desired };
        const actions: ScheduledBounds[] = this.ofType("aws:appautoscaling/scheduledAction:ScheduledAction")
            .filter(matches)
            .map((a) => ({
                schedule: String(a.inputs.schedule ?? ""),
                min: numberOr(a.inputs.scalableTargetAction?.minCapacity),
                max: numberOr(a.inputs.scalableTargetAction?.maxCapacity),
            }));
        const week = weekOfBounds(base, actions);
        for (const s of week.unsupported) {
            this.warnings.push(
                `${service.name}: scheduled action "${s}" is not a weekly cron schedule; the estimate ignores it`,
            );
        }
        // An autoscaled service rests at its minimum; a fixed one runs its desired count.
        return { rest: target ? base.min : desired, bounds: week.bounds, autoscaled: !!target };
    }

    /** The fraction of the week in which no ECS service runs a task at rest (the database can pause then). */
    get allServicesStoppedFraction(): number {
        const services = this.ofType("aws:ecs/service:Service");
        if (services.length === 0) return 0;
        const timelines = services.map((s) => this.restTimeline(s));
        let stopped = 0;
        for (let m = 0; m < MINUTES_PER_WEEK; m++) if (timelines.every((t) => t[m] === 0)) stopped++;
        return stopped / MINUTES_PER_WEEK;
    }
}

function numberOr(v: unknown): number | undefined {
    return v === undefined || v === null || v === "" ? undefined : Number(v);
}

function clamp(n: number, b: Bounds): number {
    return Math.min(Math.max(n, b.min), b.max);
}

function round(n: number): number {
    return Math.round(n * 100) / 100;
}

/** A line from [item, price, quantity idle, quantity loaded] tuples. */
function use(...items: [string, Price, number, number][]): Priced {
    return {
        line: {
            basis: items
                .filter(([, , qi, ql]) => qi || ql)
                .map(
                    ([item, p, qi, ql]) =>
                        `${item} ${fmtQ(qi)}${ql !== qi ? `/${fmtQ(ql)}` : ""} ${p.unit} x $${p.usd}`,
                )
                .join(" + "),
            prices: items.map(([item, p, qi, ql]) => ({
                item,
                usd: p.usd,
                unit: p.unit,
                source: p.source,
                quantityIdle: qi,
                quantityLoaded: ql,
            })),
        },
    };
}

function fmtQ(n: number): string {
    return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, "");
}

function withBasis(p: Priced, prefix: string): Priced {
    return "line" in p ? { line: { ...p.line, basis: `${prefix}: ${p.line.basis}` } } : p;
}

/** A load quantity spread evenly over `count` resources of a type. */
function shared(price: Price, item: string, total: number, count: number): Priced {
    const q = count > 0 ? total / count : 0;
    return use([item, price, q, q]);
}

// ---------------------------------------------------------------------------------------------------
// ECS

interface TaskSize {
    vcpu: number;
    gb: number;
    extraStorageGb: number;
    arch: CpuArchitecture;
}

function taskSize(td: CostResource): TaskSize | string {
    const arch = String(td.inputs.runtimePlatform?.cpuArchitecture ?? "X86_64") as CpuArchitecture;
    if (!(arch in FARGATE_PRICES)) return `CPU architecture ${arch} is not in the price table`;
    const os = String(td.inputs.runtimePlatform?.operatingSystemFamily ?? "LINUX");
    if (os !== "LINUX") return `operating system ${os} is not in the price table (Linux only)`;
    const cpu = Number(td.inputs.cpu);
    const memory = Number(td.inputs.memory);
    if (!(cpu > 0) || !(memory > 0)) return "the task definition sets no task-level cpu and memory";
    const storage = Number(td.inputs.ephemeralStorage?.sizeInGib ?? 20);
    return { vcpu: cpu / 1024, gb: memory / 1024, extraStorageGb: Math.max(0, storage - 20), arch };
}

interface Strategy {
    provider: FargateProvider;
    weight: number;
    base: number;
}

/** The capacity provider strategy a service runs with: its own, else the cluster's default, else FARGATE. */
function strategyOf(service: CostResource, ctx: Context): Strategy[] | string {
    let items: any[] | undefined = service.inputs.capacityProviderStrategies;
    if (!items?.length && !service.inputs.launchType) {
        const cluster = ctx.byRef("aws:ecs/cluster:Cluster", service.inputs.cluster);
        const clusterName = cluster?.state?.name ?? cluster?.inputs.name;
        const ccp = ctx
            .ofType("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
            .find((c) => clusterName !== undefined && c.inputs.clusterName === clusterName);
        items = ccp?.inputs.defaultCapacityProviderStrategies;
    }
    if (!items?.length) {
        const launch = String(service.inputs.launchType ?? "FARGATE");
        if (launch !== "FARGATE") return `launch type ${launch} is not Fargate`;
        items = [{ capacityProvider: "FARGATE", weight: 1 }];
    }
    const out: Strategy[] = [];
    for (const i of items) {
        const provider = String(i.capacityProvider);
        if (provider !== "FARGATE" && provider !== "FARGATE_SPOT")
            return `capacity provider ${provider} is not Fargate`;
        out.push({ provider, weight: Number(i.weight ?? 0), base: Number(i.base ?? 0) });
    }
    return out;
}

/**
 * How `count` tasks spread over a strategy, as ECS places them: the `base` first (on the provider that
 * sets one), the rest in proportion to the weights (fractions: the estimate is an average).
 */
export function spread(count: number, strategy: readonly Strategy[]): Record<FargateProvider, number> {
    const out: Record<FargateProvider, number> = { FARGATE: 0, FARGATE_SPOT: 0 };
    let left = count;
    for (const s of strategy) {
        const b = Math.min(s.base, left);
        out[s.provider] += b;
        left -= b;
    }
    const total = strategy.reduce((n, s) => n + s.weight, 0);
    for (const s of strategy) {
        const share = total > 0 ? s.weight / total : s === strategy[0] ? 1 : 0;
        out[s.provider] += left * share;
    }
    return out;
}

/** Fargate price uses for task-hours on each provider, idle and loaded. */
function fargateUses(
    size: TaskSize,
    idle: Record<FargateProvider, number>,
    loaded: Record<FargateProvider, number>,
): [string, Price, number, number][] {
    const out: [string, Price, number, number][] = [];
    for (const provider of ["FARGATE", "FARGATE_SPOT"] as const) {
        if (!idle[provider] && !loaded[provider]) continue;
        const p = FARGATE_PRICES[size.arch][provider];
        const label = `${provider} ${size.arch}`;
        out.push([`${label} vCPU`, p.vcpuHour, idle[provider] * size.vcpu, loaded[provider] * size.vcpu]);
        out.push([`${label} memory`, p.gbHour, idle[provider] * size.gb, loaded[provider] * size.gb]);
    }
    if (size.extraStorageGb > 0) {
        const ti = idle.FARGATE + idle.FARGATE_SPOT;
        const tl = loaded.FARGATE + loaded.FARGATE_SPOT;
        out.push([
            "ephemeral storage",
            PRICES.fargateEphemeralGbHour,
            ti * size.extraStorageGb,
            tl * size.extraStorageGb,
        ]);
    }
    return out;
}

function priceService(service: CostResource, ctx: Context): Priced {
    const td = ctx.byRef("aws:ecs/taskDefinition:TaskDefinition", service.inputs.taskDefinition);
    if (!td) return { unpriced: "its task definition is not among the stack's resources" };
    const size = taskSize(td);
    if (typeof size === "string") return { unpriced: size };
    const strategy = strategyOf(service, ctx);
    if (typeof strategy === "string") return { unpriced: strategy };
    const { rest, autoscaled, peak, atRest, busyHours } = busyWindow(service, ctx);
    // Idle: task-hours on each provider, minute by minute through the week, scaled to a month.
    const idle: Record<FargateProvider, number> = { FARGATE: 0, FARGATE_SPOT: 0 };
    for (const count of rest) {
        const s = spread(count, strategy);
        idle.FARGATE += s.FARGATE;
        idle.FARGATE_SPOT += s.FARGATE_SPOT;
    }
    const perMinute = H / MINUTES_PER_WEEK;
    idle.FARGATE *= perMinute;
    idle.FARGATE_SPOT *= perMinute;
    // Loaded: the busy hours at the largest maximum the week allows, in the minutes that allow it.
    const loaded = { ...idle };
    if (autoscaled && busyHours > 0) {
        const high = spread(peak, strategy);
        const low = spread(atRest, strategy);
        loaded.FARGATE += busyHours * (high.FARGATE - low.FARGATE);
        loaded.FARGATE_SPOT += busyHours * (high.FARGATE_SPOT - low.FARGATE_SPOT);
    }
    const avgRest = rest.reduce((a, b) => a + b, 0) / rest.length;
    const described = [
        `${fmtQ(size.vcpu)} vCPU ${fmtQ(size.gb)} GB ${size.arch}`,
        `${fmtQ(round(avgRest))} task${avgRest === 1 ? "" : "s"} at rest${autoscaled ? `, ${peak} for ${fmtQ(round(busyHours))} h` : ""}`,
        strategy.map((s) => `${s.provider} weight ${s.weight}${s.base ? ` base ${s.base}` : ""}`).join(", "),
    ].join("; ");
    return withBasis(use(...fargateUses(size, idle, loaded)), described);
}

/**
 * Seconds between a running Celery worker's receives on an empty SQS queue: kombu's SQS transport
 * long-polls for `wait_time_seconds` (default 10) and then waits its `polling_interval` (default 1),
 * kombu 5.6 kombu/transport/SQS.py; the program sets neither option (lib/airflow-env.ts). Sends and
 * deletes of the tasks themselves are a few per task instance and are not counted.
 */
export const SQS_SECONDS_PER_RECEIVE = 10 + 1;

/**
 * An SQS queue of the sqs broker: its worker pool's polls (the pool whose service serves the queue,
 * named as celeryQueueNames and the pool's role name it: `<name>-celery-<pool>` and
 * `<name>-worker-<pool>`). A dead-letter queue is read by no one.
 */
function priceQueue(queue: CostResource, ctx: Context): Priced {
    const serviceName = queue.name.replace("-celery-", "-worker-");
    const service = queue.name.endsWith("-dlq")
        ? undefined
        : ctx.ofType("aws:ecs/service:Service").find((s) => s.name === serviceName);
    const hours = service ? taskHours(service, ctx) : { idle: 0, loaded: 0 };
    const perMillion = 3600 / SQS_SECONDS_PER_RECEIVE / 1e6;
    return withBasis(
        use(["requests", PRICES.sqsMillionRequests, hours.idle * perMillion, hours.loaded * perMillion]),
        service
            ? `${fmtQ(round(hours.idle))}/${fmtQ(round(hours.loaded))} worker task-hours of ${service.name}, a receive every ${SQS_SECONDS_PER_RECEIVE} s`
            : "a dead-letter queue: nothing polls it",
    );
}

/** A service's running task-hours in a month, idle and at the load (the same week as its Fargate line). */
function taskHours(service: CostResource, ctx: Context): { idle: number; loaded: number } {
    const w = busyWindow(service, ctx);
    const idle = (w.rest.reduce((a, b) => a + b, 0) * H) / MINUTES_PER_WEEK;
    return { idle, loaded: idle + (w.autoscaled ? w.busyHours * (w.peak - w.atRest) : 0) };
}

/**
 * A service's week at the load: its task count at rest minute by minute, and the busy hours at the
 * largest maximum the week allows (in the minutes that allow it), from `atRest` tasks to `peak`.
 */
function busyWindow(
    service: CostResource,
    ctx: Context,
): { rest: number[]; autoscaled: boolean; peak: number; atRest: number; busyHours: number } {
    const scaling = ctx.scaling(service);
    const rest = ctx.restTimeline(service);
    const peak = Math.max(...scaling.bounds.map((b) => b.max));
    const peakMinutes = scaling.bounds.filter((b) => b.max === peak).length;
    const busyHours = Math.min(ctx.busyHoursPerMonth, (peakMinutes / MINUTES_PER_WEEK) * H);
    const atRest = rest[scaling.bounds.findIndex((b) => b.max === peak)];
    return { rest, autoscaled: scaling.autoscaled, peak, atRest, busyHours };
}

/** A task definition no service runs: the Fargate jobs DAGs start, for the load's job hours. */
function priceStandaloneTaskDefinition(td: CostResource, ctx: Context): Priced {
    const arn = td.state?.arn;
    const used = ctx
        .ofType("aws:ecs/service:Service")
        .some((s) => [arn, td.state?.id, td.inputs.family].includes(s.inputs.taskDefinition));
    if (used) return { free: "priced on the service that runs it" };
    const size = taskSize(td);
    if (typeof size === "string") return { unpriced: size };
    // The jobs Variable says which capacity provider the DAGs run the task on.
    const variable = variables(ctx).find((v) => v.task_definition === td.inputs.family);
    const provider = (variable?.capacity_provider === "FARGATE_SPOT" ? "FARGATE_SPOT" : "FARGATE") as FargateProvider;
    const hours = ctx.load.costJobHoursPerMonth;
    const loaded = { FARGATE: 0, FARGATE_SPOT: 0, [provider]: hours } as Record<FargateProvider, number>;
    return withBasis(
        use(...fargateUses(size, { FARGATE: 0, FARGATE_SPOT: 0 }, loaded)),
        `run by DAGs, ${hours} task-hours on ${provider}`,
    );
}

function priceCluster(cluster: CostResource, ctx: Context): Priced {
    const insights = (cluster.inputs.settings ?? []).find((s: any) => s.name === "containerInsights")?.value;
    if (insights !== "enabled" && insights !== "enhanced") return { free: "ECS clusters are free" };
    if (insights === "enhanced")
        return { unpriced: "Container Insights with enhanced observability is not in the price table" };
    const ref = [cluster.state?.arn, cluster.state?.name, cluster.state?.id];
    const services = ctx.ofType("aws:ecs/service:Service").filter((s) => ref.includes(s.inputs.cluster)).length;
    const metrics = CONTAINER_INSIGHTS_METRICS.perCluster + CONTAINER_INSIGHTS_METRICS.perService * services;
    return withBasis(
        use(["Container Insights metrics", PRICES.customMetricMonth, metrics, metrics]),
        `Container Insights, ${services} services`,
    );
}

// ---------------------------------------------------------------------------------------------------
// Network

function priceNatGateway(_r: CostResource, ctx: Context): Priced {
    const gateways = ctx.count("aws:ec2/natGateway:NatGateway");
    // Without interface endpoints, traffic to AWS services goes through NAT too.
    const gb = ctx.load.costNatGbPerMonth + (ctx.interfaceEndpoints.length === 0 ? ctx.load.costEndpointGbPerMonth : 0);
    return use(["hours", PRICES.natGatewayHour, H, H], ["data processed", PRICES.natGatewayGb, 0, gb / gateways]);
}

function priceEndpoint(r: CostResource, ctx: Context): Priced {
    if (r.inputs.vpcEndpointType !== "Interface") return { free: "gateway endpoints are free" };
    const azs = (r.inputs.subnetIds ?? []).length;
    const gb = ctx.load.costEndpointGbPerMonth / ctx.interfaceEndpoints.length;
    return use(
        ["AZ-hours", PRICES.interfaceEndpointAzHour, azs * H, azs * H],
        ["data processed", PRICES.interfaceEndpointGb, 0, gb],
    );
}

function priceLoadBalancer(r: CostResource, ctx: Context): Priced {
    const kind = String(r.inputs.loadBalancerType ?? "application");
    if (kind !== "application") return { unpriced: `${kind} load balancers are not in the price table` };
    const publicIps = r.inputs.internal ? 0 : (r.inputs.subnets ?? r.inputs.subnetMappings ?? []).length;
    const lcuHours = ctx.load.costAlbLcus * ctx.busyHoursPerMonth;
    return use(
        ["hours", PRICES.albHour, H, H],
        ["LCU", PRICES.albLcuHour, 0, lcuHours],
        ["public IPv4 (one per AZ)", PRICES.publicIpv4Hour, publicIps * H, publicIps * H],
    );
}

// ---------------------------------------------------------------------------------------------------
// Databases and cache

function priceRdsInstance(r: CostResource): Priced {
    const engine = String(r.inputs.engine ?? "");
    if (engine !== "postgres")
        return { unpriced: `engine ${engine} is not in the price table (RDS for PostgreSQL only)` };
    const cls = RDS_POSTGRES_INSTANCES[String(r.inputs.instanceClass)];
    if (!cls) return { unpriced: `instance class ${r.inputs.instanceClass} is not in the price table` };
    const storageType = String(r.inputs.storageType ?? "gp2");
    if (storageType !== "gp3" && storageType !== "gp2")
        return { unpriced: `storage type ${storageType} is not in the price table` };
    const multiAz = !!r.inputs.multiAz;
    const gb = Number(r.inputs.allocatedStorage ?? 20) * (multiAz ? 2 : 1);
    return withBasis(
        use(
            [`${r.inputs.instanceClass}${multiAz ? " Multi-AZ" : ""}`, multiAz ? cls.multiAz : cls.singleAz, H, H],
            ["storage", PRICES.rdsGp3GbMonth, gb, gb],
        ),
        `${r.inputs.instanceClass}${multiAz ? " Multi-AZ" : ""}, ${r.inputs.allocatedStorage ?? 20} GB`,
    );
}

function priceAuroraCluster(r: CostResource, ctx: Context): Priced {
    const engine = String(r.inputs.engine ?? "");
    if (!engine.startsWith("aurora")) return { unpriced: `engine ${engine} is not in the price table` };
    const gb = ctx.load.costDatabaseGb;
    return use(["Aurora storage", PRICES.auroraStorageGbMonth, gb, gb]);
}

function priceAuroraInstance(r: CostResource, ctx: Context): Priced {
    if (r.inputs.instanceClass !== "db.serverless") {
        return {
            unpriced: `Aurora instance class ${r.inputs.instanceClass} is not in the price table (db.serverless only)`,
        };
    }
    const cluster = ctx.byRef("aws:rds/cluster:Cluster", r.inputs.clusterIdentifier);
    const scaling = cluster?.inputs.serverlessv2ScalingConfiguration;
    if (!scaling) return { unpriced: "its cluster sets no Serverless v2 scaling configuration" };
    const min = Number(scaling.minCapacity);
    const max = Number(scaling.maxCapacity);
    // With a minimum of 0 the instance pauses only when nothing is connected; Airflow's scheduler,
    // dag-processor and triggerer always are, so it pauses only while every service is stopped.
    const pausedFraction = min === 0 ? ctx.allServicesStoppedFraction : 0;
    const awake = Math.max(min, 0.5);
    const idleAcuHours = awake * H * (1 - pausedFraction);
    const busy = Math.min(ctx.busyHoursPerMonth, H * (1 - pausedFraction));
    const busyAcu = Math.min(Math.max(ctx.load.costDatabaseBusyAcu, awake), max);
    const loadedAcuHours = idleAcuHours + busy * (busyAcu - awake);
    return withBasis(
        use(["capacity", PRICES.auroraAcuHour, idleAcuHours, loadedAcuHours]),
        `Serverless v2 ${min}-${max} ACU, ${fmtQ(round(awake))} ACU awake, paused ${fmtQ(round(pausedFraction * 100))}% of the week, ${busyAcu} ACU for ${fmtQ(round(busy))} busy h`,
    );
}

function priceReplicationGroup(r: CostResource): Priced {
    const engine = String(r.inputs.engine ?? "redis");
    const table = ELASTICACHE_NODES[engine];
    const node = table?.[String(r.inputs.nodeType)];
    if (!node) return { unpriced: `${engine} node type ${r.inputs.nodeType} is not in the price table` };
    const nodes =
        r.inputs.numCacheClusters !== undefined
            ? Number(r.inputs.numCacheClusters)
            : Number(r.inputs.numNodeGroups ?? 1) * (Number(r.inputs.replicasPerNodeGroup ?? 0) + 1);
    return withBasis(
        use([`${engine} ${r.inputs.nodeType}`, node, nodes * H, nodes * H]),
        `${nodes} x ${r.inputs.nodeType} (${engine})`,
    );
}

function priceEfsBackup(r: CostResource, ctx: Context): Priced {
    if (r.inputs.backupPolicy?.status !== "ENABLED") return { free: "backups are off" };
    return use(["backup storage", PRICES.backupEfsWarmGbMonth, ctx.load.costEfsGb, ctx.load.costEfsGb]);
}

// ---------------------------------------------------------------------------------------------------
// Logs, metrics

function priceLogGroup(r: CostResource, ctx: Context): Priced {
    const gb = ctx.load.costLogGbPerMonth / ctx.logGroupCount;
    const retention = Number(r.inputs.retentionInDays ?? 0);
    // Steady state: the logs of the retention period are stored; "never expire" counts one year.
    const stored = gb * ((retention > 0 ? retention : 365) / 30);
    const items: [string, Price, number, number][] = [
        ["ingestion", PRICES.logsIngestGb, 0, gb],
        ["storage", PRICES.logsStorageGbMonth, 0, stored],
    ];
    // The metrics sidecars' log group: CloudWatch bills every metric it extracts from the embedded
    // metric format records as a custom metric, whether the environment is busy or idle.
    const metrics = agentMetricCount(r, ctx);
    if (metrics > 0) items.push(["Airflow metrics (EMF)", PRICES.customMetricMonth, metrics, metrics]);
    return withBasis(
        use(...items),
        `retention ${retention > 0 ? `${retention} days` : "never expires (one year counted)"}${metrics > 0 ? `; ${metrics} metrics, one per rule (per pool and per DAG counted once)` : ""}`,
    );
}

/** The log groups the metrics sidecars of a plan's task definitions write, read once per plan. */
const agentLogGroups = new WeakMap<Context, Set<string>>();

/** How many metrics the metrics sidecars write into this log group: one per collector rule, if any task's sidecar writes it. */
function agentMetricCount(r: CostResource, ctx: Context): number {
    let groups = agentLogGroups.get(ctx);
    if (!groups) {
        groups = new Set(ctx.ofType("aws:ecs/taskDefinition:TaskDefinition").flatMap(agentLogGroupsOf));
        agentLogGroups.set(ctx, groups);
    }
    return groups.has(String(r.inputs.name)) ? airflowMetricRules().length : 0;
}

function agentLogGroupsOf(t: CostResource): string[] {
    const containers = JSON.parse(String(t.inputs.containerDefinitions ?? "[]")) as any[];
    return containers
        .filter((c) => c.name === AGENT_CONTAINER)
        .flatMap((c) => (c.environment ?? []).filter((e: any) => e.name === "AOT_CONFIG_CONTENT"))
        .map((e: any) => String(JSON.parse(e.value).exporters?.awsemf?.log_group_name));
}

/**
 * Namespaces whose metrics an alarm does not carry: AWS's own, Container Insights (priced with the
 * cluster), the event metrics (their metric filters) and, on the Celery layout, Airflow's (the metrics
 * sidecars' log group). MWAA's Airflow metrics are counted on their first alarm, as before.
 */
function billedElsewhere(namespace: string, ctx: Context): boolean {
    if (namespace.startsWith("AWS/") || namespace === "ECS/ContainerInsights" || namespace === EVENT_METRICS.namespace)
        return true;
    return (
        namespace === AIRFLOW_NAMESPACE &&
        ctx.ofType("aws:cloudwatch/logGroup:LogGroup").some((g) => agentMetricCount(g, ctx) > 0)
    );
}

/** The metrics an alarm reads: its own, and its queries'. */
function alarmMetrics(a: CostResource): { namespace: string; name: string; key: string }[] {
    const metric = (namespace: unknown, name: unknown, dimensions: unknown) => ({
        namespace: String(namespace ?? ""),
        name: String(name ?? ""),
        key: JSON.stringify([namespace, name, dimensions ?? {}]),
    });
    const single = a.inputs.namespace ? [metric(a.inputs.namespace, a.inputs.metricName, a.inputs.dimensions)] : [];
    const queries = ((a.inputs.metricQueries ?? []) as any[])
        .filter((q) => q.metric)
        .map((q) => metric(q.metric.namespace, q.metric.metricName, q.metric.dimensions));
    return [...single, ...queries];
}

function priceAlarm(r: CostResource, ctx: Context): Priced {
    const alarm = Number(r.inputs.period ?? 60) < 60 ? PRICES.highResolutionAlarmMonth : PRICES.alarmMonth;
    const items: [string, Price, number, number][] = [["alarm", alarm, 1, 1]];
    // A custom metric the stack publishes itself (PutMetricData) is billed once; the first alarm
    // (by name) that reads it, alone or in a query, carries it.
    const alarms = ctx.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").sort((a, b) => a.name.localeCompare(b.name));
    const seen = new Set<string>();
    for (const m of alarmMetrics(r)) {
        if (!m.namespace || billedElsewhere(m.namespace, ctx) || seen.has(m.key)) continue;
        seen.add(m.key);
        const first = alarms.find((a) => alarmMetrics(a).some((x) => x.key === m.key));
        if (first === r) items.push([`custom metric ${m.namespace}/${m.name}`, PRICES.customMetricMonth, 1, 1]);
    }
    return use(...items);
}

function priceDiscoveryService(r: CostResource, ctx: Context): Priced {
    const ref = [r.state?.arn, r.state?.id];
    const services = ctx.ofType("aws:ecs/service:Service").filter((s) => {
        const regs = s.inputs.serviceRegistries;
        const list = Array.isArray(regs) ? regs : regs ? [regs] : [];
        return list.some((x: any) => ref.includes(x.registryArn));
    });
    const instances = services.reduce((n, s) => {
        const t = ctx.restTimeline(s);
        return n + t.reduce((a, b) => a + b, 0) / t.length;
    }, 0);
    return use(["registered instances", PRICES.cloudMapInstanceMonth, instances, instances]);
}

// ---------------------------------------------------------------------------------------------------
// MWAA and SageMaker

const MWAA_MODULES = ["dagProcessingLogs", "schedulerLogs", "taskLogs", "webserverLogs", "workerLogs"];

function mwaaLogModules(r: CostResource): string[] {
    return MWAA_MODULES.filter((m) => r.inputs.loggingConfiguration?.[m]?.enabled);
}

function priceMwaa(r: CostResource, ctx: Context): Priced {
    const cls = MWAA_CLASSES[String(r.inputs.environmentClass ?? "mw1.small")];
    if (!cls) return { unpriced: `environment class ${r.inputs.environmentClass} has no published price in the table` };
    const minWorkers = Number(r.inputs.minWorkers ?? 1);
    const maxWorkers = Number(r.inputs.maxWorkers ?? 10);
    const schedulers = Number(r.inputs.schedulers ?? 2);
    const minWeb = Number(r.inputs.minWebservers ?? 2);
    const maxWeb = Number(r.inputs.maxWebservers ?? 2);
    // The environment-hour includes one worker, two schedulers and two web servers (the defaults above
    // mw1.micro); each one more is billed at the additional-worker rate.
    const extraIdle = Math.max(0, minWorkers - 1) + Math.max(0, schedulers - 2) + Math.max(0, minWeb - 2);
    const extraBusy = Math.max(0, maxWorkers - minWorkers) + Math.max(0, maxWeb - minWeb);
    const busy = ctx.busyHoursPerMonth;
    const logGb = (ctx.load.costLogGbPerMonth / ctx.logGroupCount) * mwaaLogModules(r).length;
    return withBasis(
        use(
            ["environment", cls.environmentHour, H, H],
            [
                "additional workers, schedulers and web servers",
                cls.additionalHour,
                extraIdle * H,
                extraIdle * H + extraBusy * busy,
            ],
            ["log ingestion of its log groups", PRICES.logsIngestGb, 0, logGb],
        ),
        `${r.inputs.environmentClass}, workers ${minWorkers}-${maxWorkers}, ${schedulers} schedulers, web servers ${minWeb}-${maxWeb}`,
    );
}

/** The JSON Variables the program publishes (Secrets Manager secret versions holding an object). */
function variables(ctx: Context): Record<string, any>[] {
    return ctx
        .ofType("aws:secretsmanager/secretVersion:SecretVersion")
        .map((v) => parseObject(v.inputs.secretString))
        .filter((v): v is Record<string, any> => !!v);
}

function parseObject(value: unknown): Record<string, any> | undefined {
    if (typeof value !== "string" || !value.trim().startsWith("{")) return undefined;
    try {
        const parsed = JSON.parse(value);
        return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : undefined;
    } catch {
        return undefined;
    }
}

/** The ml_training Variable: the SageMaker training and transform jobs it describes, for the load's hours. */
function priceVariable(r: CostResource, ctx: Context): Priced {
    const v = parseObject(r.inputs.secretString);
    if (!v || typeof v.instance_type !== "string") return { free: "a secret's versions are billed with the secret" };
    const training = SAGEMAKER_INSTANCES[v.instance_type];
    const transform = v.transform_instance_type ? SAGEMAKER_INSTANCES[v.transform_instance_type] : undefined;
    if (!training) return { unpriced: `SageMaker instance type ${v.instance_type} is not in the price table` };
    if (v.transform_instance_type && !transform) {
        return { unpriced: `SageMaker instance type ${v.transform_instance_type} is not in the price table` };
    }
    const count = Number(v.instance_count ?? 1);
    const hours = ctx.load.costTrainingHoursPerMonth * count;
    const volumeGbMonths = (Number(v.volume_size_gb ?? 0) * hours) / H;
    const items: [string, Price, number, number][] = [
        [`training ${v.instance_type}`, training, 0, hours],
        ["training volume", PRICES.sagemakerStorageGbMonth, 0, volumeGbMonths],
    ];
    if (transform)
        items.push([`transform ${v.transform_instance_type}`, transform, 0, ctx.load.costTransformHoursPerMonth]);
    return withBasis(
        use(...items),
        `SageMaker jobs of the Variable: ${count} x ${v.instance_type}${v.use_spot ? " (managed spot: billed at on-demand here, spot saves up to 90%)" : ""}`,
    );
}

// ---------------------------------------------------------------------------------------------------
// The estimate

function monthly(prices: readonly PriceUse[], which: "quantityIdle" | "quantityLoaded"): number {
    return prices.reduce((sum, p) => sum + p.usd * p[which], 0);
}

function networkChoice(
    natGateways: number,
    endpoints: number,
    azs: number,
    load: CostLoad,
    note?: string,
): NetworkChoice {
    const gb = load.costNatGbPerMonth + load.costEndpointGbPerMonth;
    const idle =
        natGateways * H * (PRICES.natGatewayHour.usd + PRICES.publicIpv4Hour.usd) +
        endpoints * azs * H * PRICES.interfaceEndpointAzHour.usd;
    let loaded = idle;
    if (natGateways > 0 && endpoints > 0) {
        loaded +=
            load.costNatGbPerMonth * PRICES.natGatewayGb.usd +
            load.costEndpointGbPerMonth * PRICES.interfaceEndpointGb.usd;
    } else if (natGateways > 0) loaded += gb * PRICES.natGatewayGb.usd;
    else loaded += gb * PRICES.interfaceEndpointGb.usd;
    return {
        natGateways,
        interfaceEndpoints: endpoints,
        endpointAzs: azs,
        monthlyIdle: round(idle),
        monthlyLoaded: round(loaded),
        ...(note ? { note } : {}),
    };
}

function networkLever(ctx: Context): CostEstimate["network"] {
    const nat = ctx.count("aws:ec2/natGateway:NatGateway");
    const endpoints = ctx.interfaceEndpoints;
    const azCount = Number(ctx.config["airflow:azCount"] ?? 2);
    const azs = endpoints.length > 0 ? Math.max(...endpoints.map((e) => (e.inputs.subnetIds ?? []).length)) : azCount;
    const services = new Set(endpoints.map((e) => String(e.inputs.serviceName).split(".").slice(3).join(".")));
    const required = endpointsRequiredWithoutNat({
        layout: ctx.config["airflow:layout"] === "mwaa" ? "mwaa" : "celery",
        broker: ctx.config["airflow:broker"] === "sqs" ? "sqs" : "redis",
        ecsExec: ctx.config["airflow:ecsExec"] === true || ctx.config["airflow:ecsExec"] === "true",
    });
    for (const e of required) services.add(e.endpoint);
    return {
        configured: networkChoice(nat, endpoints.length, azs, ctx.load),
        natGatewaysOnly: networkChoice(
            nat > 0 ? nat : 1,
            0,
            azs,
            ctx.load,
            "all traffic to AWS services goes through the NAT gateways",
        ),
        endpointsOnly: networkChoice(
            0,
            services.size,
            azs,
            ctx.load,
            `airflow:natStrategy "none" with the endpoints ${[...services].sort().join(", ")}; nothing outside AWS is reachable (PyPI, Docker Hub, public.ecr.aws images must come from this account's ECR)`,
        ),
    };
}

/** The monthly cost estimate of a stack's resources under its configuration (full key names). */
export function estimateCost(
    resources: readonly CostResource[],
    config: Readonly<Record<string, unknown>>,
): CostEstimate {
    const load = costLoadFrom(config);
    const ctx = new Context(resources, load, config);
    const lines: CostLine[] = [];
    const unpriced: UnpricedResource[] = [];
    const freeTypes = new Map<string, { count: number; reason: string }>();
    const addFree = (type: string, reason: string) => {
        const seen = freeTypes.get(type);
        freeTypes.set(type, { count: (seen?.count ?? 0) + 1, reason: seen?.reason ?? reason });
    };
    const sorted = [...resources].sort(
        (a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name, undefined, { numeric: true }),
    );
    for (const r of sorted) {
        if (!r.custom && r.type.startsWith("airflow:")) {
            addFree(r.type, "a component: its children are priced");
            continue;
        }
        const c = RESOURCE_CLASSES[r.type];
        if (!c) {
            unpriced.push({ type: r.type, name: r.name, reason: "its type is not classified in tools/plan/cost.ts" });
            continue;
        }
        if ("free" in c) {
            addFree(r.type, c.free);
            continue;
        }
        const result = c.price(r, ctx);
        if ("free" in result) addFree(r.type, result.free);
        else if ("unpriced" in result) unpriced.push({ type: r.type, name: r.name, reason: result.unpriced });
        else {
            lines.push({
                type: r.type,
                name: r.name,
                monthlyIdle: round(monthly(result.line.prices, "quantityIdle")),
                monthlyLoaded: round(monthly(result.line.prices, "quantityLoaded")),
                ...result.line,
            });
        }
    }
    const region = String(config["aws:region"] ?? "");
    if (region && region !== PRICE_TABLE.region) {
        ctx.warnings.push(`the stack's region is ${region}; the price table is ${PRICE_TABLE.region}'s`);
    }
    for (const u of unpriced) ctx.warnings.push(`unpriced: ${u.type} ${u.name} (${u.reason})`);
    return {
        currency: PRICE_TABLE.currency,
        region: PRICE_TABLE.region,
        priceDate: PRICE_TABLE.date,
        hoursPerMonth: H,
        priceTable: "tools/plan/prices.ts",
        load,
        monthlyIdle: round(lines.reduce((s, l) => s + l.monthlyIdle, 0)),
        monthlyLoaded: round(lines.reduce((s, l) => s + l.monthlyLoaded, 0)),
        lines,
        unpriced,
        free: [...freeTypes.entries()].map(([type, v]) => ({ type, ...v })),
        network: networkLever(ctx),
        warnings: [...new Set(ctx.warnings)],
    };
}
