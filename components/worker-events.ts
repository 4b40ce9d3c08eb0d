import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../lib/iam";
import { withName } from "../lib/tags";
import { EVENT_METRICS } from "./observability/metrics";

/**
 * The metric WorkerStopEvents publishes, for alarms (one datapoint of 1 per stopped worker task), with
 * the dimensions of the stack's other ECS event metrics: `ClusterArn`, and `Group` = the ECS task's
 * group, `service:<service name>`. Spot interruptions are counted once, for every task of the cluster,
 * by Observability (`EVENT_METRICS.spotInterruptions`, components/observability/events.ts).
 */
export const WORKER_STOP_METRIC = {
    namespace: EVENT_METRICS.namespace,
    /**
     * Worker tasks that stopped while work ran in them: a container exited other than 0 (a warm
     * shutdown) or 143 (a sidecar ended by SIGTERM), e.g. 137 when the worker was still running a task
     * at the end of its stop timeout (a scale-in or a Spot interruption), or when it crashed or ran out
     * of memory.
     */
    name: EVENT_METRICS.workersStoppedMidRun,
    dimensions: { ClusterArn: "$.detail.clusterArn", Group: "$.detail.group" },
} as const;

/**
 * The EventBridge pattern of a worker stopped mid-run: "ECS Task State Change" events of the worker
 * services' tasks (`group` is `service:<name>`) reaching STOPPED with a container exit code that is
 * not 0 or 143 (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html).
 */
export function workerStoppedMidRunPattern(clusterArn: string, serviceNames: string[]): object {
    if (serviceNames.length === 0) throw new Error("workerStoppedMidRunPattern needs at least one worker service");
    return {
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: {
            clusterArn: [clusterArn],
            group: serviceNames.map((n) => `service:${n}`),
            lastStatus: ["STOPPED"],
            containers: { exitCode: [{ "anything-but": [0, 143] }] },
        },
    };
}

export interface WorkerStopEventsArgs {
    /** Environment name (log group names). Required. */
    environment: string;
    /** The ECS cluster of the worker services. Required. */
    clusterArn: pulumi.Input<string>;
    /** The worker pools' ECS service names. Required, at least one. */
    workerServiceNames: pulumi.Input<string>[];
    /** Days the events are kept (a CloudWatch value). Default: 30. */
    logRetentionDays?: number;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Records worker tasks that stopped mid-run: an EventBridge rule writing the ECS events to a log group
 * (`/aws/events/airflow/<env>/stopped-mid-run`), and a metric filter on it that counts them in
 * {@link WORKER_STOP_METRIC}.
 */
export class WorkerStopEvents extends pulumi.ComponentResource {
    /** The log group of the events. */
    public readonly logGroupName: pulumi.Output<string>;

    constructor(name: string, args: WorkerStopEventsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:workers:WorkerStopEvents", name, {}, opts);
        if (!args.environment) throw new pulumi.ResourceError("WorkerStopEvents: environment is required", this);
        if (args.workerServiceNames.length === 0) {
            throw new pulumi.ResourceError(
                "WorkerStopEvents: workerServiceNames must list at least one worker service, got none",
                this,
            );
        }
        const parent = { parent: this };
        const kind = "stopped-mid-run";
        const group = new aws.cloudwatch.LogGroup(
            `${name}-${kind}-events`,
            {
                name: `/aws/events/airflow/${args.environment}/${kind}`,
                retentionInDays: args.logRetentionDays ?? 30,
                tags: withName(args.tags, `${name}-${kind}-events`),
            },
            parent,
        );
        const rule = new aws.cloudwatch.EventRule(
            `${name}-${kind}`,
            {
                description: `Airflow ${args.environment}: worker tasks that stopped with work running (killed at the stop timeout, crashed)`,
                eventPattern: pulumi
                    .all([args.clusterArn, pulumi.all(args.workerServiceNames)])
                    .apply(([arn, names]) => JSON.stringify(workerStoppedMidRunPattern(arn, names))),
                tags: withName(args.tags, `${name}-${kind}`),
            },
            parent,
        );
        // EventBridge writes to CloudWatch Logs through the log group's resource policy
        // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions).
        const policy = new aws.cloudwatch.LogResourcePolicy(
            `${name}-events-to-logs`,
            {
                policyName: `airflow-${args.environment}-worker-stop-events`,
                policyDocument: policyDocument([
                    {
                        Sid: "EventBridgeWritesWorkerStops",
                        Effect: "Allow",
                        Principal: { Service: ["events.amazonaws.com", "delivery.logs.amazonaws.com"] },
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                        Resource: pulumi.interpolate`${group.arn}:*`,
                        Condition: { ArnEquals: { "aws:SourceArn": rule.arn } },
                    },
                ]),
            },
            parent,
        );
        new aws.cloudwatch.EventTarget(
            `${name}-${kind}-to-logs`,
            { rule: rule.name, arn: group.arn, targetId: "logs" },
            { parent: this, dependsOn: [policy] },
        );
        new aws.cloudwatch.LogMetricFilter(
            `${name}-${kind}-count`,
            {
                logGroupName: group.name,
                pattern: '{ $.detail.lastStatus = "STOPPED" }',
                metricTransformation: {
                    namespace: WORKER_STOP_METRIC.namespace,
                    name: WORKER_STOP_METRIC.name,
                    value: "1",
                    unit: "Count",
                    dimensions: { ...WORKER_STOP_METRIC.dimensions },
                },
            },
            parent,
        );
        this.logGroupName = group.name;
        this.registerOutputs({ logGroupName: this.logGroupName });
    }
}
