#!/usr/bin/env bash
# CI's end-to-end test of `npm run local`: boots the staging layout on this machine, runs both DAGs of
# the project to success, stops everything, and checks that no process of it is left. Prints the boot
# time and each DAG run's time. Exits non-zero on the first failure (after stopping what it started).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

cleanup() { npm run --silent local -- down >/dev/null 2>&1 || true; }
trap cleanup EXIT

npm run --silent local -- reset >/dev/null 2>&1 || true

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

start=$(seconds)
npm run --silent local
boot=$(elapsed "$start")

declare -A runs=()
for dag in ml_training_pipeline fargate_parallel_tasks; do
    start=$(seconds)
    npm run --silent local -- run "$dag"
    runs[$dag]=$(elapsed "$start")
done

npm run --silent local -- down
trap - EXIT

# Nothing of the local stack may be left: no process running from this checkout's .venv or .local,
# and none of its loopback ports still open.
left=$(ps -eo pid=,stat=,args= | awk -v root="$root" '$2 !~ /^Z/ && (index($0, root "/.venv/bin") || index($0, root "/.local"))' || true)
if [[ -n $left ]]; then
    echo "error: processes of the local stack are still running after down:" >&2
    echo "$left" >&2
    exit 1
fi
for port in 25432 26379 25000 28080 25555 28793 28794; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "error: port $port still accepts connections after down" >&2
        exit 1
    fi
done

echo "local stack: boot to healthy ${boot} s; ml_training_pipeline ${runs[ml_training_pipeline]} s; fargate_parallel_tasks ${runs[fargate_parallel_tasks]} s; no process left"
