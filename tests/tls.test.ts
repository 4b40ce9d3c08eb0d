// TLS that verifies the server, on every connection Airflow makes to the metadata database and the
// Celery broker (issue 15, item 3): the URIs, the RDS CA bundle in every container that reads them, and
// what the pinned Airflow, SQLAlchemy and kombu (.venv) make of those URIs.
import { expect } from "chai";
import { spawnSync } from "child_process";
import { existsSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import {
    POSTGRES_VERIFY_FULL,
    RDS_CA_BUNDLE_PATH,
    RDS_CA_DIR,
    rdsCaBundleUrl,
    rdsRootCaCommonName,
    redisBrokerUri,
    resultBackendUri,
    sqlAlchemyConnUri,
    unverifiedTlsReason,
} from "../lib/airflow-uris";
import { ProgramRun, ROOT, runProgram, runStack } from "./harness/program";

type Container = {
    name: string;
    user?: string;
    essential?: boolean;
    environment?: { name: string; value: string }[];
    secrets?: { name: string; valueFrom: string }[];
    mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
    dependsOn?: { containerName: string; condition: string }[];
};

const CONNECTION_SETTINGS = [
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CELERY__BROKER_URL",
];
const DB_SETTINGS = CONNECTION_SETTINGS.slice(0, 2);

/** Every secret value the stack stores, by secret ARN (the mock ARN of the Secret resource). */
function secretValuesByArn(run: ProgramRun): Map<string, string> {
    const arnOf = new Map(run.ofType("aws:secretsmanager/secret:Secret").map((s) => [s.name, s.state.arn as string]));
    const values = new Map<string, string>();
    for (const v of run.ofType("aws:secretsmanager/secretVersion:SecretVersion")) {
        const arn = arnOf.get(v.name.replace(/-value$/, ""));
        if (arn) values.set(arn, v.inputs.secretString);
    }
    return values;
}

function tasks(run: ProgramRun): { name: string; containers: Container[]; volumes: string[] }[] {
    return run.ofType("aws:ecs/taskDefinition:TaskDefinition").map((t) => ({
        name: t.name,
        containers: JSON.parse(t.inputs.containerDefinitions) as Container[],
        volumes: ((t.inputs.volumes ?? []) as { name: string }[]).map((v) => v.name),
    }));
}

/**
 * What is wrong with a stack's TLS: each connection a container is given (by secret) must verify its
 * server, and each container that connects to the database must read the RDS CA bundle that the task's
 * rds-ca container wrote first. An empty list means none.
 */
export function tlsProblems(run: ProgramRun, region: string): string[] {
    const problems: string[] = [];
    const values = secretValuesByArn(run);
    for (const task of tasks(run)) {
        const rdsCa = task.containers.find((c) => c.name === "rds-ca");
        for (const c of task.containers) {
            const where = `${task.name}/${c.name}`;
            for (const s of (c.secrets ?? []).filter((x) => CONNECTION_SETTINGS.includes(x.name))) {
                const uri = values.get(s.valueFrom);
                if (uri === undefined) problems.push(`${where}: ${s.name} comes from no secret of the stack`);
                else {
                    const reason = unverifiedTlsReason(uri);
                    if (reason) problems.push(`${where}: ${s.name} does not verify its server: ${reason}`);
                }
            }
            if (!(c.secrets ?? []).some((x) => DB_SETTINGS.includes(x.name))) continue;
            const mount = (c.mountPoints ?? []).find((m) => m.containerPath === RDS_CA_DIR);
            if (!mount || mount.sourceVolume !== "rds-ca" || mount.readOnly !== true)
                problems.push(`${where}: does not mount the RDS CA bundle read-only at ${RDS_CA_DIR}`);
            if (!(c.dependsOn ?? []).some((d) => d.containerName === "rds-ca" && d.condition === "SUCCESS"))
                problems.push(`${where}: may start before rds-ca wrote the bundle`);
            if (!rdsCa) problems.push(`${where}: its task has no rds-ca container`);
        }
        if (rdsCa) {
            const env = Object.fromEntries((rdsCa.environment ?? []).map((e) => [e.name, e.value]));
            if (env.RDS_CA_EXPECT !== rdsRootCaCommonName(region) || env.RDS_CA_URL !== rdsCaBundleUrl(region))
                problems.push(`${task.name}/rds-ca: not the bundle of ${region}: ${JSON.stringify(env)}`);
            if (!task.volumes.includes("rds-ca")) problems.push(`${task.name}: declares no rds-ca volume`);
        }
    }
    return problems;
}

function regionOf(run: ProgramRun): string {
    return (run.config["aws:region"] as string | undefined) ?? "us-east-1";
}

describe("TLS that verifies the server", () => {
    describe("unverifiedTlsReason", () => {
        const table: [string, string | undefined][] = [
            [`postgresql+psycopg2://a:b@db:5432/airflow?${POSTGRES_VERIFY_FULL}`, undefined],
            [`db+postgresql://a:b@db:5432/airflow?${POSTGRES_VERIFY_FULL}`, undefined],
            ["postgresql+psycopg2://a:b@db:5432/airflow?sslmode=require", "sslmode is require, not verify-full"],
            ["postgresql+psycopg2://a:b@db:5432/airflow", "sslmode is unset, not verify-full"],
            [
                "db+postgresql://a:b@db:5432/airflow?sslmode=verify-full",
                `sslrootcert is unset, not ${RDS_CA_BUNDLE_PATH}`,
            ],
            ["rediss://:p@cache:6379/0?ssl_cert_reqs=required", undefined],
            ["rediss://:p@cache:6379/0?ssl_cert_reqs=CERT_REQUIRED", undefined],
            ["rediss://:p@cache:6379/0", "ssl_cert_reqs is unset, not required"],
            ["rediss://:p@cache:6379/0?ssl_cert_reqs=none", "ssl_cert_reqs is none, not required"],
            ["redis://:p@cache:6379/0", "redis:// is not TLS (rediss:// is)"],
            ["sqs://", undefined],
            ["amqp://guest@mq//", "unknown scheme amqp"],
        ];
        for (const [uri, reason] of table) {
            it(`${reason === undefined ? "accepts" : "rejects"} ${uri.replace(/\?.*/, "?…")}${reason ? `: ${reason}` : ""}`, () => {
                expect(unverifiedTlsReason(uri)).to.equal(reason);
            });
        }
    });

    it("renders verify-full with the bundle's path for the deployed stack, and plain connections for the local runner", () => {
        const creds = "airflow:pw@db.example:5432/airflow";
        expect(sqlAlchemyConnUri(creds, true)).to.equal(
            "postgresql+psycopg2://airflow:pw@db.example:5432/airflow?sslmode=verify-full&sslrootcert=/opt/airflow/rds-ca/rds-ca-bundle.pem",
        );
        expect(resultBackendUri(creds, true)).to.equal(
            "db+postgresql://airflow:pw@db.example:5432/airflow?sslmode=verify-full&sslrootcert=/opt/airflow/rds-ca/rds-ca-bundle.pem",
        );
        expect(redisBrokerUri({ password: "p", host: "cache", port: 6379, tls: true })).to.equal(
            "rediss://:p@cache:6379/0?ssl_cert_reqs=required",
        );
        expect(sqlAlchemyConnUri(creds, false)).to.equal("postgresql+psycopg2://airflow:pw@db.example:5432/airflow");
        expect(redisBrokerUri({ password: "p", host: "127.0.0.1", port: 6379, tls: false })).to.equal(
            "redis://:p@127.0.0.1:6379/0",
        );
    });

    it("names the region's bundle and root CA as the RDS User Guide publishes them", () => {
        expect(rdsCaBundleUrl("eu-west-1")).to.equal(
            "https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem",
        );
        expect(rdsRootCaCommonName("eu-west-1")).to.equal("Amazon RDS eu-west-1 Root CA RSA2048 G1");
    });

    // Every Celery stack, both brokers, and prod switched to the Celery layout.
    const runs: [string, () => Promise<ProgramRun>][] = [
        ["dev (redis)", () => runStack("dev")],
        ["dev with the sqs broker", () => runProgram("dev", { "airflow:broker": "sqs", "airflow:flower": false })],
        ["staging (redis)", () => runStack("staging")],
        ["prod switched to the Celery layout", () => runProgram("prod", { "airflow:layout": "celery" })],
    ];
    for (const [label, run] of runs) {
        it(`verifies the database and broker in every container of ${label}`, async () => {
            const r = await run();
            const all = tasks(r);
            expect(all.length, "task definitions").to.be.greaterThan(3);
            const connecting = all.flatMap((t) =>
                t.containers.filter((c) => (c.secrets ?? []).some((s) => CONNECTION_SETTINGS.includes(s.name))),
            );
            expect(connecting.length, "containers with a connection").to.be.greaterThan(5);
            expect(tlsProblems(r, regionOf(r))).to.deep.equal([]);
            // rds-ca ships its program in every task definition: each stays well under ECS's 64 KiB limit
            // on a task definition ("Amazon ECS service quotas", Task definition size).
            for (const t of r.ofType("aws:ecs/taskDefinition:TaskDefinition"))
                expect(Buffer.byteLength(t.inputs.containerDefinitions), t.name).to.be.below(48 * 1024);
        });
    }

    it("finds each kind of unverified connection (the check above can fail)", async () => {
        const r = await runStack("dev");
        const region = regionOf(r);
        // The same run with the database URI weakened, one container's mount and wait removed, and the
        // broker made plain: each is reported.
        const weakened = new ProgramRun(
            r.stack,
            r.config,
            r.resources.map((res) => {
                if (res.type === "aws:secretsmanager/secretVersion:SecretVersion" && /sql-alchemy-conn/.test(res.name))
                    return {
                        ...res,
                        inputs: {
                            ...res.inputs,
                            secretString: res.inputs.secretString.replace(/\?.*/, "?sslmode=require"),
                        },
                    };
                if (res.type === "aws:secretsmanager/secretVersion:SecretVersion" && /broker-url/.test(res.name))
                    return {
                        ...res,
                        inputs: {
                            ...res.inputs,
                            secretString: res.inputs.secretString.replace("rediss://", "redis://").replace(/\?.*/, ""),
                        },
                    };
                if (res.type === "aws:ecs/taskDefinition:TaskDefinition" && /scheduler/.test(res.name)) {
                    const containers = (JSON.parse(res.inputs.containerDefinitions) as Container[]).map((c) =>
                        c.name === "scheduler"
                            ? {
                                  ...c,
                                  mountPoints: [],
                                  dependsOn: (c.dependsOn ?? []).filter((d) => d.containerName !== "rds-ca"),
                              }
                            : c,
                    );
                    return { ...res, inputs: { ...res.inputs, containerDefinitions: JSON.stringify(containers) } };
                }
                return res;
            }),
            r.outputs,
        );
        const problems = tlsProblems(weakened, region);
        expect(
            problems.some((p) => /SQL_ALCHEMY_CONN does not verify its server: sslmode is require/.test(p)),
        ).to.equal(true);
        expect(problems.some((p) => /BROKER_URL does not verify its server: redis:\/\/ is not TLS/.test(p))).to.equal(
            true,
        );
        expect(problems).to.include.members([
            "airflow-dev-scheduler-task/scheduler: does not mount the RDS CA bundle read-only at /opt/airflow/rds-ca",
            "airflow-dev-scheduler-task/scheduler: may start before rds-ca wrote the bundle",
        ]);
    });

    it("leaves the database to MWAA on the mwaa layout: no database URI and no rds-ca container", async () => {
        const prod = await runStack("prod");
        expect(prod.outputs.layout).to.equal("mwaa");
        const names = prod.ofType("aws:secretsmanager/secret:Secret").map((s) => s.inputs.name as string);
        expect(names.filter((n) => /sql-alchemy-conn|result-backend|broker-url/.test(n))).to.deep.equal([]);
        expect(prod.ofType("aws:rds/instance:Instance")).to.deep.equal([]);
    });

    describe("what the pinned Airflow, SQLAlchemy, kombu and redis-py make of the URIs (.venv)", () => {
        const python = path.join(ROOT, ".venv", "bin", "python");
        const creds = "airflow:pw@airflow-dev-db.abc.us-east-1.rds.amazonaws.com:5432/airflow";
        const script = `
import json, os, ssl, sys, inspect
from sqlalchemy.engine import make_url
from sqlalchemy import create_engine
conn = make_url(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
engine = create_engine(conn)
_, db_args = engine.dialect.create_connect_args(conn)
from kombu import Connection
broker = Connection(os.environ["AIRFLOW__CELERY__BROKER_URL"])
from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG as c
import redis
check_hostname = inspect.signature(redis.connection.SSLConnection.__init__).parameters["ssl_check_hostname"].default
backend = make_url(c["result_backend"][len("db+"):])
_, backend_args = create_engine(backend).dialect.create_connect_args(backend)
print(json.dumps({
    "db": {k: db_args.get(k) for k in ("sslmode", "sslrootcert", "host")},
    "backend": {k: backend_args.get(k) for k in ("sslmode", "sslrootcert")},
    "broker_transport": broker.transport_cls,
    "broker_ssl": {k: int(v) for k, v in (broker.ssl or {}).items()},
    "broker_use_ssl": c.get("broker_use_ssl"),
    "cert_required": int(ssl.CERT_REQUIRED),
    "check_hostname_default": check_hostname,
}))
`;
        it("passes verify-full and the bundle to libpq for both database URIs, and CERT_REQUIRED with host-name checks to redis-py", function () {
            if (!existsSync(python)) this.skip();
            this.timeout(120000);
            const result = spawnSync(python, ["-c", script], {
                env: {
                    PATH: process.env.PATH ?? "",
                    HOME: process.env.HOME ?? "/tmp",
                    AIRFLOW_HOME: path.join(tmpdir(), "airflow-tls-test-home"),
                    AIRFLOW__CORE__UNIT_TEST_MODE: "False",
                    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: sqlAlchemyConnUri(creds, true),
                    AIRFLOW__CELERY__RESULT_BACKEND: resultBackendUri(creds, true),
                    AIRFLOW__CELERY__BROKER_URL: redisBrokerUri({
                        password: "p",
                        host: "master.airflow-dev-broker.abc.use1.cache.amazonaws.com",
                        port: 6379,
                        tls: true,
                    }),
                },
                encoding: "utf8",
            });
            expect(result.status, result.stderr).to.equal(0);
            const seen = JSON.parse(result.stdout.trim().split("\n").pop()!);
            expect(seen.db).to.deep.equal({
                sslmode: "verify-full",
                sslrootcert: RDS_CA_BUNDLE_PATH,
                host: "airflow-dev-db.abc.us-east-1.rds.amazonaws.com",
            });
            expect(seen.backend).to.deep.equal({ sslmode: "verify-full", sslrootcert: RDS_CA_BUNDLE_PATH });
            expect(seen.broker_transport).to.equal("rediss");
            expect(seen.broker_ssl).to.deep.equal({ ssl_cert_reqs: seen.cert_required });
            // [celery] ssl_active stays off: the URI alone carries CERT_REQUIRED (see lib/airflow-uris.ts).
            expect(seen.broker_use_ssl).to.equal(null);
            expect(seen.check_hostname_default).to.equal(true);
        });
    });
});
