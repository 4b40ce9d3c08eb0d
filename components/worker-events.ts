import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../lib/iam";
import { withName } from "../lib/tags";

/**
 * The metrics WorkerStopEvents publishes, for alarms (one datapoint of 1 per stopped worker task):
 * namespace `Airflow/Workers`, dimension `Service` = the ECS task's group, `service:<service name>`.
 */
export const WORKER_STOP_METRICS = {
    namespace: "Airflow/Workers",
    /** Worker tasks that Fargate Spot reclaimed (stopCode SpotInterruption). */
    spotInterruptions: "SpotInterruptions",
    /**
     * Worker tasks that stopped while work ran in them: a container exited other than 0 (a warm
     * shutdown) or 143 (a sidecar ended by SIGTERM), e.g. 137 when the worker was still running a task
     * at the end of its stop timeout, or when it crashed or ran out of memory.
     */
    stoppedMidRun: "WorkersStoppedMidRun",
    dimension: "Service",
} as const;

export type WorkerStopKind = "spot-interruption" | "stopped-mid-run";

/**
 * The EventBridge pattern of one kind of worker stop: "ECS Task State Change" events of the worker
 * services' tasks (`group` is `service:<name>`) reaching STOPPED, with stopCode SpotInterruption, or
 * with a container exit code that is not 0 or 143
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html).
 */
export function workerStopEventPattern(kind: WorkerStopKind, clusterArn: string, serviceNames: string[]): object {
    if (serviceNames.length === 0) throw new Error("workerStopEventPattern needs at least one worker service");
    return {
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: {
            clusterArn: [clusterArn],
            group: serviceNames.map((n) => `service:${n}`),
            lastStatus: ["STOPPED"],
            ...(kind === "spot-interruption"
                ? { stopCode: ["SpotInterruption"] }
                : { containers: { exitCode: [{ "anything-but": [0, 143] }] } }),
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

const KINDS: { kind: WorkerStopKind; metric: string; description: string }[] = [
    {
        kind: "spot-interruption",
        metric: WORKER_STOP_METRICS.spotInterruptions,
        description: "worker tasks that Fargate Spot interrupted",
    },
    {
        kind: "stopped-mid-run",
        metric: WORKER_STOP_METRICS.stoppedMidRun,
        description: "worker tasks that stopped with work running (killed at the stop timeout, crashed)",
    },
];

/**
 * Records worker tasks that Spot interrupted or that stopped mid-run: one EventBridge rule per kind,
 * each writing the ECS events to its own log group (`/aws/events/airflow/<env>/<kind>`), and a metric
 * filter on it that counts them in {@link WORKER_STOP_METRICS}.
 */
export class WorkerStopEvents extends pulumi.ComponentResource {
    /** Log group names by kind. */
    public readonly logGroupNames: Record<WorkerStopKind, pulumi.Output<string>>;

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
        const groups = {} as Record<WorkerStopKind, aws.cloudwatch.LogGroup>;
        const rules: aws.cloudwatch.EventRule[] = [];
        for (const { kind, metric, description } of KINDS) {
            const group = new aws.cloudwatch.LogGroup(
                `${name}-${kind}-events`,
                {
                    name: `/aws/events/airflow/${args.environment}/${kind}`,
                    retentionInDays: args.logRetentionDays ?? 30,
                    tags: withName(args.tags, `${name}-${kind}-events`),
                },
                parent,
            );
            groups[kind] = group;
            const rule = new aws.cloudwatch.EventRule(
                `${name}-${kind}`,
                {
                    description: `Airflow ${args.environment}: ${description}`,
                    eventPattern: pulumi
                        .all([args.clusterArn, pulumi.all(args.workerServiceNames)])
                        .apply(([arn, names]) => JSON.stringify(workerStopEventPattern(kind, arn, names))),
                    tags: withName(args.tags, `${name}-${kind}`),
                },
                parent,
            );
            rules.push(rule);
            new aws.cloudwatch.EventTarget(
                `${name}-${kind}-to-logs`,
                { rule: rule.name, arn: group.arn, targetId: "logs" },
                parent,
            );
            new aws.cloudwatch.LogMetricFilter(
                `${name}-${kind}-count`,
                {
                    logGroupName: group.name,
                    pattern: '{ $.detail.lastStatus = "STOPPED" }',
                    metricTransformation: {
                        namespace: WORKER_STOP_METRICS.namespace,
                        name: metric,
                        value: "1",
                        unit: "Count",
                        dimensions: { [WORKER_STOP_METRICS.dimension]: "$.detail.group" },
                    },
                },
                parent,
            );
        }
        // EventBridge writes to CloudWatch Logs through the log groups' resource policy
        // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions).
        new aws.cloudwatch.LogResourcePolicy(
            `${name}-events-to-logs`,
            {
                policyName: `airflow-${args.environment}-worker-stop-events`,
                policyDocument: policyDocument([
                    {
                        Sid: "EventBridgeWritesWorkerStops",
                        Effect: "Allow",
                        Principal: { Service: ["events.amazonaws.com", "delivery.logs.amazonaws.com"] },
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                        Resource: Object.values(groups).map((g) => pulumi.interpolate`${g.arn}:*`),
                        Condition: { ArnEquals: { "aws:SourceArn": rules.map((r) => r.arn) } },
                    },
                ]),
            },
            parent,
        );
        this.logGroupNames = {
            "spot-interruption": groups["spot-interruption"].name,
            "stopped-mid-run": groups["stopped-mid-run"].name,
        };
        this.registerOutputs({ logGroupNames: this.logGroupNames });
    }
}
