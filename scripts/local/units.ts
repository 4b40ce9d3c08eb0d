// What the local stack runs: the one list of its processes (units), with their commands,
// environments, dependencies and health checks. Everything else (supervisor.ts) is generic, so this
// list can later be replaced by the Celery task definitions rendered into units (a container's
// command, environment, user, dependsOn and health check map one to one onto a UnitSpec).
//
// The Airflow processes get the environment CeleryCluster writes into its task definitions: the same
// function (lib/airflow-env.ts), pointed at the local endpoints, with the secrets' values (generated
// once, kept in .local/) in place of their Secrets Manager ARNs.
import { execFile, execFileSync } from "child_process";
import { randomBytes } from "crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import * as net from "net";
import * as path from "path";
import { createHash } from "crypto";
import { statSync } from "fs";
import type { AirflowConfig } from "../../config";
import type { AirflowComponent, ContainerEnv } from "../../lib/airflow-env";
import { LocalPaths, PORTS, ROOT } from "./paths";
import { HealthCheck, HealthResult, UnitSpec, UnitStatus } from "./supervisor";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
/** The stack the local Airflow mirrors, and the environment name it runs under. */
export const STACK = "staging";
export const ENVIRONMENT = "local";
export const REGION = "us-east-1";
export const ADMIN = "admin";
/** The Celery worker's node name: its liveness check pings exactly this worker. */
export const WORKER_NODE = "worker@local";

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
};

export type Secrets = Record<string, string>;

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

/**
 * The configuration of the stack the local Airflow mirrors, read and checked by the program's own
 * loader (config/) from its committed stack file, as the tests and the offline plan read it. Loaded
 * lazily (it loads @pulumi/pulumi): the infrastructure starts meanwhile.
 */
export async function stackConfig(): Promise<AirflowConfig> {
    const { useStack } = await import("../../tools/harness/program");
    const { loadConfig } = await import("../../config");
    useStack(STACK);
    return loadConfig();
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
): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        execFile(command, args, { env, timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, out: `${stdout}${stderr}`.trim() });
        });
    });
}

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
): HealthCheck => ({ check: fn, intervalS, timeoutS: 10, retries: 3, startPeriodS: 120, ...options });

/** SQL against a database of the local PostgreSQL (psql -tA); resolves the output, rejects on an error. */
function sqlRunner(secrets: Secrets): (query: string, db?: string) => Promise<string> {
    return async (query, db = "airflow") => {
        const r = await run("psql", [...psqlArgs(), "-d", db, "-c", query], pgEnv(secrets));
        if (r.code !== 0) throw new Error(r.out.split("\n")[0]);
        return r.out;
    };
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
    const bin = (name: string) => path.join(paths.venvBin, name);
    const pgUser = process.getuid?.() === 0 ? { uid: uidOf("postgres"), gid: gidOf("postgres") } : undefined;
    const dataDir = path.join(paths.stateDir, "postgres");
    const redisDir = path.join(paths.stateDir, "redis");
    const motoDir = path.join(paths.stateDir, "moto");
    for (const dir of [paths.logs, redisDir, motoDir]) mkdirSync(dir, { recursive: true });
    const basePath = `${paths.venvBin}:${process.env.PATH}`;
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
            command: bin("python"),
            args: [path.join(__dirname, "moto_server.py"), String(PORTS.moto), path.join(motoDir, "state.pickle")],
            env: { PATH: basePath, ...awsEnv },
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
}

/**
 * The Airflow side: moto seeded with what the program creates for the DAGs, the migration, and the
 * Airflow components of the Celery layout, from the mirrored stack's configuration.
 */
export async function airflowUnits(paths: LocalPaths, s: Secrets): Promise<AirflowUnits> {
    const airflowVersion = installedAirflow(paths.venv);
    const r = await renderedStack(paths, airflowVersion);
    const queues = r.queues;
    const bin = (name: string) => path.join(paths.venvBin, name);
    const basePath = `${paths.venvBin}:${process.env.PATH}`;
    const sql = sqlRunner(s);
    /** What every Airflow process of one component gets: the stack's environment, local values in. */
    const componentEnv = (component: AirflowComponent): NodeJS.ProcessEnv => {
        const db = `airflow:${s.dbPassword}@127.0.0.1:${PORTS.postgres}/airflow`;
        const values: Record<string, string> = {
            "local:sql-alchemy-conn": `postgresql+psycopg2://${db}`,
            "local:result-backend": `db+postgresql://${db}`,
            "local:broker-url": `redis://:${s.redisPassword}@127.0.0.1:${PORTS.redis}/0`,
            "local:fernet-key": s.fernetKey,
            "local:api-secret-key": s.apiSecretKey,
            "local:jwt-secret": s.jwtSecret,
            "local:admin-password": s.adminPassword,
            "local:flower-basic-auth": `${ADMIN}:${s.flowerPassword}`,
        };
        const rendered = r.environments[component]!;
        const env: NodeJS.ProcessEnv = {
            PATH: basePath,
            HOME: process.env.HOME,
            LANG: "C.UTF-8",
            AIRFLOW_HOME: path.join(paths.stateDir, "airflow"),
            AWS_ACCESS_KEY_ID: "testing",
            AWS_SECRET_ACCESS_KEY: "testing",
            // moto's SageMaker jobs end within seconds: poll them every 5 s instead of every minute.
            AIRFLOW_ON_AWS_SAGEMAKER_CHECK_INTERVAL: "5",
        };
        for (const e of rendered.environment) env[e.name] = e.value;
        for (const secret of rendered.secrets) env[secret.name] = values[secret.valueFrom];
        return env;
    };
    const config = { airflowVersion: r.airflowVersion };

    /** An Airflow job's heartbeat, as `airflow jobs check` reads it, from this start of the unit. */
    const jobHeartbeat =
        (jobType: string): ((unit: UnitStatus) => Promise<HealthResult>) =>
        async (unit) => {
            const since = Date.parse(unit.startedAt ?? new Date().toISOString());
            const out = await sql(
                `SELECT round(extract(epoch FROM now() - max(latest_heartbeat))) FROM job ` +
                    `WHERE job_type = '${jobType}' AND state = 'running' AND start_date >= to_timestamp(${since / 1000 - 5})`,
            );
            if (out === "") return { healthy: false, detail: `no ${jobType} has started yet` };
            const age = Number(out);
            return age <= 30
                ? { healthy: true, detail: `${jobType} heartbeat ${age} s ago` }
                : { healthy: false, detail: `${jobType} heartbeat ${age} s ago` };
        };
    const airflow = (
        name: string,
        component: AirflowComponent,
        args: string[],
        healthCheck: HealthCheck,
        dependsOn: UnitSpec["dependsOn"],
    ): UnitSpec => ({
        name,
        kind: "service",
        command: bin("airflow"),
        args,
        env: componentEnv(component),
        cwd: ROOT,
        dependsOn,
        healthCheck,
        stopTimeoutS: 3,
    });
    const afterMigrations = [{ unit: "migrate", condition: "SUCCESS" as const }];
    const migratedFile = path.join(paths.stateDir, "migrated.json");

    const seedRequest = JSON.stringify(r.seedRequest);
    const seedFile = path.join(paths.stateDir, "seed-request.json");
    writeFileSync(seedFile, seedRequest);
    const seededFile = path.join(paths.stateDir, "moto", "seeded");
    const motoState = path.join(paths.stateDir, "moto", "state.pickle");
    const seedHash = createHash("sha256").update(seedRequest).digest("hex");

    const units: UnitSpec[] = [
        {
            name: "seed",
            kind: "oneshot",
            command: bin("python"),
            args: [path.join(__dirname, "seed.py"), seedFile],
            env: { PATH: basePath, ...awsEnv },
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
            // The control service's own script (airflow db migrate, then the admin user only if absent),
            // skipped when the database is at the revision this Airflow last migrated it to.
            name: "migrate",
            kind: "oneshot",
            command: "bash",
            args: ["-c", r.migrateScript],
            env: componentEnv("migrations"),
            cwd: ROOT,
            dependsOn: [{ unit: "database", condition: "SUCCESS" }],
            skipIf: async () => {
                if (!existsSync(migratedFile)) return undefined;
                const done = JSON.parse(readFileSync(migratedFile, "utf8")) as { airflow: string; revision: string };
                const revision = await sql("SELECT version_num FROM alembic_version");
                return done.airflow === airflowVersion && done.revision === revision
                    ? `the database is at revision ${revision}, where Airflow ${airflowVersion} migrated it`
                    : undefined;
            },
            onSuccess: () => {
                void sql("SELECT version_num FROM alembic_version").then((revision) =>
                    writeFileSync(migratedFile, JSON.stringify({ airflow: airflowVersion, revision })),
                );
            },
        },
        airflow(
            "api-server",
            "api-server",
            // One uvicorn process: with several, uvicorn kills a worker that misses its 5 s health ping
            // while Airflow imports, which on a busy machine repeats until the boot times out.
            ["api-server", "--port", String(PORTS.apiServer), "--host", "127.0.0.1", "--workers", "1"],
            check(async () => {
                const r = await fetch(`http://127.0.0.1:${PORTS.apiServer}/api/v2/monitor/health`).catch(
                    () => undefined,
                );
                return { healthy: r?.ok === true, detail: r ? `HTTP ${r.status}` : "not listening" };
            }),
            afterMigrations,
        ),
        airflow("scheduler", "scheduler", ["scheduler"], check(jobHeartbeat("SchedulerJob")), [
            ...afterMigrations,
            { unit: "redis", condition: "HEALTHY" },
        ]),
        airflow(
            "dag-processor",
            "dag-processor",
            ["dag-processor"],
            check(jobHeartbeat("DagProcessorJob")),
            afterMigrations,
        ),
        airflow("triggerer", "triggerer", ["triggerer"], check(jobHeartbeat("TriggererJob")), afterMigrations),
        airflow(
            "worker",
            "worker",
            ["celery", "worker", "--queues", queues.join(","), "--concurrency", "8", "--celery-hostname", WORKER_NODE],
            // Liveness: the worker answers Celery's ping through the broker (what `celery inspect ping` does).
            check(
                async () => {
                    const r = await run(bin("python"), [path.join(__dirname, "celery_ping.py"), WORKER_NODE], {
                        PATH: basePath,
                        BROKER_URL: `redis://:${s.redisPassword}@127.0.0.1:${PORTS.redis}/0`,
                    });
                    return { healthy: r.code === 0, detail: r.out.split("\n").slice(-1)[0] };
                },
                15,
                { timeoutS: 15 },
            ),
            // Not on the seed: no task runs before the boot is over, and it waits for the seed too.
            [...afterMigrations, { unit: "redis", condition: "HEALTHY" }],
        ),
        airflow(
            "flower",
            "flower",
            ["celery", "flower", "--port", String(PORTS.flower), "--hostname", "127.0.0.1"],
            check(async () => ({ healthy: await tcpOpen(PORTS.flower) })),
            [...afterMigrations, { unit: "redis", condition: "HEALTHY" }],
        ),
    ];
    // The worker gets the longest stop: Celery's warm shutdown lets running tasks finish.
    units.find((u) => u.name === "worker")!.stopTimeoutS = 5;
    return { units, airflowVersion: airflowVersion ?? config.airflowVersion };
}

/** What the local stack takes from the program: rendered by its own functions, or read from the cache. */
interface RenderedStack {
    key: string;
    airflowVersion: string;
    queues: string[];
    seedRequest: unknown;
    migrateScript: string;
    /** Each component's environment, secrets as `local:*` references (their values stay in secrets.json). */
    environments: Partial<Record<AirflowComponent, ContainerEnv>>;
}

const LOCAL_COMPONENTS: AirflowComponent[] = [
    "migrations",
    "api-server",
    "scheduler",
    "dag-processor",
    "triggerer",
    "worker",
    "flower",
];

/** Every source the rendering reads: the stack files, config/, lib/, components/, this file, the lock. */
function renderKey(airflowVersion: string | undefined): string {
    const hash = createHash("sha256").update(`${airflowVersion}\n`);
    const add = (file: string) => hash.update(`${file}\n`).update(readFileSync(file));
    const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(file);
            else if (entry.name.endsWith(".ts")) add(file);
        }
    };
    for (const f of ["Pulumi.yaml", `Pulumi.${STACK}.yaml`, "package-lock.json"]) add(path.join(ROOT, f));
    for (const d of ["config", "lib", "components"]) walk(path.join(ROOT, d));
    add(__filename);
    add(path.join(ROOT, "tools", "harness", "program.ts"));
    return hash.digest("hex");
}

/**
 * The program's side of the local stack, rendered by the program's own loader and functions (which
 * load @pulumi/pulumi and @pulumi/aws: seconds of CPU), and cached in .local/rendered.json under a hash
 * of every source they read, so that a warm start does not wait for them.
 */
async function renderedStack(paths: LocalPaths, venvAirflow: string | undefined): Promise<RenderedStack> {
    const file = path.join(paths.stateDir, "rendered.json");
    const key = renderKey(venvAirflow);
    if (existsSync(file)) {
        const cached = JSON.parse(readFileSync(file, "utf8")) as RenderedStack;
        if (cached.key === key) return cached;
    }
    const config = await stackConfig();
    const { migrateScript } = await import("../../components/celery");
    const { renderAirflowEnvironment } = await import("../../lib/airflow-env");
    const airflowVersion = venvAirflow ?? config.airflowVersion;
    const environments: RenderedStack["environments"] = {};
    for (const component of LOCAL_COMPONENTS) {
        environments[component] = renderAirflowEnvironment({
            airflowVersion,
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
            dagsFolder: path.join(ROOT, "dags"),
            extra: {
                AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: String(PORTS.workerLogs),
                AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: String(PORTS.triggererLogs),
                AIRFLOW__CELERY__FLOWER_PORT: String(PORTS.flower),
                ...LOCAL_DIFFERENCES,
            },
        });
    }
    const rendered: RenderedStack = {
        key,
        airflowVersion: config.airflowVersion,
        queues: config.celery.workerPools.map((p) => p.name),
        seedRequest: seedRequestOf(config),
        migrateScript: migrateScript(),
        environments,
    };
    writeFileSync(file, JSON.stringify(rendered, null, 2));
    return rendered;
}

function uidOf(user: string): number {
    return Number(execFileSync("id", ["-u", user]).toString());
}
function gidOf(user: string): number {
    return Number(execFileSync("id", ["-g", user]).toString());
}

/** initdb of .local/postgres, as the postgres user when root (PostgreSQL refuses to run as root). */
function initdbScript(dataDir: string, asPostgres: boolean): string {
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

/** What seed.py creates in moto: what the program creates for the DAGs, with the stack's ML and job settings. */
function seedRequestOf(config: AirflowConfig): unknown {
    const { ml, jobs } = config;
    return {
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
}
