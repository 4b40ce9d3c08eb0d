#!/usr/bin/env bash
# Boot time of `npm run local` against `airflow standalone`, measured side by side in one run.
#
#   bash scripts/local/benchmark.sh [ROUNDS]   ROUNDS (default 3) interleaved rounds of: airflow
#                                              standalone cold, npm run local cold (after reset), warm;
#                                              prints each figure, the medians and the ratios
#   bash scripts/local/benchmark.sh standalone one cold start of airflow standalone; prints its seconds
#
# airflow standalone runs from the same pinned environment (.venv), with a fresh SQLite home (its
# migration included), the project's DAGs and no examples, and one api-server worker as npm run local
# runs (with four, uvicorn kills workers that miss its 5 s health ping on a busy machine, and standalone
# never turns healthy), until /api/v2/monitor/health shows every component healthy. It runs under
# tini -s, which reaps its children when it is stopped (this machine's PID 1 reaps nothing). npm run local counts until it returns: every component healthy and every DAG file
# parsed. Run it alone (the ports are the local stack's): flock /work/wt/local-stack.lock bash scripts/local/benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# A process and all its descendants.
tree() {
    local child
    echo "$1"
    for child in $(ps -o pid= --ppid "$1"); do tree "$child"; done
}

# TERM to the listed processes, KILL after 10 s to those still running (not counting zombies).
stop_all() {
    local p running
    # shellcheck disable=SC2086 # a list of pids
    kill -TERM $1 2>/dev/null || true
    for _ in $(seq 1 100); do
        running=
        for p in $1; do
            [[ -e /proc/$p && $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d" " -f1) != Z ]] && running+=" $p"
        done
        [[ -n $running ]] || return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $running 2>/dev/null || true
}

# Seconds from `airflow standalone` starting (fresh home) to every component healthy.
standalone() {
    local home pid start
    home=$(mktemp -d /tmp/airflow-standalone.XXXXXX)
    start=$(now)
    (
        cd "$home"
        exec env -i PATH="$root/.venv/bin:/usr/bin:/bin" HOME="$home" LANG=C.UTF-8 AIRFLOW_HOME="$home" \
            AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DAGS_FOLDER="$root/dags" \
            AIRFLOW__API__PORT=28080 AIRFLOW__API__WORKERS=1 AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=28793 \
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=28794 \
            setsid tini -s -- "$root/.venv/bin/airflow" standalone
    ) >"$home/standalone.log" 2>&1 &
    pid=$!
    # One poller for the whole wait, in-process every 0.2 s: a new node per poll cost about 0.1 s of CPU
    # each, a third of a core taken from standalone while it started.
    if ! node -e '
        const [pid, deadline] = [Number(process.argv[1]), Date.now() + 180_000];
        const poll = () => {
            try { process.kill(pid, 0); } catch { process.exit(1); }
            if (Date.now() > deadline) process.exit(1);
            fetch("http://127.0.0.1:28080/api/v2/monitor/health").then(r => r.json()).then(h => {
                const ok = ["metadatabase", "scheduler", "triggerer", "dag_processor"].every(c => h[c] && h[c].status === "healthy");
                ok ? process.exit(0) : setTimeout(poll, 200);
            }).catch(() => setTimeout(poll, 200));
        };
        poll();' "$pid" 2>/dev/null; then
        echo "error: airflow standalone did not turn healthy; see $home/standalone.log" >&2
        kill -- -"$pid" 2>/dev/null || true
        return 1
    fi
    since "$start"
    # Its components run in sessions of their own: stop the whole tree, not only the process group, and
    # the components before standalone itself, so that each is reaped by its parent (or by tini).
    local procs
    procs=$(tree "$pid" | tail -n +3)
    stop_all "$procs"
    stop_all "$(tree "$pid" | tail -n +2)"
    wait "$pid" 2>/dev/null || true
    rm -rf "$home"
}

# Seconds of one `npm run local` (cold after a reset, warm otherwise) until it returns, then down.
# Also records, in $healthy_file, the seconds until every component was healthy (standalone's
# criterion; npm run local then also waits for every DAG file to be parsed), by the CLI's own clock.
healthy_file=$(mktemp)
local_boot() {
    local start out
    [[ $1 == cold ]] && npm run --silent local -- reset >/dev/null
    out=$(mktemp)
    start=$(now)
    npm run --silent local >"$out"
    since "$start"
    sed -n 's/^\[ *\([0-9.]*\) s\] every component is healthy.*/\1/p' "$out" >"$healthy_file"
    rm -f "$out"
    npm run --silent local -- down >/dev/null
}

median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

if [[ ${1:-} == standalone ]]; then
    standalone
    exit
fi

rounds=${1:-3}
trap 'rm -f "$healthy_file"; npm run --silent local -- down >/dev/null 2>&1 || true' EXIT
npm run --silent local -- down >/dev/null 2>&1 || true
s=() c=() w=() ch=() wh=()
for round in $(seq 1 "$rounds"); do
    s+=("$(standalone)")
    c+=("$(local_boot cold)")
    ch+=("$(<"$healthy_file")")
    w+=("$(local_boot warm)")
    wh+=("$(<"$healthy_file")")
    echo "round $round: airflow standalone ${s[-1]} s, npm run local cold ${c[-1]} s (healthy at ${ch[-1]} s), warm ${w[-1]} s (healthy at ${wh[-1]} s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
ms=$(echo "${s[*]}" | median) mc=$(echo "${c[*]}" | median) mw=$(echo "${w[*]}" | median)
mch=$(echo "${ch[*]}" | median) mwh=$(echo "${wh[*]}" | median)
echo "medians of $rounds: airflow standalone ${ms} s, npm run local cold ${mc} s ($(ratio "$mc" "$ms")x), warm ${mw} s ($(ratio "$mw" "$ms")x)"
echo "  until every component is healthy (standalone's criterion): cold ${mch} s ($(ratio "$mch" "$ms")x), warm ${mwh} s ($(ratio "$mwh" "$ms")x)"
