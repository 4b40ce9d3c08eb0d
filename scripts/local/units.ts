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
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import * as net from "net";
import * as path from "path";
import type { AirflowComponent } from "../../lib/airflow-env";
import { redisBrokerUri, resultBackendUri, sqlAlchemyConnUri } from "../../lib/airflow-uris";
import { LocalPaths, PORTS, ROOT } from "./paths";
import { localEntrypoint } from "./entrypoint";
import type { RenderedStack } from "./stack";
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
    // One api-server process: with several, uvicorn kills a worker that misses its 5 s health ping
    // while Airflow imports, which on a busy machine repeats until the boot times out.
    AIRFLOW__API__WORKERS: "1",
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
}

/**
 * The Airflow side: moto seeded with what the program creates for the DAGs, the migration, and the
 * Airflow components of the Celery layout, from the mirrored stack's configuration.
 */
export async function airflowUnits(paths: LocalPaths, s: Secrets): Promise<AirflowUnits> {
    const airflowVersion = installedAirflow(paths.venv);
    const r = await renderedStack(paths, airflowVersion);
    const bin = (name: string) => path.join(paths.venvBin, name);
    const basePath = `${paths.venvBin}:${process.env.PATH}`;
    const sql = sqlRunner(s);

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
        // The container's command as the image's entrypoint runs it, with this environment's programs.
        command: localEntrypoint(args).program === "bash" ? "bash" : bin(localEntrypoint(args).program),
        args: localEntrypoint(args).args,
        env: componentEnv(paths, s, r, component),
        cwd: ROOT,
        dependsOn,
        healthCheck,
        stopTimeoutS: 3,
    });
    const afterMigrations = [{ unit: "migrate", condition: "SUCCESS" as const }];
    const afterBroker = [...afterMigrations, { unit: "redis", condition: "HEALTHY" as const }];
    /** How each component's readiness is checked locally, and what it waits for. */
    const localUnit: Partial<Record<AirflowComponent, Pick<UnitSpec, "dependsOn"> & { healthCheck: HealthCheck }>> = {
        "api-server": { healthCheck: check(uiHealth(r.healthPath)), dependsOn: afterMigrations },
        webserver: { healthCheck: check(uiHealth(r.healthPath)), dependsOn: afterMigrations },
        scheduler: { healthCheck: check(jobHeartbeat("SchedulerJob")), dependsOn: afterBroker },
        "dag-processor": { healthCheck: check(jobHeartbeat("DagProcessorJob")), dependsOn: afterMigrations },
        triggerer: { healthCheck: check(jobHeartbeat("TriggererJob")), dependsOn: afterMigrations },
        worker: {
            // Liveness: the worker answers Celery's ping through the broker (what `celery inspect ping` does).
            healthCheck: check(
                async () => {
                    const r = await run(bin("python"), [path.join(__dirname, "celery_ping.py"), WORKER_NODE], {
                        PATH: basePath,
                        BROKER_URL: brokerUrl(s),
                    });
                    return { healthy: r.code === 0, detail: r.out.split("\n").slice(-1)[0] };
                },
                15,
                { timeoutS: 15 },
            ),
            // Not on the seed: no task runs before the boot is over, and it waits for the seed too.
            dependsOn: afterBroker,
        },
        flower: { healthCheck: check(async () => ({ healthy: await tcpOpen(PORTS.flower) })), dependsOn: afterBroker },
    };
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
            command: path.join(paths.toolsBin, "python"),
            args: [path.join(__dirname, "seed.py"), seedFile],
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
            // The control service's own script (airflow db migrate, then the admin user only if absent),
            // skipped when the database is at the revision this Airflow last migrated it to.
            name: "migrate",
            kind: "oneshot",
            command: "bash",
            args: ["-c", r.migrateScript],
            env: componentEnv(paths, s, r, "migrations"),
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
        // The Celery layout's services, each with its ECS service's command (stack.ts, localComponents).
        ...r.components.map(([name, component, args]) => {
            const local = localUnit[component];
            if (!local) throw new Error(`the local stack does not know how to run ${component}`);
            return airflow(name, component, args, local.healthCheck, local.dependsOn);
        }),
    ];
    // The worker gets the longest stop: Celery's warm shutdown lets running tasks finish.
    for (const u of units.filter((u) => u.name === "worker")) u.stopTimeoutS = 5;
    return { units, airflowVersion: r.airflowVersion };
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

/**
 * What every Airflow process of one component gets: the environment the program renders into its
 * task definition, pointed at the local endpoints, with the local secrets' values in place of their
 * Secrets Manager references. The drills' own workers (drill-env.ts) run with the worker's.
 */
export function componentEnv(
    paths: LocalPaths,
    s: Secrets,
    rendered: RenderedStack,
    component: AirflowComponent,
): NodeJS.ProcessEnv {
    const db = `airflow:${s.dbPassword}@127.0.0.1:${PORTS.postgres}/airflow`;
    const values: Record<string, string> = {
        "local:sql-alchemy-conn": sqlAlchemyConnUri(db, false),
        "local:result-backend": resultBackendUri(db, false),
        "local:broker-url": brokerUrl(s),
        "local:fernet-key": s.fernetKey,
        "local:api-secret-key": s.apiSecretKey,
        "local:jwt-secret": s.jwtSecret,
        "local:admin-password": s.adminPassword,
        "local:flower-basic-auth": `${ADMIN}:${s.flowerPassword}`,
    };
    const container = rendered.environments[component];
    if (!container) throw new Error(`the local stack renders no environment for ${component}`);
    const env: NodeJS.ProcessEnv = {
        PATH: `${paths.venvBin}:${process.env.PATH}`,
        HOME: process.env.HOME,
        LANG: "C.UTF-8",
        AIRFLOW_HOME: path.join(paths.stateDir, "airflow"),
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        // moto's SageMaker jobs end within seconds: poll them every 5 s instead of every minute.
        AIRFLOW_ON_AWS_SAGEMAKER_CHECK_INTERVAL: "5",
    };
    for (const e of container.environment) env[e.name] = e.value;
    for (const secret of container.secrets) env[secret.name] = values[secret.valueFrom];
    return env;
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
