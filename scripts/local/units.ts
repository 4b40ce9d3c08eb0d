// What the local stack runs: the one list of its processes (units), with their commands,
// environments, dependencies and health checks. The Airflow units are the Celery layout's ECS
// services (airflowServices, components/celery/services.ts), each with the command its service runs
// (componentCommand) plus only the loopback flags a shared machine needs (and the worker's node name,
// which its liveness check pings). Everything else (supervisor.ts) is generic, so this list can later
// be replaced by the Celery task definitions rendered into units (a container's command, environment,
// user, dependsOn and health check map one to one onto a UnitSpec).
//
// The Airflow processes get the environment CeleryCluster writes into its task definitions: the same
// function (lib/airflow-env.ts), pointed at the local endpoints, with the secrets' values (generated
// once, kept in .local/) in place of their Secrets Manager ARNs.
import { execFile, execFileSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { AirflowComponent } from "../../lib/airflow-env";
import { redisBrokerUri, resultBackendUri, sqlAlchemyConnUri } from "../../lib/airflow-uris";
import { LocalError, LocalPaths, PORTS, ROOT, TSX } from "./paths";
import { localEntrypoint } from "./entrypoint";
import { sqlClient } from "./sql";
import {
    checkMounts,
    cpuNice,
    ContainerDef,
    createTaskVolumes,
    IMAGE_USER,
    localMounts,
    mapPaths,
    parseUser,
    PosixUser,
    programImageVolumes,
    TaskDef,
    volumeDir,
} from "./tasks";
import type { RenderedStack } from "./stack";
import { HealthCheck, HealthResult, logSinceStart, UnitSpec, UnitStatus } from "./supervisor";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
/** The stack the local Airflow mirrors, and the environment name it runs under. */
export const STACK = "staging";
export const ENVIRONMENT = "local";
export const REGION = "us-east-1";
export const ADMIN = "admin";
/**
 * The Celery worker's node name, Celery's default (`celery@` and the host name) as on ECS, where the
 * task definition names none: its liveness check pings exactly this worker. Naming it
 * (`--celery-hostname`) would also make Airflow ask the broker, for a second, whether a worker of
 * that name runs already.
 */
export const WORKER_NODE = `celery@${os.hostname()}`;

/**
 * Local settings that differ from staging, on purpose (README, "Differences from staging"): new and
 * changed DAG files are parsed within seconds instead of minutes, and a task whose worker was killed
 * is noticed in 60 s instead of 5 minutes, one queued to it in 2 minutes instead of 10 (so a run in
 * flight when the stack went down goes on).
 */
export const LOCAL_DIFFERENCES: Readonly<Record<string, string>> = {
    // New files show at the next listing of the folder; a changed file is parsed again at once (its
    // mtime is newer than its last parse; `file_parsing_sort_mode` is modified_time, the default).
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: "5",
    AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT: "60",
    // A task queued to a worker that was killed before it started (its message taken, not acked) is
    // failed, and retried, after 2 minutes instead of 10.
    AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT: "120",
    // One api-server process: with several, uvicorn kills a worker that misses its 5 s health ping
    // while Airflow imports, which on a busy machine repeats until the boot times out.
    AIRFLOW__API__WORKERS: "1",
    // Python's cyclic garbage collector runs less often (scripts/local/python/sitecustomize.py): the
    // components start on two shared cores, where each ECS task has CPU of its own.
    PYTHONPATH: path.join(ROOT, "scripts", "local", "python"),
};

export type Secrets = Record<string, string>;

/** moto's account. */
const MOTO_ACCOUNT = "123456789012";

/**
 * The Secrets Manager reference of one of the stack's secrets in moto (`airflow/local/<key>`), as a
 * container's `valueFrom`: the ARN without the six random characters Secrets Manager appends (the
 * seed creates the secret; GetSecretValue takes this partial ARN, as ECS's agent calls it).
 */
export function localSecretArn(key: string): string {
    return `arn:aws:secretsmanager:${REGION}:${MOTO_ACCOUNT}:secret:airflow/${ENVIRONMENT}/${key}`;
}

/** One secret's value from moto's Secrets Manager, by a container's `valueFrom` (GetSecretValue). */
export async function getSecretValue(valueFrom: string): Promise<string> {
    const r = await fetch(awsEnv.AWS_ENDPOINT_URL, {
        method: "POST",
        headers: {
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
            // moto checks no signature; it reads the service and region from the credential scope.
            Authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${REGION}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0`,
        },
        body: JSON.stringify({ SecretId: valueFrom }),
    });
    const body = (await r.json().catch(() => ({}))) as { SecretString?: string; message?: string };
    if (!r.ok || body.SecretString === undefined) throw new Error(body.message ?? `HTTP ${r.status}`);
    return body.SecretString;
}

/** Generated once, kept in .local/secrets.json (mode 600): the local stand-ins of the stack's secrets. */
export function localSecrets(paths: LocalPaths): Secrets {
    const file = path.join(paths.stateDir, "secrets.json");
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
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    return secrets;
}

/** The Airflow version installed in a Python environment (from its dist-info), without starting Python. */
export function installedAirflow(venv: string): string | undefined {
    const lib = path.join(venv, "lib");
    if (!existsSync(lib)) return undefined;
    for (const py of readdirSync(lib)) {
        const site = path.join(lib, py, "site-packages");
        if (!existsSync(site)) continue;
        const dist = readdirSync(site).find((d) => /^apache_airflow-\d[^-]*\.dist-info$/.test(d));
        if (dist) return /^apache_airflow-(.+)\.dist-info$/.exec(dist)![1];
    }
    return undefined;
}

/** Runs a command and resolves its exit code and output; never rejects. */
function run(
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    timeoutMs = 10_000,
    user?: { uid: number; gid: number },
): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        const options = { env, timeout: timeoutMs, encoding: "utf8" as const, uid: user?.uid, gid: user?.gid };
        execFile(command, args, options, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, out: `${stdout}${stderr}`.trim() });
        });
    });
}

/** The UI's health endpoint answers (HTTP 200). */
const uiHealth = (healthPath: string) => async (): Promise<HealthResult> => {
    const r = await fetch(`http://127.0.0.1:${PORTS.apiServer}${healthPath}`).catch(() => undefined);
    return { healthy: r?.ok === true, detail: r ? `HTTP ${r.status}` : "not listening" };
};

function tcpOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}

const check = (
    fn: (unit: UnitStatus) => Promise<HealthResult>,
    intervalS = 10,
    options: Partial<Omit<HealthCheck, "check">> = {},
): HealthCheck => ({
    check: fn,
    intervalS,
    timeoutS: 10,
    retries: 3,
    startPeriodS: 120,
    startPollS: CHEAP_POLL_S,
    ...options,
});

/**
 * Until its first success, a cheap health check (a fetch, a query on the open connection, pg_isready,
 * redis-cli, a definition's shell command) runs every 0.25 s, a definition's command that starts
 * Python every 0.5 s; the worker's reads its log every 0.25 s and sends its Celery ping (Python and
 * Celery, then up to 3 s for the answer) once the log says the worker is ready: what depends on a unit
 * starts as soon as it is healthy, where ECS waits out the interval (README, "Where it departs from
 * the task definitions").
 */
const CHEAP_POLL_S = 0.25;
const PYTHON_POLL_S = 0.5;

/** What Celery logs once the worker consumes its queues; its Celery ping is sent only after it (or after WORKER_READY_GATE_S). */
export const WORKER_READY_LINE = `${WORKER_NODE} ready.`;
const WORKER_READY_GATE_S = 60;

/**
 * Nice steps the api-server gets above its task's weight until it is first healthy (about 2.4 times
 * the CPU share): it does the most work of any component before it answers (its API's and FAB's apps,
 * about 7 CPU-seconds), so without it the boot ended with the api-server starting alone on one core.
 */
export const API_SERVER_START_BOOST = 4;

/** How long one read of the running jobs answers the job checks (they poll every 0.25 s while starting). */
const JOB_QUERY_REUSE_MS = 200;

/**
 * The age in seconds of the freshest heartbeat of a running job of `jobType` that started at or after
 * `sinceEpochS`, from psql's `-tA` rows of (job_type, start epoch, heartbeat age); undefined if none.
 */
export function youngestHeartbeat(rows: string, jobType: string, sinceEpochS: number): number | undefined {
    let youngest: number | undefined;
    for (const line of rows.split("\n")) {
        const [type, start, age] = line.split("|");
        if (type !== jobType || !(Number(start) >= sinceEpochS) || age === undefined || age === "") continue;
        youngest = youngest === undefined ? Number(age) : Math.min(youngest, Number(age));
    }
    return youngest;
}

/** SQL against the local stack's airflow database (sql.ts: one connection kept open); resolves psql -tA rows. */
function sqlRunner(secrets: Secrets): (query: string) => Promise<string> {
    const { query } = sqlClient({
        host: "127.0.0.1",
        port: PORTS.postgres,
        user: "airflow",
        password: secrets.dbPassword,
        database: "airflow",
    });
    return query;
}
const psqlArgs = () => [
    "-h",
    "127.0.0.1",
    "-p",
    String(PORTS.postgres),
    "-U",
    "airflow",
    "-v",
    "ON_ERROR_STOP=1",
    "-tA",
];
const pgEnv = (s: Secrets) => ({ PATH: process.env.PATH, PGPASSWORD: s.dbPassword, LANG: "C.UTF-8" });
const awsEnv = {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_DEFAULT_REGION: REGION,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${PORTS.moto}`,
};

/**
 * The infrastructure: PostgreSQL (initialised once, run as the postgres user when root), the airflow
 * database, Redis and moto. Needs no stack configuration, so it starts while that loads.
 */
export function infraUnits(paths: LocalPaths): { units: UnitSpec[]; secrets: Secrets } {
    const s = localSecrets(paths);
    const pgUser = process.getuid?.() === 0 ? { uid: uidOf("postgres"), gid: gidOf("postgres") } : undefined;
    const dataDir = path.join(paths.stateDir, "postgres");
    const redisDir = path.join(paths.stateDir, "redis");
    const motoDir = path.join(paths.stateDir, "moto");
    for (const dir of [paths.logs, redisDir, motoDir]) mkdirSync(dir, { recursive: true });
    const psql = psqlArgs().join(" ");
    const units: UnitSpec[] = [
        {
            name: "postgres-init",
            kind: "oneshot",
            command: "bash",
            args: ["-c", initdbScript(dataDir, pgUser !== undefined)],
            env: { PATH: process.env.PATH, PG_BIN, PG_PASSWORD: s.dbPassword, LANG: "C.UTF-8" },
            cwd: ROOT,
            skipIf: async () =>
                existsSync(path.join(dataDir, "PG_VERSION")) ? "the cluster in .local/postgres exists" : undefined,
        },
        {
            name: "postgres",
            kind: "service",
            command: path.join(PG_BIN, "postgres"),
            args: [
                "-D",
                dataDir,
                "-p",
                String(PORTS.postgres),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ],
            env: { PATH: process.env.PATH, LANG: "C.UTF-8" },
            cwd: dataDir,
            user: pgUser,
            dependsOn: [{ unit: "postgres-init", condition: "SUCCESS" }],
            healthCheck: check(async () => {
                const r = await run(
                    path.join(PG_BIN, "pg_isready"),
                    ["-h", "127.0.0.1", "-p", String(PORTS.postgres)],
                    pgEnv(s),
                );
                return { healthy: r.code === 0, detail: r.out };
            }),
            stopSignal: "SIGINT", // fast shutdown: ends the sessions, checkpoints, exits
            stopTimeoutS: 3,
            stopTier: 2,
        },
        {
            name: "database",
            kind: "oneshot",
            command: "bash",
            args: [
                "-c",
                `psql ${psql} -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'airflow'" | grep -q 1 || psql ${psql} -d postgres -c "CREATE DATABASE airflow"`,
            ],
            env: pgEnv(s),
            cwd: ROOT,
            dependsOn: [{ unit: "postgres", condition: "HEALTHY" }],
        },
        {
            name: "redis",
            kind: "service",
            command: "redis-server",
            args: [redisConfig(redisDir, s.redisPassword)],
            env: { PATH: process.env.PATH },
            cwd: redisDir,
            healthCheck: check(async () => {
                const r = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(PORTS.redis), "ping"], {
                    PATH: process.env.PATH,
                    REDISCLI_AUTH: s.redisPassword,
                });
                return { healthy: r.out === "PONG", detail: r.out };
            }),
            stopTimeoutS: 3,
            stopTier: 2,
        },
        {
            name: "moto",
            kind: "service",
            command: path.join(paths.toolsBin, "python"),
            args: [path.join(__dirname, "moto_server.py"), String(PORTS.moto), path.join(motoDir, "state.pickle")],
            env: { PATH: `${paths.toolsBin}:${process.env.PATH}`, ...awsEnv },
            cwd: ROOT,
            healthCheck: check(async () => ({
                healthy: (await fetch(`http://127.0.0.1:${PORTS.moto}/moto-api/`).catch(() => undefined))?.ok === true,
            })),
            stopTimeoutS: 3,
            stopTier: 2,
        },
    ];
    return { units, secrets: s };
}

export interface AirflowUnits {
    units: UnitSpec[];
    airflowVersion: string;
    /** Gives a task new volumes as Fargate does at its start (the supervisor's task start hook). */
    onTaskStart: (task: string) => void;
}

/** The unit that runs one container of a task: the task's name for its main container, `<task>-<container>` otherwise. */
export function unitName(task: TaskDef, container: string): string {
    return task.name === "control" || container === task.name ? container : `${task.name}-${container}`;
}

/**
 * The Airflow side: moto seeded with what the program creates for the DAGs, the DAG files deployed
 * to its bucket, and every container of the Celery layout's task definitions (stack.ts, localTasks),
 * each run as Fargate runs it (tasks.ts): its user, its command as the image's entrypoint runs it,
 * its environment and secrets, its volumes, dependsOn, health check and essential flag.
 */
export async function airflowUnits(paths: LocalPaths, s: Secrets): Promise<AirflowUnits> {
    const airflowVersion = installedAirflow(paths.venv);
    const r = await renderedStack(paths, airflowVersion);
    const bin = (name: string) => path.join(paths.venvBin, name);
    const basePath = `${paths.venvBin}:${process.env.PATH}`;
    const sql = sqlRunner(s);
    const root = process.getuid?.() === 0;
    const declaredVolumes = programImageVolumes(ROOT);
    const taskDirs: Record<string, Record<string, string>> = {};
    prepareAirflowHome(paths, root);

    /**
     * The running Airflow jobs (type, start, heartbeat age in seconds), read once for every job check
     * that asks within JOB_QUERY_REUSE_MS: the scheduler's, dag-processor's and triggerer's checks
     * poll every 0.25 s while they start, and one query answers all three.
     */
    let jobs: { at: number; rows: Promise<string> } | undefined;
    const runningJobs = (): Promise<string> => {
        if (!jobs || Date.now() - jobs.at > JOB_QUERY_REUSE_MS) {
            jobs = {
                at: Date.now(),
                rows: sql(
                    "SELECT job_type, extract(epoch FROM start_date), round(extract(epoch FROM now() - latest_heartbeat)) " +
                        "FROM job WHERE state = 'running'",
                ),
            };
        }
        return jobs.rows;
    };
    /** An Airflow job's heartbeat, as `airflow jobs check` reads it, from this start of the unit. */
    const jobHeartbeat =
        (jobType: string): ((unit: UnitStatus) => Promise<HealthResult>) =>
        async (unit) => {
            const since = Date.parse(unit.startedAt ?? new Date().toISOString());
            const age = youngestHeartbeat(await runningJobs(), jobType, since / 1000 - 5);
            if (age === undefined) return { healthy: false, detail: `no ${jobType} has started yet` };
            return age <= 30
                ? { healthy: true, detail: `${jobType} heartbeat ${age} s ago` }
                : { healthy: false, detail: `${jobType} heartbeat ${age} s ago` };
        };
    /**
     * The main containers' health checks, locally: what each task definition's command checks, without
     * starting Python every time (`airflow jobs check` reads the job's heartbeat, the worker's `celery
     * inspect ping` is celery_ping.py, the UI's curl is a fetch of the loopback port).
     */
    const localCheck: Partial<Record<AirflowComponent, (unit: UnitStatus) => Promise<HealthResult>>> = {
        "api-server": uiHealth(r.healthPath),
        webserver: uiHealth(r.healthPath),
        scheduler: jobHeartbeat("SchedulerJob"),
        "dag-processor": jobHeartbeat("DagProcessorJob"),
        triggerer: jobHeartbeat("TriggererJob"),
        worker: async (unit) => {
            // Until this start's log says the worker is ready, a ping (Python and Celery, then up to 3 s
            // for an answer) cannot succeed: it is not sent, for at most WORKER_READY_GATE_S.
            const since = Date.parse(unit.startedAt ?? new Date().toISOString());
            if (Date.now() - since < WORKER_READY_GATE_S * 1000 && !logSinceStart(unit.log).includes(WORKER_READY_LINE))
                return { healthy: false, detail: `its log does not show "${WORKER_READY_LINE}" yet` };
            // Liveness: the worker answers Celery's ping through the broker (what `celery inspect ping` does).
            const out = await run(bin("python"), [path.join(__dirname, "celery_ping.py"), WORKER_NODE], {
                PATH: basePath,
                BROKER_URL: brokerUrl(s),
            });
            return { healthy: out.code === 0, detail: out.out.split("\n").slice(-1)[0] };
        },
        flower: async () => ({ healthy: await tcpOpen(PORTS.flower) }),
    };
    const migratedFile = path.join(paths.stateDir, "migrated.json");
    /** Set once the control task's migrate succeeded or had nothing to do: what wait-for-migrations waits for. */
    let migrated = false;

    const seedRequest = JSON.stringify(r.seedRequest);
    const seedFile = path.join(paths.stateDir, "seed-request.json");
    writeFileSync(seedFile, seedRequest);
    const seededFile = path.join(paths.stateDir, "moto", "seeded");
    const motoState = path.join(paths.stateDir, "moto", "state.pickle");
    // The stack's secrets, which the seed stores in moto's Secrets Manager (mode 600, as secrets.json).
    const secretsFile = path.join(paths.stateDir, "secret-values.json");
    const secretsJson = JSON.stringify(secretValues(s));
    writeFileSync(secretsFile, secretsJson, { mode: 0o600 });
    const seedHash = createHash("sha256").update(seedRequest).update(secretsJson).digest("hex");
    const deployedFile = path.join(paths.stateDir, "dags-deployed");
    rmSync(deployedFile, { force: true });
    const artifactsBucket = (r.seedRequest as { artifactsBucket: string }).artifactsBucket;

    const units: UnitSpec[] = [
        {
            name: "seed",
            kind: "oneshot",
            command: path.join(paths.toolsBin, "python"),
            args: [path.join(__dirname, "seed.py"), seedFile, secretsFile],
            env: { PATH: `${paths.toolsBin}:${process.env.PATH}`, ...awsEnv },
            cwd: ROOT,
            dependsOn: [{ unit: "moto", condition: "HEALTHY" }],
            // moto's saved state has it all when the same request was seeded before that state was saved.
            skipIf: async () =>
                existsSync(seededFile) &&
                readFileSync(seededFile, "utf8") === seedHash &&
                existsSync(motoState) &&
                statSync(motoState).mtimeMs > statSync(seededFile).mtimeMs
                    ? "moto's saved state holds what it created"
                    : undefined,
            onSuccess: () => writeFileSync(seededFile, seedHash),
        },
        {
            // What `pulumi up` does with the DAG files (AirflowStorage's deploy): each file of the DAGs
            // folder as an object under dags/ of the artifacts bucket; locally, again whenever one changes.
            name: "deploy-dags",
            kind: "service",
            command: process.execPath,
            args: [
                ...TSX,
                path.join(__dirname, "deploy-dags.ts"),
                paths.dags,
                artifactsBucket,
                r.dagsPrefix,
                deployedFile,
            ],
            env: { PATH: process.env.PATH, AWS_ENDPOINT_URL: awsEnv.AWS_ENDPOINT_URL },
            cwd: ROOT,
            dependsOn: [{ unit: "seed", condition: "SUCCESS" }],
            healthCheck: check(async () => ({ healthy: existsSync(deployedFile), detail: "the first upload" }), 10, {
                startPeriodS: 60,
            }),
            stopTimeoutS: 2,
        },
    ];

    for (const task of r.tasks) {
        const main = task.containers.find((c) => c.name === task.name);
        for (const c of task.containers) {
            const name = unitName(task, c.name);
            const user = parseUser(c.user);
            const { program, args } = localEntrypoint(c.command ?? [], c.environment ?? []);
            const programPath = program === "bash" ? "bash" : bin(program);
            const runAs = root && user.uid !== 0 ? user : undefined;
            const dependsOn = containerDependsOn(task, c);
            const tmp = path.join(paths.stateDir, "tasks", task.name, "containers", c.name, "tmp");
            const resolved: Record<string, string> = {};
            const component = c === main ? (task.name as AirflowComponent) : undefined;
            const hc = c.healthCheck;
            const spec: UnitSpec = {
                name,
                kind: c.essential === false ? "oneshot" : "service",
                task: task.name,
                essential: c.essential ?? true,
                ...asUser(runAs, programPath, args),
                env: {},
                cwd: ROOT,
                dependsOn,
                stopTimeoutS: c.name === "worker" ? 5 : 3,
                // The task's CPU units as a CPU weight: on two shared cores the components compete as
                // tasks of their sizes would for a host's CPU shares (Flower's 256 units weigh a quarter
                // of the api-server's 1024), and the api-server, the last to be healthy, gets
                // API_SERVER_START_BOOST more while it starts.
                nice: task.cpu === undefined ? undefined : cpuNice(task.cpu),
                startNice:
                    task.cpu !== undefined && (component === "api-server" || component === "webserver")
                        ? cpuNice(task.cpu) - API_SERVER_START_BOOST
                        : undefined,
                // uvicorn has drained its requests and closed its port: the interpreter's teardown that
                // follows (seconds of garbage collection on a busy machine) need not be waited for.
                stoppedWhenLogged: component === "api-server" ? /Finished server process/ : undefined,
                // Its secrets, read from Secrets Manager in moto by their valueFrom at each start, as
                // ECS's agent reads them before it starts the container.
                resolve: async () => {
                    for (const secret of c.secrets ?? []) {
                        try {
                            resolved[secret.valueFrom] = await getSecretValue(secret.valueFrom);
                        } catch (err) {
                            throw new LocalError(
                                `secret ${secret.name} of container ${c.name} could not be read from Secrets Manager (valueFrom ${secret.valueFrom}): ${(err as Error).message}`,
                            );
                        }
                    }
                },
                preStart: () => {
                    // The task's volumes exist (onTaskStart); the container's paths are mapped onto them.
                    const dirs = taskDirs[task.name] ?? {};
                    checkMounts(task.name, c, dirs);
                    const mounts = [...localMounts(c, dirs), { containerPath: "/tmp/", dir: `${tmp}/` }];
                    rmSync(tmp, { recursive: true, force: true });
                    mkdirSync(tmp, { recursive: true });
                    if (root) chownSync(tmp, user.uid, user.gid);
                    Object.assign(
                        spec,
                        asUser(
                            runAs,
                            programPath,
                            args.map((a) => mapPaths(a, mounts)),
                        ),
                    );
                    spec.env = containerEnv(paths, s, c, mounts, resolved);
                },
            };
            if (hc && component && localCheck[component]) {
                spec.healthCheck = check(localCheck[component]!, hc.interval ?? 30, {
                    timeoutS: hc.timeout ?? 5,
                    retries: hc.retries ?? 3,
                    startPeriodS: hc.startPeriod ?? 0,
                    startPollS: CHEAP_POLL_S,
                });
            } else if (hc) {
                // The definition's own command (CMD-SHELL), run as the container's user in its environment.
                spec.healthCheck = check(
                    async () => {
                        const mounts = [
                            ...localMounts(c, taskDirs[task.name] ?? {}),
                            { containerPath: "/tmp/", dir: `${tmp}/` },
                        ];
                        const command = mapPaths(hc.command.slice(1).join(" "), mounts);
                        const sh = asUser(runAs, "sh", ["-c", command]);
                        const out = await run(sh.command, sh.args, spec.env, (hc.timeout ?? 5) * 1000);
                        return {
                            healthy: out.code === 0,
                            detail: out.code === 0 ? "" : out.out.split("\n").slice(-1)[0] || `exit ${out.code}`,
                        };
                    },
                    hc.interval ?? 30,
                    {
                        timeoutS: hc.timeout ?? 5,
                        retries: hc.retries ?? 3,
                        startPeriodS: hc.startPeriod ?? 0,
                        // Each check of one that starts Python costs that interpreter's start.
                        startPollS: /\bpython\b/.test(hc.command.join(" ")) ? PYTHON_POLL_S : CHEAP_POLL_S,
                    },
                );
            }
            if (c.name === "migrate") {
                // The control task's script (airflow db migrate, then the admin user only if absent),
                // skipped when the database is at the revision this Airflow last migrated it to.
                spec.skipIf = async () => {
                    if (!existsSync(migratedFile)) return undefined;
                    const done = JSON.parse(readFileSync(migratedFile, "utf8")) as {
                        airflow: string;
                        revision: string;
                    };
                    const revision = await sql("SELECT version_num FROM alembic_version");
                    if (done.airflow !== airflowVersion || done.revision !== revision) return undefined;
                    migrated = true;
                    return `the database is at revision ${revision}, where Airflow ${airflowVersion} migrated it`;
                };
                spec.onSuccess = () => {
                    migrated = true;
                    void sql("SELECT version_num FROM alembic_version").then((revision) =>
                        writeFileSync(migratedFile, JSON.stringify({ airflow: airflowVersion, revision })),
                    );
                };
            }
            if (c.name === "wait-for-migrations") {
                // `airflow db check-migrations` waits until the database is at this Airflow's head: that
                // is what the control task's migrate just made it (it depends on migrate locally).
                spec.skipIf = async () =>
                    migrated ? "the control task's migrate brought the database to this Airflow's head" : undefined;
            }
            units.push(spec);
        }
    }
    return {
        units,
        airflowVersion: r.airflowVersion,
        onTaskStart: (name) => {
            const task = r.tasks.find((t) => t.name === name);
            if (task) taskDirs[name] = createTaskVolumes(paths.stateDir, task, declaredVolumes);
        },
    };
}

/**
 * What a container's unit waits for: its dependsOn within its task, and, locally, what it waits for
 * outside its task (on ECS: the agent, retries and polling). ECS resolves a container's secrets as the
 * task starts, so every container with secrets waits for the seed that stores them in moto.
 */
export function containerDependsOn(task: TaskDef, c: ContainerDef): NonNullable<UnitSpec["dependsOn"]> {
    const dependsOn: NonNullable<UnitSpec["dependsOn"]> = (c.dependsOn ?? []).map((d) => ({
        unit: unitName(task, d.containerName),
        condition: d.condition,
    }));
    if (c.name === "migrate") dependsOn.push({ unit: "database", condition: "SUCCESS" });
    if (c.name === "wait-for-migrations") dependsOn.push({ unit: "migrate", condition: "SUCCESS" });
    if (c.name === "dag-sync") dependsOn.push({ unit: "deploy-dags", condition: "HEALTHY" });
    if (c.name === task.name) dependsOn.push({ unit: "redis", condition: "HEALTHY" });
    if (c.secrets?.length) dependsOn.push({ unit: "seed", condition: "SUCCESS" });
    return dependsOn;
}

/**
 * A command run as a container's user: under `setpriv`, with the container's uid and gid and no
 * supplementary group, and one capability, CAP_DAC_READ_SEARCH: it reads and traverses what it could
 * not (this machine's Python interpreters live under /root, mode 0700), but writes only where its
 * user may, which is what the volume check is about. Without a user (not root here, or a root
 * container) the command runs as it is.
 */
export function asUser(
    user: PosixUser | undefined,
    command: string,
    args: string[],
): { command: string; args: string[] } {
    if (!user) return { command, args };
    const caps = ["--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search"];
    const ids = ["--reuid", String(user.uid), "--regid", String(user.gid), "--clear-groups"];
    return { command: "setpriv", args: [...ids, ...caps, "--", command, ...args] };
}

/**
 * AIRFLOW_HOME (logs) and the containers' HOME, owned by the image's user, as in the image. Without the
 * airflow.cfg a previous start's Airflow wrote: every ECS task starts from the image, so an Airflow
 * never reads the defaults another version wrote (3.3.1 warned of the options 3.0.6's file named).
 */
export function prepareAirflowHome(paths: Pick<LocalPaths, "stateDir">, root: boolean): void {
    rmSync(path.join(paths.stateDir, "airflow", "airflow.cfg"), { force: true });
    for (const dir of [path.join(paths.stateDir, "airflow"), path.join(paths.stateDir, "home")]) {
        mkdirSync(dir, { recursive: true });
        if (root) execFileSync("chown", ["-R", `${IMAGE_USER.uid}:${IMAGE_USER.gid}`, dir]);
    }
}

/** Every source the rendering reads: the stack files, config/, lib/, components/, sidecars/, stack.ts, this file, the lock. */
function renderKey(airflowVersion: string | undefined, dagsFolder: string): string {
    const hash = createHash("sha256").update(`${airflowVersion}\n${dagsFolder}\n`);
    const add = (file: string) => hash.update(`${file}\n`).update(readFileSync(file));
    const walk = (dir: string, ext: RegExp) => {
        for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(file, ext);
            else if (ext.test(entry.name)) add(file);
        }
    };
    for (const f of ["Pulumi.yaml", `Pulumi.${STACK}.yaml`, "package-lock.json"]) add(path.join(ROOT, f));
    for (const d of ["config", "lib", "components"]) walk(path.join(ROOT, d), /\.ts$/);
    // The migration script inlines sidecars/migration_guard.py.
    walk(path.join(ROOT, "sidecars"), /\.py$/);
    add(__filename);
    add(path.join(__dirname, "stack.ts"));
    return hash.digest("hex");
}

/**
 * The program's side of the local stack, rendered by the program's own parser and functions
 * (stack.ts, which loads @pulumi/pulumi and @pulumi/aws: seconds of CPU), and cached in
 * .local/rendered.json under a hash of every source they read, so that a warm start does not wait for them.
 */
export async function renderedStack(paths: LocalPaths, venvAirflow: string | undefined): Promise<RenderedStack> {
    const file = path.join(paths.stateDir, "rendered.json");
    const key = renderKey(venvAirflow, paths.dags);
    if (existsSync(file)) {
        const cached = JSON.parse(readFileSync(file, "utf8")) as RenderedStack;
        if (cached.key === key) return cached;
    }
    const { renderStack } = await import("./stack");
    const rendered = renderStack({
        key,
        airflowVersion: venvAirflow,
        dagsFolder: paths.dags,
        extra: { ...LOCAL_DIFFERENCES },
    });
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(file, JSON.stringify(rendered, null, 2));
    return rendered;
}

/** The local values of the stack's secrets (what the seed stores in moto), by their `valueFrom` (localSecretArn). */
function secretValues(s: Secrets): Record<string, string> {
    const db = `airflow:${s.dbPassword}@127.0.0.1:${PORTS.postgres}/airflow`;
    return {
        [localSecretArn("sql-alchemy-conn")]: sqlAlchemyConnUri(db, false),
        [localSecretArn("result-backend")]: resultBackendUri(db, false),
        [localSecretArn("broker-url")]: brokerUrl(s),
        [localSecretArn("fernet-key")]: s.fernetKey,
        [localSecretArn("api-secret-key")]: s.apiSecretKey,
        [localSecretArn("jwt-secret")]: s.jwtSecret,
        [localSecretArn("admin-password")]: s.adminPassword,
        [localSecretArn("flower-basic-auth")]: `${ADMIN}:${s.flowerPassword}`,
    };
}

/**
 * What one container's process gets: its definition's environment with the container paths of its
 * mounts mapped onto their local directories, its secrets' values, and what the container would have
 * from the image and ECS (PATH, HOME, AIRFLOW_HOME; AWS credentials, which on ECS are the task role's,
 * and moto's endpoint).
 */
export function containerEnv(
    paths: LocalPaths,
    s: Secrets,
    container: Pick<ContainerDef, "environment" | "secrets">,
    mounts: readonly { containerPath: string; dir: string }[],
    values: Readonly<Record<string, string>> = secretValues(s),
): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
        PATH: `${paths.venvBin}:${process.env.PATH}`,
        HOME: path.join(paths.stateDir, "home"),
        LANG: "C.UTF-8",
        AIRFLOW_HOME: path.join(paths.stateDir, "airflow"),
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_ENDPOINT_URL: awsEnv.AWS_ENDPOINT_URL,
        // moto's SageMaker jobs end within seconds: poll them every 5 s instead of every minute.
        AIRFLOW_ON_AWS_SAGEMAKER_CHECK_INTERVAL: "5",
    };
    for (const e of container.environment ?? []) env[e.name] = mapPaths(e.value, mounts);
    for (const secret of container.secrets ?? []) {
        const value = values[secret.valueFrom];
        if (value === undefined)
            throw new LocalError(`secret ${secret.name} (valueFrom ${secret.valueFrom}) was not read`);
        env[secret.name] = value;
    }
    return env;
}

/**
 * What the Airflow process of one component's main container gets (the drills' own workers run with
 * the worker's): its environment, its DAGs folder that of its task's dags volume.
 */
export function componentEnv(
    paths: LocalPaths,
    s: Secrets,
    rendered: RenderedStack,
    component: AirflowComponent,
): NodeJS.ProcessEnv {
    const task = rendered.tasks.find((t) => t.name === component);
    const container = task?.containers.find((c) => c.name === component);
    if (!task || !container) throw new LocalError(`the local stack renders no task for ${component}`);
    const dirs = Object.fromEntries(task.volumes.map((v) => [v.name, volumeDir(paths.stateDir, task.name, v.name)]));
    return containerEnv(paths, s, container, localMounts(container, dirs));
}

const brokerUrl = (s: Secrets) =>
    redisBrokerUri({ password: s.redisPassword, host: "127.0.0.1", port: PORTS.redis, tls: false });

function uidOf(user: string): number {
    return Number(execFileSync("id", ["-u", user]).toString());
}
function gidOf(user: string): number {
    return Number(execFileSync("id", ["-g", user]).toString());
}

/** initdb of .local/postgres, as the postgres user when root (PostgreSQL refuses to run as root). */
export function initdbScript(dataDir: string, asPostgres: boolean): string {
    const initdb = `"$PG_BIN/initdb" -D '${dataDir}' -U airflow --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8`;
    return [
        "set -euo pipefail",
        `mkdir -p '${dataDir}'`,
        `pwfile=$(mktemp)`,
        `trap 'rm -f "$pwfile"' EXIT`,
        `printf '%s\\n' "$PG_PASSWORD" > "$pwfile"`,
        ...(asPostgres ? [`chown postgres: '${dataDir}' "$pwfile"`, `runuser -u postgres -- ${initdb}`] : [initdb]),
    ].join("\n");
}

/** Redis with its data kept in .local/redis: an append-only file, fsync'd every second. */
function redisConfig(dir: string, password: string): string {
    const file = path.join(dir, "redis.conf");
    writeFileSync(
        file,
        [
            "bind 127.0.0.1",
            `port ${PORTS.redis}`,
            `requirepass ${password}`,
            `dir ${dir}`,
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    return file;
}
