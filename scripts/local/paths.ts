// Where the local stack keeps its files, and its loopback ports. Light on purpose: the CLI loads it
// before anything else, so that `status`, a refused second start and `down` answer in well under 2 s.
import * as path from "path";
import { localRuntime } from "./runtime";

export const ROOT = path.resolve(__dirname, "..", "..");

/**
 * How the runner's own TypeScript processes (the CLI, the supervisor daemon, deploy-dags) run: under
 * tsx, which caches each file's transpiled output (under the system's temporary folder), so that a
 * start transpiles nothing that has not changed. ts-node transpiled every file on every start, about
 * 0.4 s of CPU for the CLI and 1 s before the daemon started its first unit.
 */
export const TSX: readonly string[] = ["--import", "tsx"];

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

export const PORT_LABELS: Record<keyof typeof PORTS, string> = {
    postgres: "PostgreSQL",
    redis: "Redis",
    moto: "moto (AWS)",
    apiServer: "the Airflow api-server",
    flower: "Flower",
    workerLogs: "the Celery worker's log server",
    triggererLogs: "the triggerer's log server",
};

export interface LocalPaths {
    /** .local/ (git-ignored): data, logs, secrets and the supervisor's state. */
    stateDir: string;
    /** The supervisor's snapshot: its pid and each component's state, rewritten on every change. */
    stateFile: string;
    /** The supervisor's control socket (HTTP over a unix socket). */
    socket: string;
    logs: string;
    /** The Python environment whose Airflow runs (default .venv/; LOCAL_AIRFLOW=previous: .venv-3.0.6/). */
    venv: string;
    venvBin: string;
    /**
     * The bin/ of the runner's own tools' environment (moto and the seed), always .venv/: moto's saved
     * state is a pickle of its own version, so it must not change with the Airflow that runs.
     */
    toolsBin: string;
    /** Arguments for scripts/ensure-python.sh that install that environment. */
    ensureArgs: readonly string[];
    /** The DAGs folder every Airflow component reads (default dags/). */
    dags: string;
}

/**
 * The paths of one local stack. LOCAL_STATE_DIR moves .local/ (the tests use it); LOCAL_AIRFLOW=previous
 * runs the previous pinned Airflow from its own environment (runtime.ts; scripts/local/upgrade-test.sh);
 * LOCAL_DAGS_FOLDER points every component at another DAGs folder (scripts/local/drills.sh adds its
 * test-only DAG in a copy of dags/). Throws, in one line, on a LOCAL_AIRFLOW it does not know.
 */
export function localPaths(env: NodeJS.ProcessEnv = process.env): LocalPaths {
    const stateDir = env.LOCAL_STATE_DIR ?? path.join(ROOT, ".local");
    const runtime = localRuntime(ROOT, env);
    return {
        stateDir,
        stateFile: path.join(stateDir, "state.json"),
        socket: path.join(stateDir, "supervisor.sock"),
        logs: path.join(stateDir, "logs"),
        venv: path.dirname(runtime.venvBin),
        venvBin: runtime.venvBin,
        toolsBin: path.join(ROOT, ".venv", "bin"),
        ensureArgs: runtime.ensureArgs,
        dags: path.resolve(env.LOCAL_DAGS_FOLDER ?? path.join(ROOT, "dags")),
    };
}

/** The error the runner reports as one line, `error: <message>`, and exits 1. */
export class LocalError extends Error {}

/** One line, whatever an error's message holds (a config loader's list, a log excerpt). */
export function oneLine(message: string): string {
    return message
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)
        .join("; ");
}
