#!/usr/bin/env bash
# The worker drills of the local stack (issue 17): SIGTERM, scale-in and SIGKILL of a busy Celery
# worker, against a stand-in for the ECS agent's task scale-in protection endpoint. Starts the local
# stack, prints each figure, stops everything, and ends with "drills: N passed, M failed" (non-zero
# exit when one failed). Run one drill by name: scripts/local/drills.sh sigkill
# Only one local stack may run on a machine (fixed loopback ports).
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/ensure-deps.js >/dev/null
bash scripts/ensure-python.sh >/dev/null
exec .venv/bin/python scripts/local/drills.py "$@"
