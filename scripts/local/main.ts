// `npm run local`: the staging layout on this machine, with no AWS account and no Docker.
//
//   npm run local                 installs what is missing, starts PostgreSQL, Redis and moto on
//                                 loopback ports, migrates, then starts every Airflow component
//   npm run local -- run <dag>    triggers a DAG run and follows it to the end (non-zero if it fails)
//   npm run local -- status       what is running
//   npm run local -- metrics      heartbeat age, queued and running tasks, import errors
//   npm run local -- down         stops everything it started (by the process ids it recorded)
//   npm run local -- reset        down, then removes .local/
//
// The Airflow processes get the environment CeleryCluster writes into its task definitions: the same
// function (lib/airflow-env.ts), pointed at the local endpoints, with the secrets' values (generated
// once, kept in .local/) in place of their Secrets Manager ARNs.
import { execFileSync, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import {
    chownSync,
    closeSync,
    existsSync,
    mkdirSync,
    openSync,
    readdirSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "fs";
import * as net from "net";
import * as path from "path";
import { parse } from "yaml";
import { airflowServices, componentCommand, migrateScript } from "../../components/celery";
import { AirflowConfig, parseConfig } from "../../config";
import { AirflowComponent, ContainerEnv, renderAirflowEnvironment } from "../../lib/airflow-env";
import { redisBrokerUri, resultBackendUri, sqlAlchemyConnUri } from "../../lib/airflow-uris";
import { localRuntime } from "./runtime";
import { printLocalMetrics } from "./metrics";

const ROOT = path.resolve(__dirname, "..", "..");
/** .local/ (git-ignored); LOCAL_STATE_DIR moves it, for the tests. */
const STATE_DIR = process.env.LOCAL_STATE_DIR ?? path.join(ROOT, ".local");
const STATE_FILE = path.join(STATE_DIR, "state.json");
const LOGS = path.join(STATE_DIR, "logs");
// Which Airflow runs: .venv/ and the stack's version, or LOCAL_AIRFLOW=previous (scripts/local/runtime.ts).
const RUNTIME = localRuntime(ROOT);
const VENV_BIN = RUNTIME.venvBin;
const PG_BIN = "/usr/lib/postgresql/15/bin";
/** The stack the local Airflow mirrors, and the environment name it runs under. */
const STACK = "staging";
const ENVIRONMENT = "local";
const REGION = "us-east-1";
const ADMIN = "admin";
const DAGS = ["ml_training_pipeline", "fargate_parallel_tasks"];

/** Loopback ports: chosen away from the services' defaults, so a local PostgreSQL or Redis can keep theirs. */
export const PORTS = {
    postgres: 25432,
    redis: 26379,
    moto: 25000,
    apiServer: 28080,
    flower: 25555,
    workerLogs: 28793,
    triggererLogs: 28794,
} as const;

const PORT_LABELS: Record<keyof typeof PORTS, string> = {
    postgres: "PostgreSQL",
    redis: "Redis",
    moto: "moto (AWS)",
    apiServer: "the Airflow api-server",
    flower: "Flower",
    workerLogs: "the Celery worker's log server",
    triggererLogs: "the triggerer's log server",
};

interface Proc {
    name: string;
    pid: number;
    log: string;
}
interface State {
    startedAt: string;
    processes: Proc[];
    postgres?: { dataDir: string; user?: string };
}

export class LocalError extends Error {}
/** An HTTP error of the local API: retried while waiting, reported as it is otherwise. */
class HttpError extends Error {}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const step = (text: string) => console.log(`[${elapsed().padStart(7)}] ${text}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readState(): State | undefined {
    return existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, "utf8")) as State) : undefined;
}

function writeState(state: State): void {
    writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

/** True while the process runs. A zombie (exited, not yet reaped by an init that may never reap it) has stopped. */
function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch {
        return false;
    }
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

function tail(file: string, lines = 30): string {
    if (!existsSync(file)) return "(no log)";
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/** Fails when a port is taken, naming it, its use here, and the process that holds it when `ss` can tell. */
export async function checkPortsFree(ports: Partial<Record<keyof typeof PORTS, number>> = PORTS): Promise<void> {
    for (const [key, port] of Object.entries(ports) as [keyof typeof PORTS, number][]) {
        const free = await new Promise<boolean>((resolve) => {
            const server = net.createServer();
            server.once("error", () => resolve(false));
            server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
        });
        if (!free) {
            const ss = spawnSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
            const holder = /users:\(\("([^"]+)",pid=(\d+)/.exec(ss.stdout ?? "");
            throw new LocalError(
                `port ${port} (for ${PORT_LABELS[key]}) is already in use${holder ? ` by ${holder[1]} (pid ${holder[2]})` : ""}; stop that process and run npm run local again`,
            );
        }
    }
}

/** PostgreSQL and Redis from Debian's packages, installed when missing (needs root). */
function ensureSystemPackages(): void {
    const missing = [
        ...(existsSync(path.join(PG_BIN, "initdb")) ? [] : ["postgresql-15"]),
        ...(spawnSync("sh", ["-c", "command -v redis-server"]).status === 0 ? [] : ["redis-server"]),
    ];
    if (missing.length === 0) return;
    if (process.getuid?.() !== 0) throw new LocalError(missingPackagesMessage(missing));
    step(`installing ${missing.join(", ")} with apt-get`);
    // Debian's packages would create and start a default cluster and server; this runner starts its own.
    mkdirSync("/etc/postgresql-common", { recursive: true });
    if (!existsSync("/etc/postgresql-common/createcluster.conf")) {
        writeFileSync("/etc/postgresql-common/createcluster.conf", "create_main_cluster = false\n");
    }
    const policy = "/usr/sbin/policy-rc.d";
    const ownPolicy = !existsSync(policy);
    if (ownPolicy) writeFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    try {
        const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
        for (const args of [
            ["update", "-qq"],
            ["install", "-y", "-qq", "--no-install-recommends", ...missing],
        ]) {
            const r = spawnSync("apt-get", args, { stdio: "inherit", env });
            if (r.status !== 0) throw new LocalError(`apt-get ${args.join(" ")} failed (exit ${r.status})`);
        }
    } finally {
        if (ownPolicy) rmSync(policy, { force: true });
    }
}

export function missingPackagesMessage(missing: string[]): string {
    return `${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing, and installing ${missing.length === 1 ? "it" : "them"} needs root: run \`sudo apt-get install ${missing.join(" ")}\`, or npm run local as root`;
}

function ensurePython(): void {
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "ensure-python.sh"), ...RUNTIME.ensureArgs], {
        stdio: "inherit",
    });
    if (r.status !== 0) throw new LocalError("the Python environment could not be installed (see above)");
}

/** Generated once, kept in .local/secrets.json (mode 600): the local stand-ins of the stack's secrets. */
function localSecrets(): Record<string, string> {
    const file = path.join(STATE_DIR, "secrets.json");
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
    const token = (n: number) => randomBytes(n).toString("base64url").replace(/[-_]/g, "x").slice(0, n);
    const secrets = {
        dbPassword: token(32),
        redisPassword: token(32),
        fernetKey: randomBytes(32).toString("base64").replace(/\+/g, "-").replace(/\//g, "_"),
        apiSecretKey: token(64),
        jwtSecret: token(64),
        adminPassword: token(24),
        flowerPassword: token(24),
    };
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    return secrets;
}

/** What every Airflow process of one component gets: the stack's environment, local values in. */
export function componentEnv(
    component: AirflowComponent,
    s: Record<string, string>,
    queues: string[],
): NodeJS.ProcessEnv {
    const db = `airflow:${s.dbPassword}@127.0.0.1:${PORTS.postgres}/airflow`;
    const values: Record<string, string> = {
        "local:sql-alchemy-conn": sqlAlchemyConnUri(db, false),
        "local:result-backend": resultBackendUri(db, false),
        "local:broker-url": redisBrokerUri({
            password: s.redisPassword,
            host: "127.0.0.1",
            port: PORTS.redis,
            tls: false,
        }),
        "local:fernet-key": s.fernetKey,
        "local:api-secret-key": s.apiSecretKey,
        "local:jwt-secret": s.jwtSecret,
        "local:admin-password": s.adminPassword,
        "local:flower-basic-auth": `${ADMIN}:${s.flowerPassword}`,
    };
    const rendered: ContainerEnv = renderAirflowEnvironment({
        airflowVersion: airflowVersion(),
        environment: ENVIRONMENT,
        region: REGION,
        component,
        broker: { type: "redis" },
        artifactsBucket: `airflow-${ENVIRONMENT}-artifacts`,
        baseUrl: `http://localhost:${PORTS.apiServer}`,
        executionApiUrl: `http://127.0.0.1:${PORTS.apiServer}/execution/`,
        workerConcurrency: 8,
        secrets: {
            sqlAlchemyConn: "local:sql-alchemy-conn",
            resultBackend: "local:result-backend",
            brokerUrl: "local:broker-url",
            fernetKey: "local:fernet-key",
            apiSecretKey: "local:api-secret-key",
            jwtSecret: "local:jwt-secret",
            adminPassword: "local:admin-password",
            flowerBasicAuth: "local:flower-basic-auth",
        },
        awsEndpointUrl: `http://127.0.0.1:${PORTS.moto}`,
        // The drills (scripts/local/drills.sh) add their test-only DAG in a copy of dags/.
        dagsFolder: process.env.LOCAL_DAGS_FOLDER ?? path.join(ROOT, "dags"),
        extra: {
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: String(PORTS.workerLogs),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: String(PORTS.triggererLogs),
            AIRFLOW__CELERY__FLOWER_PORT: String(PORTS.flower),
            // One api-server process: uvicorn's supervisor kills children that start slowly on a loaded machine.
            AIRFLOW__API__WORKERS: "1",
        },
    });
    const env: NodeJS.ProcessEnv = {
        PATH: `${VENV_BIN}:${process.env.PATH}`,
        HOME: process.env.HOME,
        LANG: "C.UTF-8",
        AIRFLOW_HOME: path.join(STATE_DIR, "airflow"),
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        LOCAL_QUEUES: queues.join(","),
        // moto's SageMaker jobs end within seconds: poll them every 5 s instead of every minute.
        AIRFLOW_ON_AWS_SAGEMAKER_CHECK_INTERVAL: "5",
    };
    for (const e of rendered.environment) env[e.name] = e.value;
    for (const secret of rendered.secrets) env[secret.name] = values[secret.valueFrom];
    return env;
}

let mirrored: AirflowConfig | undefined;

/**
 * The configuration of the stack the local Airflow mirrors, read from its committed stack file and
 * checked by the program's own parser (config/), as the program checks it under the engine.
 */
function stackConfig(): AirflowConfig {
    if (!mirrored) {
        const file = parse(readFileSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), "utf8"));
        mirrored = parseConfig({ project: "airflow", stack: STACK, config: file?.config ?? {} });
    }
    return mirrored;
}

/**
 * The components the mirrored stack runs, each with the command its ECS service runs
 * (components/celery/services.ts), on loopback ports: one process per component, one worker for
 * every pool's queue, and Flower whatever the stack says (it is how the runner sees the worker).
 */
export function localComponents(queues: string[]): [string, AirflowComponent, string[]][] {
    const config = stackConfig();
    const specs = airflowServices({
        ...config.celery,
        flower: true,
        airflowMajor: config.airflowMajor,
        broker: "redis",
    });
    const components: [string, AirflowComponent, string[]][] = [];
    for (const spec of specs) {
        const component = spec.component;
        if (component === "migrations" || components.some(([, c]) => c === component)) continue;
        const host = component === "flower" ? ["--hostname", "127.0.0.1"] : ["--host", "127.0.0.1"];
        const command =
            component === "worker"
                ? componentCommand(component, { queues, concurrency: 8 })
                : component === "flower"
                  ? [...componentCommand(component, { port: PORTS.flower }), ...host]
                  : component === "api-server" || component === "webserver"
                    ? [...componentCommand(component, { port: PORTS.apiServer }), ...host]
                    : componentCommand(component);
        components.push([component, component, command]);
    }
    return components;
}

function airflowVersion(): string {
    return RUNTIME.airflowVersion ?? stackConfig().airflowVersion;
}

/** The worker pools' queues of the mirrored stack (one local worker consumes them all). */
function stackQueues(): string[] {
    return stackConfig().celery.workerPools.map((p) => p.name);
}

function startProcess(state: State, name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
    const log = path.join(LOGS, `${name}.log`);
    const fd = openSync(log, "w");
    const child = spawn(command, args, { env, cwd: ROOT, detached: true, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    child.unref();
    const proc = { name, pid: child.pid!, log };
    state.processes.push(proc);
    writeState(state);
    return proc;
}

/** Runs as the PostgreSQL system user when root (PostgreSQL refuses to run as root). */
function asPostgres(user: string | undefined, command: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
    const [cmd, argv] = user ? ["runuser", ["-u", user, "--", command, ...args]] : [command, args];
    const r = spawnSync(cmd, argv, { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status !== 0) throw new LocalError(`${command} ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
}

function startPostgres(state: State, s: Record<string, string>): void {
    const dataDir = path.join(STATE_DIR, "postgres");
    const user = process.getuid?.() === 0 ? "postgres" : undefined;
    if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
        step("initialising PostgreSQL in .local/postgres");
        mkdirSync(dataDir, { recursive: true });
        const pwfile = path.join(STATE_DIR, "pg-password");
        writeFileSync(pwfile, `${s.dbPassword}\n`, { mode: 0o600 });
        if (user) {
            const uid = Number(execFileSync("id", ["-u", user]).toString());
            const gid = Number(execFileSync("id", ["-g", user]).toString());
            chownSync(dataDir, uid, gid);
            chownSync(pwfile, uid, gid);
        }
        try {
            asPostgres(user, path.join(PG_BIN, "initdb"), [
                "-D",
                dataDir,
                "-U",
                "airflow",
                `--pwfile=${pwfile}`,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
            ]);
        } finally {
            rmSync(pwfile, { force: true });
        }
    }
    step(`starting PostgreSQL on 127.0.0.1:${PORTS.postgres}`);
    const log = path.join(LOGS, "postgres.log");
    if (user) {
        writeFileSync(log, "", { flag: "a" });
        const uid = Number(execFileSync("id", ["-u", user]).toString());
        chownSync(log, uid, 0);
    }
    asPostgres(user, path.join(PG_BIN, "pg_ctl"), [
        "-D",
        dataDir,
        "-l",
        log,
        "-w",
        "-t",
        "60",
        "-o",
        `-p ${PORTS.postgres} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
        "start",
    ]);
    const pid = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    state.processes.push({ name: "postgres", pid, log });
    state.postgres = { dataDir, user };
    writeState(state);
    const psql = (sql: string) =>
        spawnSync(
            "psql",
            ["-h", "127.0.0.1", "-p", String(PORTS.postgres), "-U", "airflow", "-d", "postgres", "-tAc", sql],
            { encoding: "utf8", env: { ...process.env, PGPASSWORD: s.dbPassword } },
        );
    if (psql("SELECT 1 FROM pg_database WHERE datname = 'airflow'").stdout.trim() !== "1") {
        const created = psql("CREATE DATABASE airflow");
        if (created.status !== 0) throw new LocalError(`could not create the airflow database:\n${created.stderr}`);
    }
}

async function waitFor(what: string, procs: Proc[], check: () => Promise<boolean>, timeoutS: number): Promise<void> {
    const deadline = Date.now() + timeoutS * 1000;
    while (Date.now() < deadline) {
        for (const p of procs) {
            if (!alive(p.pid)) {
                throw new LocalError(
                    `${p.name} exited while waiting for ${what}. The end of ${path.relative(ROOT, p.log)}:\n${tail(p.log)}`,
                );
            }
        }
        // Not yet (connection refused, HTTP 503, ...), unless the check found a real error.
        const done = await check().catch((err) => {
            if (err instanceof LocalError) throw err;
            return false;
        });
        if (done) return;
        await sleep(1000);
    }
    const logs = procs.map((p) => `--- ${path.relative(ROOT, p.log)}\n${tail(p.log, 15)}`).join("\n");
    throw new LocalError(`${what} did not happen within ${timeoutS} s.\n${logs}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the REST API's JSON, read field by field
async function api(pathname: string, init: RequestInit = {}, token?: string): Promise<any> {
    const response = await fetch(`http://127.0.0.1:${PORTS.apiServer}${pathname}`, {
        ...init,
        headers: {
            "Content-Type": "application/json",
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
            ...(init.headers ?? {}),
        },
    });
    const body = await response.text();
    if (!response.ok)
        throw new HttpError(`${init.method ?? "GET"} ${pathname}: HTTP ${response.status} ${body.slice(0, 500)}`);
    return body ? JSON.parse(body) : undefined;
}

async function token(s: Record<string, string>): Promise<string> {
    const r = await api("/auth/token", {
        method: "POST",
        body: JSON.stringify({ username: ADMIN, password: s.adminPassword }),
    });
    return r.access_token;
}

function running(): Proc[] {
    return (readState()?.processes ?? []).filter((p) => alive(p.pid));
}

async function up(): Promise<void> {
    const already = running();
    if (already.length > 0) {
        throw new LocalError(
            `Airflow is already running locally (${already.map((p) => `${p.name} pid ${p.pid}`).join(", ")}). Use it, or stop it with npm run local -- down.`,
        );
    }
    mkdirSync(LOGS, { recursive: true });
    await checkPortsFree();
    ensureSystemPackages();
    step("checking the Python environment (.venv)");
    ensurePython();
    const s = localSecrets();
    const queues = stackQueues();
    const state: State = { startedAt: new Date().toISOString(), processes: [] };
    writeState(state);
    try {
        startPostgres(state, s);
        step(`starting Redis on 127.0.0.1:${PORTS.redis}`);
        mkdirSync(path.join(STATE_DIR, "redis"), { recursive: true });
        const redis = startProcess(
            state,
            "redis",
            "redis-server",
            [
                "--bind",
                "127.0.0.1",
                "--port",
                String(PORTS.redis),
                "--requirepass",
                s.redisPassword,
                "--dir",
                path.join(STATE_DIR, "redis"),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            { PATH: process.env.PATH },
        );
        step(`starting moto (AWS) on 127.0.0.1:${PORTS.moto}`);
        const moto = startProcess(
            state,
            "moto",
            path.join(VENV_BIN, "python"),
            [path.join(__dirname, "moto_server.py"), String(PORTS.moto)],
            {
                PATH: `${VENV_BIN}:${process.env.PATH}`,
                AWS_ACCESS_KEY_ID: "testing",
                AWS_SECRET_ACCESS_KEY: "testing",
                AWS_DEFAULT_REGION: REGION,
                AWS_ENDPOINT_URL: `http://127.0.0.1:${PORTS.moto}`,
            },
        );
        await waitFor(
            "Redis and moto to listen",
            [redis, moto],
            async () => (await fetch(`http://127.0.0.1:${PORTS.moto}/moto-api/`)).ok,
            60,
        );

        step("creating in moto what the program creates for the DAGs, and publishing their Variables");
        seed();

        step("migrating the metadata database and creating the admin user (the control service's script)");
        const migrate = spawnSync("bash", ["-c", migrateScript()], {
            env: componentEnv("migrations", s, queues),
            encoding: "utf8",
            cwd: ROOT,
        });
        writeFileSync(path.join(LOGS, "migrate.log"), `${migrate.stdout}${migrate.stderr}`);
        if (migrate.status !== 0) {
            throw new LocalError(
                `the migration failed (exit ${migrate.status}). The end of .local/logs/migrate.log:\n${tail(path.join(LOGS, "migrate.log"))}`,
            );
        }

        step("starting api-server, scheduler, dag-processor, triggerer, a Celery worker and Flower");
        const airflow = path.join(VENV_BIN, "airflow");
        const components = localComponents(queues);
        const procs = components.map(([name, component, args]) =>
            startProcess(state, name, airflow, args, componentEnv(component, s, queues)),
        );

        const byName = Object.fromEntries(procs.map((p) => [p.name, p]));
        await waitFor(
            "the api-server to report every component healthy",
            procs,
            async () => {
                const h = await api("/api/v2/monitor/health");
                return ["metadatabase", "scheduler", "triggerer", "dag_processor"].every(
                    (c) => h[c]?.status === "healthy",
                );
            },
            240,
        );
        step("api-server, scheduler, dag-processor and triggerer are healthy");
        const flowerAuth = `Basic ${Buffer.from(`${ADMIN}:${s.flowerPassword}`).toString("base64")}`;
        await waitFor(
            "the Celery worker to answer Flower",
            [byName.worker, byName.flower],
            async () => {
                const r = await fetch(`http://127.0.0.1:${PORTS.flower}/api/workers?refresh=1`, {
                    headers: { Authorization: flowerAuth },
                });
                return r.ok && Object.keys((await r.json()) as object).length > 0;
            },
            120,
        );
        step("the Celery worker and Flower are healthy");

        const t = await token(s);
        await waitFor(
            "the dag-processor to parse the DAGs",
            procs,
            async () => {
                const errors = await api("/api/v2/importErrors", {}, t);
                if (errors.total_entries > 0) {
                    const first = errors.import_errors[0];
                    throw new LocalError(`a DAG file does not import: ${first.filename}\n${first.stack_trace}`);
                }
                const dags = await api("/api/v2/dags?limit=100", {}, t);
                return DAGS.every((id) => dags.dags.some((d: { dag_id: string }) => d.dag_id === id));
            },
            120,
        );
        step(`DAGs loaded: ${DAGS.join(", ")}`);
    } catch (err) {
        step("stopping what was started, after the error below");
        await down(true);
        throw err;
    }
    console.log(`
Airflow ${airflowVersion()} (the ${STACK} layout: CeleryExecutor, PostgreSQL, Redis, AWS in moto) is up in ${elapsed()}.
  Airflow UI   http://localhost:${PORTS.apiServer}   user ${ADMIN}, password ${s.adminPassword}
  Flower       http://localhost:${PORTS.flower}   user ${ADMIN}, password ${s.flowerPassword}
  AWS (moto)   http://127.0.0.1:${PORTS.moto}
  Logs         .local/logs/
Run a DAG:  npm run local -- run ml_training_pipeline
Stop:       npm run local -- down`);
}

/** Creates in moto what the program creates for the DAGs, with the mirrored stack's ML and job settings. */
function seed(): void {
    const { ml, jobs } = stackConfig();
    const request = {
        environment: ENVIRONMENT,
        region: REGION,
        artifactsBucket: `airflow-${ENVIRONMENT}-artifacts`,
        mlBucket: `airflow-${ENVIRONMENT}-ml`,
        ml: {
            // The built-in XGBoost image SageMakerTraining resolves in us-east-1, unless the stack names one.
            imageUri: ml.imageUri ?? `683313688378.dkr.ecr.${REGION}.amazonaws.com/sagemaker-xgboost:1.7-1`,
            instanceType: ml.training.instanceType,
            instanceCount: ml.training.instanceCount,
            volumeSizeGb: ml.training.volumeSizeGb,
            maxRuntimeSeconds: ml.training.maxRuntimeSeconds,
            spot: ml.training.spot.enabled,
            maxWaitSeconds: ml.training.spot.maxWaitSeconds,
            transformInstanceType: ml.transformInstanceType,
            vpcMode: ml.vpcMode,
            networkIsolation: ml.training.networkIsolation,
        },
        jobs: { cpu: jobs.cpu, memory: jobs.memory, spot: jobs.spot, image: jobs.image },
    };
    const r = spawnSync(path.join(VENV_BIN, "python"), [path.join(__dirname, "seed.py")], {
        input: JSON.stringify(request),
        encoding: "utf8",
        env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: "testing",
            AWS_SECRET_ACCESS_KEY: "testing",
            AWS_DEFAULT_REGION: REGION,
            AWS_ENDPOINT_URL: `http://127.0.0.1:${PORTS.moto}`,
        },
    });
    if (r.status !== 0) throw new LocalError(`seeding moto failed:\n${r.stdout}${r.stderr}`);
}

async function runDag(dagId: string): Promise<void> {
    if (!dagId) throw new LocalError("usage: npm run local -- run <dag_id>");
    if (running().length === 0) throw new LocalError("Airflow is not running locally: start it with npm run local");
    const s = localSecrets();
    const t = await token(s);
    await api(`/api/v2/dags/${dagId}`, { method: "PATCH", body: JSON.stringify({ is_paused: false }) }, t).catch(
        (err) => {
            throw new LocalError(`no DAG ${dagId}: ${(err as Error).message}`);
        },
    );
    const run = await api(
        `/api/v2/dags/${dagId}/dagRuns`,
        { method: "POST", body: JSON.stringify({ logical_date: null }) },
        t,
    );
    const runId: string = run.dag_run_id;
    const begun = Date.now();
    step(`triggered ${dagId}, run ${runId}`);
    const seen: Record<string, string> = {};
    let state = run.state as string;
    while (!["success", "failed"].includes(state)) {
        await sleep(2000);
        const tis = await api(
            `/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}/taskInstances?limit=100`,
            {},
            t,
        );
        for (const ti of tis.task_instances as { task_id: string; state: string | null; map_index: number }[]) {
            const key = ti.map_index >= 0 ? `${ti.task_id}[${ti.map_index}]` : ti.task_id;
            const now = ti.state ?? "none";
            if (seen[key] !== now) {
                seen[key] = now;
                step(`  ${key}: ${now}`);
            }
        }
        state = (await api(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`, {}, t)).state;
        if (Date.now() - begun > 15 * 60 * 1000)
            throw new LocalError(`${dagId} run ${runId} has not finished in 15 minutes`);
    }
    const seconds = ((Date.now() - begun) / 1000).toFixed(1);
    if (state !== "success") {
        throw new LocalError(
            `${dagId} run ${runId} failed after ${seconds} s; task logs are in the Airflow UI and .local/airflow/logs/`,
        );
    }
    console.log(`${dagId} run ${runId} succeeded in ${seconds} s`);
}

/** Stops everything it started: the recorded process groups, and PostgreSQL through pg_ctl. */
async function down(quiet = false): Promise<void> {
    const state = readState();
    if (!state) {
        if (!quiet) console.log("Nothing is running (no .local/state.json).");
        return;
    }
    const postgres = state.postgres;
    if (postgres && existsSync(path.join(postgres.dataDir, "postmaster.pid"))) {
        try {
            asPostgres(postgres.user, path.join(PG_BIN, "pg_ctl"), [
                "-D",
                postgres.dataDir,
                "-m",
                "fast",
                "-w",
                "stop",
            ]);
        } catch (err) {
            console.error(`pg_ctl stop: ${(err as Error).message}`);
        }
    }
    const procs = state.processes.filter((p) => p.name !== "postgres");
    for (const p of procs) {
        try {
            process.kill(-p.pid, "SIGTERM"); // its whole process group: api-server and Celery children too
        } catch {
            /* already gone */
        }
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && state.processes.some((p) => alive(p.pid) || groupAlive(p.pid))) await sleep(500);
    for (const p of state.processes.filter((p) => alive(p.pid) || groupAlive(p.pid))) {
        try {
            process.kill(-p.pid, "SIGKILL");
        } catch {
            try {
                process.kill(p.pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
    }
    await sleep(300);
    const left = state.processes.filter((p) => alive(p.pid));
    if (left.length > 0)
        throw new LocalError(`could not stop ${left.map((p) => `${p.name} (pid ${p.pid})`).join(", ")}`);
    rmSync(STATE_FILE, { force: true });
    if (!quiet) console.log(`Stopped ${state.processes.map((p) => p.name).join(", ")}.`);
}

/** True while any process of the group `pgid` lives (the leader may be gone before its children). */
function groupAlive(pgid: number): boolean {
    try {
        process.kill(-pgid, 0);
    } catch {
        return false;
    }
    // Any member of the group that is not a zombie?
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            if (Number(fields[2]) === pgid && fields[0] !== "Z") return true;
        } catch {
            /* gone */
        }
    }
    return false;
}

function status(): void {
    const state = readState();
    if (!state) {
        console.log("Not running.");
        return;
    }
    for (const p of state.processes)
        console.log(`${p.name.padEnd(14)} pid ${String(p.pid).padEnd(8)} ${alive(p.pid) ? "running" : "stopped"}`);
}

export async function main(argv: string[]): Promise<number> {
    const [command = "up", ...rest] = argv;
    try {
        switch (command) {
            case "up":
                await up();
                break;
            case "run":
                await runDag(rest[0]);
                break;
            case "down":
                await down();
                break;
            case "reset":
                await down(true);
                rmSync(STATE_DIR, { recursive: true, force: true });
                console.log("Stopped everything and removed .local/.");
                break;
            case "status":
                status();
                break;
            case "metrics": // heartbeat age, queued and running tasks, import errors (scripts/local/metrics.ts)
                await printLocalMetrics({
                    baseUrl: `http://127.0.0.1:${PORTS.apiServer}`,
                    secretsFile: path.join(STATE_DIR, "secrets.json"),
                    user: ADMIN,
                }).catch((err: Error) => {
                    throw new LocalError(err.message);
                });
                break;
            default:
                throw new LocalError(
                    `unknown command ${command}: use up (default), run <dag_id>, status, metrics, down or reset`,
                );
        }
        return 0;
    } catch (err) {
        const known = err instanceof LocalError || err instanceof HttpError;
        console.error(`error: ${known ? (err as Error).message : (err as Error).stack}`);
        return 1;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
