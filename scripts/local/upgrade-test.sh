#!/usr/bin/env bash
# CI's upgrade drill on the real Apache Airflow (the local stack, npm run local): the previous pinned
# Airflow (3.0.6, from .venv-3.0.6) builds history; the stacks' Airflow (.venv) starts against the same
# database, its control script migrates it while nothing else runs (as on ECS, where every service
# waits for the control service's migration), and the history must be kept and both DAGs run again;
# then the previous Airflow must refuse the migrated database in one clear line, changing nothing.
# Prints each phase's time. Run it under `flock /work/wt/local-stack.lock` where several checkouts
# share a machine (the local stack's ports are fixed); it is always `down` when it exits.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

local_stack() { npm run --silent local -- "$@"; }
cleanup() { local_stack down >/dev/null 2>&1 || true; }
trap cleanup EXIT

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }
declare -a figures=()
phase() {
    local name=$1 started
    shift
    echo "== ${name}"
    started=$(seconds)
    "$@"
    figures+=("${name} $(elapsed "$started") s")
}

current=$(sed -n 's/^apache-airflow==\([0-9.]*\).*/\1/p' requirements-dev.lock)
work=$(mktemp -d)
trap 'cleanup; rm -rf "$work"' EXIT
history() { "$root/.venv/bin/python" scripts/local/upgrade_history.py "$@"; }

previous_install() { bash scripts/ensure-python.sh previous; }
previous_up() { LOCAL_AIRFLOW=previous local_stack up; }
previous_history() {
    LOCAL_AIRFLOW=previous local_stack run ml_training_pipeline
    LOCAL_AIRFLOW=previous local_stack run fargate_parallel_tasks
    history build
    history snapshot "$work/before.json" --api
    history check-before "$work/before.json"
    local_stack down
}
# What the logs got since mark_logs: no deprecated option may be read, whether from the settings the
# program renders or from a file an older Airflow left (each is one line of Airflow's own warning).
logs=${LOCAL_STATE_DIR:-.local}/logs
mark_logs() { for f in "$logs"/*.log; do echo "$f $(stat -c %s "$f")"; done >"$work/log-sizes"; }
new_log_lines() {
    local f size
    for f in "$logs"/*.log; do
        size=$(awk -v f="$f" '$1 == f { print $2 }' "$work/log-sizes")
        tail -c +$((${size:-0} + 1)) "$f"
    done
}
settings_current() {
    local found
    found=$(new_log_lines | grep -oE "The [a-z_]+ option in \[[a-z_]+\] has been (renamed|moved) to (the )?[a-z_]+( option in \[[a-z_]+\])?" | sort -u || true)
    if [[ -n $found ]]; then
        echo "error: Airflow $current read deprecated options (its warnings since it started):" >&2
        printf '  %s\n' "${found//$'\n'/$'\n'  }" >&2
        return 1
    fi
    echo "  Airflow $current read no deprecated option"
}
current_up() {
    mark_logs
    local_stack up
}
current_history() {
    settings_current
    history snapshot "$work/after.json" --api
    history compare "$work/before.json" "$work/after.json" dag_runs task_instances xcoms variables connections paused api
}
current_runs() {
    local_stack run ml_training_pipeline
    local_stack run fargate_parallel_tasks
    history snapshot "$work/migrated.json"
    local_stack down
}
previous_refused() {
    local out status=0
    out=$(LOCAL_AIRFLOW=previous local_stack up 2>&1) || status=$?
    if [[ $status -eq 0 ]]; then
        echo "error: Airflow 3.0.6 started against the database Airflow $current migrated" >&2
        return 1
    fi
    if ! grep -q "^error: the stack did not start: refusing to start Airflow 3.0.6: the metadata database is at migration" <<<"$out"; then
        echo "error: Airflow 3.0.6 failed against the migrated database, but not with the guard's message:" >&2
        echo "$out" | tail -20 >&2
        return 1
    fi
    grep "refusing to start" <<<"$out" | sed 's/^/  refused: /'
}
current_again() {
    # Nothing corrupted: the current version starts again on the database, and every table the history
    # lives in, and the migration the database is at, are exactly as before the refused start.
    local_stack up
    history snapshot "$work/refused.json"
    history compare "$work/migrated.json" "$work/refused.json"
    local_stack down
}

local_stack reset >/dev/null 2>&1 || true
phase "install Airflow 3.0.6 (.venv-3.0.6)" previous_install
phase "start at 3.0.6 (boot to healthy)" previous_up
phase "history at 3.0.6 (both DAGs, a Variable, a Connection, a paused DAG; down)" previous_history
phase "start at $current (the control script migrates, then every component starts)" current_up
phase "history kept (runs, task instances, XComs, Variable, Connection, paused), no deprecated option read" current_history
phase "both DAGs again at the new version; down" current_runs
phase "3.0.6 against the migrated database: refused" previous_refused
phase "the current version again on that database: starts, nothing changed; down" current_again
local_stack down >/dev/null 2>&1 || true

left=$(ps -eo pid=,stat=,args= | awk -v root="$root" '$2 !~ /^Z/ && (index($0, root "/.venv") || index($0, root "/.local"))' || true)
if [[ -n $left ]]; then
    echo "error: processes of the local stack are still running after down:" >&2
    echo "$left" >&2
    exit 1
fi
echo "upgrade test passed:"
printf '  %s\n' "${figures[@]}"
