import { expect } from "chai";
import { readFileSync } from "fs";
import {
    AGENT_IMAGE,
    AGENT_SIZE,
    agentConfig,
    agentContainer,
    agentStatements,
    ruleDimensions,
    STATSD_ENDPOINT,
} from "../components/observability/agent";
import { alarmSpecs, AlarmThresholds } from "../components/observability/alarms";
import { metricCatalog, sampleEnvironments } from "../components/observability/catalog";
import { dashboard, DASHBOARD_ROWS } from "../components/observability/dashboard";
import { AIRFLOW_METRICS, airflowMetricRules, STATSD_PREFIX } from "../components/observability/metrics";
import { airflowMetricsEnvironment, renderAirflowEnvironment } from "../lib/airflow-env";
import { CATALOG_FILE, renderCatalog } from "../scripts/metric-catalog";
import { itRejectsEach } from "./harness/config";
import { runStack } from "./harness/program";
import { WORKER_STOP_METRIC } from "../components/worker-events";
import { SAMPLE_THRESHOLDS } from "./harness/fixtures";

const THRESHOLDS: AlarmThresholds = SAMPLE_THRESHOLDS;
const [celeryRedis, celerySqs, mwaa] = sampleEnvironments();

/** A rule's regular expression in JavaScript syntax (the rules use RE2/Python's `(?P<name>`). */
const jsRegex = (re: string) => new RegExp(re.replace(/\(\?P</g, "(?<"));

describe("observability: the collector's StatsD rules", () => {
    const cases: [string, string, Record<string, string>][] = [
        ["airflow.scheduler_heartbeat", "SchedulerHeartbeat", {}],
        ["airflow.executor.queued_tasks", "QueuedTasks", {}],
        ["airflow.pool.open_slots.default_pool", "PoolOpenSlots", { Pool: "default_pool" }],
        ["airflow.pool.running_slots.ml.big", "PoolRunningSlots", { Pool: "ml.big" }],
        ["airflow.dagrun.duration.failed.etl_daily", "DAGDurationFailed", { DAG: "etl_daily" }],
        ["airflow.dag_processing.import_errors", "ImportErrors", {}],
        ["airflow.ti_failures", "TaskInstanceFailures", {}],
        ["airflow.ti.finish.etl_daily.load.up_for_retry", "TaskInstanceFinished", { State: "up_for_retry" }],
        // A task in a task group: Airflow writes its `.` as `__` in the legacy name.
        ["airflow.ti.finish.etl_daily.group__load.up_for_retry", "TaskInstanceFinished", { State: "up_for_retry" }],
    ];
    for (const [statsd, name, groups] of cases) {
        it(`maps ${statsd} to ${name}${Object.keys(groups).length ? ` with ${JSON.stringify(groups)}` : ""}, and nothing else to it`, () => {
            const matching = airflowMetricRules().filter((r) => jsRegex(r.statsd).test(statsd));
            expect(matching.map((r) => r.name)).to.deep.equal([name]);
            expect({ ...jsRegex(matching[0].statsd).exec(statsd)!.groups }).to.deep.equal(groups);
        });
    }

    it("leaves the untagged twin of a named metric alone (airflow.pool.open_slots, airflow.dagrun.duration.failed, airflow.ti.finish), and task states the dashboard does not read", () => {
        for (const statsd of [
            "airflow.pool.open_slots",
            "airflow.dagrun.duration.failed",
            "airflow.ti.finish",
            "airflow.ti.finish.etl_daily.load.success",
            "airflow.ti.finish.etl_daily.load.failed",
            "airflow.scheduler_heartbeat_x",
        ]) {
            expect(
                airflowMetricRules().filter((r) => jsRegex(r.statsd).test(statsd)),
                statsd,
            ).to.deep.equal([]);
        }
    });

    it("uses the prefix the Airflow settings send", () => {
        for (const rule of airflowMetricRules())
            expect(rule.statsd.startsWith(`^${STATSD_PREFIX}\\.`), rule.name).to.equal(true);
    });
});

describe("observability: the metrics agent", () => {
    const config = agentConfig({
        environmentName: "airflow-dev",
        logGroupName: "/airflow/dev/metrics",
        role: "scheduler",
    }) as {
        receivers: { statsd: { endpoint: string } };
        processors: Record<string, Record<string, unknown>>;
        exporters: {
            awsemf: {
                namespace: string;
                log_group_name: string;
                metric_declarations: { dimensions: string[][]; metric_name_selectors: string[] }[];
            };
        };
        service: { pipelines: { metrics: { receivers: string[]; processors: string[]; exporters: string[] } } };
    };
    const transforms = (config.processors.metricstransform as { transforms: Record<string, unknown>[] }).transforms;

    it("sums the datapoints of a rule whose StatsD names differ in what is not a dimension (retries of every DAG and task)", () => {
        for (const rule of airflowMetricRules()) {
            const t = transforms.find((x) => x.new_name === rule.name)!;
            const sums = (t.operations as Record<string, unknown>[]).filter((o) => o.action === "aggregate_labels");
            expect(sums, rule.name).to.deep.equal(
                rule.summed
                    ? [{ action: "aggregate_labels", label_set: ruleDimensions(rule), aggregation_type: "sum" }]
                    : [],
            );
        }
        expect(
            airflowMetricRules()
                .filter((r) => r.summed)
                .map((r) => r.name),
        ).to.deep.equal(["TaskInstanceFinished"]);
    });

    it("listens for StatsD on the task's loopback and exports EMF into AmazonMWAA", () => {
        expect(config.receivers.statsd.endpoint).to.equal(`${STATSD_ENDPOINT.host}:${STATSD_ENDPOINT.port}`);
        expect(config.exporters.awsemf.namespace).to.equal("AmazonMWAA");
        expect(config.exporters.awsemf.log_group_name).to.equal("/airflow/dev/metrics");
        expect(config.service.pipelines.metrics).to.deep.equal({
            receivers: ["statsd"],
            processors: ["memory_limiter", "metricstransform", "filter/mapped", "batch"],
            exporters: ["awsemf"],
        });
    });

    for (const rule of airflowMetricRules()) {
        it(`publishes ${rule.name} with MWAA's dimensions (${["Environment", ...Object.keys(rule.dimensions), ...rule.groups].join(", ")})`, () => {
            const t = transforms.find((x) => x.new_name === rule.name)!;
            expect(t.include).to.equal(rule.statsd);
            expect(t.action).to.equal(rule.groups.length ? "combine" : "update");
            expect(t.operations).to.deep.include({
                action: "add_label",
                new_label: "Environment",
                new_value: "airflow-dev",
            });
            for (const [k, v] of Object.entries(rule.dimensions)) {
                expect(t.operations).to.deep.include({ action: "add_label", new_label: k, new_value: v });
            }
            const declaration = config.exporters.awsemf.metric_declarations.find((d) =>
                d.metric_name_selectors.includes(`^${rule.name}$`),
            )!;
            expect(declaration.dimensions).to.deep.equal([
                ["Environment", ...Object.keys(rule.dimensions), ...rule.groups],
            ]);
        });
    }

    it("runs the public ADOT image as a non-essential sidecar that fits beside the smallest Airflow task", () => {
        const c = agentContainer({
            environmentName: "airflow-dev",
            logGroupName: "/airflow/dev/metrics",
            role: "worker-default",
            region: "us-east-1",
            taskLogGroupName: "/airflow/dev/worker-default",
        }) as {
            image: string;
            essential: boolean;
            cpu: number;
            memoryReservation: number;
            environment: { name: string; value: string }[];
        };
        expect(AGENT_IMAGE).to.match(/^public\.ecr\.aws\/aws-observability\/aws-otel-collector:v\d+\.\d+\.\d+$/);
        expect(c.image).to.equal(AGENT_IMAGE);
        expect(c.essential).to.equal(false);
        // The smallest task of the stacks is 256 CPU units / 512 MiB (the triggerer on dev).
        expect(c.cpu).to.be.at.most(64);
        expect(c.memoryReservation).to.be.at.most(128);
        expect(AGENT_SIZE.memoryLimitMib).to.be.below(AGENT_SIZE.memoryReservation);
        const content = JSON.parse(c.environment.find((e) => e.name === "AOT_CONFIG_CONTENT")!.value);
        expect(content.exporters.awsemf.log_stream_name).to.equal("worker-default/{TaskId}");
    });

    it("asks for the metrics log group's streams only", () => {
        expect(agentStatements("arn:group", "arn:group:log-stream:*")).to.deep.equal([
            {
                Sid: "DescribeMetricsStreams",
                Effect: "Allow",
                Action: ["logs:DescribeLogStreams"],
                Resource: ["arn:group"],
            },
            {
                Sid: "PublishAirflowMetrics",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: ["arn:group:log-stream:*"],
            },
        ]);
    });

    it("Airflow's side sends StatsD to the agent with the rules' prefix, only when asked", () => {
        expect(airflowMetricsEnvironment({ ...STATSD_ENDPOINT, prefix: STATSD_PREFIX })).to.deep.equal({
            AIRFLOW__METRICS__STATSD_ON: "True",
            AIRFLOW__METRICS__STATSD_HOST: "127.0.0.1",
            AIRFLOW__METRICS__STATSD_PORT: "8125",
            AIRFLOW__METRICS__STATSD_PREFIX: "airflow",
            AIRFLOW__METRICS__LEGACY_NAMES_ON: "True",
        });
        const base = {
            airflowVersion: "3.0.6",
            environment: "dev",
            region: "us-east-1",
            component: "scheduler" as const,
            broker: { type: "redis" as const },
            artifactsBucket: "b",
            baseUrl: "http://x",
            executionApiUrl: "http://x/execution/",
            secrets: {
                sqlAlchemyConn: "a",
                resultBackend: "b",
                brokerUrl: "c",
                fernetKey: "d",
                apiSecretKey: "e",
                jwtSecret: "f",
                adminPassword: "g",
            },
        };
        const names = (e: { environment: { name: string }[] }) =>
            e.environment.map((v) => v.name).filter((n) => n.startsWith("AIRFLOW__METRICS__"));
        expect(names(renderAirflowEnvironment(base))).to.deep.equal([]);
        expect(
            names(renderAirflowEnvironment({ ...base, metrics: { ...STATSD_ENDPOINT, prefix: STATSD_PREFIX } })),
        ).to.have.length(5);
    });
});

describe("observability: the dashboard", () => {
    for (const o of sampleEnvironments()) {
        const what = `${o.layout}${o.celery ? ` on ${o.celery.broker.type}` : ""}`;
        it(`has the same rows in the same order on ${what}`, () => {
            const rows = dashboard(o)
                .body.widgets.filter((w) => w.type === "text" && String(w.properties.markdown).startsWith("## "))
                .map((w) => String(w.properties.markdown).slice(3));
            expect(rows).to.deep.equal([...DASHBOARD_ROWS]);
        });
        it(`lays out ${what}'s widgets on CloudWatch's 24-column grid without overlaps`, () => {
            const cells = new Set<string>();
            for (const w of dashboard(o).body.widgets) {
                expect(w.x + w.width).to.be.at.most(24);
                for (let x = w.x; x < w.x + w.width; x++)
                    for (let y = w.y; y < w.y + w.height; y++) {
                        expect(cells.has(`${x},${y}`), `${x},${y}`).to.equal(false);
                        cells.add(`${x},${y}`);
                    }
            }
        });
    }

    it("reads Airflow's figures from AmazonMWAA with the same names and dimensions on both layouts", () => {
        const airflowSeries = (o: typeof sampleEnvironments extends () => (infer T)[] ? T : never) =>
            dashboard(o)
                .body.widgets.flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? [])
                .filter((s) => s[0] === "AmazonMWAA")
                .map((s) => JSON.stringify(s).replace(/airflow-(dev|prod)/g, "ENV"));
        expect(airflowSeries(celeryRedis)).to.deep.equal(airflowSeries(mwaa));
        expect(airflowSeries(celeryRedis)).to.include(
            JSON.stringify(["AmazonMWAA", "SchedulerHeartbeat", "Environment", "ENV", "Function", "Scheduler"]),
        );
    });

    for (const o of sampleEnvironments()) {
        const what = `${o.layout}${o.celery ? ` on ${o.celery.broker.type}` : ""}`;
        it(`graphs retried task tries in the failures row on ${what} (MWAA's TaskInstanceFinished, State up_for_retry)`, () => {
            const widgets = dashboard(o).body.widgets;
            const row = (title: string) =>
                widgets.findIndex((w) => w.type === "text" && w.properties.markdown === `## ${title}`);
            const inRow = widgets.slice(row("Task failures and retries") + 1, row("DAG processing"));
            expect(inRow.flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? [])).to.deep.include([
                "AmazonMWAA",
                "TaskInstanceFinished",
                "Environment",
                o.environmentName,
                "DAG",
                "All",
                "Task",
                "All",
                "State",
                "up_for_retry",
                { label: "Up for retry" },
            ]);
            expect(inRow.filter((w) => w.type === "text")).to.deep.equal([]);
        });
    }
});

describe("observability: the alarms", () => {
    const keys = (o: typeof sampleEnvironments extends () => (infer T)[] ? T : never) =>
        alarmSpecs(o, THRESHOLDS).map((s) => s.key);
    it("alarms on the Celery layout's scheduler, queues, database, load balancer and deployments", () => {
        expect(keys(celerySqs)).to.deep.equal([
            "scheduler-heartbeat",
            "queued-without-worker",
            "oldest-queued-task",
            "database-cpu",
            "database-storage",
            "database-connections",
            "load-balancer-5xx",
            "api-server-unhealthy",
            "deployment-rolled-back",
            "workers-stopped-mid-run",
            "import-errors",
            "dag-run-failures",
        ]);
        // No age metric on the redis broker, and no load balancer ids in this sample.
        expect(keys(celeryRedis)).to.not.include.members(["oldest-queued-task", "load-balancer-5xx"]);
    });

    it("alarms on MWAA's scheduler, queue, DAG files, failures and environment health", () => {
        expect(keys(mwaa)).to.deep.equal([
            "scheduler-heartbeat",
            "queued-without-worker",
            "oldest-queued-task",
            "import-errors",
            "dag-run-failures",
            "environment-health",
        ]);
    });

    const expectations: [string, keyof AlarmThresholds, number, (t: number) => number, string][] = [
        ["scheduler-heartbeat", "heartbeatMissingMinutes", 7, () => 1, "breaching"],
        ["queued-without-worker", "queuedWithoutWorkerMinutes", 15, () => 1, "notBreaching"],
        ["oldest-queued-task", "oldestQueuedTaskMinutes", 45, (t) => t * 60, "notBreaching"],
        ["import-errors", "importErrors", 2, (t) => t, "missing"],
        ["dag-run-failures", "failedDagRunsPerHour", 9, (t) => t, "notBreaching"],
        ["database-cpu", "dbCpuPercent", 70, (t) => t, "missing"],
        ["database-storage", "dbFreeStorageGb", 5, (t) => t * 1024 ** 3, "missing"],
        ["database-connections", "dbConnections", 120, (t) => t, "missing"],
        ["load-balancer-5xx", "lb5xxPer5Minutes", 50, (t) => t, "notBreaching"],
        ["api-server-unhealthy", "unhealthyTargetMinutes", 3, () => 1, "missing"],
    ];
    for (const [key, setting, value, threshold, missing] of expectations) {
        it(`${key} takes its threshold from ${setting} and treats missing data as ${missing}`, () => {
            const spec = alarmSpecs(celerySqs, { ...THRESHOLDS, [setting]: value }).find((s) => s.key === key)!;
            expect(spec.threshold).to.equal(threshold(value));
            expect(spec.treatMissingData).to.equal(missing);
            const window = ["heartbeatMissingMinutes", "queuedWithoutWorkerMinutes", "unhealthyTargetMinutes"];
            if (window.includes(setting)) expect(spec.evaluationPeriods).to.equal(value);
        });
    }

    it("gives every alarm one metric or queries of which exactly one returns data", () => {
        for (const o of sampleEnvironments()) {
            for (const spec of alarmSpecs(o, THRESHOLDS)) {
                expect(!!spec.metric !== !!spec.queries, spec.key).to.equal(true);
                if (spec.queries)
                    expect(
                        spec.queries.filter((q) => q.returnData),
                        spec.key,
                    ).to.have.length(1);
                expect(spec.queries?.filter((q) => q.metric).length ?? 1, spec.key).to.be.at.most(10);
            }
        }
    });

    it("gives every Metrics Insights query a period, and no metric math one", () => {
        for (const o of sampleEnvironments()) {
            for (const q of alarmSpecs(o, THRESHOLDS).flatMap((s) => s.queries ?? [])) {
                const insights = q.expression?.startsWith("SELECT ") ?? false;
                expect(q.period !== undefined, q.expression).to.equal(insights);
            }
        }
    });

    it("alarms when a worker stops mid-run, pool by pool, on the metric and dimensions WorkerStopEvents publishes", () => {
        for (const o of [celeryRedis, celerySqs]) {
            const spec = alarmSpecs(o, THRESHOLDS).find((s) => s.key === "workers-stopped-mid-run")!;
            expect(spec, "the alarm").to.not.equal(undefined);
            const metrics = spec.queries!.filter((q) => q.metric).map((q) => q.metric!);
            const pools = Object.keys(o.celery!.workerServices).sort();
            expect(metrics).to.have.length(pools.length);
            metrics.forEach((m, i) => {
                expect([m.namespace, m.name]).to.deep.equal([WORKER_STOP_METRIC.namespace, WORKER_STOP_METRIC.name]);
                // The metric filter's dimensions, with the values ECS puts in the event.
                expect(Object.keys(m.dimensions).sort()).to.deep.equal(
                    Object.keys(WORKER_STOP_METRIC.dimensions).sort(),
                );
                expect(m.dimensions).to.deep.equal({
                    ClusterArn: o.celery!.clusterArn,
                    Group: `service:${o.celery!.workerServices[pools[i]]}`,
                });
                expect(m.stat).to.equal("Sum");
            });
            expect(spec.threshold).to.equal(1);
            expect(spec.treatMissingData).to.equal("notBreaching");
        }
        expect(alarmSpecs(mwaa, THRESHOLDS).map((s) => s.key)).to.not.include("workers-stopped-mid-run");
    });

    it("alarms when a queue has tasks and its pool no worker, pool by pool", () => {
        const spec = alarmSpecs(celeryRedis, THRESHOLDS).find((s) => s.key === "queued-without-worker")!;
        expect(spec.queries!.map((q) => q.expression).filter(Boolean)).to.deep.equal([
            "IF(FILL(q0, 0) > 0 AND FILL(w0, 0) < 1, 1, 0)",
            "IF(FILL(q1, 0) > 0 AND FILL(w1, 0) < 1, 1, 0)",
            "MAX([s0, s1])",
        ]);
        expect(spec.queries!.find((q) => q.id === "w1")!.metric!.dimensions).to.deep.equal({
            ClusterName: "airflow-dev-cluster",
            ServiceName: "airflow-dev-worker-ml",
        });
    });
});

describe("observability: the metric catalog", () => {
    it("tests/python/metric_catalog.json is what the definitions read (npm run docs writes it)", () => {
        expect(readFileSync(CATALOG_FILE, "utf8"), "metric_catalog.json is stale: run npm run docs").to.equal(
            renderCatalog(),
        );
    });

    it("sorts every metric read into Airflow's (with a StatsD rule), native or the stack's own", () => {
        const catalog = metricCatalog();
        expect(catalog.airflow.map((m) => m.name)).to.include.members([
            "SchedulerHeartbeat",
            "ImportErrors",
            "DAGDurationFailed",
        ]);
        for (const m of catalog.airflow) expect(AIRFLOW_METRICS).to.have.property(m.name);
        expect(catalog.native.map((m) => `${m.namespace} ${m.name}`)).to.include("AWS/RDS FreeStorageSpace");
        expect(catalog.stack.map((m) => `${m.namespace} ${m.name}`)).to.include("Airflow/Events DeploymentsRolledBack");
    });
});

describe("observability in the committed stacks", () => {
    for (const stack of ["dev", "staging", "prod"] as const) {
        it(`${stack} has one dashboard, one KMS-encrypted topic and alarms that all notify it`, async () => {
            const run = await runStack(stack);
            const topics = run.ofType("aws:sns/topic:Topic").filter((t) => t.name === `airflow-${stack}-alarms`);
            expect(topics).to.have.length(1);
            expect(topics[0].inputs.kmsMasterKeyId).to.be.a("string").and.not.equal("");
            expect(run.ofType("aws:cloudwatch/dashboard:Dashboard").map((d) => d.name)).to.deep.equal([
                `airflow-${stack}-dashboard`,
            ]);
            const keys = [
                "scheduler-heartbeat",
                "queued-without-worker",
                "oldest-queued-task",
                "database-cpu",
                "database-storage",
                "database-connections",
                "load-balancer-5xx",
                "api-server-unhealthy",
                "deployment-rolled-back",
                "workers-stopped-mid-run",
                "import-errors",
                "dag-run-failures",
                "environment-health",
            ];
            const alarms = run
                .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
                .filter((a) => keys.includes(a.name.replace(`airflow-${stack}-`, "")));
            expect(alarms.map((a) => a.name)).to.include(`airflow-${stack}-scheduler-heartbeat`);
            expect(alarms.length).to.be.greaterThan(4);
            for (const alarm of alarms) {
                expect(alarm.inputs.alarmActions, alarm.name).to.have.length(1);
                expect(alarm.inputs.treatMissingData, alarm.name).to.be.oneOf([
                    "breaching",
                    "notBreaching",
                    "ignore",
                    "missing",
                ]);
                expect(alarm.inputs.alarmDescription, alarm.name).to.match(/Runbook: README\.md#alarm-/);
            }
            const body = JSON.parse(run.ofType("aws:cloudwatch/dashboard:Dashboard")[0].inputs.dashboardBody as string);
            expect(body.widgets.length).to.be.greaterThan(20);
        });
    }

    it("documents every alarm in the README's runbook", () => {
        const readme = readFileSync(`${__dirname}/../README.md`, "utf8");
        const all = new Set(sampleEnvironments().flatMap((o) => alarmSpecs(o, THRESHOLDS).map((s) => s.key)));
        for (const key of all) expect(readme, key).to.include(`<a id="alarm-${key}"></a>`);
    });
});

describe("observability config", () => {
    itRejectsEach([
        [
            "an alarm email that is not an address",
            { "airflow:alarmEmails": ["oncall"] },
            'airflow:alarmEmails must be a list of email addresses, got ["oncall"]',
        ],
        [
            "an alarm endpoint over plain HTTP",
            { "airflow:alarmHttpsEndpoints": ["http://hooks.example.com/x"] },
            'airflow:alarmHttpsEndpoints must be a list of https:// URLs, got ["http://hooks.example.com/x"]',
        ],
        [
            "a heartbeat window of 0 minutes",
            { "airflow:alarmHeartbeatMissingMinutes": 0 },
            "airflow:alarmHeartbeatMissingMinutes must be a whole number from 1 to 60, got 0",
        ],
        [
            "a CPU threshold over 100%",
            { "airflow:alarmDbCpuPercent": 120 },
            "airflow:alarmDbCpuPercent must be a whole number from 1 to 100, got 120",
        ],
    ]);
});
