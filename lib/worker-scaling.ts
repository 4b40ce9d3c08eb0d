/**
 * How fast a worker pool at zero gets a worker: the queue-depth metric, the alarms and the scaling
 * policy of the Celery layout's worker pools, and the wait they add up to (README, "Scale-out from
 * zero"). Pure: CeleryCluster's scaling takes its parameters from {@link workerScalingParameters},
 * and the queue-metrics sidecar its publishing settings from {@link queueMetricsPublishing}.
 */

export interface AlarmParameters {
    /** Seconds per datapoint: 10 or 30 (high-resolution metrics only) or a multiple of 60. */
    period: number;
    evaluationPeriods: number;
    datapointsToAlarm: number;
    statistic: "Maximum";
    comparisonOperator: "GreaterThanThreshold" | "LessThanOrEqualToThreshold";
    threshold: 0;
    treatMissingData: "notBreaching";
}

export interface WorkerScalingParameters {
    /** The queue-metrics sidecar's publishing. */
    publishing: { intervalSeconds: number; storageResolution: 1 | 60 };
    /** Sizes the pool to its queue as soon as one datapoint shows work. */
    scaleOutAlarm: AlarmParameters;
    /** Back to the minimum after this many idle minutes. */
    scaleInAlarm: AlarmParameters;
    /** Both step policies (ExactCapacity). */
    policy: { adjustmentType: "ExactCapacity"; cooldown: number; metricAggregationType: "Maximum" };
}

/**
 * The scaling parameters. The scale-out path is high-resolution: the sidecar publishes every 10 s
 * with StorageResolution 1, and the alarm looks at one 10-second datapoint
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/publishingMetrics.html#high-resolution-metrics,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#high-resolution-alarms).
 * Scale-in keeps one-minute periods: ten idle minutes, as before. Cost per environment and month
 * (us-east-1 list prices): 259,200 PutMetricData calls at $0.01 per 1,000 = $2.59 instead of $0.43,
 * and $0.30 per high-resolution alarm instead of $0.10.
 */
export function workerScalingParameters(): WorkerScalingParameters {
    const alarm = (over: Partial<AlarmParameters>): AlarmParameters => ({
        period: 60,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        treatMissingData: "notBreaching",
        ...over,
    });
    return {
        publishing: { intervalSeconds: 10, storageResolution: 1 },
        scaleOutAlarm: alarm({ period: 10 }),
        scaleInAlarm: alarm({
            period: 60,
            evaluationPeriods: 10,
            datapointsToAlarm: 10,
            comparisonOperator: "LessThanOrEqualToThreshold",
        }),
        policy: { adjustmentType: "ExactCapacity", cooldown: 60, metricAggregationType: "Maximum" },
    };
}

/** The queue-metrics sidecar's environment for these parameters (sidecars/queue_metrics.py). */
export function queueMetricsPublishing(p: WorkerScalingParameters = workerScalingParameters()): Record<string, string> {
    return {
        QUEUE_METRICS_INTERVAL_SECONDS: String(p.publishing.intervalSeconds),
        QUEUE_METRICS_STORAGE_RESOLUTION: String(p.publishing.storageResolution),
    };
}

/** What the scaling parameters do not decide: measured locally or taken from AWS's behaviour. */
export interface StartAssumptions {
    /** Seconds from a datapoint's timestamp until an alarm can evaluate it. */
    metricIngestSeconds: number;
    /** Seconds from the alarm to the ECS service's new desired count (Application Auto Scaling). */
    scalingActionSeconds: number;
    /** Seconds for Fargate to place the task, attach its ENI and pull the image. */
    fargateStartSeconds: number;
    /** Seconds for the init containers (wait-for-migrations, dag-sync's first sync and health check). */
    initContainersSeconds: number;
    /** Seconds from the worker process starting to it running a queued task (measured by the drills). */
    workerBootSeconds: number;
}

/** Conservative defaults for the figures AWS does not publish; the drills measure the worker boot. */
export const DEFAULT_START_ASSUMPTIONS: StartAssumptions = {
    metricIngestSeconds: 10,
    scalingActionSeconds: 10,
    fargateStartSeconds: 60,
    initContainersSeconds: 20,
    workerBootSeconds: 20,
};

/**
 * The worst-case wait of a task queued on a pool at zero until a worker runs it, step by step: the
 * task waits for the next publish (one interval), for its period to close (one period) and its
 * datapoint to be ingested, for the alarm to reach its datapoints, then scaling, Fargate, the init
 * containers and the worker's boot.
 */
export function scaleOutFromZero(
    p: WorkerScalingParameters = workerScalingParameters(),
    a: StartAssumptions = DEFAULT_START_ASSUMPTIONS,
): { steps: { step: string; seconds: number }[]; totalSeconds: number } {
    const alarm = p.scaleOutAlarm;
    const steps = [
        { step: "next queue-metrics publish", seconds: p.publishing.intervalSeconds },
        { step: "metric period closes", seconds: alarm.period },
        { step: "datapoint ingested", seconds: a.metricIngestSeconds },
        { step: "alarm reaches its datapoints", seconds: (alarm.datapointsToAlarm - 1) * alarm.period },
        { step: "scaling action sets the desired count", seconds: a.scalingActionSeconds },
        { step: "Fargate starts the task", seconds: a.fargateStartSeconds },
        { step: "init containers", seconds: a.initContainersSeconds },
        { step: "worker boots and takes the task", seconds: a.workerBootSeconds },
    ];
    return { steps, totalSeconds: steps.reduce((sum, s) => sum + s.seconds, 0) };
}

/** The parameters before this change (60 s publishing, standard resolution, 60 s alarm), for comparison. */
export function previousScalingParameters(): WorkerScalingParameters {
    const p = workerScalingParameters();
    return {
        ...p,
        publishing: { intervalSeconds: 60, storageResolution: 60 },
        scaleOutAlarm: { ...p.scaleOutAlarm, period: 60 },
    };
}
