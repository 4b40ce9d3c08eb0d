// How a container command runs, as the Airflow image's entrypoint runs it. Light (no Pulumi): the
// supervisor's units use it on every start.

/**
 * The checks the apache/airflow image's entrypoint makes before it runs a command
 * (scripts/docker/entrypoint_prod.sh in apache/airflow; https://airflow.apache.org/docs/docker-stack/entrypoint.html),
 * as a bash script: with CONNECTION_CHECK_MAX_COUNT above 0, `airflow db check` until it succeeds (that
 * many tries, CONNECTION_CHECK_SLEEP_TIME seconds apart); then, before `airflow scheduler` and
 * `airflow celery ...` under the CeleryExecutor, the broker's host and port, the same way; then the
 * command. Arguments: tries, pause, 1 when the broker is checked, the command.
 */
export const ENTRYPOINT_CHECKS = `set -euo pipefail
max=$1 pause=$2 broker=$3
shift 3
tries() {
    local what=$1 i
    shift
    for ((i = 1; i <= max; i++)); do
        if "$@"; then return 0; fi
        echo "entrypoint: $what failed ($i of $max)" >&2
        if ((i < max)); then sleep "$pause"; fi
    done
    echo "error: $what failed $max times: the entrypoint does not run $1" >&2
    exit 1
}
tries "airflow db check" airflow db check
if [[ $broker == 1 && $(airflow config get-value core executor) == CeleryExecutor ]]; then
    url=$(airflow config get-value celery broker_url)
    hostport=\${url#*://}
    hostport=\${hostport##*@}
    hostport=\${hostport%%[/?]*}
    tries "the broker at $hostport" bash -c "exec 3<>/dev/tcp/\${hostport%:*}/\${hostport##*:}"
fi
exec "$@"
`;

/** The official image's default of CONNECTION_CHECK_MAX_COUNT and CONNECTION_CHECK_SLEEP_TIME. */
export const ENTRYPOINT_DEFAULTS = { maxCount: 20, sleepSeconds: 3 } as const;

/**
 * What the official Airflow image's entrypoint runs for a container command in its environment:
 * `bash ...` and `python ...` as they are, anything else as `airflow <command>`, each after the
 * entrypoint's connection checks (ENTRYPOINT_CHECKS) unless CONNECTION_CHECK_MAX_COUNT is 0. Locally
 * each program is the Python environment's own.
 */
export function localEntrypoint(
    command: readonly string[],
    environment: readonly { name?: string; value?: string }[],
): { program: "airflow" | "python" | "bash"; args: string[] } {
    const [first, ...rest] = command;
    const direct: { program: "airflow" | "python" | "bash"; args: string[] } =
        first === "python" || first === "bash"
            ? { program: first, args: rest }
            : { program: "airflow", args: first === "airflow" ? rest : [...command] };
    const env = (name: string) => environment.find((e) => e.name === name)?.value;
    const maxCount = Number(env("CONNECTION_CHECK_MAX_COUNT") ?? ENTRYPOINT_DEFAULTS.maxCount);
    if (!(maxCount > 0)) return direct;
    const sleepSeconds = env("CONNECTION_CHECK_SLEEP_TIME") ?? String(ENTRYPOINT_DEFAULTS.sleepSeconds);
    const broker = direct.program === "airflow" && (direct.args[0] === "scheduler" || direct.args[0] === "celery");
    return {
        program: "bash",
        args: [
            "-c",
            ENTRYPOINT_CHECKS,
            "entrypoint",
            String(maxCount),
            sleepSeconds,
            broker ? "1" : "0",
            direct.program,
            ...direct.args,
        ],
    };
}
