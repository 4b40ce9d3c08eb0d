/**
 * The dashboard of one environment: the same rows, in the same order, on both layouts. Where a
 * layout has no such figure the row says so in a text widget rather than vanishing, so that a team
 * moving from staging (Celery) to prod (MWAA) reads the same page. Airflow's own figures come from
 * the AmazonMWAA namespace on both layouts (metrics.ts); infrastructure figures from each layout's
 * resources.
 */
import { AIRFLOW_NAMESPACE, AirflowMetricName, EVENT_METRICS, MWAA_SERVICE_NAMESPACE } from "./metrics";
import { airflowMetric, MetricUse, Observed, QUEUE_AGE_METRIC, QUEUE_LOAD_METRIC, quoted } from "./spec";

/** The row titles, in order: the same list on both layouts (the tests check it). */
export const DASHBOARD_ROWS = [
    "Scheduler heartbeat",
    "Queued, running and open slots",
    "Oldest queued task",
    "Task failures and retries",
    "DAG processing",
    "Pool starvation",
    "Metadata database",
    "Broker depth",
    "Workers and Spot interruptions",
    "Load balancer and api-server",
] as const;

type Series = (string | Record<string, unknown>)[];
interface Widget {
    type: "metric" | "text";
    x: number;
    y: number;
    width: number;
    height: number;
    properties: Record<string, unknown>;
}

export interface Dashboard {
    body: { widgets: Widget[] };
    /** Every metric a widget reads. */
    uses: MetricUse[];
}

class Builder {
    readonly widgets: Widget[] = [];
    readonly uses: MetricUse[] = [];
    private y = 0;
    private x = 0;
    constructor(private readonly region: string) {}

    row(title: string): void {
        if (this.x > 0) this.y += 6;
        this.x = 0;
        this.widgets.push({
            type: "text",
            x: 0,
            y: this.y,
            width: 24,
            height: 1,
            properties: { markdown: `## ${title}` },
        });
        this.y += 1;
    }

    private place(width: number): { x: number; y: number } {
        if (this.x + width > 24) {
            this.x = 0;
            this.y += 6;
        }
        const at = { x: this.x, y: this.y };
        this.x += width;
        return at;
    }

    text(markdown: string, width = 8): void {
        this.widgets.push({ type: "text", ...this.place(width), width, height: 6, properties: { markdown } });
    }

    graph(title: string, series: Series[], opts: { stat?: string; period?: number; width?: number } = {}): void {
        const width = opts.width ?? 8;
        this.widgets.push({
            type: "metric",
            ...this.place(width),
            width,
            height: 6,
            properties: {
                title,
                view: "timeSeries",
                region: this.region,
                stat: opts.stat ?? "Average",
                period: opts.period ?? 60,
                metrics: series,
            },
        });
    }

    metric(
        namespace: string,
        name: string,
        dims: Readonly<Record<string, string>>,
        opts: Record<string, unknown> = {},
    ): Series {
        this.uses.push({ namespace, name });
        return [namespace, name, ...Object.entries(dims).flat(), ...(Object.keys(opts).length ? [opts] : [])];
    }

    /** A SEARCH or Metrics Insights expression; `reads` names the metrics it reads. */
    expression(expression: string, label: string, reads: MetricUse[]): Series {
        this.uses.push(...reads);
        return [{ expression, label }];
    }
}

/** The dashboard body (CloudWatch's dashboard JSON) and the metrics it reads. */
/** What every row of the dashboard is drawn with. */
interface Canvas {
    b: Builder;
    env: string;
    pools: readonly string[];
    airflow: (name: AirflowMetricName, opts?: Record<string, unknown>, extra?: Record<string, string>) => Series;
    mwaaSearch: (name: string, stat: string, label: string, period?: number) => Series;
    c: Observed<string>["celery"] | undefined;
    mwaa: boolean;
}

/** The dashboard body (CloudWatch's dashboard JSON) and the metrics it reads. */
export function dashboard(o: Observed<string>): Dashboard {
    const b = new Builder(o.region);
    const env = o.environmentName;
    const pools = o.pools ?? ["default_pool"];
    const airflow = (
        name: AirflowMetricName,
        opts: Record<string, unknown> = {},
        extra: Record<string, string> = {},
    ) => {
        const m = airflowMetric(o, name, extra);
        return b.metric(m.namespace, m.name, m.dimensions, opts);
    };
    const mwaaSearch = (name: string, stat: string, label: string, period = 300) =>
        b.expression(
            `SEARCH('Namespace="${MWAA_SERVICE_NAMESPACE}" MetricName="${name}" Environment="${env}"', '${stat}', ${period})`,
            label,
            [{ namespace: MWAA_SERVICE_NAMESPACE, name }],
        );
    const c = o.layout === "celery" ? o.celery : undefined;
    const mwaa = o.layout === "mwaa";
    const canvas: Canvas = { b, env, pools, airflow, mwaaSearch, c, mwaa };
    for (const rows of [schedulerRows, queueAgeRow, failureRows, databaseRow, brokerRow, workerRow, loadBalancerRow]) {
        rows(canvas);
    }
    return { body: { widgets: b.widgets }, uses: dedupe(b.uses) };
}

/** Rows 0 and 1: the scheduler; queued, running and open slots. */
function schedulerRows({ b, pools, airflow, mwaaSearch, c }: Canvas): void {
    b.row(DASHBOARD_ROWS[0]);
    b.graph("Scheduler heartbeats per minute", [airflow("SchedulerHeartbeat")], { stat: "Sum", width: 12 });
    b.graph("Tasks the scheduler can queue", [airflow("TasksExecutable")], { stat: "Maximum", width: 12 });

    b.row(DASHBOARD_ROWS[1]);
    b.graph("Executor", [airflow("QueuedTasks"), airflow("RunningTasks"), airflow("OpenSlots")], { stat: "Maximum" });
    b.graph(
        "Pools",
        pools.flatMap((p) => [
            airflow("PoolQueuedSlots", { label: `${p} queued` }, { Pool: p }),
            airflow("PoolRunningSlots", { label: `${p} running` }, { Pool: p }),
            airflow("PoolOpenSlots", { label: `${p} open` }, { Pool: p }),
        ]),
        { stat: "Maximum" },
    );
    if (c) {
        b.graph(
            "Queued and running per Celery queue (drives worker scaling)",
            Object.keys(c.workerServices)
                .sort()
                .map((q) =>
                    b.metric(
                        QUEUE_LOAD_METRIC.namespace,
                        QUEUE_LOAD_METRIC.name,
                        { Environment: c.environment, Queue: q },
                        { label: q },
                    ),
                ),
            { stat: "Maximum" },
        );
    } else {
        b.graph(
            "MWAA queue: queued and running",
            [mwaaSearch("QueuedTasks", "Maximum", "Queued", 60), mwaaSearch("RunningTasks", "Maximum", "Running", 60)],
            { stat: "Maximum" },
        );
    }
}

/** Row 2: the oldest queued task. */
function queueAgeRow({ b, mwaaSearch, c }: Canvas): void {
    b.row(DASHBOARD_ROWS[2]);
    if (c) {
        // The same series on both brokers: the oldest queued task instance per Celery queue (spec.ts).
        const queues = Object.keys(c.workerServices).sort();
        b.graph(
            "Age of the oldest queued task (s)",
            queues.map((q) =>
                b.metric(
                    QUEUE_AGE_METRIC.namespace,
                    QUEUE_AGE_METRIC.name,
                    { Environment: c.environment, Queue: q },
                    { label: q },
                ),
            ),
            { stat: "Maximum", period: 300, width: c.broker.type === "sqs" ? 12 : 24 },
        );
        if (c.broker.type === "sqs") {
            const names = c.broker.queueNames;
            b.graph(
                "Oldest SQS message (s): includes running tasks' messages",
                Object.keys(names)
                    .sort()
                    .map((q) =>
                        b.metric("AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName: names[q] }, { label: q }),
                    ),
                { stat: "Maximum", period: 300, width: 12 },
            );
        }
    } else {
        b.graph("Age of the oldest queued task (s)", [mwaaSearch("ApproximateAgeOfOldestTask", "Maximum", "Oldest")], {
            stat: "Maximum",
            period: 300,
            width: 24,
        });
    }
}

/** Rows 3 to 5: failures, DAG processing, pool starvation. */
function failureRows({ b, env, airflow }: Canvas): void {
    b.row(DASHBOARD_ROWS[3]);
    b.graph(
        "Failed DAG runs",
        [
            b.expression(
                `SELECT COUNT(DAGDurationFailed) FROM SCHEMA("${AIRFLOW_NAMESPACE}", DAG, Environment) WHERE Environment = ${quoted(env)} GROUP BY DAG`,
                "Failed DAG runs",
                [{ namespace: AIRFLOW_NAMESPACE, name: "DAGDurationFailed" }],
            ),
        ],
        { stat: "SampleCount", period: 300 },
    );
    b.graph(
        "Failed task tries, and tasks killed externally",
        [airflow("TaskInstanceFailures"), airflow("TasksKilledExternally")],
        {
            stat: "Sum",
            period: 300,
        },
    );
    // The same series on both layouts: MWAA publishes TaskInstanceFinished itself, the Celery layout's
    // collector maps Airflow's `ti.finish.<dag_id>.<task_id>.up_for_retry` onto it (metrics.ts).
    b.graph(
        "Task tries up for retry (failed, will run again)",
        [airflow("TaskInstanceFinished", { label: "Up for retry" }, { State: "up_for_retry" })],
        { stat: "Sum", period: 300 },
    );

    b.row(DASHBOARD_ROWS[4]);
    b.graph("Import errors", [airflow("ImportErrors")], { stat: "Maximum" });
    b.graph("Total parse time (s)", [airflow("TotalParseTime")], { stat: "Maximum" });
    b.graph("DAGs parsed", [airflow("DagBagSize")], { stat: "Maximum" });

    b.row(DASHBOARD_ROWS[5]);
    b.graph("Tasks starving for pool slots", [airflow("TasksStarving")], { stat: "Maximum", width: 24 });
}

/** Row 6: the metadata database. */
function databaseRow({ b, mwaaSearch, c }: Canvas): void {
    b.row(DASHBOARD_ROWS[6]);
    if (c) {
        const db = (name: string, label: string, stat = "Average") =>
            b.graph(label, [b.metric("AWS/RDS", name, { DBInstanceIdentifier: c.databaseInstanceId })], {
                stat,
                period: 300,
                width: 6,
            });
        db("CPUUtilization", "CPU (%)");
        db("DatabaseConnections", "Connections", "Maximum");
        db("FreeStorageSpace", "Free storage (bytes)", "Minimum");
        db("FreeableMemory", "Free memory (bytes)", "Minimum");
    } else {
        b.graph("CPU (%)", [mwaaSearch("CPUUtilization", "Average", "CPU")], { period: 300, width: 6 });
        b.graph("Connections", [mwaaSearch("DatabaseConnections", "Maximum", "Connections")], {
            period: 300,
            width: 6,
        });
        b.text(
            "**Free storage**: MWAA's Aurora database grows its storage itself and publishes no free-storage metric.",
            6,
        );
        b.graph("Free memory (bytes)", [mwaaSearch("FreeableMemory", "Minimum", "Free memory")], {
            period: 300,
            width: 6,
        });
    }
}

/** Row 7: the broker. */
function brokerRow({ b, mwaaSearch, c }: Canvas): void {
    b.row(DASHBOARD_ROWS[7]);
    if (c?.broker.type === "sqs") {
        const names = c.broker.queueNames;
        b.graph(
            "Messages waiting per queue",
            Object.keys(names)
                .sort()
                .map((q) =>
                    b.metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: names[q] }, { label: q }),
                ),
            { stat: "Maximum", width: 24 },
        );
    } else if (c && c.broker.type === "redis") {
        b.graph(
            "Keys in the broker (Celery queues and results)",
            [
                b.expression(
                    `SEARCH('{AWS/ElastiCache,CacheClusterId} MetricName="CurrItems" ${c.broker.replicationGroupId}', 'Maximum', 60)`,
                    "Keys",
                    [{ namespace: "AWS/ElastiCache", name: "CurrItems" }],
                ),
            ],
            { stat: "Maximum", width: 24 },
        );
    } else {
        b.graph("Tasks waiting in MWAA's queue", [mwaaSearch("QueuedTasks", "Maximum", "Queued", 60)], {
            stat: "Maximum",
            width: 24,
        });
    }
}

/** Row 8: workers per pool and Spot interruptions. */
function workerRow({ b, mwaaSearch, c }: Canvas): void {
    b.row(DASHBOARD_ROWS[8]);
    if (c) {
        b.graph(
            "Workers running per pool",
            Object.keys(c.workerServices)
                .sort()
                .map((pool) =>
                    b.metric(
                        "ECS/ContainerInsights",
                        "RunningTaskCount",
                        { ClusterName: c.clusterName, ServiceName: c.workerServices[pool] },
                        { label: pool },
                    ),
                ),
            { stat: "Maximum", width: 12 },
        );
        b.graph(
            "Spot interruptions",
            [
                b.expression(
                    `SEARCH('{${EVENT_METRICS.namespace},ClusterArn,Group} MetricName="${EVENT_METRICS.spotInterruptions}" ClusterArn="${c.clusterArn}"', 'Sum', 300)`,
                    "Interrupted",
                    [{ namespace: EVENT_METRICS.namespace, name: EVENT_METRICS.spotInterruptions }],
                ),
                b.expression(
                    `SEARCH('{${EVENT_METRICS.namespace},ClusterArn,Group} MetricName="${EVENT_METRICS.workersStoppedMidRun}" ClusterArn="${c.clusterArn}"', 'Sum', 300)`,
                    "Workers stopped mid-run",
                    [{ namespace: EVENT_METRICS.namespace, name: EVENT_METRICS.workersStoppedMidRun }],
                ),
            ],
            { stat: "Sum", period: 300, width: 12 },
        );
    } else {
        b.graph(
            "Workers",
            [
                mwaaSearch("NumWorkers", "Maximum", "Base workers"),
                mwaaSearch("NumAdditionalWorkers", "Maximum", "Additional workers"),
            ],
            { stat: "Maximum", width: 12 },
        );
        b.text("**Spot interruptions**: MWAA runs its workers on demand.", 12);
    }
}

/** Row 9: the load balancer and the api-server's health. */
function loadBalancerRow({ b, c, mwaa }: Canvas): void {
    b.row(DASHBOARD_ROWS[9]);
    if (c?.loadBalancer) {
        const lb = c.loadBalancer;
        const tg = { TargetGroup: lb.apiTargetGroupArnSuffix, LoadBalancer: lb.arnSuffix };
        b.graph(
            "5xx responses",
            [
                b.metric(
                    "AWS/ApplicationELB",
                    "HTTPCode_ELB_5XX_Count",
                    { LoadBalancer: lb.arnSuffix },
                    { label: "Load balancer" },
                ),
                b.metric(
                    "AWS/ApplicationELB",
                    "HTTPCode_Target_5XX_Count",
                    { LoadBalancer: lb.arnSuffix },
                    { label: "api-server" },
                ),
            ],
            { stat: "Sum", period: 300 },
        );
        b.graph(
            "Response time (s), p90",
            [b.metric("AWS/ApplicationELB", "TargetResponseTime", { LoadBalancer: lb.arnSuffix })],
            {
                stat: "p90",
                period: 300,
            },
        );
        b.graph(
            "api-server targets",
            [
                b.metric("AWS/ApplicationELB", "HealthyHostCount", tg, { label: "Healthy" }),
                b.metric("AWS/ApplicationELB", "UnHealthyHostCount", tg, { label: "Unhealthy" }),
            ],
            { stat: "Maximum" },
        );
    } else if (c) {
        b.text("**No load balancer**: this environment's Observability was given no load balancer.", 24);
    } else if (mwaa) {
        b.text(
            "**MWAA**: the web server sits behind MWAA's own endpoint, which publishes no load-balancer metrics.",
            24,
        );
    }
}

export function dedupe(uses: readonly MetricUse[]): MetricUse[] {
    const seen = new Map<string, MetricUse>();
    for (const u of uses) seen.set(`${u.namespace}|${u.name}`, u);
    return [...seen.values()].sort((a, b) => `${a.namespace}|${a.name}`.localeCompare(`${b.namespace}|${b.name}`));
}
