/**
 * The alarms of one environment, as data: one spec per alarm, each with its threshold (from config),
 * its missing-data treatment (chosen per alarm: a dead scheduler sends no heartbeat, a healthy
 * environment sends no 5xx) and what the README's runbook says. The component creates one
 * aws.cloudwatch.MetricAlarm per spec, every one with the stack's SNS topic as alarm and OK action.
 */
import { EVENT_METRICS, MWAA_SERVICE_NAMESPACE } from "./metrics";
import { airflowMetric, MetricRef, MetricUse, Observed, QUEUE_LOAD_METRIC, quoted } from "./spec";

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

const use = (namespace: string, name: string): MetricUse => ({ namespace, name });
const uses = <V>(m: MetricRef<V>): MetricUse => use(m.namespace, m.name);

/** A Metrics Insights query over one namespace, filtered to this environment. */
function insights(fn: string, name: string, from: string, where: string): string {
    return `SELECT ${fn}(${name}) FROM ${from} WHERE ${where}`;
}

/** Every alarm of the environment `o`, in a stable order. */
export function alarmSpecs<V>(o: Observed<V>, t: AlarmThresholds): AlarmSpec<V>[] {
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

    if (o.layout === "celery" && o.celery) {
        const c = o.celery;
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

        if (c.broker.type === "sqs") {
            const names = Object.keys(c.broker.queueNames).sort();
            const broker = c.broker;
            const qs: AlarmQuery<V>[] = names.map((q, i) => ({
                id: `a${i}`,
                metric: {
                    namespace: "AWS/SQS",
                    name: "ApproximateAgeOfOldestMessage",
                    dimensions: { QueueName: broker.queueNames[q] },
                    stat: "Maximum",
                    period: 300,
                },
                returnData: false,
            }));
            qs.push({
                id: "oldest",
                expression: `MAX([${names.map((_, i) => `a${i}`).join(", ")}])`,
                label: "Oldest queued task (s)",
                returnData: true,
            });
            specs.push(oldestQueued(env, t, { queries: qs, uses: [use("AWS/SQS", "ApproximateAgeOfOldestMessage")] }));
        }

        const db = (name: string, stat: string) => ({
            namespace: "AWS/RDS",
            name,
            dimensions: { DBInstanceIdentifier: c.databaseInstanceId },
            stat,
            period: 300,
        });
        specs.push(
            {
                key: "database-cpu",
                description: `The metadata database of Airflow ${env} has averaged over ${t.dbCpuPercent}% CPU for 15 minutes.`,
                comparisonOperator: "GreaterThanThreshold",
                threshold: t.dbCpuPercent,
                evaluationPeriods: 3,
                datapointsToAlarm: 3,
                // RDS publishes every minute while the instance exists; a gap keeps the last state.
                treatMissingData: "missing",
                metric: db("CPUUtilization", "Average"),
                uses: [use("AWS/RDS", "CPUUtilization")],
            },
            {
                key: "database-storage",
                description: `The metadata database of Airflow ${env} has less than ${t.dbFreeStorageGb} GB of free storage.`,
                comparisonOperator: "LessThanThreshold",
                threshold: t.dbFreeStorageGb * 1024 ** 3,
                evaluationPeriods: 1,
                datapointsToAlarm: 1,
                treatMissingData: "missing",
                metric: db("FreeStorageSpace", "Minimum"),
                uses: [use("AWS/RDS", "FreeStorageSpace")],
            },
            {
                key: "database-connections",
                description: `The metadata database of Airflow ${env} has had more than ${t.dbConnections} connections for 10 minutes.`,
                comparisonOperator: "GreaterThanThreshold",
                threshold: t.dbConnections,
                evaluationPeriods: 2,
                datapointsToAlarm: 2,
                treatMissingData: "missing",
                metric: db("DatabaseConnections", "Maximum"),
                uses: [use("AWS/RDS", "DatabaseConnections")],
            },
        );

        if (c.loadBalancer) {
            const lb = c.loadBalancer;
            const alb = (name: string, stat: string, period: number, tg = false) => ({
                namespace: "AWS/ApplicationELB",
                name,
                dimensions: (tg
                    ? { TargetGroup: lb.apiTargetGroupArnSuffix, LoadBalancer: lb.arnSuffix }
                    : { LoadBalancer: lb.arnSuffix }) as Record<string, V>,
                stat,
                period,
            });
            specs.push(
                {
                    key: "load-balancer-5xx",
                    description: `The load balancer of Airflow ${env} answered more than ${t.lb5xxPer5Minutes} 5xx responses (its own and the api-server's) in 5 minutes.`,
                    comparisonOperator: "GreaterThanThreshold",
                    threshold: t.lb5xxPer5Minutes,
                    evaluationPeriods: 1,
                    datapointsToAlarm: 1,
                    // The ALB publishes a 5xx count only when there are some: no data means none.
                    treatMissingData: "notBreaching",
                    queries: [
                        { id: "target", metric: alb("HTTPCode_Target_5XX_Count", "Sum", 300), returnData: false },
                        { id: "elb", metric: alb("HTTPCode_ELB_5XX_Count", "Sum", 300), returnData: false },
                        {
                            id: "total",
                            expression: "FILL(target, 0) + FILL(elb, 0)",
                            label: "5xx responses",
                            returnData: true,
                        },
                    ],
                    uses: [
                        use("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
                        use("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
                    ],
                },
                {
                    key: "api-server-unhealthy",
                    description: `An api-server target of Airflow ${env} has failed the load balancer's health check for ${t.unhealthyTargetMinutes} minutes.`,
                    comparisonOperator: "GreaterThanOrEqualToThreshold",
                    threshold: 1,
                    evaluationPeriods: t.unhealthyTargetMinutes,
                    datapointsToAlarm: t.unhealthyTargetMinutes,
                    // Published every minute while the target group is attached; a gap keeps the state.
                    treatMissingData: "missing",
                    metric: alb("UnHealthyHostCount", "Maximum", 60, true),
                    uses: [use("AWS/ApplicationELB", "UnHealthyHostCount")],
                },
            );
        }

        // One metric per service (the event names the service, not the cluster); an alarm reads at most
        // 10 metrics, so larger clusters get one alarm per 9 services.
        const roles = Object.keys(c.serviceArns).sort();
        for (let start = 0; start < roles.length; start += 9) {
            const chunk = roles.slice(start, start + 9);
            const qs: AlarmQuery<V>[] = chunk.map((role, i) => ({
                id: `d${i}`,
                metric: {
                    namespace: EVENT_METRICS.namespace,
                    name: EVENT_METRICS.deploymentsRolledBack,
                    dimensions: { Service: c.serviceArns[role] },
                    stat: "Sum",
                    period: 300,
                },
                returnData: false,
            }));
            qs.push({
                id: "failed",
                expression: `SUM([${chunk.map((_, i) => `FILL(d${i}, 0)`).join(", ")}])`,
                label: "Deployments rolled back",
                returnData: true,
            });
            specs.push({
                key: start === 0 ? "deployment-rolled-back" : `deployment-rolled-back-${start / 9 + 1}`,
                description: `An ECS deployment of Airflow ${env} (${chunk.join(", ")}) failed and the circuit breaker rolled it back to the previous task definition.`,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                threshold: 1,
                evaluationPeriods: 1,
                datapointsToAlarm: 1,
                // The metric filter publishes only when a deployment fails: no data means none failed.
                treatMissingData: "notBreaching",
                queries: qs,
                uses: [use(EVENT_METRICS.namespace, EVENT_METRICS.deploymentsRolledBack)],
            });
        }
    }

    if (o.layout === "mwaa" && o.mwaa) {
        const where = `Environment = ${quoted(env)}`;
        specs.push(
            {
                key: "queued-without-worker",
                description: `A task of Airflow ${env} has waited in MWAA's queue for more than ${t.queuedWithoutWorkerMinutes} minutes: no worker took it (MWAA keeps at least one worker, so the workers are stuck or saturated).`,
                comparisonOperator: "GreaterThanThreshold",
                threshold: t.queuedWithoutWorkerMinutes * 60,
                evaluationPeriods: 1,
                datapointsToAlarm: 1,
                treatMissingData: "notBreaching",
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
            },
            oldestQueued(env, t, {
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
            }),
        );
    }

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

    if (o.layout === "mwaa" && o.mwaa) {
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
                dimensions: { EnvironmentArn: o.mwaa.environmentArn },
                stat: "Sum",
                period: 300,
            },
            uses: [use(EVENT_METRICS.namespace, EVENT_METRICS.mwaaEnvironmentUnhealthy)],
        });
    }
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
        // The queue publishes its age while it exists; an empty queue has no old message.
        treatMissingData: "notBreaching",
        ...q,
    };
}
