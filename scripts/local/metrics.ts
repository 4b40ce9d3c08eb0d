// `npm run local -- metrics`: the key figures of the dashboard, read from the running local stack: the
// scheduler's heartbeat age, queued and running task instances (per Celery queue, and the oldest queued
// one), and the DAG files that fail to import. It asks the local api-server's REST API (Airflow 3.3:
// /api/v2/monitor/health, /api/v2/dags/~/dagRuns/~/taskInstances, /api/v2/importErrors), as the admin
// user of .local/secrets.json, the figures the alarms of both layouts read from CloudWatch.
import { existsSync, readFileSync } from "fs";

/** What the REST API answered, as the figures need it. */
export interface LocalMetricsInput {
    /** /api/v2/monitor/health: scheduler.latest_scheduler_heartbeat (ISO 8601, or null). */
    health: { scheduler?: { status?: string | null; latest_scheduler_heartbeat?: string | null } };
    queued: { total_entries: number; task_instances: { queue?: string | null; queued_when?: string | null }[] };
    running: { total_entries: number; task_instances: { queue?: string | null }[] };
    importErrors: { total_entries: number; import_errors: { filename?: string | null }[] };
}

export interface LocalMetrics {
    /** Seconds since the last scheduler heartbeat; undefined when there never was one. */
    heartbeatAgeSeconds?: number;
    schedulerStatus: string;
    queued: number;
    running: number;
    /** Queued and running per Celery queue (of the listed task instances). */
    perQueue: Record<string, { queued: number; running: number }>;
    /** Seconds since the oldest listed queued task instance was queued. */
    oldestQueuedSeconds?: number;
    importErrors: number;
    importErrorFiles: string[];
}

const ageSeconds = (iso: string, now: Date) => Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));

/** The figures, from the API's answers (pure). */
export function localMetrics(input: LocalMetricsInput, now: Date): LocalMetrics {
    const beat = input.health.scheduler?.latest_scheduler_heartbeat;
    const perQueue: LocalMetrics["perQueue"] = {};
    const slot = (q: string | null | undefined) => (perQueue[q ?? "default"] ??= { queued: 0, running: 0 });
    for (const ti of input.queued.task_instances) slot(ti.queue).queued += 1;
    for (const ti of input.running.task_instances) slot(ti.queue).running += 1;
    const queuedAt = input.queued.task_instances
        .map((ti) => ti.queued_when)
        .filter((t): t is string => !!t)
        .sort();
    return {
        heartbeatAgeSeconds: beat ? ageSeconds(beat, now) : undefined,
        schedulerStatus: input.health.scheduler?.status ?? "unknown",
        queued: input.queued.total_entries,
        running: input.running.total_entries,
        perQueue,
        oldestQueuedSeconds: queuedAt.length > 0 ? ageSeconds(queuedAt[0], now) : undefined,
        importErrors: input.importErrors.total_entries,
        importErrorFiles: input.importErrors.import_errors.map((e) => e.filename ?? "?").sort(),
    };
}

/** The figures as the command prints them, one per line. */
export function formatLocalMetrics(m: LocalMetrics): string {
    const lines = [
        `scheduler heartbeat   ${m.heartbeatAgeSeconds === undefined ? "never" : `${m.heartbeatAgeSeconds} s ago`} (${m.schedulerStatus})`,
        `queued tasks          ${m.queued}`,
        `running tasks         ${m.running}`,
        `oldest queued task    ${m.oldestQueuedSeconds === undefined ? "none queued" : `${m.oldestQueuedSeconds} s`}`,
        ...Object.entries(m.perQueue)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([q, n]) => `  queue ${q.padEnd(15)} ${n.queued} queued, ${n.running} running`),
        `DAG import errors     ${m.importErrors}`,
        ...m.importErrorFiles.map((f) => `  ${f}`),
    ];
    return lines.join("\n");
}

export interface LocalMetricsTarget {
    /** The api-server, e.g. http://127.0.0.1:28080. */
    baseUrl: string;
    /** .local/secrets.json: the admin password. */
    secretsFile: string;
    user: string;
}

/** Reads the figures from the running local api-server and prints them; one clear line when it is not up. */
export async function printLocalMetrics(target: LocalMetricsTarget, now = new Date()): Promise<void> {
    if (!existsSync(target.secretsFile))
        throw new Error("the local stack has never run here (no .local/secrets.json): start it with npm run local");
    const password = (JSON.parse(readFileSync(target.secretsFile, "utf8")) as { adminPassword: string }).adminPassword;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the REST API's JSON, read field by field
    const get = async (pathname: string, init: RequestInit = {}, token?: string): Promise<any> => {
        let response: Response;
        try {
            response = await fetch(`${target.baseUrl}${pathname}`, {
                ...init,
                headers: {
                    "Content-Type": "application/json",
                    ...(token ? { Authorization: `Bearer ${token}` } : {}),
                },
            });
        } catch {
            throw new Error(`the local api-server does not answer at ${target.baseUrl}: start it with npm run local`);
        }
        if (!response.ok)
            throw new Error(`${pathname}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
        return response.json();
    };
    const token = (
        await get("/auth/token", { method: "POST", body: JSON.stringify({ username: target.user, password }) })
    ).access_token as string;
    const tis = (state: string) => get(`/api/v2/dags/~/dagRuns/~/taskInstances?state=${state}&limit=100`, {}, token);
    const [health, queued, running, importErrors] = await Promise.all([
        get("/api/v2/monitor/health"),
        tis("queued"),
        tis("running"),
        get("/api/v2/importErrors?limit=100", {}, token),
    ]);
    console.log(formatLocalMetrics(localMetrics({ health, queued, running, importErrors }, now)));
}
