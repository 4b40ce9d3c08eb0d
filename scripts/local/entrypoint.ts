// How a container command runs, as the Airflow image's entrypoint runs it. Light (no Pulumi): the
// supervisor's units use it on every start.

/**
 * What the official Airflow image's entrypoint runs for a container command: `bash ...` and
 * `python ...` as they are, anything else as `airflow <command>` (the apache/airflow image's
 * entrypoint, https://airflow.apache.org/docs/docker-stack/entrypoint.html). Locally each program is the
 * Python environment's own.
 */
export function localEntrypoint(command: readonly string[]): {
    program: "airflow" | "python" | "bash";
    args: string[];
} {
    const [first, ...rest] = command;
    if (first === "python" || first === "bash") return { program: first, args: rest };
    return { program: "airflow", args: [...command] };
}
