import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { readdirSync, readFileSync } from "fs";
import * as path from "path";
import { WORKER_STOP_METRIC, WorkerStopEvents, workerStoppedMidRunPattern } from "../components/worker-events";
import { AirflowComponent, renderAirflowEnvironment } from "../lib/airflow-env";
import { taskProtectionStatement, WORKER_LAUNCHER, workerCommand } from "../lib/worker-container";
import {
    celeryLifecycleEnvironment,
    WORKER_LIFECYCLE,
    workerContainerEnvironment,
    workerLifecycleOptions,
} from "../lib/worker-lifecycle";
import {
    DEFAULT_START_ASSUMPTIONS,
    previousScalingParameters,
    queueMetricsPublishing,
    scaleOutFromZero,
    workerScalingParameters,
} from "../lib/worker-scaling";
import { parse } from "yaml";
import { promiseOf, runStack, runWith } from "./harness/program";
import { SAMPLE_SECRET_ARNS } from "./harness/fixtures";

const secrets = SAMPLE_SECRET_ARNS;

function envOf(component: AirflowComponent, broker: "redis" | "sqs", airflowVersion = "3.0.6"): Record<string, string> {
    const rendered = renderAirflowEnvironment({
        airflowVersion,
        environment: "test",
        region: "us-east-1",
        component,
        broker: broker === "redis" ? { type: "redis" } : { type: "sqs", queueUrls: { default: "https://sqs/q" } },
        artifactsBucket: "bucket",
        baseUrl: "http://ui",
        executionApiUrl: "http://api/execution/",
        secrets,
    });
    return Object.fromEntries(rendered.environment.map((e) => [e.name, e.value]));
}

describe("worker lifecycle settings", () => {
    it("names the task-heartbeat timeout the way each Airflow major calls it", () => {
        const table: [string, Record<string, string>][] = [
            [
                "3.0.6",
                {
                    "scheduler.task_instance_heartbeat_timeout": "90",
                    "scheduler.task_instance_heartbeat_timeout_detection_interval": "10",
                    "scheduler.task_queued_timeout": "600",
                    "core.default_task_retries": "2",
                    "core.default_task_retry_delay": "30",
                },
            ],
            [
                "2.10.3",
                {
                    "scheduler.scheduler_zombie_task_threshold": "90",
                    "scheduler.zombie_detection_interval": "10",
                    "scheduler.task_queued_timeout": "600",
                    "core.default_task_retries": "2",
                    "core.default_task_retry_delay": "30",
                },
            ],
        ];
        for (const [version, options] of table) expect(workerLifecycleOptions(version), version).to.deep.equal(options);
    });

    it("names only options that the pinned Airflow knows (its config template)", () => {
        const template = readFileSync(
            path.join(
                __dirname,
                "..",
                ".venv",
                "lib",
                // The venv's interpreter (3.11 or 3.12, scripts/ensure-python.sh picks it).
                readdirSync(path.join(__dirname, "..", ".venv", "lib")).find((d) => /^python3\.\d+$/.test(d)) ??
                    "python3",
                "site-packages",
                "airflow",
                "config_templates",
                "config.yml",
            ),
            "utf8",
        );
        const known = parse(template) as Record<string, { options: Record<string, unknown> }>;
        for (const option of Object.keys(workerLifecycleOptions("3.0.6"))) {
            const [section, key] = option.split(".");
            expect(known[section]?.options, option).to.have.property(key);
        }
    });

    it("lets a killed worker's task run again within 3 minutes, and keeps waiting tasks queued longer than a pool takes to start", () => {
        const l = WORKER_LIFECYCLE;
        expect(l.heartbeatTimeoutSeconds + l.heartbeatDetectionSeconds + l.defaultRetryDelaySeconds).to.be.below(180);
        // 18 missed heartbeats of the task supervisor ([workers] min_heartbeat_interval = 5 s)
        expect(l.heartbeatTimeoutSeconds / 5).to.be.at.least(12);
        expect(l.queuedTimeoutSeconds).to.be.above(2 * scaleOutFromZero().totalSeconds);
        // a running task's message is never re-delivered while the task may still run
        expect(l.visibilityTimeoutSeconds).to.equal(43200);
        expect(l.stopTimeoutSeconds).to.equal(120);
        expect(l.protectionRenewSeconds).to.be.below((l.protectionExpiresMinutes * 60) / 2);
    });

    it("gives every component of both brokers the scheduler timeouts, late acks and one prefetched message", () => {
        for (const broker of ["redis", "sqs"] as const) {
            for (const component of ["scheduler", "worker", "api-server", "triggerer", "dag-processor"] as const) {
                const e = envOf(component, broker);
                const label = `${broker} ${component}`;
                expect(e.AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT, label).to.equal("90");
                expect(e.AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT, label).to.equal("600");
                expect(e.AIRFLOW__CORE__DEFAULT_TASK_RETRIES, label).to.equal("2");
                expect(e.AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY, label).to.equal("30");
                expect(e.AIRFLOW__CELERY__TASK_ACKS_LATE, label).to.equal("True");
                expect(e.AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER, label).to.equal("1");
            }
        }
        expect(envOf("scheduler", "redis", "2.10.3").AIRFLOW__SCHEDULER__SCHEDULER_ZOMBIE_TASK_THRESHOLD).to.equal(
            "90",
        );
    });

    it("gives the scheduler's send to the broker time for its first import of the transport, on both brokers", () => {
        // Airflow's 1 s default interrupts, on a loaded task, the first send's import of kombu's transport
        // (redis or boto3) with SIGALRM; the half-imported module then fails every later send of that
        // scheduler process ("module 'redis' has no attribute 'client'", apache/airflow 41359).
        for (const broker of ["redis", "sqs"] as const) {
            for (const version of ["3.0.6", "3.3.1", "2.10.3"]) {
                const seconds = Number(envOf("scheduler", broker, version).AIRFLOW__CELERY__OPERATION_TIMEOUT);
                expect(seconds, `${broker} ${version}`).to.equal(WORKER_LIFECYCLE.brokerOperationTimeoutSeconds);
            }
        }
        expect(WORKER_LIFECYCLE.brokerOperationTimeoutSeconds).to.be.at.least(10);
    });

    it("sets one visibility timeout on both brokers: Redis through its transport options, SQS in the extra Celery config", () => {
        expect(envOf("worker", "redis").AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT).to.equal("43200");
        const sqs = envOf("worker", "sqs");
        expect(sqs).not.to.have.property("AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT");
        expect(
            JSON.parse(sqs.AIRFLOW__CELERY__EXTRA_CELERY_CONFIG).broker_transport_options.visibility_timeout,
        ).to.equal(43200);
        expect(celeryLifecycleEnvironment("sqs")).not.to.have.property(
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT",
        );
    });

    it("makes dumb-init pass SIGTERM to the worker's main process only, and only in the worker", () => {
        expect(envOf("worker", "redis")).to.include({
            DUMB_INIT_SETSID: "0",
            WORKER_PROTECTION_EXPIRES_MINUTES: "30",
            WORKER_PROTECTION_RENEW_SECONDS: "600",
            WORKER_PROTECTION_IDLE_SECONDS: "10",
        });
        for (const component of ["scheduler", "api-server", "triggerer", "flower", "migrations"] as const) {
            expect(envOf(component, "redis"), component).not.to.have.property("DUMB_INIT_SETSID");
        }
        expect(workerContainerEnvironment()).to.have.property("DUMB_INIT_SETSID", "0");
    });

    it("sets the same timeouts on MWAA (prod) as on the Celery layout", async () => {
        const run = await runStack("prod");
        const [env] = run.ofType("aws:mwaa/environment:Environment");
        expect(env.inputs.airflowConfigurationOptions).to.include(
            workerLifecycleOptions((run.config["airflow:airflowVersion"] as string) ?? "3.0.6"),
        );
    });
});

describe("the worker container's command and protection grant", () => {
    it("runs the launcher with python -c, then the worker's own arguments", () => {
        const command = workerCommand(["default", "large"], 16);
        expect(command.slice(0, 2)).to.deep.equal(["python", "-c"]);
        expect(command[2]).to.equal(readFileSync(WORKER_LAUNCHER, "utf8"));
        expect(command.slice(3)).to.deep.equal([
            "celery",
            "worker",
            "--queues",
            "default,large",
            "--concurrency",
            "16",
        ]);
    });

    it("rejects a worker without queues or with a concurrency below 1", () => {
        expect(() => workerCommand([], 4)).to.throw("a worker needs at least one queue");
        expect(() => workerCommand(["default"], 0)).to.throw(
            "worker concurrency must be a whole number of at least 1, got 0",
        );
        expect(() => workerCommand(["default"], 1.5)).to.throw("got 1.5");
    });

    it("grants exactly ecs:UpdateTaskProtection on the cluster's tasks, conditioned on the cluster", async () => {
        const table = [
            { partition: "aws", region: "us-east-1", account: "123456789012", name: "airflow-dev" },
            { partition: "aws-cn", region: "cn-north-1", account: "210987654321", name: "airflow-staging" },
        ];
        for (const c of table) {
            const arn = `arn:${c.partition}:ecs:${c.region}:${c.account}:cluster/${c.name}`;
            const s = taskProtectionStatement({ ...c, arn });
            expect(s.Effect).to.equal("Allow");
            expect(s.Action).to.equal("ecs:UpdateTaskProtection");
            expect(await promiseOf(s.Resource as pulumi.Output<string>)).to.equal(
                `arn:${c.partition}:ecs:${c.region}:${c.account}:task/${c.name}/*`,
            );
            expect(s.Condition).to.deep.equal({ ArnEquals: { "ecs:cluster": arn } });
        }
    });
});

describe("worker stop events", () => {
    it("matches stops with an exit code other than a warm shutdown's, of the worker services only", () => {
        expect(workerStoppedMidRunPattern("arn:cluster", ["w-default", "w-large"])).to.deep.equal({
            source: ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            detail: {
                clusterArn: ["arn:cluster"],
                group: ["service:w-default", "service:w-large"],
                lastStatus: ["STOPPED"],
                containers: { exitCode: [{ "anything-but": [0, 143] }] },
            },
        });
        expect(() => workerStoppedMidRunPattern("arn:cluster", [])).to.throw("at least one worker service");
    });

    it("writes the stops to their log group and counts them in Airflow/Events by cluster and service", async () => {
        const run = await runWith("dev", {}, () => {
            new WorkerStopEvents("ws", {
                environment: "dev",
                clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/airflow-dev",
                workerServiceNames: ["airflow-dev-worker-default"],
            });
            return {};
        });
        const rule = run.get("aws:cloudwatch/eventRule:EventRule", "ws-stopped-mid-run");
        expect(JSON.parse(rule.inputs.eventPattern).detail.group).to.deep.equal(["service:airflow-dev-worker-default"]);
        const group = run.get("aws:cloudwatch/logGroup:LogGroup", "ws-stopped-mid-run-events");
        expect(group.inputs).to.include({ name: "/aws/events/airflow/dev/stopped-mid-run", retentionInDays: 30 });
        const target = run.get("aws:cloudwatch/eventTarget:EventTarget", "ws-stopped-mid-run-to-logs");
        expect(target.inputs.arn).to.equal(group.state.arn);
        const filter = run.get("aws:cloudwatch/logMetricFilter:LogMetricFilter", "ws-stopped-mid-run-count");
        expect(filter.inputs.metricTransformation).to.deep.include({
            namespace: "Airflow/Events",
            name: WORKER_STOP_METRIC.name,
            value: "1",
            dimensions: { ClusterArn: "$.detail.clusterArn", Group: "$.detail.group" },
        });
        const policy = JSON.parse(
            run.get("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "ws-events-to-logs").inputs.policyDocument,
        );
        expect(policy.Statement[0].Action).to.deep.equal(["logs:CreateLogStream", "logs:PutLogEvents"]);
        expect(policy.Statement[0].Condition.ArnEquals["aws:SourceArn"]).to.equal(rule.state.arn);
        expect(
            run.ofType("aws:cloudwatch/eventRule:EventRule"),
            "Spot interruptions are Observability's",
        ).to.have.length(1);
    });

    it("refuses to watch no worker service", async () => {
        let message = "";
        try {
            await runWith("dev", {}, () => {
                new WorkerStopEvents("ws", { environment: "dev", clusterArn: "arn", workerServiceNames: [] });
                return {};
            });
        } catch (err) {
            message = (err as Error).message;
        }
        expect(message).to.contain(
            "WorkerStopEvents: workerServiceNames must list at least one worker service, got none",
        );
    });
});

describe("scale-out from zero", () => {
    it("publishes high-resolution datapoints every 10 s and scales out on one 10-second datapoint", () => {
        const p = workerScalingParameters();
        expect(p.publishing).to.deep.equal({ intervalSeconds: 10, storageResolution: 1 });
        expect(p.scaleOutAlarm).to.include({ period: 10, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: 0 });
        expect(p.scaleInAlarm).to.include({
            period: 60,
            evaluationPeriods: 10,
            comparisonOperator: "LessThanOrEqualToThreshold",
        });
        expect(queueMetricsPublishing()).to.deep.equal({
            QUEUE_METRICS_INTERVAL_SECONDS: "10",
            QUEUE_METRICS_STORAGE_RESOLUTION: "1",
        });
    });

    it("derives the wait of a task on a pool at zero: 140 s, from 240 s with one-minute metrics", () => {
        const now = scaleOutFromZero();
        const before = scaleOutFromZero(previousScalingParameters());
        expect(now.totalSeconds).to.equal(10 + 10 + 10 + 0 + 10 + 60 + 20 + 20);
        expect(before.totalSeconds).to.equal(60 + 60 + 10 + 0 + 10 + 60 + 20 + 20);
        expect(now.steps.map((s) => s.step)).to.include("Fargate starts the task");
        expect(
            scaleOutFromZero(workerScalingParameters(), { ...DEFAULT_START_ASSUMPTIONS, workerBootSeconds: 5 })
                .totalSeconds,
        ).to.equal(125);
    });
});
