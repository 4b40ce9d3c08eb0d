/**
 * The alarms of one environment, as data: one spec per alarm, each with its threshold (from config),
 * its missing-data treatment (chosen per alarm: a dead scheduler sends no heartbeat, a healthy
 * environment sends no 5xx) and what the README's runbook says. The component creates one
 * aws.cloudwatch.MetricAlarm per spec, every one with the stack's SNS topic as alarm and OK action.
 */
import { celeryDatabaseAlarms, celeryServiceAlarms, celeryWorkerAlarms } from "./alarms-celery";
import { EVENT_METRICS, MWAA_SERVICE_NAMESPACE } from "./metrics";
import { airflowMetric, MetricRef, MetricUse, Observed, QUEUE_AGE_METRIC, QUEUE_LOAD_METRIC, quoted } from "./spec";

/** The thresholds (config keys airflow:alarm*; the defaults live in config/observability.ts). */
export interface AlarmThresholds {
    heartbeatMissingMinutes: number;
    queuedWithoutWorkerMinutes: number;
    oldestQueuedTaskMinutes: number;
    importErrors: number;
    failedDagRunsPerHour: number;
    dbCpuPercent: number;
    dbFreeStorageGb: number;
    dbConnections: number;
    lb5xxPer5Minutes: number;
    unhealthyTargetMinutes: number;
}

export type MissingData = "breaching" | "notBreaching" | "ignore" | "missing";

export interface AlarmQuery<V> {
    id: string;
    /** Metric math or a Metrics Insights query. */
    expression?: string;
    /** Seconds a Metrics Insights query aggregates over (metric math takes its metrics' periods). */
    period?: number;
    metric?: MetricRef<V> & { stat: string; period: number };
    label?: string;
    returnData: boolean;
}

export interface AlarmSpec<V> {
    /** Role in the alarm's resource and CloudWatch name. */
    key: string;
    /** What it means (the alarm description; the README's runbook says what to do). */
    description: string;
    comparisonOperator:
        "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold" | "LessThanOrEqualToThreshold";
    threshold: number;
    evaluationPeriods: number;
    datapointsToAlarm: number;
    treatMissingData: MissingData;
    /** One metric, or queries of which exactly one returns data. */
    metric?: MetricRef<V> & { stat: string; period: number };
    queries?: AlarmQuery<V>[];
    /** The metrics it reads (for the metric test). */
    uses: MetricUse[];
}

export const use = (namespace: string, name: string): MetricUse => ({ namespace, name });
const uses = <V>(m: MetricRef<V>): MetricUse => use(m.namespace, m.name);

/** A Metrics Insights query over one namespace, filtered to this environment. */
function insights(fn: string, name: string, from: string, where: string): string {
    return `SELECT ${fn}(${name}) FROM ${from} WHERE ${where}`;
}

/** Every alarm of the environment `o`, in a stable order. */
/** Every alarm of the environment `o`, in a stable order. */
export function alarmSpecs<V>(o: Observed<V>, t: AlarmThresholds): AlarmSpec<V>[] {
    const c = o.layout === "celery" ? o.celery : undefined;
    const mwaa = o.layout === "mwaa" && o.mwaa;
    return [
        ...schedulerAlarms(o, t),
        ...(c
            ? [
                  ...celeryQueueAlarms(o, t, c),
                  ...celeryDatabaseAlarms(o, t, c),
                  ...celeryServiceAlarms(o, t, c),
                  ...celeryWorkerAlarms(o, c),
              ]
            : []),
        ...(mwaa ? mwaaQueueAlarms(o, t) : []),
        ...dagAlarms(o, t),
        ...(o.layout === "mwaa" && o.mwaa ? mwaaHealthAlarms(o, o.mwaa) : []),
    ];
}

/** The scheduler heartbeat. */
function schedulerAlarms<V>(o: Observed<V>, t: AlarmThresholds): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const env = o.environmentName;
    const heartbeat = airflowMetric(o, "SchedulerHeartbeat");
    specs.push({
        key: "scheduler-heartbeat",
        description: `No scheduler heartbeat from Airflow ${env} for ${t.heartbeatMissingMinutes} minutes: no scheduler is running, so nothing is scheduled.`,
        comparisonOperator: "LessThanThreshold",
        threshold: 1,
        evaluationPeriods: t.heartbeatMissingMinutes,
        datapointsToAlarm: t.heartbeatMissingMinutes,
        // A dead scheduler sends nothing at all: no data is the failure itself.
        treatMissingData: "breaching",
        metric: { ...heartbeat, stat: "Sum", period: 60 },
        uses: [uses(heartbeat)],
    });
    return specs;
}

/** Celery: tasks queued with no worker; the oldest queued task. */
function celeryQueueAlarms<V>(
    o: Observed<V>,
    t: AlarmThresholds,
    c: NonNullable<Observed<V>["celery"]>,
): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const env = o.environmentName;
    const pools = Object.keys(c.workerServices).sort();
    const queries: AlarmQuery<V>[] = [];
    pools.forEach((pool, i) => {
        queries.push(
            {
                id: `q${i}`,
                metric: {
                    namespace: QUEUE_LOAD_METRIC.namespace,
                    name: QUEUE_LOAD_METRIC.name,
                    dimensions: { Environment: c.environment, Queue: pool },
                    stat: "Maximum",
                    period: 60,
                },
                returnData: false,
            },
            {
                id: `w${i}`,
                metric: {
                    namespace: "ECS/ContainerInsights",
                    name: "RunningTaskCount",
                    dimensions: { ClusterName: c.clusterName, ServiceName: c.workerServices[pool] },
                    stat: "Maximum",
                    period: 60,
                },
                returnData: false,
            },
            { id: `s${i}`, expression: `IF(FILL(q${i}, 0) > 0 AND FILL(w${i}, 0) < 1, 1, 0)`, returnData: false },
        );
    });
    queries.push({
        id: "stuck",
        expression: pools.length === 1 ? "s0" : `MAX([${pools.map((_, i) => `s${i}`).join(", ")}])`,
        label: "Queues with tasks and no worker",
        returnData: true,
    });
    specs.push({
        key: "queued-without-worker",
        description: `Tasks of Airflow ${env} have been queued for ${t.queuedWithoutWorkerMinutes} minutes on a pool (${pools.join(", ")}) with no worker running: the pool did not scale out.`,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: t.queuedWithoutWorkerMinutes,
        datapointsToAlarm: t.queuedWithoutWorkerMinutes,
        // FILL makes every minute a datapoint: no queue metric counts as no queued task.
        treatMissingData: "notBreaching",
        queries,
        uses: [
            use(QUEUE_LOAD_METRIC.namespace, QUEUE_LOAD_METRIC.name),
            use("ECS/ContainerInsights", "RunningTaskCount"),
        ],
    });
    // Without Container Insights there is no RunningTaskCount to tell "no worker" from "no data".
    if (c.containerInsights === false) specs.splice(specs.length - 1, 1);

    // The oldest queued task, per Celery queue, the same on both brokers (spec.ts QUEUE_AGE_METRIC).
    const ages: AlarmQuery<V>[] = pools.map((pool, i) => ({
        id: `a${i}`,
        metric: {
            namespace: QUEUE_AGE_METRIC.namespace,
            name: QUEUE_AGE_METRIC.name,
            dimensions: { Environment: c.environment, Queue: pool },
            stat: "Maximum",
            period: 300,
        },
        returnData: false,
    }));
    ages.push({
        id: "oldest",
        expression: pools.length === 1 ? "FILL(a0, 0)" : `MAX([${pools.map((_, i) => `FILL(a${i}, 0)`).join(", ")}])`,
        label: "Oldest queued task (s)",
        returnData: true,
    });
    specs.push(oldestQueued(env, t, { queries: ages, uses: [use(QUEUE_AGE_METRIC.namespace, QUEUE_AGE_METRIC.name)] }));
    return specs;
}

/** MWAA: a task waiting in the queue. */
function mwaaQueueAlarms<V>(o: Observed<V>, t: AlarmThresholds): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const env = o.environmentName;
    const where = `Environment = ${quoted(env)}`;
    // Both alarms read the age of MWAA's oldest queued task.
    const oldestAge = {
        queries: [
            {
                id: "age",
                period: 300,
                expression: insights("MAX", "ApproximateAgeOfOldestTask", `"${MWAA_SERVICE_NAMESPACE}"`, where),
                label: "Oldest queued task (s)",
                returnData: true,
            },
        ],
        uses: [use(MWAA_SERVICE_NAMESPACE, "ApproximateAgeOfOldestTask")],
    };
    specs.push(
        {
            key: "queued-without-worker",
            description: `A task of Airflow ${env} has waited in MWAA's queue for more than ${t.queuedWithoutWorkerMinutes} minutes: no worker took it (MWAA keeps at least one worker, so the workers are stuck or saturated).`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.queuedWithoutWorkerMinutes * 60,
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            treatMissingData: "notBreaching",
            ...oldestAge,
        },
        oldestQueued(env, t, oldestAge),
    );
    return specs;
}

/** Both layouts: import errors and failed DAG runs. */
function dagAlarms<V>(o: Observed<V>, t: AlarmThresholds): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const env = o.environmentName;
    const importErrors = airflowMetric(o, "ImportErrors");
    specs.push({
        key: "import-errors",
        description: `The DAG processor of Airflow ${env} reports more than ${t.importErrors} DAG files that fail to import: their DAGs are not scheduled.`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.importErrors,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // The gauge is sent after every parsing loop, 0 included; a gap keeps the last state.
        treatMissingData: "missing",
        metric: { ...importErrors, stat: "Maximum", period: 300 },
        uses: [uses(importErrors)],
    });

    specs.push({
        key: "dag-run-failures",
        description: `More than ${t.failedDagRunsPerHour} DAG runs of Airflow ${env} failed in an hour.`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.failedDagRunsPerHour,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // Airflow sends the timer only when a DAG run fails: no data means no failure.
        treatMissingData: "notBreaching",
        queries: [
            {
                id: "failed",
                period: 3600,
                expression: insights(
                    "COUNT",
                    "DAGDurationFailed",
                    `SCHEMA("AmazonMWAA", DAG, Environment)`,
                    `Environment = ${quoted(env)}`,
                ),
                label: "Failed DAG runs",
                returnData: true,
            },
        ],
        uses: [use("AmazonMWAA", "DAGDurationFailed")],
    });
    return specs;
}

/** MWAA: the environment's health. */
function mwaaHealthAlarms<V>(o: Observed<V>, mwaa: NonNullable<Observed<V>["mwaa"]>): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const env = o.environmentName;
    specs.push({
        key: "environment-health",
        description: `MWAA reported environment ${env} as UNAVAILABLE, or an update of it failed (EventBridge "MWAA Environment Status Change").`,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: "notBreaching",
        metric: {
            namespace: EVENT_METRICS.namespace,
            name: EVENT_METRICS.mwaaEnvironmentUnhealthy,
            dimensions: { EnvironmentArn: mwaa.environmentArn },
            stat: "Sum",
            period: 300,
        },
        uses: [use(EVENT_METRICS.namespace, EVENT_METRICS.mwaaEnvironmentUnhealthy)],
    });
    return specs;
}

function oldestQueued<V>(
    env: string,
    t: AlarmThresholds,
    q: { queries: AlarmQuery<V>[]; uses: MetricUse[] },
): AlarmSpec<V> {
    return {
        key: "oldest-queued-task",
        description: `A task of Airflow ${env} has been queued for more than ${t.oldestQueuedTaskMinutes} minutes.`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.oldestQueuedTaskMinutes * 60,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // An empty queue has no old task; the publisher's silence (a dead control service) is the
        // queue-without-worker and deployment alarms' business, not this one's.
        treatMissingData: "notBreaching",
        ...q,
    };
}
