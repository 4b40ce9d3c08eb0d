/**
 * Every metric the dashboard and the alarms read, on every layout, sorted by where it comes from:
 * - airflow: Airflow's own (AmazonMWAA), with the StatsD rule the Celery layout's collector applies;
 *   tests/python/test_metrics_emitted.py checks each against what the pinned Airflow emits;
 * - native: published by CloudWatch for a resource type of the stack (NATIVE_METRICS);
 * - stack: published by this stack itself (the queue-load sidecar, the event metric filters).
 * scripts/metric-catalog.ts writes it to tests/python/metric_catalog.json; a mocha test keeps it fresh.
 */
import { alarmSpecs, AlarmThresholds } from "./alarms";
import { dashboard, dedupe } from "./dashboard";
import { AIRFLOW_METRICS, AIRFLOW_NAMESPACE, EVENT_METRICS, NATIVE_METRICS, STATSD_PREFIX } from "./metrics";
import { MetricUse, Observed, QUEUE_AGE_METRIC, QUEUE_LOAD_METRIC } from "./spec";

export interface MetricCatalog {
    statsdPrefix: string;
    airflow: { name: string; statsd: string; dimensions: string[] }[];
    native: MetricUse[];
    stack: MetricUse[];
}

const THRESHOLDS: AlarmThresholds = {
    heartbeatMissingMinutes: 5,
    queuedWithoutWorkerMinutes: 10,
    oldestQueuedTaskMinutes: 5,
    importErrors: 0,
    failedDagRunsPerHour: 3,
    dbCpuPercent: 80,
    dbFreeStorageGb: 2,
    dbConnections: 80,
    lb5xxPer5Minutes: 10,
    unhealthyTargetMinutes: 5,
};

/** One environment of each shape: Celery on redis, Celery on SQS with a load balancer, MWAA. */
export function sampleEnvironments(): Observed<string>[] {
    const celery = (broker: "redis" | "sqs"): Observed<string> => ({
        layout: "celery",
        environmentName: "airflow-dev",
        region: "us-east-1",
        celery: {
            environment: "dev",
            clusterName: "airflow-dev-cluster",
            clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/airflow-dev-cluster",
            serviceArns: {
                scheduler: "arn:aws:ecs:us-east-1:123456789012:service/airflow-dev-cluster/airflow-dev-scheduler",
            },
            workerServices: { default: "airflow-dev-worker-default", ml: "airflow-dev-worker-ml" },
            databaseInstanceId: "airflow-dev-db",
            broker:
                broker === "redis"
                    ? { type: "redis", replicationGroupId: "airflow-dev-broker" }
                    : { type: "sqs", queueNames: { default: "airflow-dev-default", ml: "airflow-dev-ml" } },
            loadBalancer:
                broker === "sqs"
                    ? { arnSuffix: "app/airflow-dev/0123", apiTargetGroupArnSuffix: "targetgroup/api-/4567" }
                    : undefined,
        },
    });
    return [
        celery("redis"),
        celery("sqs"),
        {
            layout: "mwaa",
            environmentName: "airflow-prod",
            region: "us-east-1",
            mwaa: { environmentArn: "arn:aws:airflow:us-east-1:123456789012:environment/airflow-prod" },
        },
    ];
}

export function metricCatalog(): MetricCatalog {
    const uses = dedupe(
        sampleEnvironments().flatMap((o) => [
            ...dashboard(o).uses,
            ...alarmSpecs(o, THRESHOLDS).flatMap((s) => s.uses),
        ]),
    );
    const stackMetrics = new Set([
        `${QUEUE_LOAD_METRIC.namespace}|${QUEUE_LOAD_METRIC.name}`,
        `${QUEUE_AGE_METRIC.namespace}|${QUEUE_AGE_METRIC.name}`,
        ...[
            EVENT_METRICS.spotInterruptions,
            EVENT_METRICS.workersStoppedMidRun,
            EVENT_METRICS.deploymentsRolledBack,
            EVENT_METRICS.mwaaEnvironmentUnhealthy,
        ].map((n) => `${EVENT_METRICS.namespace}|${n}`),
    ]);
    const catalog: MetricCatalog = { statsdPrefix: STATSD_PREFIX, airflow: [], native: [], stack: [] };
    for (const u of uses) {
        if (u.namespace === AIRFLOW_NAMESPACE) {
            const rule = AIRFLOW_METRICS[u.name as keyof typeof AIRFLOW_METRICS];
            if (!rule) throw new Error(`${u.namespace} ${u.name} is read but has no rule in AIRFLOW_METRICS`);
            catalog.airflow.push({
                name: u.name,
                statsd: rule.statsd,
                dimensions: [...Object.keys(rule.dimensions), ...rule.groups],
            });
        } else if (stackMetrics.has(`${u.namespace}|${u.name}`)) {
            catalog.stack.push(u);
        } else {
            const native = (NATIVE_METRICS as Record<string, { names: readonly string[] }>)[u.namespace];
            if (!native || !native.names.includes(u.name)) {
                throw new Error(
                    `${u.namespace} ${u.name} is read but is neither Airflow's, native (NATIVE_METRICS) nor the stack's`,
                );
            }
            catalog.native.push(u);
        }
    }
    return catalog;
}
