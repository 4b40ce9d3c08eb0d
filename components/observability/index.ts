import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LOG_RETENTION_DAYS } from "../../config/spec";
import { policyDocument } from "../../lib/iam";
import { withName } from "../../lib/tags";
import { AlarmQuery, AlarmSpec, alarmSpecs, AlarmThresholds } from "./alarms";
import { dashboard } from "./dashboard";
import { celeryEventMetrics, EventMetricSpec, mwaaEventMetrics } from "./events";
import { EVENT_METRICS } from "./metrics";
import { CeleryObserved, MetricRef, Observed } from "./spec";

export {
    AGENT_IMAGE,
    agentConfig,
    agentContainer,
    agentStatements,
    metricsLogGroupName,
    STATSD_ENDPOINT,
} from "./agent";
export { alarmSpecs } from "./alarms";
export type { AlarmThresholds } from "./alarms";
export { dashboard, DASHBOARD_ROWS } from "./dashboard";
export { AIRFLOW_METRICS, AIRFLOW_NAMESPACE, EVENT_METRICS, STATSD_PREFIX } from "./metrics";

export interface ObservabilityArgs {
    /** Which layout the environment runs; decides the rows' sources and the alarms. Required. */
    layout: "celery" | "mwaa";
    /** The config's environment name (dimension of the Celery queue-load metric). Required. */
    environment: string;
    /** The Environment dimension of Airflow's metrics: MWAA's environment name, `airflow-<environment>`. Required. */
    environmentName: string;
    /** Airflow pools shown per pool. Default: ["default_pool"]. */
    pools?: string[];
    /** What the Celery layout runs on (layout "celery"). */
    celery?: {
        clusterName: pulumi.Input<string>;
        clusterArn: pulumi.Input<string>;
        /** ECS service names by role (CeleryCluster.serviceNames): workers are `worker-<pool>`. */
        serviceNames: Record<string, pulumi.Input<string>>;
        /** Celery queues, one per worker pool. */
        workerPools: readonly string[];
        /** Container Insights on the cluster (airflow:containerInsights). Default: true. */
        containerInsights?: boolean;
        databaseInstanceId: pulumi.Input<string>;
        broker:
            | { type: "redis"; replicationGroupId: pulumi.Input<string> }
            | { type: "sqs"; queueNames: Record<string, pulumi.Input<string>> };
        /** ARN suffixes of the load balancer and the api-server target group. Default: none (no LB rows or alarms). */
        loadBalancer?: { arnSuffix: pulumi.Input<string>; apiTargetGroupArnSuffix: pulumi.Input<string> };
    };
    /** The MWAA environment (layout "mwaa"). */
    mwaa?: { environmentArn: pulumi.Input<string> };
    /** Alarm thresholds. Required. */
    thresholds: AlarmThresholds;
    /** Who the SNS topic notifies. Default: nobody (subscribe later). */
    notifications?: { emails?: readonly string[]; httpsEndpoints?: readonly string[] };
    /** Retention of the event and metrics log groups (a CloudWatch value). Default: 30. */
    logRetentionDays?: number;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * One dashboard and one set of alarms per environment, the same on both layouts (alarms.ts,
 * dashboard.ts), every alarm notifying one KMS-encrypted SNS topic. EventBridge events that have no
 * metric of their own (Spot interruptions, rolled-back deployments, MWAA status changes) are counted
 * by metric filters on one log group. On the Celery layout Airflow's metrics come from the tasks'
 * metrics sidecars (agent.ts), whose log group the CeleryCluster creates with its task definitions.
 */
export class Observability extends pulumi.ComponentResource {
    public readonly topicArn: pulumi.Output<string>;
    public readonly dashboardName: pulumi.Output<string>;
    /** CloudWatch names of the alarms, by key. */
    public readonly alarmNames: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:observability:Observability", name, {}, opts);
        validateArgs(name, args, this);
        const parent = { parent: this };
        const tags = args.tags;
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const retention = args.logRetentionDays ?? 30;

        const topic = createTopic(name, args, region, account, this);
        this.topicArn = topic.arn;

        const c = args.celery;
        const serviceArns = createEventMetrics(name, args, retention, this);

        // Alarms.
        const observed = <V>(celery?: CeleryObserved<V>, mwaa?: { environmentArn: V }): Observed<V> => ({
            layout: args.layout,
            environmentName: args.environmentName,
            region: "",
            pools: args.pools,
            celery,
            mwaa,
        });
        const celeryInputs = c ? celeryObserved(args.environment, c, serviceArns) : undefined;
        const specs = alarmSpecs<pulumi.Input<string>>(observed(celeryInputs, args.mwaa), args.thresholds);
        for (const spec of specs) {
            const alarm = createAlarm(name, spec, topic.arn, tags, this);
            this.alarmNames[spec.key] = alarm.name;
        }

        // The dashboard, rendered once every identifier is known.
        const body = pulumi
            .all([region, pulumi.output(celeryInputs ?? {}), pulumi.output(args.mwaa ?? {})])
            .apply(([r, cel, mw]) => {
                const o = observed(
                    c ? (cel as unknown as CeleryObserved<string>) : undefined,
                    args.mwaa ? (mw as { environmentArn: string }) : undefined,
                );
                return JSON.stringify(dashboard({ ...o, region: r }).body);
            });
        const board = new aws.cloudwatch.Dashboard(
            `${name}-dashboard`,
            { dashboardName: name, dashboardBody: body },
            parent,
        );
        this.dashboardName = board.dashboardName;

        this.registerOutputs({
            topicArn: this.topicArn,
            dashboardName: this.dashboardName,
            alarmNames: this.alarmNames,
        });
    }
}

function celeryObserved(
    environment: string,
    c: NonNullable<ObservabilityArgs["celery"]>,
    serviceArns: Record<string, pulumi.Input<string>>,
): CeleryObserved<pulumi.Input<string>> {
    return {
        environment,
        clusterName: c.clusterName,
        clusterArn: c.clusterArn,
        serviceArns,
        workerServices: Object.fromEntries(c.workerPools.map((p) => [p, c.serviceNames[`worker-${p}`]])),
        databaseInstanceId: c.databaseInstanceId,
        broker: c.broker,
        loadBalancer: c.loadBalancer,
        containerInsights: c.containerInsights,
    };
}

function metricArgs(m: MetricRef<pulumi.Input<string>> & { stat: string; period: number }) {
    return { namespace: m.namespace, metricName: m.name, dimensions: m.dimensions, stat: m.stat, period: m.period };
}

function queryArgs(q: AlarmQuery<pulumi.Input<string>>): aws.types.input.cloudwatch.MetricAlarmMetricQuery {
    return {
        id: q.id,
        expression: q.expression,
        label: q.label,
        returnData: q.returnData,
        period: q.period,
        metric: q.metric ? metricArgs(q.metric) : undefined,
    };
}

function createAlarm(
    name: string,
    spec: AlarmSpec<pulumi.Input<string>>,
    topicArn: pulumi.Output<string>,
    tags: ObservabilityArgs["tags"],
    parent: pulumi.Resource,
): aws.cloudwatch.MetricAlarm {
    const single = spec.metric
        ? {
              namespace: spec.metric.namespace,
              metricName: spec.metric.name,
              dimensions: spec.metric.dimensions,
              statistic: spec.metric.stat,
              period: spec.metric.period,
          }
        : {};
    return new aws.cloudwatch.MetricAlarm(
        `${name}-${spec.key}`,
        {
            name: `${name}-${spec.key}`,
            alarmDescription: `${spec.description} Runbook: README.md#alarm-${spec.key.replace(/-\d+$/, "")}`,
            comparisonOperator: spec.comparisonOperator,
            threshold: spec.threshold,
            evaluationPeriods: spec.evaluationPeriods,
            datapointsToAlarm: spec.datapointsToAlarm,
            treatMissingData: spec.treatMissingData,
            ...single,
            metricQueries: spec.queries?.map(queryArgs),
            alarmActions: [topicArn],
            okActions: [topicArn],
            tags: withName(tags, `${name}-${spec.key}`),
        },
        { parent },
    );
}

function validateArgs(name: string, args: ObservabilityArgs, parent: pulumi.Resource): void {
    const fail = (msg: string) => {
        throw new pulumi.ResourceError(`Observability ${name}: ${msg}`, parent);
    };
    if (args.layout !== "celery" && args.layout !== "mwaa")
        fail(`layout must be "celery" or "mwaa", got ${JSON.stringify(args.layout)}`);
    if (args.layout === "celery" && !args.celery) fail('celery is required when layout is "celery"');
    if (args.layout === "mwaa" && !args.mwaa) fail('mwaa is required when layout is "mwaa"');
    if (args.celery) {
        for (const pool of args.celery.workerPools) {
            if (!(`worker-${pool}` in args.celery.serviceNames))
                fail(`celery.serviceNames has no service worker-${pool} for worker pool "${pool}"`);
        }
    }
    const days = args.logRetentionDays;
    if (days !== undefined && !(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
        fail(`logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(", ")}, got ${days}`);
    }
}

/** The alarms' topic, its key, its policy and its subscriptions. */
function createTopic(
    name: string,
    args: ObservabilityArgs,
    region: pulumi.Output<string>,
    account: pulumi.Output<string>,
    component: pulumi.Resource,
): aws.sns.Topic {
    const parent = { parent: component };
    const tags = args.tags;
    // The topic: encrypted with a key CloudWatch and EventBridge may use (the AWS-managed SNS key
    // does not let CloudWatch alarms publish).
    const key = new aws.kms.Key(
        `${name}-alarms-key`,
        {
            description: `Encrypts the alarm topic of ${args.environmentName}`,
            enableKeyRotation: true,
            deletionWindowInDays: 7,
            // The account administers the key (KMS's default key policy); CloudWatch and EventBridge
            // of this account may encrypt messages for the topic.
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "AccountAdministers",
                        Effect: "Allow",
                        Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
                        Action: "kms:*",
                        Resource: "*",
                    },
                    {
                        Sid: "CloudWatchPublishes",
                        Effect: "Allow",
                        Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
                        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                        Resource: "*",
                        Condition: { StringEquals: { "aws:SourceAccount": account } },
                    },
                ],
            }),
            tags: withName(tags, `${name}-alarms-key`),
        },
        parent,
    );
    const topic = new aws.sns.Topic(
        `${name}-alarms`,
        { name: `${name}-alarms`, kmsMasterKeyId: key.arn, tags: withName(tags, `${name}-alarms`) },
        parent,
    );
    new aws.sns.TopicPolicy(
        `${name}-alarms-policy`,
        {
            arn: topic.arn,
            policy: policyDocument([
                {
                    Sid: "AlarmsPublish",
                    Effect: "Allow",
                    Principal: { Service: "cloudwatch.amazonaws.com" },
                    Action: "sns:Publish",
                    Resource: topic.arn,
                    Condition: {
                        StringEquals: { "aws:SourceAccount": account },
                        ArnLike: {
                            "aws:SourceArn": pulumi.interpolate`arn:aws:cloudwatch:${region}:${account}:alarm:${name}-*`,
                        },
                    },
                },
                {
                    Sid: "TlsOnly",
                    Effect: "Deny",
                    Principal: { AWS: "*" },
                    Action: "sns:Publish",
                    Resource: topic.arn,
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ]),
        },
        parent,
    );
    (args.notifications?.emails ?? []).forEach(
        (email, i) =>
            new aws.sns.TopicSubscription(
                `${name}-alarms-email-${i}`,
                { topic: topic.arn, protocol: "email", endpoint: email },
                parent,
            ),
    );
    (args.notifications?.httpsEndpoints ?? []).forEach(
        (url, i) =>
            new aws.sns.TopicSubscription(
                `${name}-alarms-https-${i}`,
                { topic: topic.arn, protocol: "https", endpoint: url },
                parent,
            ),
    );
    return topic;
}

/**
 * EventBridge rules for the layout's events (ECS deployments and Spot interruptions, or MWAA's status
 * changes) into one log group, and a metric filter per event. Returns the Celery services' ARNs by role.
 */
function createEventMetrics(
    name: string,
    args: ObservabilityArgs,
    retention: number,
    component: pulumi.Resource,
): Record<string, pulumi.Output<string>> {
    const parent = { parent: component };
    const tags = args.tags;
    const c = args.celery;
    // Events -> log group -> metric filters.
    const events = new aws.cloudwatch.LogGroup(
        `${name}-events`,
        { name: `/aws/events/${name}`, retentionInDays: retention, tags: withName(tags, `${name}-events`) },
        parent,
    );
    const eventsPolicy = new aws.cloudwatch.LogResourcePolicy(
        `${name}-events-policy`,
        {
            policyName: `${name}-events`,
            policyDocument: policyDocument([
                {
                    Sid: "EventBridgeWrites",
                    Effect: "Allow",
                    Principal: { Service: ["events.amazonaws.com", "delivery.logs.amazonaws.com"] },
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: pulumi.interpolate`${events.arn}:*`,
                },
            ]),
        },
        parent,
    );
    const serviceArns: Record<string, pulumi.Output<string>> = {};
    let eventSpecs: pulumi.Output<EventMetricSpec[]>;
    if (args.layout === "celery" && c) {
        const servicePrefix = pulumi.output(c.clusterArn).apply((arn) => `${arn.replace(":cluster/", ":service/")}/`);
        for (const [role, service] of Object.entries(c.serviceNames)) {
            serviceArns[role] = pulumi.interpolate`${servicePrefix}${service}`;
        }
        eventSpecs = pulumi
            .all([c.clusterArn, servicePrefix])
            .apply(([arn, prefix]) => celeryEventMetrics(arn, prefix));
    } else {
        eventSpecs = pulumi.output(args.mwaa!.environmentArn).apply((arn) => mwaaEventMetrics(arn));
    }
    // The specs' keys and dimensions do not depend on the identifiers: read them from a render with placeholders.
    const shapes = args.layout === "celery" ? celeryEventMetrics("", "") : mwaaEventMetrics("");
    shapes.forEach((shape, i) => {
        const rule = new aws.cloudwatch.EventRule(
            `${name}-${shape.key}`,
            {
                description: `${shape.description} (${args.environmentName})`,
                eventPattern: eventSpecs.apply((s) => JSON.stringify(s[i].pattern)),
                tags: withName(tags, `${name}-${shape.key}`),
            },
            parent,
        );
        new aws.cloudwatch.EventTarget(
            `${name}-${shape.key}-target`,
            { rule: rule.name, arn: events.arn },
            { parent: component, dependsOn: [eventsPolicy] },
        );
        new aws.cloudwatch.LogMetricFilter(
            `${name}-${shape.key}-metric`,
            {
                logGroupName: events.name,
                pattern: shape.filterPattern,
                metricTransformation: {
                    namespace: EVENT_METRICS.namespace,
                    name: shape.metricName,
                    value: "1",
                    unit: "Count",
                    dimensions: shape.dimensions,
                },
            },
            parent,
        );
    });
    return serviceArns;
}
