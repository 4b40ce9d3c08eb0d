// `npm run local`: the staging layout on this machine, with no AWS account and no Docker.
//
//   npm run local                       installs what is missing, starts the supervisor (daemon.ts),
//                                       which starts every component, and returns once all are healthy
//   npm run local -- status [--json]    each component's state, pid, restarts, health and log
//   npm run local -- restart <name>     restarts one component
//   npm run local -- logs <name> [-f]   a component's log (the supervisor's own: logs supervisor)
//   npm run local -- run <dag> [--detach]       triggers a DAG run and follows it to the end
//   npm run local -- follow <dag> <run> [--until-started]   follows a run triggered earlier
//   npm run local -- metrics            heartbeat age, queued and running tasks, import errors
//   npm run local -- down               stops everything (the supervisor stops its components)
//   npm run local -- reset              down, then removes .local/
//
// The CLI is light on purpose (no Pulumi, no config loading): the daemon renders the stack; the CLI
// only talks to it over its socket (control.ts), so a second start is refused at once.
import { spawn, spawnSync } from "child_process";
import {
    closeSync,
    existsSync,
    mkdirSync,
    openSync,
    readFileSync,
    readSync,
    rmSync,
    statSync,
    writeFileSync,
} from "fs";
import * as net from "net";
import * as path from "path";
import { AirflowApi } from "./airflow-api";
import { control, followEvents } from "./control";
import type { Snapshot } from "./daemon";
import { LocalError, LocalPaths, localPaths, oneLine, PORT_LABELS, PORTS, ROOT, TSX } from "./paths";
import type { SupervisorEvent, UnitStatus } from "./supervisor";
import { printLocalMetrics } from "./metrics";

export { LocalError, PORTS };

/** Set by main(): a bad LOCAL_AIRFLOW is reported as one line, like every other error. */
let paths: LocalPaths;
const PG_BIN = "/usr/lib/postgresql/15/bin";
const ADMIN = "admin";

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const step = (text: string) => console.log(`[${elapsed().padStart(7)}] ${text}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while the process runs. A zombie (exited, not yet reaped) has stopped. */
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

/** The supervisor's last snapshot, when its daemon still runs. */
function runningSnapshot(): Snapshot | undefined {
    if (!existsSync(paths.stateFile)) return undefined;
    let snapshot: Snapshot;
    try {
        snapshot = JSON.parse(readFileSync(paths.stateFile, "utf8")) as Snapshot;
    } catch {
        return undefined;
    }
    return snapshot.supervisor && alive(snapshot.supervisor.pid) ? snapshot : undefined;
}

/** The live status from the daemon, or its last snapshot if it does not answer. */
async function liveStatus(): Promise<Snapshot | undefined> {
    const snapshot = runningSnapshot();
    if (!snapshot) return undefined;
    return control<Snapshot>(paths.socket, "GET", "/status", 5000).catch(() => snapshot);
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

const commandExists = (name: string) => spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;

/** PostgreSQL, Redis and tini (the subreaper) from Debian's packages, installed when missing (needs root). */
export function ensureSystemPackages(): void {
    const missing = [
        ...(existsSync(path.join(PG_BIN, "initdb")) ? [] : ["postgresql-15"]),
        ...(commandExists("redis-server") ? [] : ["redis-server"]),
        ...(commandExists("tini") ? [] : ["tini"]),
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

/**
 * The Airflow image's user (uid 50000, group 0, named airflow in the image), which the containers run
 * as: Airflow refuses a uid without a name (getpass). Added to this machine's users when absent (root).
 */
function ensureImageUser(): void {
    if (process.getuid?.() !== 0 || spawnSync("getent", ["passwd", "50000"]).status === 0) return;
    const name = spawnSync("getent", ["passwd", "airflow"]).status === 0 ? "airflow-local" : "airflow";
    step(`adding the Airflow image's user to this machine: ${name}, uid 50000, group 0`);
    const r = spawnSync(
        "useradd",
        [
            "--uid",
            "50000",
            "--gid",
            "0",
            "--no-create-home",
            "--home-dir",
            "/home/airflow",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        { encoding: "utf8" },
    );
    if (r.status !== 0)
        throw new LocalError(`useradd of the Airflow image's user (uid 50000) failed: ${r.stderr.trim()}`);
}

export function missingPackagesMessage(missing: string[]): string {
    return `${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing, and installing ${missing.length === 1 ? "it" : "them"} needs root: run \`sudo apt-get install ${missing.join(" ")}\`, or npm run local as root`;
}

function ensurePython(): void {
    // .venv/ (the runner's tools, and the stacks' Airflow), and with LOCAL_AIRFLOW=previous also the
    // previous pinned Airflow's .venv-3.0.6/ (runtime.ts), which then runs Airflow.
    for (const args of paths.ensureArgs.length > 0 ? [[], paths.ensureArgs] : [[]]) {
        const r = spawnSync("bash", [path.join(ROOT, "scripts", "ensure-python.sh"), ...args], { stdio: "inherit" });
        if (r.status !== 0) throw new LocalError("the Python environment could not be installed (see above)");
    }
}

/** The components that do not run as they should, for messages. */
function describe(components: UnitStatus[]): string {
    return components
        .map((c) => {
            const bad = c.state === "backoff" || c.state === "failed" || c.health === "unhealthy";
            return `${c.name} ${c.state}${c.pid ? ` pid ${c.pid}` : ""}${bad && c.detail ? ` (${c.detail})` : ""}`;
        })
        .join(", ");
}

function alreadyRunning(s: Snapshot): LocalError {
    const services = s.components.filter((c) => c.kind === "service");
    const down = services.filter((c) => c.state !== "running" || c.health === "unhealthy");
    return new LocalError(
        `Airflow is already running locally (supervisor pid ${s.supervisor.pid}: ${describe(services)})` +
            `${down.length > 0 ? `; not running now: ${down.map((c) => c.name).join(", ")}, which the supervisor restarts (npm run local -- status)` : ""}. ` +
            "Use it, or stop it with npm run local -- down.",
    );
}

async function up(): Promise<void> {
    const running = runningSnapshot();
    if (running) throw alreadyRunning(running);
    mkdirSync(paths.logs, { recursive: true });
    await checkPortsFree();
    ensureSystemPackages();
    ensureImageUser();
    step(`checking the Python environment (${path.relative(ROOT, paths.venv) || paths.venv})`);
    ensurePython();
    rmSync(paths.socket, { force: true });
    const log = path.join(paths.logs, "supervisor.log");
    const fd = openSync(log, "a");
    const daemon = spawn("tini", ["-s", "--", process.execPath, ...TSX, path.join(__dirname, "daemon.ts")], {
        cwd: ROOT,
        detached: true,
        stdio: ["ignore", fd, fd],
        env: process.env,
    });
    closeSync(fd);
    daemon.unref();
    step(`started the supervisor (pid ${daemon.pid}; its log: ${path.relative(ROOT, log)})`);
    const logStart = statSync(log).size;
    while (!existsSync(paths.socket)) {
        if (daemon.exitCode !== null || !alive(daemon.pid!)) {
            const lines = readFileSync(log, "utf8").slice(logStart).trim().split("\n");
            const fatal = lines.reverse().find((l) => l.startsWith("fatal: "));
            throw new LocalError(
                fatal ? fatal.slice(7) : `the supervisor exited while starting; see ${path.relative(ROOT, log)}`,
            );
        }
        await sleep(100);
    }
    let outcome: SupervisorEvent | undefined;
    await followEvents<SupervisorEvent>(paths.socket, 0, (e) => {
        step(`${e.unit ? `${e.unit}: ` : ""}${e.text}`);
        if (e.kind === "ready" || e.kind === "failed" || e.kind === "down") {
            outcome = e;
            return true;
        }
        return false;
    }).done;
    if (outcome?.kind !== "ready") {
        throw new LocalError(
            outcome
                ? `the stack did not start: ${outcome.text}`
                : "the supervisor stopped while starting; see .local/logs/supervisor.log",
        );
    }
    const s = JSON.parse(readFileSync(path.join(paths.stateDir, "secrets.json"), "utf8"));
    const status = await liveStatus();
    console.log(`
Airflow ${status?.supervisor.airflowVersion ?? ""} (the staging layout: CeleryExecutor, PostgreSQL, Redis, AWS in moto) is up in ${elapsed()}.
  Airflow UI   http://localhost:${PORTS.apiServer}   user ${ADMIN}, password ${s.adminPassword}
  Flower       http://localhost:${PORTS.flower}   user ${ADMIN}, password ${s.flowerPassword}
  AWS (moto)   http://127.0.0.1:${PORTS.moto}
  Logs         .local/logs/ (npm run local -- logs <component> [-f])
Status:     npm run local -- status
Run a DAG:  npm run local -- run ml_training_pipeline
Stop:       npm run local -- down`);
}

async function status(json: boolean): Promise<void> {
    const s = await liveStatus();
    if (json) {
        console.log(JSON.stringify(s ?? { supervisor: null, components: [], importErrors: [] }, null, 2));
        return;
    }
    if (!s) {
        console.log("Not running.");
        return;
    }
    console.log(
        `supervisor pid ${s.supervisor.pid}, started ${s.supervisor.startedAt}${s.supervisor.ready ? `, up in ${s.supervisor.bootSeconds?.toFixed(1)} s` : ", starting"}`,
    );
    const width = Math.max(...s.components.map((c) => c.name.length)) + 1;
    for (const c of s.components) {
        console.log(
            `${c.name.padEnd(width)} ${c.state.padEnd(9)} ${(c.health === "none" ? "" : c.health).padEnd(9)} pid ${String(c.pid ?? "-").padEnd(8)} restarts ${String(c.restarts).padEnd(3)} ${c.detail ?? ""}`,
        );
    }
    for (const e of s.importErrors) console.log(`DAG file ${e.file} does not import: ${e.error}`);
}

async function restart(unit: string): Promise<void> {
    if (!unit) throw new LocalError("usage: npm run local -- restart <component>");
    if (!runningSnapshot()) throw new LocalError("Airflow is not running locally: start it with npm run local");
    const begun = Date.now();
    await control(paths.socket, "POST", `/restart?unit=${encodeURIComponent(unit)}`);
    for (;;) {
        const s = await control<Snapshot>(paths.socket, "GET", "/status");
        const c = s.components.find((x) => x.name === unit)!;
        if (c.state === "running" && c.health !== "starting" && c.health !== "unhealthy") break;
        if (Date.now() - begun > 120_000)
            throw new LocalError(`${unit} is not healthy 120 s after its restart: ${c.detail ?? c.state}`);
        await sleep(250);
    }
    console.log(`${unit} restarted and healthy in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
}

async function logs(unit: string, follow: boolean): Promise<void> {
    if (!unit) throw new LocalError("usage: npm run local -- logs <component> [-f]");
    const file = path.join(paths.logs, `${unit}.log`);
    if (!existsSync(file)) throw new LocalError(`no log for ${unit} in ${path.relative(ROOT, paths.logs)}/`);
    const text = readFileSync(file, "utf8");
    process.stdout.write(text.split("\n").slice(-100).join("\n"));
    if (!follow) return;
    let offset = Buffer.byteLength(text);
    for (;;) {
        await sleep(500);
        const size = existsSync(file) ? statSync(file).size : 0;
        if (size < offset) offset = 0;
        if (size > offset) {
            const fd = openSync(file, "r");
            const buffer = Buffer.alloc(size - offset);
            readSync(fd, buffer, 0, buffer.length, offset);
            closeSync(fd);
            process.stdout.write(buffer);
            offset = size;
        }
    }
}

function apiClient(): AirflowApi {
    if (!runningSnapshot()) throw new LocalError("Airflow is not running locally: start it with npm run local");
    const s = JSON.parse(readFileSync(path.join(paths.stateDir, "secrets.json"), "utf8"));
    return new AirflowApi(
        ADMIN,
        s.adminPassword,
        (text) => step(text),
        180,
        () => (runningSnapshot() ? undefined : "the local stack is not running any more (npm run local -- down?)"),
    );
}

async function runDag(dagId: string, detach: boolean): Promise<void> {
    if (!dagId) throw new LocalError("usage: npm run local -- run <dag_id> [--detach]");
    const api = apiClient();
    await api
        .call(`/api/v2/dags/${dagId}`, { method: "PATCH", body: JSON.stringify({ is_paused: false }) })
        .catch((err) => {
            throw new LocalError(`no DAG ${dagId}: ${(err as Error).message}`);
        });
    const run = await api.call(`/api/v2/dags/${dagId}/dagRuns`, {
        method: "POST",
        body: JSON.stringify({ logical_date: null }),
    });
    if (detach) {
        console.log(run.dag_run_id);
        return;
    }
    step(`triggered ${dagId}, run ${run.dag_run_id}`);
    await followRun(api, dagId, run.dag_run_id, false);
}

/** Follows a DAG run, printing each task's state as it changes and what the supervisor reports. */
async function followRun(api: AirflowApi, dagId: string, runId: string, untilStarted: boolean): Promise<void> {
    const begun = Date.now();
    const events = followEvents<SupervisorEvent>(paths.socket, 0, (e) => {
        if (Date.parse(e.at) >= begun && e.level !== "info")
            step(`supervisor: ${e.unit ? `${e.unit}: ` : ""}${e.text}`);
        else if (Date.parse(e.at) >= begun && e.unit && /^(started|healthy)/.test(e.text))
            step(`supervisor: ${e.unit}: ${e.text}`);
    });
    events.done.catch(() => {});
    try {
        const seen: Record<string, string> = {};
        const runPath = `/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`;
        for (;;) {
            const tis = await api.call(`${runPath}/taskInstances?limit=100`);
            for (const ti of tis.task_instances as { task_id: string; state: string | null; map_index: number }[]) {
                const key = ti.map_index >= 0 ? `${ti.task_id}[${ti.map_index}]` : ti.task_id;
                const now = ti.state ?? "none";
                if (seen[key] !== now) {
                    seen[key] = now;
                    step(`  ${key}: ${now}`);
                }
            }
            if (untilStarted && Object.values(seen).some((s) => ["running", "deferred", "success"].includes(s))) {
                console.log(`${dagId} run ${runId} is under way`);
                return;
            }
            const state = (await api.call(runPath)).state as string;
            if (state === "success") break;
            if (state === "failed")
                throw new LocalError(
                    `${dagId} run ${runId} failed after ${((Date.now() - begun) / 1000).toFixed(1)} s; task logs are in the Airflow UI and .local/airflow/logs/`,
                );
            if (Date.now() - begun > 15 * 60 * 1000)
                throw new LocalError(`${dagId} run ${runId} has not finished in 15 minutes`);
            await sleep(2000);
        }
        console.log(`${dagId} run ${runId} succeeded in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    } finally {
        events.stop();
    }
}

/** Stops everything: asks the supervisor, or, if it does not answer, stops what its snapshot lists. */
async function down(quiet = false): Promise<void> {
    const begun = Date.now();
    const snapshot = runningSnapshot();
    if (!snapshot) {
        if (existsSync(paths.stateFile)) rmSync(paths.stateFile, { force: true });
        if (!quiet) console.log("Nothing is running.");
        return;
    }
    try {
        await control(paths.socket, "POST", "/down", 30_000);
    } catch (err) {
        if (!quiet) console.log(`the supervisor did not answer (${(err as Error).message}); stopping its processes`);
        for (const c of snapshot.components.filter((x) => x.pid)) {
            try {
                process.kill(-c.pid!, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        try {
            process.kill(snapshot.supervisor.pid, "SIGKILL");
        } catch {
            /* gone */
        }
    }
    while (alive(snapshot.supervisor.pid) && Date.now() - begun < 30_000) await sleep(50);
    rmSync(paths.stateFile, { force: true });
    if (!quiet) console.log(`Stopped the local stack in ${((Date.now() - begun) / 1000).toFixed(1)} s.`);
}

const USAGE =
    "use up (default), status [--json], restart <component>, logs <component> [-f], run <dag_id> [--detach], follow <dag_id> <run_id> [--until-started], metrics, down or reset";

export async function main(argv: string[]): Promise<number> {
    const flags = new Set(argv.filter((a) => a.startsWith("-")));
    const [command = "up", ...rest] = argv.filter((a) => !a.startsWith("-"));
    try {
        paths = localPaths();
        switch (command) {
            case "up":
                await up();
                break;
            case "status":
                await status(flags.has("--json"));
                break;
            case "restart":
                await restart(rest[0]);
                break;
            case "logs":
                await logs(rest[0], flags.has("-f") || flags.has("--follow"));
                break;
            case "run":
                await runDag(rest[0], flags.has("--detach"));
                break;
            case "follow":
                if (!rest[1])
                    throw new LocalError("usage: npm run local -- follow <dag_id> <run_id> [--until-started]");
                await followRun(apiClient(), rest[0], rest[1], flags.has("--until-started"));
                break;
            case "down":
                await down();
                break;
            case "reset":
                await down(true);
                rmSync(paths.stateDir, { recursive: true, force: true });
                console.log("Stopped everything and removed .local/.");
                break;
            case "metrics": // heartbeat age, queued and running tasks, import errors (scripts/local/metrics.ts)
                await printLocalMetrics({
                    baseUrl: `http://127.0.0.1:${PORTS.apiServer}`,
                    secretsFile: path.join(paths.stateDir, "secrets.json"),
                    user: ADMIN,
                }).catch((err: Error) => {
                    throw new LocalError(err.message);
                });
                break;
            default:
                throw new LocalError(`unknown command ${command}: ${USAGE}`);
        }
        return 0;
    } catch (err) {
        // Every error is one line: the runner's own, a config loader's list, or an unexpected one.
        console.error(`error: ${oneLine((err as Error).message ?? String(err))}`);
        return 1;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
