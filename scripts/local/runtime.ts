/**
 * Which Python environment, and so which Apache Airflow, `npm run local` runs. By default .venv/ (the
 * stacks' Airflow, from requirements-dev.lock). LOCAL_AIRFLOW=previous runs the previous pinned Airflow
 * from .venv-3.0.6/ (requirements-airflow-3.0.6.lock, installed on demand by
 * `scripts/ensure-python.sh previous`): scripts/local/upgrade-test.sh starts the local stack at that
 * version, builds history, then starts it again at the stacks' version against the same database.
 */
import path from "path";

/** The Airflow version before the stacks' current one: what upgrade-test.sh upgrades from. */
export const PREVIOUS_AIRFLOW_VERSION = "3.0.6";

export interface LocalRuntime {
    /** The bin/ folder of the Python environment every local process runs from. */
    readonly venvBin: string;
    /** Arguments for scripts/ensure-python.sh that install that environment. */
    readonly ensureArgs: readonly string[];
    /** The Airflow version it runs, if not the mirrored stack's. */
    readonly airflowVersion?: string;
}

export function localRuntime(root: string, env: NodeJS.ProcessEnv = process.env): LocalRuntime {
    const which = env.LOCAL_AIRFLOW ?? "";
    if (which === "" || which === "current") {
        return { venvBin: path.join(root, ".venv", "bin"), ensureArgs: [] };
    }
    if (which === "previous") {
        return {
            venvBin: path.join(root, `.venv-${PREVIOUS_AIRFLOW_VERSION}`, "bin"),
            ensureArgs: ["previous"],
            airflowVersion: PREVIOUS_AIRFLOW_VERSION,
        };
    }
    throw new Error(
        `LOCAL_AIRFLOW must be "current" or "previous" (Airflow ${PREVIOUS_AIRFLOW_VERSION}), got "${which}"`,
    );
}
