#!/usr/bin/env bash
# Installs actionlint, the linter of the GitHub workflows, at a pinned version into .tools/bin (git-ignored)
# with `go install` through the Go module proxy. Prints the binary's path. Fast when that version is
# already there: it only runs `actionlint -version`.
#
# Needs `go` on the PATH, any version from 1.21: actionlint needs Go 1.25, which the go command fetches
# through the module proxy by itself when it is older (GOTOOLCHAIN=auto).
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
exe="$bin/actionlint"

if [ -x "$exe" ] && [ "$("$exe" -version 2>/dev/null | head -n 1)" = "$ACTIONLINT_VERSION" ]; then
    echo "$exe"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "error: installing actionlint $ACTIONLINT_VERSION needs the go command (Go 1.21 or later) on the PATH:" >&2
    echo "       apt-get install golang-go, or see https://go.dev/doc/install" >&2
    exit 1
fi

started=$SECONDS
echo "Installing actionlint $ACTIONLINT_VERSION into .tools/bin (go install)..." >&2
mkdir -p "$bin"
GOBIN="$bin" GOTOOLCHAIN=auto go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
echo "actionlint $ACTIONLINT_VERSION installed in $((SECONDS - started)) s." >&2
echo "$exe"
