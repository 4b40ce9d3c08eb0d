#!/usr/bin/env bash
# The Python suite (`npm run test:python`, and the second half of `npm test`): makes sure .venv/ is
# installed from the lock, then runs pytest over tests/python/. Arguments go to pytest, e.g.
#   scripts/test-python.sh -k fargate
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-python.sh
started=$SECONDS
status=0
.venv/bin/pytest "$@" || status=$?
echo "Python suite: pytest exited $status after $((SECONDS - started)) s (wall, from interpreter start to exit)."
if [[ $status -eq 5 ]]; then
    echo "error: pytest collected no tests (exit 5): the Python suite must never pass by running nothing." >&2
fi
exit "$status"
