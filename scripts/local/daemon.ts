// The supervisor daemon of `npm run local`: started detached by the CLI (under `tini -s`, a subreaper,
// so that no process it starts is left a zombie), it runs the units of units.ts until `down`, and
// answers the CLI on .local/supervisor.sock (control.ts). Its own log is .local/logs/supervisor.log.
//
// Beyond supervising, it watches what only Airflow knows: at boot it waits until every DAG file has
// been parsed (its DAGs listed, or its import error), and while it runs it reports every import error
// that appears or goes away. A broken DAG file never stops the stack.
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { AirflowApi, ImportError, importErrors } from "./airflow-api";
import { serveControl } from "./control";
import { LocalPaths, localPaths, oneLine, ROOT } from "./paths";
import { logSinceStart, SupervisorEvent, Supervisor } from "./supervisor";
import { ADMIN, airflowUnits, infraUnits } from "./units";

const BOOT_TIMEOUT_S = 300;
/** The units that serve Airflow's API (Airflow 3's api-server, 2's webserver). */
const API_UNITS = ["api-server", "webserver"];
/** A service that exits this often before the stack is up fails the boot (it will not get better). */
const BOOT_EXITS = 3;

export interface Snapshot {
    supervisor: { pid: number; startedAt: string; ready: boolean; bootSeconds?: number; airflowVersion: string };
    components: ReturnType<Supervisor["statuses"]>;
    importErrors: ImportError[];
}

async function main(): Promise<void> {
    const paths = localPaths();
    const startedAt = new Date();
    const infra = infraUnits(paths);
    let airflowVersion = "";
    let ready = false;
    let bootSeconds: number | undefined = undefined;
    let errors: ImportError[] = [];
    let pending: NodeJS.Timeout | undefined;
    const snapshot = (): Snapshot => ({
        supervisor: {
            pid: process.pid,
            startedAt: startedAt.toISOString(),
            ready,
            bootSeconds,
            airflowVersion,
        },
        components: supervisor.statuses(),
        importErrors: errors,
    });
    const writeSnapshot = () => {
        clearTimeout(pending);
        pending = setTimeout(() => {
            const tmp = `${paths.stateFile}.tmp`;
            writeFileSync(tmp, JSON.stringify(snapshot(), null, 2));
            renameSync(tmp, paths.stateFile);
        }, 50);
    };
    let onTaskStart: (task: string) => void = () => {};
    const supervisor = new Supervisor(
        infra.units,
        (unit) => path.join(paths.logs, `${unit}.log`),
        writeSnapshot,
        (task) => onTaskStart(task),
    );
    writeSnapshot();

    let stopping: Promise<void> | undefined;
    const shutdown = (why: string, code: number): Promise<void> =>
        (stopping ??= (async () => {
            const begun = Date.now();
            supervisor.emit("info", `stopping everything (${why})`);
            await supervisor.stopAll();
            supervisor.emit("info", `stopped in ${((Date.now() - begun) / 1000).toFixed(1)} s`, undefined, "down");
            clearTimeout(pending);
            rmSync(paths.stateFile, { force: true });
            server.close();
            rmSync(paths.socket, { force: true });
            setTimeout(() => process.exit(code), 100);
        })());

    rmSync(paths.socket, { force: true });
    const server = serveControl(paths.socket, {
        status: snapshot,
        events: (since, write) => {
            for (const e of supervisor.events(since)) write(e);
            return supervisor.subscribe(write);
        },
        restart: (unit) => supervisor.restart(unit),
        down: () => shutdown("npm run local -- down", 0),
    });
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void shutdown(signal, 0));
    // A defect of the daemon itself must not leave the stack running unsupervised.
    process.on("uncaughtException", (err) => {
        supervisor.emit("error", `the supervisor failed: ${oneLine(err.message)}`);
        void shutdown("a failure of the supervisor", 1);
    });

    const api = new AirflowApi(ADMIN, infra.secrets.adminPassword, () => {}, 15);
    const exits: Record<string, number> = {};
    const fail = (message: string) => {
        supervisor.emit("error", message, undefined, "failed");
        void shutdown("the boot failed", 1);
    };
    supervisor.subscribe((e: SupervisorEvent) => {
        if (ready || !e.unit || !e.text.startsWith("exited")) return;
        if ((exits[e.unit] = (exits[e.unit] ?? 0) + 1) >= BOOT_EXITS) {
            const log = path.relative(ROOT, supervisor.status(e.unit)!.log);
            fail(`${e.unit} exited ${BOOT_EXITS} times while the stack was starting (${e.text}); see ${log}`);
        }
    });
    // The infrastructure starts at once; the Airflow units once the stack's configuration is loaded.
    supervisor.start();
    try {
        const airflow = await airflowUnits(paths, infra.secrets);
        airflowVersion = airflow.airflowVersion;
        onTaskStart = airflow.onTaskStart;
        supervisor.add(airflow.units);
    } catch (err) {
        return fail(oneLine((err as Error).message));
    }

    const deadline = Date.now() + BOOT_TIMEOUT_S * 1000;
    // The DAG files are waited for while the other components start, from when the API answers.
    let dagFilesParsed: Promise<ImportError[]> | undefined;
    let dagFilesPending = true;
    const waitForDags = () =>
        waitForDagFiles(api, supervisor, paths).then((found) => {
            dagFilesPending = false;
            return found;
        });
    while (!supervisor.settled()) {
        if (stopping) return;
        if (!dagFilesParsed && API_UNITS.some((name) => supervisor.status(name)?.health === "healthy"))
            dagFilesParsed = waitForDags();
        const failed = supervisor.failedUnit();
        if (failed?.detail?.startsWith("cannot start: ")) return fail(`${failed.name} ${failed.detail}`);
        if (failed) {
            const why = errorLine(failed.log);
            return fail(
                `${why ? `${why} (` : ""}${failed.name} failed, ${failed.detail}; see ${path.relative(ROOT, failed.log)}${why ? ")" : ""}`,
            );
        }
        if (Date.now() > deadline) {
            const late = supervisor
                .statuses()
                .filter(
                    (u) =>
                        u.state !== "succeeded" &&
                        u.state !== "skipped" &&
                        u.health !== "healthy" &&
                        u.health !== "none",
                );
            return fail(
                `not healthy after ${BOOT_TIMEOUT_S} s: ${late.map((u) => `${u.name} (${u.detail ?? u.state})`).join(", ")}`,
            );
        }
        await sleep(200);
    }
    dagFilesParsed ??= waitForDags();
    supervisor.emit(
        "info",
        `every component is healthy${dagFilesPending ? "; waiting for the DAG files to be parsed" : ""}`,
    );
    errors = await dagFilesParsed;
    if (stopping) return;
    ready = true;
    bootSeconds = (Date.now() - startedAt.getTime()) / 1000;
    writeSnapshot();
    supervisor.emit("info", `up in ${bootSeconds.toFixed(1)} s`, undefined, "ready");

    // While it runs: report import errors as they appear and go away (the stack stays up).
    for (;;) {
        await sleep(3000);
        if (stopping) return;
        const now = await importErrors(api).catch(() => undefined);
        if (!now) continue;
        const key = (e: ImportError) => `${e.file}\n${e.error}`;
        for (const e of now.filter((n) => !errors.some((o) => key(o) === key(n))))
            supervisor.emit("warn", `DAG file ${e.file} does not import: ${e.error}`);
        for (const e of errors.filter((o) => !now.some((n) => n.file === o.file)))
            supervisor.emit("info", `DAG file ${e.file} imports again`);
        if (JSON.stringify(now) !== JSON.stringify(errors)) {
            errors = now;
            writeSnapshot();
        }
    }
}

/**
 * The one-line reason a oneshot gives for failing: the last `error: ` line its last run wrote to its log
 * (the control script's migration guard refusing an older Airflow says why in one), without the prefix.
 */
export function errorLine(log: string): string | undefined {
    // The log is appended to: only this run's lines, after the supervisor's last start marker.
    const line = logSinceStart(log)
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("error: "));
    return line ? oneLine(line.slice("error: ".length)) : undefined;
}

/** The DAG files of the DAGs folder that the DAG processor parses (the top-level .py files). */
export function dagFiles(dir: string): string[] {
    return readdirSync(dir)
        .filter((f) => f.endsWith(".py"))
        .sort();
}

/**
 * Waits until every DAG file has been parsed: its DAGs are listed, or its import error is. Lists
 * every import error (file and error) and returns them; a broken file does not stop the boot.
 */
async function waitForDagFiles(api: AirflowApi, supervisor: Supervisor, paths: LocalPaths): Promise<ImportError[]> {
    const deadline = Date.now() + 120_000;
    for (;;) {
        const files = dagFiles(paths.dags);
        let errors: ImportError[] = [];
        let parsed = new Set<string>();
        try {
            errors = await importErrors(api);
            const dags = await api.call("/api/v2/dags?limit=1000&only_active=true");
            parsed = new Set([
                ...(dags.dags as { fileloc: string }[]).map((d) => path.basename(d.fileloc)),
                ...errors.map((e) => path.basename(e.file)),
            ]);
        } catch {
            /* the api-server is not answering yet */
        }
        const missing = files.filter((f) => !parsed.has(f));
        if (missing.length === 0 || Date.now() > deadline) {
            if (missing.length > 0) supervisor.emit("warn", `not parsed in 120 s: ${missing.join(", ")}`);
            const ok = files.filter((f) => !missing.includes(f) && !errors.some((e) => path.basename(e.file) === f));
            supervisor.emit("info", `DAG files parsed: ${ok.join(", ") || "none"}`);
            for (const e of errors) supervisor.emit("warn", `DAG file ${e.file} does not import: ${e.error}`);
            return errors;
        }
        await sleep(1000);
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (require.main === module) {
    main().catch((err) => {
        // One line, for the CLI to show (it reads the end of this log when the daemon dies while starting).
        console.log(`fatal: ${oneLine((err as Error).message)}`);
        try {
            if (existsSync(localPaths().socket)) rmSync(localPaths().socket, { force: true });
        } catch {
            /* nothing to clean */
        }
        process.exit(1);
    });
}
