/**
 * The metrics the dashboard and the alarms read, in one place.
 *
 * Airflow's own metrics live in the namespace MWAA publishes them in, `AmazonMWAA`, under MWAA's names
 * and dimensions (https://docs.aws.amazon.com/mwaa/latest/userguide/access-metrics-cw.html; the
 * Airflow 2.0.2 table of the same page, awsdocs/amazon-mwaa-user-guide doc_source/access-metrics-cw-202.md,
 * lists CloudWatch metric, Airflow metric, unit and dimensions). On MWAA the service publishes them;
 * on the Celery layout the collector sidecar (agent.ts) maps Airflow's StatsD names onto the same
 * names and dimensions with the rules below, so one dashboard definition serves both layouts.
 *
 * Every rule names the StatsD metric Airflow emits (`statsd`, a regular expression over the whole
 * name, prefix included, in RE2/Python syntax; named groups become dimensions).
 * tests/python/test_metrics_emitted.py runs the pinned Airflow with StatsD on and checks that each
 * rule the dashboard or an alarm uses matches a metric that Airflow really emitted.
 */

/** The prefix Airflow puts before every StatsD metric ([metrics] statsd_prefix). */
export const STATSD_PREFIX = "airflow";

/** MWAA's namespace of Airflow's metrics; the Celery layout publishes into the same one. */
export const AIRFLOW_NAMESPACE = "AmazonMWAA";

/** MWAA's namespace of container, queue and database metrics. */
export const MWAA_SERVICE_NAMESPACE = "AWS/MWAA";

/**
 * Metrics this stack derives from EventBridge events (rule -> log group -> metric filter), one
 * definition for every issue that needs them (Spot interruptions are also read by the workers' issue).
 * Dimensions come from the event: ClusterArn and Group ("service:<name>") for ECS events,
 * EnvironmentArn for MWAA's.
 */
export const EVENT_METRICS = {
    namespace: "Airflow/Events",
    spotInterruptions: "SpotInterruptions",
    /** Worker tasks stopped with work running (components/worker-events.ts, issue 17). */
    workersStoppedMidRun: "WorkersStoppedMidRun",
    deploymentsRolledBack: "DeploymentsRolledBack",
    mwaaEnvironmentUnhealthy: "EnvironmentUnhealthy",
} as const;

/** How the collector turns a StatsD metric into a CloudWatch metric. */
export interface AirflowMetricRule {
    /** CloudWatch metric name (MWAA's). */
    readonly name: string;
    /** Regular expression over the StatsD name; its named groups become dimensions. */
    readonly statsd: string;
    /** Fixed dimensions besides Environment (MWAA's values). */
    readonly dimensions: Readonly<Record<string, string>>;
    /** Dimensions taken from the named groups of `statsd`. */
    readonly groups: readonly string[];
    /** StatsD type: counters are summed per period, gauges keep the last value, timers a summary. */
    readonly kind: "counter" | "gauge" | "timer";
    /** Airflow's unit: gauges and counters are counts unless said here. */
    readonly unit?: "Seconds" | "Milliseconds";
    /**
     * The StatsD name carries values that are not dimensions (a DAG and a task, where MWAA publishes
     * `All`): the collector sums the datapoints of one period that end up with the same dimensions.
     * Default: false (each matched name is its own series).
     */
    readonly summed?: boolean;
}

const esc = (s: string) => s.replace(/[.]/g, "\\.");
const exact = (statsdName: string) => `^${esc(`${STATSD_PREFIX}.${statsdName}`)}$`;
const suffixed = (statsdName: string, group: string) => `^${esc(`${STATSD_PREFIX}.${statsdName}.`)}(?P<${group}>.+)$`;
/**
 * A legacy name `<statsdName>.<dag_id>.<task_id>.<state>` for one task state, of any DAG and task:
 * Airflow writes a `.` inside an id as `__` in legacy names (airflow/_shared/observability/metrics/stats.py),
 * so each id is one segment.
 */
const perTaskState = (statsdName: string, state: string) =>
    `^${esc(`${STATSD_PREFIX}.${statsdName}.`)}[^.]+\\.[^.]+\\.(?P<State>${state})$`;

const scheduler = { Function: "Scheduler" };
const executor = { Function: "Executor" };
const processing = { Function: "DAG Processing" };

/** Airflow's metrics by CloudWatch name: MWAA's name, dimensions and the StatsD metric behind it. */
export const AIRFLOW_METRICS = {
    SchedulerHeartbeat: { statsd: exact("scheduler_heartbeat"), dimensions: scheduler, groups: [], kind: "counter" },
    TasksStarving: { statsd: exact("scheduler.tasks.starving"), dimensions: scheduler, groups: [], kind: "gauge" },
    TasksExecutable: { statsd: exact("scheduler.tasks.executable"), dimensions: scheduler, groups: [], kind: "gauge" },
    TasksKilledExternally: {
        statsd: exact("scheduler.tasks.killed_externally"),
        dimensions: scheduler,
        groups: [],
        kind: "counter",
    },
    QueuedTasks: { statsd: exact("executor.queued_tasks"), dimensions: executor, groups: [], kind: "gauge" },
    RunningTasks: { statsd: exact("executor.running_tasks"), dimensions: executor, groups: [], kind: "gauge" },
    OpenSlots: { statsd: exact("executor.open_slots"), dimensions: executor, groups: [], kind: "gauge" },
    PoolOpenSlots: { statsd: suffixed("pool.open_slots", "Pool"), dimensions: {}, groups: ["Pool"], kind: "gauge" },
    PoolQueuedSlots: {
        statsd: suffixed("pool.queued_slots", "Pool"),
        dimensions: {},
        groups: ["Pool"],
        kind: "gauge",
    },
    PoolRunningSlots: {
        statsd: suffixed("pool.running_slots", "Pool"),
        dimensions: {},
        groups: ["Pool"],
        kind: "gauge",
    },
    ImportErrors: { statsd: exact("dag_processing.import_errors"), dimensions: processing, groups: [], kind: "gauge" },
    TotalParseTime: {
        statsd: exact("dag_processing.total_parse_time"),
        dimensions: processing,
        groups: [],
        kind: "gauge",
        unit: "Seconds",
    },
    DagBagSize: { statsd: exact("dagbag_size"), dimensions: processing, groups: [], kind: "gauge" },
    TaskInstanceFailures: {
        statsd: exact("ti_failures"),
        dimensions: { DAG: "All", Task: "All" },
        groups: [],
        kind: "counter",
    },
    /**
     * Task tries that ended up for retry. MWAA's TaskInstanceFinished is `ti.finish.{dag_id}.{task_id}.{state}`
     * with dimensions DAG=All, Task=All, State={state} (access-metrics-cw-220.md of the same guide; its
     * Airflow 2.0.2 table calls it FinishedTaskInstances). Airflow 3.3's task runner sends `ti.finish` with
     * dag_id, task_id and state in tags, which plain StatsD drops, and, with legacy names on, the legacy
     * name with them (airflow/sdk/execution_time/task_runner.py). Only `up_for_retry` is mapped: the
     * dashboard reads no other state, and each state would be one more custom metric. Summed across DAGs
     * and tasks, as MWAA publishes it: one metric per environment whatever the number of DAGs (per DAG it
     * would be one billed metric per DAG and another dimension set than MWAA's); a task's retries are in
     * its try history in the UI.
     */
    TaskInstanceFinished: {
        statsd: perTaskState("ti.finish", "up_for_retry"),
        dimensions: { DAG: "All", Task: "All" },
        groups: ["State"],
        kind: "counter",
        summed: true,
    },
    DAGDurationFailed: {
        statsd: suffixed("dagrun.duration.failed", "DAG"),
        dimensions: {},
        groups: ["DAG"],
        kind: "timer",
        unit: "Milliseconds",
    },
} as const satisfies Record<string, Omit<AirflowMetricRule, "name">>;

export type AirflowMetricName = keyof typeof AIRFLOW_METRICS;

/** Every rule, with its name. */
export function airflowMetricRules(): AirflowMetricRule[] {
    return Object.entries(AIRFLOW_METRICS).map(([name, rule]) => ({ name, ...rule }));
}

/**
 * CloudWatch-native metrics the dashboard and alarms read, by namespace, each published by a resource
 * type this stack creates. Sources: Amazon RDS (rds-metrics.html), ElastiCache (CacheMetrics.Redis.html),
 * Amazon SQS (sqs-available-cloudwatch-metrics.html), ALB (load-balancer-cloudwatch-metrics.html),
 * Container Insights (Container-Insights-metrics-ECS.html), and MWAA's AWS/MWAA metrics
 * (accessing-metrics-cw-container-queue-db.html).
 */
export const NATIVE_METRICS = {
    "AWS/RDS": {
        resource: "aws:rds/instance:Instance",
        names: ["CPUUtilization", "DatabaseConnections", "FreeStorageSpace", "FreeableMemory"],
    },
    "AWS/ElastiCache": {
        resource: "aws:elasticache/replicationGroup:ReplicationGroup",
        names: ["CurrConnections", "CurrItems"],
    },
    "AWS/SQS": {
        resource: "aws:sqs/queue:Queue",
        names: ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"],
    },
    "AWS/ApplicationELB": {
        resource: "aws:lb/loadBalancer:LoadBalancer",
        names: [
            "HTTPCode_Target_5XX_Count",
            "HTTPCode_ELB_5XX_Count",
            "TargetResponseTime",
            "UnHealthyHostCount",
            "HealthyHostCount",
        ],
    },
    "ECS/ContainerInsights": { resource: "aws:ecs/cluster:Cluster", names: ["RunningTaskCount"] },
    [MWAA_SERVICE_NAMESPACE]: {
        resource: "aws:mwaa/environment:Environment",
        names: [
            "QueuedTasks",
            "RunningTasks",
            "ApproximateAgeOfOldestTask",
            "CPUUtilization",
            "DatabaseConnections",
            "FreeableMemory",
            "NumWorkers",
            "NumAdditionalWorkers",
        ],
    },
} as const;
