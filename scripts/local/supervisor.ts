// The supervisor of the local stack: starts units as soon as what they depend on is ready (in
// parallel otherwise), checks their health, restarts a service that exits or stays unhealthy (with
// backoff), and stops everything in tiers. It knows nothing of Airflow: units.ts says what to run.
//
// Units are modelled on ECS containers, so that a task of several containers (dependsOn conditions,
// health checks, users, essential semantics) can be rendered into them later:
//   - `dependsOn` with START, COMPLETE, SUCCESS and HEALTHY as in a container definition;
//   - a health check with interval, timeout, retries and start period;
//   - `user` (uid and gid: the process is started with those, as Fargate starts a container's user);
//   - a oneshot unit runs to completion (a migration), a service runs until stopped;
//   - units of one `task` (the containers of one ECS task) start and stop together: when an
//     `essential` container exits, ECS stops the task, and the service starts a new one, so here
//     every unit of the task is stopped and the task starts again (with backoff), its oneshots too.
//
// Each unit is its own process group (spawned detached), so stopping it stops its children too; the
// supervisor is their parent and Node reaps them. Grandchildren orphaned by a dying unit are reparented
// to the subreaper the daemon runs under (tini -s), which reaps them.
import { ChildProcess, spawn } from "child_process";
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from "fs";
import { setPriority } from "os";

export type DependencyCondition = "START" | "COMPLETE" | "SUCCESS" | "HEALTHY";

export interface HealthResult {
    healthy: boolean;
    /** Shown in `status`, e.g. "pong from celery@myhost" or "no heartbeat for 42 s". */
    detail?: string;
}

export interface HealthCheck {
    /** Gets the unit's status (its pid, when this start began). */
    check: (unit: UnitStatus) => Promise<HealthResult>;
    /** Seconds between checks once healthy. */
    intervalS: number;
    /** A check that takes longer fails. */
    timeoutS: number;
    /** Consecutive failures (after the start period) that make the unit unhealthy. */
    retries: number;
    /** Failures in the first seconds do not count; checks run every `startPollS` meanwhile. */
    startPeriodS: number;
    /**
     * Seconds between checks until the first success (default 1): a deliberate local departure from
     * ECS, which waits out the interval, so that what depends on the unit starts as soon as it can.
     * Short for cheap checks (a fetch, a SQL query), longer for one that starts Python.
     */
    startPollS?: number;
}

export interface UnitSpec {
    name: string;
    /** service: runs until stopped, restarted with backoff when it exits; oneshot: runs once to completion. */
    kind: "service" | "oneshot";
    command: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    cwd: string;
    /** Runs as this user (the supervisor runs as root); default: the supervisor's own user. */
    user?: { uid: number; gid: number };
    dependsOn?: { unit: string; condition: DependencyCondition }[];
    healthCheck?: HealthCheck;
    /** A oneshot with nothing to do resolves the reason, and counts as succeeded without running. */
    skipIf?: () => Promise<string | undefined>;
    /** Called when a oneshot succeeded (e.g. to record what it did). */
    onSuccess?: () => void;
    /** Signal that stops it cleanly (default SIGTERM), and seconds before SIGKILL (default 5). */
    stopSignal?: NodeJS.Signals;
    stopTimeoutS?: number;
    /**
     * A line its log shows once it has stopped cleanly after the stop signal (e.g. uvicorn's "Finished
     * server process"): what is left of the process then (the interpreter's teardown, seconds of
     * garbage collection on a busy machine) is killed at once instead of after `stopTimeoutS`.
     */
    stoppedWhenLogged?: RegExp;
    /**
     * Its CPU weight as a nice value (default 0), for its whole run: on Linux with autogroups (each unit
     * is a session of its own, so an autogroup of its own) the autogroup's, otherwise the process's.
     * A value this user may not set (below 0 without root) is left out.
     */
    nice?: number;
    /** A nice value for the start only, until its first healthy check; then `nice` again. */
    startNice?: number;
    /** Units stop by tier, lowest first (the infrastructure last). Default 0. */
    stopTier?: number;
    /** Restart a service that stays unhealthy, as ECS replaces the task. Default true. */
    restartWhenUnhealthy?: boolean;
    /** The task this unit is a container of: its units stop and start again together. */
    task?: string;
    /** In a task: when it exits, the task stops (ECS's `essential`). Default: true for a service, false for a oneshot. */
    essential?: boolean;
    /**
     * Runs just before the process is started (after what it depends on): prepares what it needs, or
     * throws, in one line, when it cannot start; the unit then fails without starting.
     */
    preStart?: () => void;
    /** Awaited before each start of the unit (after what it depends on), e.g. to read its secrets; a rejection fails it. */
    resolve?: () => Promise<void>;
}

/** Called when a task (re)starts, before any of its units runs: e.g. to give it new empty volumes. */
export type TaskStartHook = (task: string) => void;

export type UnitState = "waiting" | "running" | "backoff" | "stopping" | "stopped" | "succeeded" | "skipped" | "failed";

export interface UnitStatus {
    name: string;
    kind: UnitSpec["kind"];
    state: UnitState;
    pid: number | null;
    restarts: number;
    log: string;
    health: "healthy" | "unhealthy" | "starting" | "none";
    detail?: string;
    startedAt?: string;
    lastExit?: { code: number | null; signal: string | null; at: string };
}

export interface SupervisorEvent {
    seq: number;
    at: string;
    level: "info" | "warn" | "error";
    unit?: string;
    text: string;
    /** Marks the end of a boot (ready or failed) and the end of the daemon (down). */
    kind?: "ready" | "failed" | "down";
}

interface Runtime {
    spec: UnitSpec;
    status: UnitStatus;
    child?: ChildProcess;
    /** Consecutive quick exits: the backoff's exponent. */
    quickExits: number;
    startedMs: number;
    healthFailures: number;
    healthTimer?: NodeJS.Timeout;
    restartTimer?: NodeJS.Timeout;
    /** Set while the supervisor stops or restarts it on purpose. */
    stopping?: Promise<void>;
    everHealthy: boolean;
}

/** Backoff before restart n of a service that keeps exiting: 1, 2, 4, 8, 16, then 30 s. */
export function backoffSeconds(quickExits: number): number {
    return Math.min(30, 2 ** Math.max(0, quickExits - 1));
}

/** A run at least this long resets the backoff. */
const STEADY_MS = 60_000;

export class Supervisor {
    private readonly units = new Map<string, Runtime>();
    private readonly listeners = new Set<(e: SupervisorEvent) => void>();
    private readonly history: SupervisorEvent[] = [];
    private seq = 0;
    private shuttingDown = false;
    /** Tasks whose start hook ran since they last (re)started. */
    private readonly startedTasks = new Set<string>();
    /** Tasks being stopped to start again. */
    private readonly restartingTasks = new Set<string>();

    constructor(
        specs: UnitSpec[],
        private readonly logFile: (unit: string) => string,
        private readonly onChange: () => void = () => {},
        private readonly onTaskStart: TaskStartHook = () => {},
    ) {
        this.add(specs, false);
    }

    /** Adds units (e.g. once the stack's configuration is loaded); they start as their dependencies are met. */
    add(specs: UnitSpec[], schedule = true): void {
        for (const spec of specs) {
            if (this.units.has(spec.name)) throw new Error(`two units are named ${spec.name}`);
            this.units.set(spec.name, {
                spec,
                status: {
                    name: spec.name,
                    kind: spec.kind,
                    state: "waiting",
                    pid: null,
                    restarts: 0,
                    log: this.logFile(spec.name),
                    health: spec.healthCheck ? "starting" : "none",
                },
                quickExits: 0,
                startedMs: 0,
                healthFailures: 0,
                everHealthy: false,
            });
        }
        for (const spec of specs) {
            for (const d of spec.dependsOn ?? []) {
                if (!this.units.has(d.unit)) throw new Error(`${spec.name} depends on ${d.unit}, which is not a unit`);
            }
        }
        if (schedule) {
            this.changed();
            this.schedule();
        }
    }

    /** Starts every unit whose dependencies are met, and the others as theirs become met. */
    start(): void {
        this.schedule();
    }

    statuses(): UnitStatus[] {
        return [...this.units.values()].map((u) => ({ ...u.status }));
    }

    status(name: string): UnitStatus | undefined {
        const u = this.units.get(name);
        return u && { ...u.status };
    }

    names(): string[] {
        return [...this.units.keys()];
    }

    /** Every service running and healthy (or without a health check), every oneshot done. */
    settled(): boolean {
        return [...this.units.values()].every((u) =>
            u.spec.kind === "oneshot"
                ? u.status.state === "succeeded" || u.status.state === "skipped"
                : u.status.state === "running" && u.status.health !== "starting" && u.status.health !== "unhealthy",
        );
    }

    /** A oneshot failed, or a unit could not start: what depends on it can never start. */
    failedUnit(): UnitStatus | undefined {
        return [...this.units.values()].find((u) => u.status.state === "failed")?.status;
    }

    events(since = 0): SupervisorEvent[] {
        return this.history.filter((e) => e.seq > since);
    }

    subscribe(listener: (e: SupervisorEvent) => void): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }

    emit(level: SupervisorEvent["level"], text: string, unit?: string, kind?: SupervisorEvent["kind"]): void {
        const event = { seq: ++this.seq, at: new Date().toISOString(), level, unit, text, kind };
        this.history.push(event);
        if (this.history.length > 2000) this.history.shift();
        console.log(`${event.at} ${level.padEnd(5)} ${unit ? `${unit}: ` : ""}${text}`);
        for (const l of this.listeners) l(event);
    }

    /** Stops a service (every unit of its task) and starts it again at once (its backoff reset). */
    async restart(name: string): Promise<void> {
        const u = this.units.get(name);
        if (!u) throw new Error(`no component ${name}: ${this.names().join(", ")}`);
        if (u.spec.task) {
            this.emit("info", `restarting task ${u.spec.task} on request`, name);
            u.quickExits = 0;
            await this.restartTask(u, 0);
            return;
        }
        if (u.spec.kind !== "service") throw new Error(`${name} runs once at start; it cannot be restarted`);
        this.emit("info", "restarting on request", name);
        clearTimeout(u.restartTimer);
        await this.stopUnit(u);
        u.quickExits = 0;
        u.status.restarts += 1;
        this.launch(u);
    }

    /** Stops every unit, tier by tier (each tier's units in parallel). */
    async stopAll(): Promise<void> {
        this.shuttingDown = true;
        const tiers = [...new Set([...this.units.values()].map((u) => u.spec.stopTier ?? 0))].sort((a, b) => a - b);
        for (const tier of tiers) {
            await Promise.all(
                [...this.units.values()].filter((u) => (u.spec.stopTier ?? 0) === tier).map((u) => this.stopUnit(u)),
            );
        }
    }

    private changed(): void {
        this.onChange();
    }

    private dependencyMet(d: { unit: string; condition: DependencyCondition }): boolean {
        const s = this.units.get(d.unit)!.status;
        switch (d.condition) {
            case "START":
                return s.state === "running" || s.state === "succeeded" || s.state === "skipped";
            case "COMPLETE":
                return s.state === "succeeded" || s.state === "skipped" || s.state === "failed";
            case "SUCCESS":
                return s.state === "succeeded" || s.state === "skipped";
            case "HEALTHY":
                return s.state === "running" && (s.health === "healthy" || s.health === "none");
        }
    }

    private schedule(): void {
        if (this.shuttingDown) return;
        for (const u of this.units.values()) {
            if (u.status.state !== "waiting" || u.child) continue;
            if ((u.spec.dependsOn ?? []).every((d) => this.dependencyMet(d))) void this.begin(u);
        }
    }

    private async begin(u: Runtime): Promise<void> {
        u.status.state = "running"; // claimed; a oneshot's skip check runs before it spawns anything
        if (u.spec.task && !this.startedTasks.has(u.spec.task)) {
            this.startedTasks.add(u.spec.task);
            try {
                this.onTaskStart(u.spec.task);
            } catch (err) {
                return this.failStart(u, (err as Error).message);
            }
        }
        if (u.spec.kind === "oneshot" && u.spec.skipIf) {
            const reason = await u.spec.skipIf().catch(() => undefined);
            if (reason) {
                u.status.state = "skipped";
                u.status.detail = reason;
                this.emit("info", `skipped: ${reason}`, u.spec.name);
                this.changed();
                this.schedule();
                return;
            }
        }
        if (u.spec.resolve) {
            try {
                await u.spec.resolve();
            } catch (err) {
                return this.failStart(u, (err as Error).message);
            }
        }
        this.launch(u);
    }

    /** A unit that cannot start (its preStart or its task's start refused): failed, with the reason. */
    private failStart(u: Runtime, message: string): void {
        u.status.state = "failed";
        u.status.detail = `cannot start: ${message}`;
        this.emit("error", u.status.detail, u.spec.name);
        this.changed();
        this.schedule();
    }

    private launch(u: Runtime): void {
        if (this.shuttingDown) return;
        const { spec, status } = u;
        if (spec.preStart) {
            try {
                spec.preStart();
            } catch (err) {
                return this.failStart(u, (err as Error).message);
            }
        }
        const fd = openSync(status.log, "a");
        writeSync(fd, startMarker(status.restarts));
        let child: ChildProcess;
        try {
            child = spawn(spec.command, spec.args, {
                env: spec.env,
                cwd: spec.cwd,
                detached: true, // its own process group: stopping it stops its children
                stdio: ["ignore", fd, fd],
                uid: spec.user?.uid,
                gid: spec.user?.gid,
            });
        } finally {
            closeSync(fd);
        }
        u.child = child;
        const nice = spec.startNice ?? spec.nice ?? 0;
        if (child.pid !== undefined && nice !== 0) setNice(child.pid, nice);
        u.startedMs = Date.now();
        u.healthFailures = 0;
        u.everHealthy = false; // each start gets its start period again
        status.state = "running";
        status.pid = child.pid ?? null;
        status.startedAt = new Date().toISOString();
        status.health = spec.healthCheck ? "starting" : "none";
        status.detail = undefined;
        child.on("error", (err) => {
            this.emit("error", `could not start ${spec.command}: ${err.message}`, spec.name);
        });
        child.on("exit", (code, signal) => this.exited(u, child, code, signal));
        this.emit("info", `started (pid ${child.pid})`, spec.name);
        if (spec.healthCheck) this.scheduleHealth(u, startPollMs(spec.healthCheck));
        this.changed();
        this.schedule(); // START dependencies
    }

    private exited(u: Runtime, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
        if (u.child !== child) return;
        const { spec, status } = u;
        clearTimeout(u.healthTimer);
        u.child = undefined;
        // What the unit left behind in its process group (pool workers, forked children) goes with it.
        try {
            if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
            /* nothing left */
        }
        const ranMs = Date.now() - u.startedMs;
        status.pid = null;
        status.lastExit = { code, signal, at: new Date().toISOString() };
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        if (u.stopping || this.shuttingDown) {
            status.state = "stopped";
            status.health = spec.healthCheck ? "starting" : "none";
            this.changed();
            return;
        }
        if (spec.task && (spec.essential ?? spec.kind === "service") && !(spec.kind === "oneshot" && code === 0)) {
            // An essential container exited: ECS stops the task, and its service starts a new one.
            u.quickExits = ranMs >= STEADY_MS ? 1 : u.quickExits + 1;
            const delay = backoffSeconds(u.quickExits);
            status.state = "backoff";
            status.health = spec.healthCheck ? "starting" : "none";
            status.detail = `exited (${how}) after ${(ranMs / 1000).toFixed(1)} s; its task ${spec.task} stops and starts again in ${delay} s`;
            this.emit("warn", status.detail, spec.name);
            this.changed();
            void this.restartTask(u, delay);
            return;
        }
        if (spec.kind === "oneshot") {
            if (code === 0) {
                status.state = "succeeded";
                this.emit("info", `succeeded in ${(ranMs / 1000).toFixed(1)} s`, spec.name);
                spec.onSuccess?.();
            } else {
                status.state = "failed";
                status.detail = how;
                this.emit("error", `failed (${how}); see ${status.log}`, spec.name);
            }
            this.changed();
            this.schedule();
            return;
        }
        u.quickExits = ranMs >= STEADY_MS ? 1 : u.quickExits + 1;
        const delay = backoffSeconds(u.quickExits);
        status.state = "backoff";
        status.health = spec.healthCheck ? "starting" : "none";
        status.detail = `exited (${how}) after ${(ranMs / 1000).toFixed(1)} s; restarting in ${delay} s`;
        this.emit("warn", status.detail, spec.name);
        this.changed();
        u.restartTimer = setTimeout(() => {
            if (this.shuttingDown || status.state !== "backoff") return;
            status.restarts += 1;
            this.launch(u);
        }, delay * 1000);
    }

    /**
     * Stops every unit of u's task, then, after `delaySeconds`, starts the task again: each of its
     * units waits for what it depends on, as in a new task (u's restart count goes up).
     */
    private async restartTask(u: Runtime, delaySeconds: number): Promise<void> {
        const task = u.spec.task!;
        if (this.restartingTasks.has(task)) return;
        this.restartingTasks.add(task);
        try {
            const members = [...this.units.values()].filter((x) => x.spec.task === task);
            await Promise.all(members.filter((x) => x !== u || x.child).map((x) => this.stopUnit(x)));
            if (delaySeconds > 0) {
                await new Promise<void>((resolve) => {
                    u.restartTimer = setTimeout(resolve, delaySeconds * 1000);
                });
            }
            if (this.shuttingDown) return;
            this.startedTasks.delete(task);
            for (const x of members) {
                clearTimeout(x.healthTimer);
                x.status.state = "waiting";
                x.status.pid = null;
                x.status.health = x.spec.healthCheck ? "starting" : "none";
                x.status.detail = undefined;
            }
            u.status.restarts += 1;
            this.emit("info", `starting task ${task} again`, u.spec.name);
        } finally {
            this.restartingTasks.delete(task);
        }
        this.changed();
        this.schedule();
    }

    private scheduleHealth(u: Runtime, ms: number): void {
        clearTimeout(u.healthTimer);
        u.healthTimer = setTimeout(() => void this.runHealth(u), ms);
    }

    private async runHealth(u: Runtime): Promise<void> {
        const hc = u.spec.healthCheck!;
        const child = u.child;
        if (!child || u.stopping || this.shuttingDown) return;
        let result: HealthResult;
        try {
            result = await Promise.race([
                hc.check({ ...u.status }),
                new Promise<HealthResult>((resolve) =>
                    setTimeout(
                        () => resolve({ healthy: false, detail: `no answer in ${hc.timeoutS} s` }),
                        hc.timeoutS * 1000,
                    ),
                ),
            ]);
        } catch (err) {
            result = { healthy: false, detail: (err as Error).message };
        }
        if (u.child !== child || u.stopping || this.shuttingDown) return;
        const { status } = u;
        const inStartPeriod = Date.now() - u.startedMs < hc.startPeriodS * 1000 && !u.everHealthy;
        status.detail = result.detail;
        if (result.healthy) {
            u.healthFailures = 0;
            if (status.health !== "healthy") {
                this.emit(
                    "info",
                    `healthy after ${((Date.now() - u.startedMs) / 1000).toFixed(1)} s${result.detail ? ` (${result.detail})` : ""}`,
                    u.spec.name,
                );
                status.health = "healthy";
                if (u.spec.startNice !== undefined && child.pid !== undefined) setNice(child.pid, u.spec.nice ?? 0);
                u.everHealthy = true;
                this.changed();
                this.schedule(); // HEALTHY dependencies
            }
            this.scheduleHealth(u, hc.intervalS * 1000);
            return;
        }
        if (inStartPeriod || status.health === "starting") {
            if (!inStartPeriod && ++u.healthFailures >= hc.retries) {
                this.unhealthy(u, result);
                return;
            }
            this.scheduleHealth(u, startPollMs(hc));
            return;
        }
        if (++u.healthFailures >= hc.retries) {
            this.unhealthy(u, result);
            return;
        }
        this.scheduleHealth(u, hc.intervalS * 1000);
    }

    private unhealthy(u: Runtime, result: HealthResult): void {
        const { status, spec } = u;
        const was = status.health;
        status.health = "unhealthy";
        if (was !== "unhealthy") this.emit("warn", `unhealthy: ${result.detail ?? "health check failed"}`, spec.name);
        this.changed();
        if (spec.restartWhenUnhealthy ?? true) {
            this.emit("warn", "stopping it to restart it, as ECS replaces an unhealthy task", spec.name);
            const child = u.child;
            if (child?.pid) killGroup(child.pid, "SIGKILL"); // exited() then restarts it with backoff
        } else {
            this.scheduleHealth(u, spec.healthCheck!.intervalS * 1000);
        }
    }

    private stopUnit(u: Runtime): Promise<void> {
        clearTimeout(u.restartTimer);
        clearTimeout(u.healthTimer);
        const child = u.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) {
            if (u.status.state === "backoff" || u.status.state === "waiting" || u.status.state === "running")
                u.status.state = "stopped";
            return Promise.resolve();
        }
        if (u.stopping) return u.stopping;
        u.status.state = "stopping";
        this.changed();
        const timeoutS = u.spec.stopTimeoutS ?? 5;
        const logFrom = u.spec.stoppedWhenLogged ? fileSize(u.status.log) : 0;
        u.stopping = new Promise<void>((resolve) => {
            // Polls the log for the line that says it stopped cleanly; then the rest of it goes at once.
            const watch =
                u.spec.stoppedWhenLogged &&
                setInterval(() => {
                    if (u.spec.stoppedWhenLogged!.test(readFrom(u.status.log, logFrom))) {
                        clearInterval(watch as NodeJS.Timeout);
                        killGroup(child.pid!, "SIGKILL");
                    }
                }, 100);
            const timer = setTimeout(() => {
                this.emit(
                    "warn",
                    `still running ${timeoutS} s after ${u.spec.stopSignal ?? "SIGTERM"}: killing it`,
                    u.spec.name,
                );
                killGroup(child.pid!, "SIGKILL");
            }, timeoutS * 1000);
            child.once("exit", () => {
                clearTimeout(timer);
                if (watch) clearInterval(watch);
                resolve();
            });
            // The stop signal goes to the unit's main process only (a Celery worker then finishes its
            // tasks: warm shutdown); whatever is left of its group is killed once it exits.
            try {
                process.kill(child.pid!, u.spec.stopSignal ?? "SIGTERM");
            } catch {
                /* already gone */
            }
        }).finally(() => {
            u.stopping = undefined;
        });
        return u.stopping;
    }
}

const STARTED = " started by the supervisor (restart ";

/** The line the supervisor writes into a unit's log before each start of its process. */
export function startMarker(restarts: number, at = new Date()): string {
    return `--- ${at.toISOString()}${STARTED}${restarts})\n`;
}

/**
 * What a unit's log holds since its process last started (after the last start marker), from the last
 * `tailBytes` of the file at most ("" when the log cannot be read).
 */
export function logSinceStart(log: string, tailBytes = 256 * 1024): string {
    const lines = readFrom(log, Math.max(0, fileSize(log) - tailBytes)).split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
        if (lines[i].startsWith("--- ") && lines[i].includes(STARTED)) return lines.slice(i + 1).join("\n");
    }
    // No start in the tail: all of it is from the last start (or the file has none at all).
    return lines.join("\n");
}

/** Milliseconds between a health check's tries until its first success. */
function startPollMs(hc: HealthCheck): number {
    return (hc.startPollS ?? 1) * 1000;
}

function fileSize(file: string): number {
    try {
        return statSync(file).size;
    } catch {
        return 0;
    }
}

/** What a file holds from `offset` on ("" when it cannot be read). */
function readFrom(file: string, offset: number): string {
    try {
        const size = statSync(file).size;
        if (size <= offset) return "";
        const fd = openSync(file, "r");
        try {
            const buffer = Buffer.alloc(size - offset);
            readSync(fd, buffer, 0, buffer.length, offset);
            return buffer.toString("utf8");
        } finally {
            closeSync(fd);
        }
    } catch {
        return "";
    }
}

/**
 * Sets the nice value of a unit's process (the leader of its own session): its autogroup's when the
 * kernel groups sessions (sched_autogroup_enabled; the process's own nice then weighs only within its
 * session), the process's otherwise. Not permitted (a negative value without root) or gone: left as is.
 */
export function setNice(pid: number, nice: number): void {
    try {
        if (readFileSync("/proc/sys/kernel/sched_autogroup_enabled", "utf8").trim() === "1") {
            writeFileSync(`/proc/${pid}/autogroup`, String(nice));
            return;
        }
    } catch {
        /* no autogroups here: the process's own nice */
    }
    try {
        setPriority(pid, nice);
    } catch {
        /* not permitted, or gone */
    }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch {
        try {
            process.kill(pid, signal);
        } catch {
            /* gone */
        }
    }
}
