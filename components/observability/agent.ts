/**
 * The metrics sidecar of the Celery layout: the AWS Distro for OpenTelemetry (ADOT) collector.
 *
 * Why StatsD and ADOT: Airflow 3.0.x emits every metric through StatsD, the interface MWAA and the
 * Helm chart both read (its OpenTelemetry metrics are the same names with the same gaps, and need
 * extra packages in the image). The CloudWatch agent's StatsD listener publishes names as received:
 * it cannot rename `airflow.pool.open_slots.default_pool` to MWAA's `PoolOpenSlots` with dimension
 * `Pool=default_pool`. ADOT can: its `statsd` receiver listens on the task's loopback, the
 * `metricstransform` processor renames (`update`) and, for names that carry a value (pools, DAGs),
 * `combine`s them into one metric whose named regex groups become dimensions, and the `awsemf`
 * exporter writes them as CloudWatch embedded metric format to one log group, from which CloudWatch
 * extracts the metrics (no cloudwatch:PutMetricData permission; no dimension roll-ups).
 * https://aws-otel.github.io/docs/getting-started/cloudwatch-metrics and the collector's
 * receiver/processor/exporter READMEs (opentelemetry-collector-contrib).
 *
 * Everything here is pure: the task definitions of the Celery layout add `agentContainer(...)` and
 * `agentStatements(...)`, and render Airflow's side with `airflowMetricsEnvironment()` (lib/airflow-env.ts).
 */
import { DEFAULT_METRICS_AGENT_IMAGE } from "../../config/celery";
import { AIRFLOW_NAMESPACE, airflowMetricRules, AirflowMetricRule } from "./metrics";

/** ADOT collector's public image (ECR Public, aws-observability), pinned: airflow:metricsAgentImage's default. */
export const AGENT_IMAGE = DEFAULT_METRICS_AGENT_IMAGE;

/** The sidecar's container name in every task definition that runs it. */
export const AGENT_CONTAINER = "metrics-agent";

/** Where the collector listens for StatsD (UDP) inside the task: containers of a task share localhost. */
export const STATSD_ENDPOINT = { host: "127.0.0.1", port: 8125 } as const;

/** The sidecar's share of the task: ADOT's ECS examples reserve 256 CPU units and 512 MiB for many
 * pipelines; one StatsD pipeline with a 60 s aggregation needs far less. The memory limiter caps it. */
export const AGENT_SIZE = { cpu: 64, memoryReservation: 96, memoryLimitMib: 80 } as const;

/**
 * The one log group of the Celery layout's metrics sidecars (Observability creates it). A name known
 * without the resource, so that the task definitions can name it before it exists.
 */
export function metricsLogGroupName(environment: string): string {
    return `/airflow/${environment}/metrics`;
}

export interface AgentConfigArgs {
    /** Value of the Environment dimension: the name MWAA would have (`airflow-<environment>`). */
    environmentName: string;
    /** Log group the EMF records go to (created by the caller with a retention). */
    logGroupName: string;
    /** Which role's task this is (log stream name). */
    role: string;
    /** Seconds over which StatsD values are aggregated into one datapoint. Default: 60. */
    aggregationSeconds?: number;
    /** The rules to publish. Default: every rule of metrics.ts. */
    rules?: readonly AirflowMetricRule[];
}

/** The dimensions a rule's metric carries in CloudWatch, Environment first. */
export function ruleDimensions(rule: AirflowMetricRule): string[] {
    return ["Environment", ...Object.keys(rule.dimensions), ...rule.groups];
}

/** The collector configuration (JSON is YAML: ADOT reads it from AOT_CONFIG_CONTENT). */
export function agentConfig(args: AgentConfigArgs): Record<string, unknown> {
    const rules = args.rules ?? airflowMetricRules();
    const interval = args.aggregationSeconds ?? 60;
    const transforms = rules.map((rule) => {
        const labels: Record<string, unknown>[] = [
            { action: "add_label", new_label: "Environment", new_value: args.environmentName },
            ...Object.entries(rule.dimensions).map(([k, v]) => ({ action: "add_label", new_label: k, new_value: v })),
        ];
        // Names that differ only in what is not a dimension (DAG, task) combine into datapoints with
        // the same dimensions: sum them into one per period, as MWAA's `All` values mean.
        if (rule.summed)
            labels.push({ action: "aggregate_labels", label_set: ruleDimensions(rule), aggregation_type: "sum" });
        return rule.groups.length > 0
            ? { include: rule.statsd, match_type: "regexp", action: "combine", new_name: rule.name, operations: labels }
            : { include: rule.statsd, match_type: "regexp", action: "update", new_name: rule.name, operations: labels };
    });
    // One declaration per distinct dimension set: the EMF exporter publishes only what is declared.
    const byDims = new Map<string, { dimensions: string[][]; metric_name_selectors: string[] }>();
    for (const rule of rules) {
        const dims = ruleDimensions(rule);
        const key = dims.join(",");
        const entry = byDims.get(key) ?? { dimensions: [dims], metric_name_selectors: [] };
        entry.metric_name_selectors.push(`^${rule.name}$`);
        byDims.set(key, entry);
    }
    return {
        receivers: {
            statsd: {
                endpoint: `${STATSD_ENDPOINT.host}:${STATSD_ENDPOINT.port}`,
                aggregation_interval: `${interval}s`,
                enable_metric_type: false,
                is_monotonic_counter: false,
                timer_histogram_mapping: [
                    { statsd_type: "timing", observer_type: "summary" },
                    { statsd_type: "histogram", observer_type: "summary" },
                ],
            },
        },
        processors: {
            memory_limiter: { check_interval: "5s", limit_mib: AGENT_SIZE.memoryLimitMib },
            metricstransform: { transforms },
            // Airflow emits far more than the dashboard reads: only mapped metrics reach CloudWatch.
            "filter/mapped": {
                metrics: { include: { match_type: "strict", metric_names: rules.map((r) => r.name) } },
            },
            batch: { timeout: `${interval}s` },
        },
        exporters: {
            awsemf: {
                namespace: AIRFLOW_NAMESPACE,
                log_group_name: args.logGroupName,
                log_stream_name: `${args.role}/{TaskId}`,
                dimension_rollup_option: "NoDimensionRollup",
                metric_declarations: [...byDims.values()],
            },
        },
        service: {
            pipelines: {
                metrics: {
                    receivers: ["statsd"],
                    processors: ["memory_limiter", "metricstransform", "filter/mapped", "batch"],
                    exporters: ["awsemf"],
                },
            },
        },
    };
}

export interface AgentContainerArgs extends AgentConfigArgs {
    /** AWS region (the exporter's and the log driver's). */
    region: string;
    /** The task's own log group, for the collector's logs. */
    taskLogGroupName: string;
    /** The collector's image (airflow:metricsAgentImage). Default: AGENT_IMAGE. */
    image?: string;
}

/** The sidecar's ECS container definition: not essential (Airflow keeps running if it stops). */
export function agentContainer(args: AgentContainerArgs): Record<string, unknown> {
    return {
        name: AGENT_CONTAINER,
        image: args.image ?? AGENT_IMAGE,
        essential: false,
        cpu: AGENT_SIZE.cpu,
        memoryReservation: AGENT_SIZE.memoryReservation,
        environment: [
            { name: "AOT_CONFIG_CONTENT", value: JSON.stringify(agentConfig(args)) },
            { name: "AWS_REGION", value: args.region },
        ],
        logConfiguration: {
            logDriver: "awslogs",
            options: {
                "awslogs-group": args.taskLogGroupName,
                "awslogs-region": args.region,
                "awslogs-stream-prefix": "metrics-agent",
            },
        },
    };
}

/**
 * What the task role needs for the EMF exporter: write to the one metrics log group. `group` is the
 * log group's ARN, `streams` its log streams' (`<group ARN>:log-stream:*`).
 */
export function agentStatements<T>(
    group: T,
    streams: T,
): { Sid: string; Effect: "Allow"; Action: string[]; Resource: T[] }[] {
    return [
        { Sid: "DescribeMetricsStreams", Effect: "Allow", Action: ["logs:DescribeLogStreams"], Resource: [group] },
        {
            Sid: "PublishAirflowMetrics",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [streams],
        },
    ];
}
