// Each default and each rule lives in one place: a component's default is its configuration key's
// (derived from config/, never written again), a rule between settings is config/'s predicate, and an
// ARN takes the partition of the stack's region. The scans below catch a literal written a second time
// anywhere in components/ or lib/; the runs check that what a component does without a setting is
// what a stack without the key gets.
import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "fs";
import * as path from "path";
import { componentCommand } from "../components/celery/services";
import { AccessLogBucket } from "../components/logs";
import { Observability } from "../components/observability";
import { AlarmThresholds } from "../components/observability/alarms";
import { validateArgs as sageMakerArgs } from "../components/sagemaker-args";
import { WorkerStopEvents } from "../components/worker-events";
import { CONFIG_KEYS, parseConfig } from "../config";
import { defaultMaxWaitSeconds, DAG_TRAINING_LIMIT_SECONDS, MAX_TRAINING_SECONDS } from "../config/ml";
import { renderAirflowEnvironment } from "../lib/airflow-env";
import { runResources, stackFileConfig } from "./harness/program";
import { SAMPLE_SECRET_ARNS, SAMPLE_THRESHOLDS } from "./harness/fixtures";

const ROOT = path.resolve(__dirname, "..");

/** Every TypeScript file under a directory of the repository, as [path from the root, lines]. */
function sources(dir: string): [string, string[]][] {
    const out: [string, string[]][] = [];
    const walk = (d: string) => {
        for (const entry of readdirSync(path.join(ROOT, d))) {
            const rel = path.join(d, entry);
            if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
            else if (rel.endsWith(".ts")) out.push([rel, readFileSync(path.join(ROOT, rel), "utf8").split("\n")]);
        }
    };
    walk(dir);
    return out;
}

/** The lines of code (not comments) of components/ and lib/ that match, as "file:line: text". */
function codeLines(pattern: RegExp): string[] {
    const hits: string[] = [];
    for (const [file, lines] of [...sources("components"), ...sources("lib")]) {
        lines.forEach((line, i) => {
            const code = line.trim();
            if (code.startsWith("//") || code.startsWith("*") || code.startsWith("/*")) return;
            if (pattern.test(code)) hits.push(`${file}:${i + 1}: ${code}`);
        });
    }
    return hits;
}

describe("each default lives in one place", () => {
    // Defaults that belong to no configuration key, each with why it is written where it is.
    const OWN_DEFAULTS: Record<string, string> = {
        "components/observability/agent.ts: const interval = args.aggregationSeconds ?? 60;":
            "the collector's aggregation period; no key sets it (CloudWatch's standard resolution)",
        "components/observability/dashboard.ts: const width = opts.width ?? 8;": "a dashboard widget's layout",
        "components/observability/dashboard.ts: period: opts.period ?? 60,": "a dashboard widget's layout",
    };

    it("writes no number or boolean after ?? in components/ or lib/ but defaults that belong to no key", () => {
        const hits = codeLines(/\?\?\s*(-?\d|true\b|false\b)/).map((h) => h.replace(/:\d+: /, ": "));
        expect(hits.filter((h) => !(h in OWN_DEFAULTS))).to.deep.equal([]);
        expect(
            Object.keys(OWN_DEFAULTS).filter((d) => !hits.includes(d)),
            "stale entries",
        ).to.deep.equal([]);
    });

    it("gives Observability's log groups airflow:logRetentionDays's default when it is not set", async () => {
        const run = await runResources("dev", () => new Observability("obs", observabilityArgs()));
        const group = run.get("aws:cloudwatch/logGroup:LogGroup", "obs-events");
        expect(group.inputs.retentionInDays).to.equal(CONFIG_KEYS.logRetentionDays.default);
    });

    it("gives WorkerStopEvents' log group airflow:logRetentionDays's default when it is not set", async () => {
        const run = await runResources(
            "dev",
            () =>
                new WorkerStopEvents("ws", {
                    environment: "dev",
                    clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/airflow-dev",
                    workerServiceNames: ["airflow-dev-worker-default"],
                }),
        );
        const group = run.get("aws:cloudwatch/logGroup:LogGroup", "ws-stopped-mid-run-events");
        expect(group.inputs.retentionInDays).to.equal(CONFIG_KEYS.logRetentionDays.default);
    });

    it("expires AccessLogBucket's objects after airflow:accessLogExpirationDays's default when it is not set", async () => {
        const run = await runResources("dev", () => new AccessLogBucket("logs", { region: "us-east-1" }));
        const lifecycle = run.ofType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0];
        const days = (lifecycle.inputs.rules as any[]).map((r) => r.expiration?.days);
        expect(days).to.include(CONFIG_KEYS.accessLogExpirationDays.default);
    });

    it("runs a worker with the concurrency a pool without one gets from airflow:workerPools", () => {
        const [pool] = CONFIG_KEYS.workerPools.schema.parse([
            { name: "default", cpu: 1024, memory: 2048, minCount: 1, maxCount: 2 },
        ]);
        const command = componentCommand("worker");
        expect(command[command.indexOf("--concurrency") + 1]).to.equal(String(pool.concurrency));
        const env = renderAirflowEnvironment({
            airflowVersion: "3.0.6",
            environment: "dev",
            region: "us-east-1",
            component: "worker",
            broker: { type: "redis" },
            artifactsBucket: "bucket",
            baseUrl: "http://localhost",
            executionApiUrl: "http://api/execution/",
            secrets: SAMPLE_SECRET_ARNS,
        });
        const concurrency = env.environment.find((e) => e.name === "AIRFLOW__CELERY__WORKER_CONCURRENCY");
        expect(concurrency?.value).to.equal(String(pool.concurrency));
    });
});

describe("the spot wait follows one rule: the loader's default and SageMakerTraining's agree", () => {
    // Runtimes around the rule's corners: below, at and above half the DAG's limit, and the limit.
    const runtimes = [60, 1800, 3600, 14400, DAG_TRAINING_LIMIT_SECONDS / 2, 30000, DAG_TRAINING_LIMIT_SECONDS];
    for (const runtime of runtimes) {
        it(`waits ${defaultMaxWaitSeconds(runtime)} s for a ${runtime} s job on both paths`, () => {
            const config = parseConfig({
                project: "airflow",
                stack: "staging",
                config: {
                    ...stackFileConfig("staging"),
                    "airflow:mlSpotTraining": true,
                    "airflow:mlMaxRuntimeSeconds": runtime,
                    "airflow:mlMaxWaitSeconds": undefined,
                },
            });
            const component = sageMakerArgs(
                "ml",
                {
                    environment: "staging",
                    airflowRoleName: "role",
                    training: { maxRuntimeSeconds: runtime, spot: { enabled: true } },
                } as never,
                undefined as never,
            );
            expect(config.ml.training.spot.maxWaitSeconds).to.equal(component.training.spot.maxWaitSeconds);
            expect(component.training.spot.maxWaitSeconds).to.be.at.least(runtime);
            expect(component.training.spot.maxWaitSeconds).to.be.at.most(MAX_TRAINING_SECONDS);
        });
    }

    it("is twice the runtime, at most the DAG's limit and never below the runtime", () => {
        expect(runtimes.map(defaultMaxWaitSeconds)).to.deep.equal([120, 3600, 7200, 28800, 42300, 42300, 42300]);
    });
});

describe("each rule between settings lives in one place", () => {
    it("leaves the Flower-on-SQS rule to config/storage.ts's flowerOnSqs", () => {
        expect(codeLines(/\bflower\b.*["']sqs["']|["']sqs["'].*\bflower\b/i)).to.deep.equal([]);
    });
});

describe("every ARN a component writes takes the partition of the stack's region", () => {
    it("writes no arn:aws: in components/ or lib/ but in sample data", () => {
        const hits = codeLines(/arn:aws:/).filter((h) => !h.startsWith("components/observability/catalog.ts:"));
        expect(hits).to.deep.equal([]);
    });

    it("gives Observability's key and topic policies the aws-cn partition in cn-north-1", async () => {
        const run = await runResources("dev", () => new Observability("obs", observabilityArgs()), {
            "aws:region": "cn-north-1",
        });
        const key = JSON.parse(run.get("aws:kms/key:Key", "obs-alarms-key").inputs.policy);
        expect(key.Statement[0].Principal.AWS).to.match(/^arn:aws-cn:iam::\d{12}:root$/);
        const topic = JSON.parse(run.get("aws:sns/topicPolicy:TopicPolicy", "obs-alarms-policy").inputs.policy);
        expect(topic.Statement[0].Condition.ArnLike["aws:SourceArn"]).to.match(
            /^arn:aws-cn:cloudwatch:cn-north-1:\d{12}:alarm:obs-\*$/,
        );
    });
});

const THRESHOLDS: AlarmThresholds = SAMPLE_THRESHOLDS;

function observabilityArgs() {
    return {
        layout: "mwaa" as const,
        environment: "prod",
        environmentName: "airflow-prod",
        mwaa: { environmentArn: "arn:aws:airflow:us-east-1:123456789012:environment/airflow-prod" },
        thresholds: THRESHOLDS,
    };
}
