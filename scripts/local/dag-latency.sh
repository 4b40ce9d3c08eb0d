#!/usr/bin/env bash
# The time from a new and a changed DAG file in the bucket to its version being parsed and runnable, on
# the local stack with the Celery layout's own path (the dag-sync sidecars, then the dag-processor): see
# scripts/local/dag_latency.py. Starts the local stack, measures, and is always `down` when it exits.
# Run it under `flock /work/wt/local-stack.lock` where several checkouts share a machine.
#   scripts/local/dag-latency.sh [--samples N]
set -euo pipefail
cd "$(dirname "$0")/../.."

cleanup() {
    npm run --silent local -- down >/dev/null 2>&1 || true
}
trap cleanup EXIT

npm run --silent local -- down >/dev/null 2>&1 || true
npm run --silent local >/dev/null
.venv/bin/python scripts/local/dag_latency.py measure "$@"
