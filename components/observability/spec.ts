/**
 * What the dashboard and the alarms observe, layout by layout, as plain data: the pure functions of
 * dashboard.ts and alarms.ts take it, the component fills it from the other components' outputs.
 * `V` is the type of resource identifiers: `string` for the dashboard body (rendered once every
 * identifier is known) and `pulumi.Input<string>` for alarms (one resource each).
 */
import { AIRFLOW_NAMESPACE, AirflowMetricName, AIRFLOW_METRICS } from "./metrics";

/** The Celery layout's queue-load publisher (the control service's queue-metrics sidecar). */
export const QUEUE_LOAD_METRIC = { namespace: "Airflow/Celery", name: "QueuedAndRunningTasks" } as const;

/**
 * The age in seconds of each Celery queue's oldest queued task, published by the same sidecar with the
 * same dimensions (Environment, Queue). The oldest-queued-task alarm reads it on both brokers: Celery's
 * messages carry no enqueue time, and SQS's ApproximateAgeOfOldestMessage also counts the messages of
 * running tasks (sidecars/queue_metrics.py says why).
 */
export const QUEUE_AGE_METRIC = { namespace: QUEUE_LOAD_METRIC.namespace, name: "OldestQueuedTaskAge" } as const;

export interface CeleryObserved<V> {
    /** The Environment dimension of the queue-load metric (the config's environment name). */
    environment: string;
    clusterName: V;
    /** ARN of the ECS cluster (the dimension of the event metrics). */
    clusterArn: V;
    /** ECS service ARNs by role (the dimension of the deployment events). */
    serviceArns: Readonly<Record<string, V>>;
    /** Worker pools: Celery queue name -> ECS service name. */
    workerServices: Readonly<Record<string, V>>;
    /** RDS instance identifier of the metadata database. */
    databaseInstanceId: V;
    /** The broker: ElastiCache replication group, or SQS queue names by Celery queue. */
    broker: { type: "redis"; replicationGroupId: V } | { type: "sqs"; queueNames: Readonly<Record<string, V>> };
    /** The load balancer's and the api-server target group's ARN suffixes; absent: no LB rows or alarms. */
    loadBalancer?: { arnSuffix: V; apiTargetGroupArnSuffix: V };
    /** Container Insights on the cluster: without it there is no RunningTaskCount. Default: true. */
    containerInsights?: boolean;
}

export interface MwaaObserved<V> {
    environmentArn: V;
}

export interface Observed<V> {
    layout: "celery" | "mwaa";
    /** Value of the Environment dimension in AmazonMWAA: the MWAA environment's name, `airflow-<env>`. */
    environmentName: string;
    region: string;
    /** Airflow pools shown per pool. Default: ["default_pool"]. */
    pools?: readonly string[];
    celery?: CeleryObserved<V>;
    mwaa?: MwaaObserved<V>;
}

/** A metric as CloudWatch names it. */
export interface MetricRef<V> {
    namespace: string;
    name: string;
    dimensions: Readonly<Record<string, V | string>>;
}

/** A namespace and metric name some series reads (for the metric test). */
export interface MetricUse {
    namespace: string;
    name: string;
}

/** An Airflow metric (AmazonMWAA) of this environment, with MWAA's fixed dimensions. */
export function airflowMetric<V>(
    o: Observed<V>,
    name: AirflowMetricName,
    extra: Readonly<Record<string, string>> = {},
): MetricRef<V> {
    const rule = AIRFLOW_METRICS[name];
    return {
        namespace: AIRFLOW_NAMESPACE,
        name,
        dimensions: { Environment: o.environmentName, ...rule.dimensions, ...extra },
    };
}

/** Single quotes inside a Metrics Insights or SEARCH string. */
export function quoted(value: string): string {
    return `'${value.replace(/'/g, "\\'")}'`;
}
