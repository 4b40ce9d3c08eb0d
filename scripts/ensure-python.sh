#!/usr/bin/env bash
# Creates the Python environment .venv/ from requirements-dev.lock (Apache Airflow, its providers,
# moto, pytest, ruff, hadolint) and makes sure shellcheck is on the PATH, so that `npm test` works as
# the first command in a fresh clone. Needs only python3 (3.11 or 3.12; Apache Airflow 3.3.1 supports
# 3.10 to 3.14, Amazon MWAA runs it on 3.12) with pip; on a Debian machine without shellcheck it
# installs it with apt-get.
#
#   scripts/ensure-python.sh            .venv/ from requirements-dev.lock (the stacks' Airflow)
#   scripts/ensure-python.sh previous   .venv-3.0.6/ from requirements-airflow-3.0.6.lock (the previous
#                                       pinned Airflow, for scripts/local/upgrade-test.sh; on demand)
#
# Idempotent and fast when nothing changed: it compares a hash of the lock file (and of this script)
# with the one recorded in .venv/ at the last install, like scripts/ensure-deps.js does for npm.
#
# Environment: PYTHON=/path/to/python3.x picks the interpreter. Default: Python 3.12, the one MWAA runs
# Airflow 3 on, where the machine has one (python3.12 on the PATH, or a pyenv-installed 3.12.x), else
# python3.11 or python3 if it is 3.11 or 3.12. uv cannot download a Python here (its builds come from a
# host this machine does not reach), so the interpreter must already be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == previous ]]; then
    lock=requirements-airflow-3.0.6.lock
    venv=.venv-3.0.6
else
    lock=requirements-dev.lock
    venv=.venv
fi
stamp=$venv/.airflow-on-aws-lock-hash

ensure_shellcheck() {
    command -v shellcheck >/dev/null 2>&1 && return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: shellcheck is not installed, and installing it needs root." >&2
        echo "       Install it with your package manager (Debian/Ubuntu: sudo apt-get install shellcheck)," >&2
        echo "       then run this again." >&2
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: shellcheck is not installed and this is not a Debian-like system (no apt-get):" >&2
        echo "       install shellcheck with your package manager, then run this again." >&2
        return 1
    fi
    echo "Installing shellcheck with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
    shellcheck --version | sed -n 2p
}

wanted_hash() {
    cat "$lock" "$0" | sha256sum | cut -d' ' -f1
}

up_to_date() {
    [[ -x $venv/bin/python && -f $stamp ]] && [[ $(<"$stamp") == "$(wanted_hash)" ]]
}

supported_python() {
    "$1" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else 1)' >/dev/null 2>&1
}

pick_python() {
    local candidate
    if [[ -n ${PYTHON:-} ]]; then
        if supported_python "$PYTHON"; then
            echo "$PYTHON"
            return 0
        fi
        echo "error: PYTHON=$PYTHON is not a Python 3.11 or 3.12 interpreter." >&2
        return 1
    fi
    local pyenv_root
    pyenv_root=$( (command -v pyenv >/dev/null 2>&1 && pyenv root) || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for candidate in python3.12 "$pyenv_root"/versions/3.12.*/bin/python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && supported_python "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: no Python 3.11 or 3.12 found (tried python3.12, pyenv's 3.12, python3.11, python3)." >&2
    echo "       Apache Airflow 3.3.1 supports Python 3.10 to 3.14 and MWAA runs it on 3.12; install 3.12 or 3.11" >&2
    echo "       (Debian: apt-get install python3), or point PYTHON at one." >&2
    return 1
}

install_venv() {
    local python interpreter tmp started=$SECONDS
    python=$(pick_python)
    interpreter=$("$python" -c 'import sys; print(sys.executable)')
    echo "Creating $venv from $lock with $("$interpreter" --version) ($interpreter)..."

    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # expand $tmp now: it is local to this function
    trap "rm -rf '$tmp'" EXIT

    # 1. uv, at the version and with the hashes the lock pins, into a throw-away folder. --target
    #    leaves the interpreter's own packages alone, so this works with a system Python too.
    awk '/^uv==/ { found = 1 } found { print } found && !/\\$/ { exit }' "$lock" >"$tmp/uv.txt"
    if ! grep -q '^uv==' "$tmp/uv.txt"; then
        echo "error: $lock does not pin uv" >&2
        return 1
    fi
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_REQUIRE_VIRTUALENV=0 PIP_ROOT_USER_ACTION=ignore "$interpreter" -m pip install \
        --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary :all: \
        --target "$tmp/uv" --requirement "$tmp/uv.txt"

    # 2. The virtual environment (uv needs no ensurepip, which Debian's python3 lacks without the
    #    python3-venv package), then exactly the locked packages, every file checked against its hash.
    #    Compiled to bytecode at install, as pip installs them in the image (images/airflow): the local
    #    stack's processes run as the image's user (uid 50000), which cannot write __pycache__ here, so
    #    without it each start of each one compiles every module it imports (seconds of CPU each).
    rm -rf "$venv"
    UV_PYTHON_DOWNLOADS=never "$tmp/uv/bin/uv" venv --quiet --python "$interpreter" "$venv"
    UV_PYTHON_DOWNLOADS=never "$tmp/uv/bin/uv" pip sync --quiet --compile-bytecode --python "$venv/bin/python" \
        --require-hashes "$lock"

    wanted_hash >"$stamp"
    echo "Python environment ready in $((SECONDS - started)) s: $(grep -c "^[A-Za-z0-9].*==" "$lock") packages on $("$venv/bin/python" --version)," \
        "apache-airflow $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("apache-airflow"))')."
}

ensure_shellcheck
if ! up_to_date; then
    install_venv
fi
