import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { WorkerPool } from "../../config";
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
export function createScaling(name: string, args: ScalingArgs, parent: pulumi.Resource): void {
    const { pool, tags } = args;
    if (!poolScales(pool)) return;
    const parameters = workerScalingParameters();
    const role = `worker-${pool.name}`;
    const target = new aws.appautoscaling.Target(
        `${name}-${role}-scaling-target`,
        {
            serviceNamespace: "ecs",
            scalableDimension: "ecs:service:DesiredCount",
            resourceId: pulumi.interpolate`service/${args.clusterName}/${args.serviceName}`,
            minCapacity: pool.minCount,
            maxCapacity: pool.maxCount,
            tags: withName(tags, `${name}-${role}-scaling-target`),
        },
        { parent },
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
}
