import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { OffHours, STOP_STAGGER_MINUTES, WorkerPool } from "../../config";
import { parseWeeklyCron } from "../../config/levers";
import { withName } from "../../lib/tags";
import { AlarmParameters, workerScalingParameters } from "../../lib/worker-scaling";
import { QUEUE_METRIC } from "./containers";

/** One step of a step-scaling policy, relative to the alarm threshold (0 queued + running tasks). */
export interface QueueStep {
    metricIntervalLowerBound: string;
    metricIntervalUpperBound?: string;
    scalingAdjustment: number;
}

/**
 * Step adjustments (relative to the alarm threshold 0) that give ceil(tasks / concurrency) workers,
 * capped at maxCount, in at most 20 steps (Application Auto Scaling's limit).
 */
export function queueSteps(pool: Pick<WorkerPool, "maxCount" | "concurrency">): QueueStep[] {
    const n = Math.min(pool.maxCount, 20);
    const capacities = [...Array(n).keys()].map((i) => Math.ceil(((i + 1) * pool.maxCount) / n));
    return capacities.map((capacity, i) => ({
        metricIntervalLowerBound: String(i === 0 ? 0 : capacities[i - 1] * pool.concurrency),
        ...(i < n - 1 ? { metricIntervalUpperBound: String(capacity * pool.concurrency) } : {}),
        scalingAdjustment: capacity,
    }));
}

/** Whether a pool scales at all: a pool with minCount = maxCount has a fixed size. */
export function poolScales(pool: Pick<WorkerPool, "minCount" | "maxCount">): boolean {
    return pool.minCount !== pool.maxCount;
}

/** A service's scaling bounds while it runs: a worker pool's min/max, or a fixed count. */
export interface RunBounds {
    min: number;
    max: number;
}

/** One scheduled action of the off-hours schedule. */
export interface OffHoursAction {
    /** "stop" or "start": the action's role in resource names. */
    kind: "stop" | "start";
    schedule: string;
    minCapacity: number;
    maxCapacity: number;
}

/**
 * When a service stops in the off-hours: the schedulers first (no new task instances are queued),
 * the dag-processor, triggerer, workers and Flower 2 minutes later (a worker gets its 120-second
 * stopTimeout to finish), the api-server and the control service last, 5 minutes after the
 * schedulers, so that draining workers still reach the execution API and the queue metric.
 */
export function stopOffsetMinutes(role: string): number {
    if (role === "scheduler") return STOP_STAGGER_MINUTES.scheduler;
    if (role === "api-server" || role === "webserver" || role === "control") return STOP_STAGGER_MINUTES.last;
    return STOP_STAGGER_MINUTES.rest;
}

/** `cron(...)` with its minute moved `offset` minutes later (config allows minutes up to 59 - the last offset). */
export function shiftCron(cron: string, offset: number): string {
    const parsed = parseWeeklyCron(cron);
    if (!parsed) throw new Error(`not a weekly cron expression: ${cron}`);
    return cron.replace(/^cron\(\d{1,2} /, `cron(${parsed.minute + offset} `);
}

/** The scheduled actions of a service: to zero at its stop time, back to its bounds at the start time. */
export function offHoursActions(role: string, bounds: RunBounds, offHours: OffHours): OffHoursAction[] {
    return [
        { kind: "stop", schedule: shiftCron(offHours.stop, stopOffsetMinutes(role)), minCapacity: 0, maxCapacity: 0 },
        { kind: "start", schedule: offHours.start, minCapacity: bounds.min, maxCapacity: bounds.max },
    ];
}

/**
 * The off-hours schedule of one service: a scalable target over its desired count (the worker
 * pool's own when it scales, else one fixed at its count) and its stop and start actions.
 */
export function createOffHours(
    name: string,
    args: {
        role: string;
        bounds: RunBounds;
        offHours: OffHours;
        clusterName: pulumi.Input<string>;
        serviceName: pulumi.Input<string>;
        target?: aws.appautoscaling.Target;
        tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    },
    parent: pulumi.Resource,
): void {
    const { role } = args;
    const target =
        args.target ??
        scalableTarget(
            `${name}-${role}-scaling-target`,
            args.clusterName,
            args.serviceName,
            args.bounds,
            args.tags,
            parent,
        );
    for (const action of offHoursActions(role, args.bounds, args.offHours)) {
        new aws.appautoscaling.ScheduledAction(
            `${name}-${role}-off-hours-${action.kind}`,
            {
                name: `${name}-${role}-off-hours-${action.kind}`,
                serviceNamespace: target.serviceNamespace,
                scalableDimension: target.scalableDimension,
                resourceId: target.resourceId,
                schedule: action.schedule,
                timezone: args.offHours.timezone,
                scalableTargetAction: { minCapacity: action.minCapacity, maxCapacity: action.maxCapacity },
            },
            { parent },
        );
    }
}

function scalableTarget(
    name: string,
    clusterName: pulumi.Input<string>,
    serviceName: pulumi.Input<string>,
    bounds: RunBounds,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    parent: pulumi.Resource,
): aws.appautoscaling.Target {
    return new aws.appautoscaling.Target(
        name,
        {
            serviceNamespace: "ecs",
            scalableDimension: "ecs:service:DesiredCount",
            resourceId: pulumi.interpolate`service/${clusterName}/${serviceName}`,
            minCapacity: bounds.min,
            maxCapacity: bounds.max,
            tags: withName(tags, name),
        },
        { parent },
    );
}

export interface ScalingArgs {
    environment: string;
    pool: WorkerPool;
    clusterName: pulumi.Input<string>;
    serviceName: pulumi.Input<string>;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Scales a pool on its queue depth (queued + running tasks, published by the control service):
 * ExactCapacity steps of `concurrency` tasks per worker up to maxCount while there is work, and
 * back to minCount after 10 idle minutes. Works from zero workers, and the same on both brokers.
 * Periods, datapoints and the cooldown come from workerScalingParameters (lib/worker-scaling.ts):
 * the scale-out alarm reads one high-resolution 10-second datapoint.
 */
export function createScaling(
    name: string,
    args: ScalingArgs,
    parent: pulumi.Resource,
): aws.appautoscaling.Target | undefined {
    const { pool, tags } = args;
    if (!poolScales(pool)) return undefined;
    const parameters = workerScalingParameters();
    const role = `worker-${pool.name}`;
    const target = scalableTarget(
        `${name}-${role}-scaling-target`,
        args.clusterName,
        args.serviceName,
        { min: pool.minCount, max: pool.maxCount },
        tags,
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
                    ...parameters.policy,
                    stepAdjustments: steps,
                },
            },
            { parent },
        );
    const scaleOut = policy("scale-on-queue", queueSteps(pool));
    const scaleIn = policy("scale-in-when-idle", [{ metricIntervalUpperBound: "0", scalingAdjustment: pool.minCount }]);
    const alarm = (kind: string, p: AlarmParameters, action: aws.appautoscaling.Policy, description: string) =>
        new aws.cloudwatch.MetricAlarm(
            `${name}-${role}-${kind}`,
            {
                alarmDescription: description,
                namespace: QUEUE_METRIC.namespace,
                metricName: QUEUE_METRIC.name,
                dimensions: { Environment: args.environment, Queue: pool.name },
                statistic: p.statistic,
                period: p.period,
                evaluationPeriods: p.evaluationPeriods,
                datapointsToAlarm: p.datapointsToAlarm,
                threshold: p.threshold,
                comparisonOperator: p.comparisonOperator,
                treatMissingData: p.treatMissingData,
                alarmActions: [action.arn],
                tags: withName(tags, `${name}-${role}-${kind}`),
            },
            { parent },
        );
    alarm(
        "queue-has-work",
        parameters.scaleOutAlarm,
        scaleOut,
        `Tasks are queued or running on the ${pool.name} queue: size the pool to them`,
    );
    alarm(
        "queue-idle",
        parameters.scaleInAlarm,
        scaleIn,
        `The ${pool.name} queue has been idle for ${(parameters.scaleInAlarm.period * parameters.scaleInAlarm.evaluationPeriods) / 60} minutes: scale the pool in to ${pool.minCount}`,
    );
    return target;
}
