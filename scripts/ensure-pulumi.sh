#!/usr/bin/env bash
# Puts a Pulumi 3.x CLI and a Node.js language host in place and prints the directory that holds them
# (stdout: one line, the bin directory; everything else goes to stderr).
#
# 1. A `pulumi` 3.x on PATH (Pulumi's normal install, which ships pulumi-language-nodejs) is used as is.
# 2. Otherwise the CLI is built from the Go module proxy into .tools/pulumi/<version>/bin (git-ignored):
#    github.com/pulumi/pulumi/pkg/v3 replaces the sdk with ../sdk, so `go install` refuses it; the pkg and
#    sdk modules of one version are downloaded and built side by side. The Node.js language host's own
#    module is not served at current versions: the last copy is inside sdk/v3 at v3.68.0, which runs
#    previews and ups but not policy packs with a current CLI, so tools/cli/langhost (a thin wrapper host)
#    forwards every call to it and runs the Node policy pack itself.
#    The built binaries are kept in ~/.cache/airflow-on-aws/pulumi/<version> too, so a fresh clone on
#    the same machine (CI) copies them instead of rebuilding.
#    When only the wrapper's source differs from the cached build's, only the wrapper is built
#    (seconds), and kept in ~/.cache/airflow-on-aws/pulumi/<version>/wrappers/<hash>.
# PULUMI_BUILD_VERSION overrides the version (default below); PULUMI_FORCE_BUILD=1 ignores PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${PULUMI_BUILD_VERSION:-v3.274.1}
langhost_version=v3.68.0
repo=$(pwd)
tools=$repo/.tools/pulumi/$version
cache=${XDG_CACHE_HOME:-$HOME/.cache}/airflow-on-aws/pulumi/$version
# The wrapper host's source decides whether a cached build is current.
wrapper_hash=$(cat tools/cli/langhost/go.mod tools/cli/langhost/go.sum tools/cli/langhost/*.go | sha256sum | cut -c1-16)

log() { echo "ensure-pulumi: $*" >&2; }

if [ "${PULUMI_FORCE_BUILD:-0}" != 1 ] && command -v pulumi >/dev/null 2>&1; then
    found=$(pulumi version 2>/dev/null || true)
    if [[ $found == v3.* ]] && command -v pulumi-language-nodejs >/dev/null 2>&1; then
        log "using pulumi $found from PATH ($(command -v pulumi))"
        dirname "$(command -v pulumi)"
        exit 0
    fi
fi

complete() { [ -x "$1/pulumi" ] && [ -x "$1/pulumi-language-nodejs" ] && [ "$(cat "$1/.wrapper-hash" 2>/dev/null)" = "$wrapper_hash" ]; }

if complete "$tools/bin"; then
    log "using $("$tools/bin/pulumi" version) from .tools (built from the Go module proxy; Node.js host: wrapper over $langhost_version)"
    echo "$tools/bin"
    exit 0
fi

if complete "$cache/bin"; then
    mkdir -p "$tools"
    rm -rf "${tools:?}/bin"
    cp -a "$cache/bin" "$tools/bin"
    log "using $("$tools/bin/pulumi" version) copied from $cache (Node.js host: wrapper over $langhost_version)"
    echo "$tools/bin"
    exit 0
fi

command -v go >/dev/null 2>&1 || { log "no pulumi 3.x on PATH and no Go toolchain to build one"; exit 1; }

# Only the wrapper host differs (its source is in this repository): build it (seconds) beside the CLI
# and the v3.68.0 host already built. Wrappers are cached by hash in $cache/wrappers, and $cache/bin
# is left as it is, for the clones whose wrapper it holds.
core() { [ -x "$1/pulumi" ] && [ -x "$1/pulumi-language-nodejs-$langhost_version" ]; }
for have in "$tools/bin" "$cache/bin"; do
    core "$have" || continue
    started=$SECONDS
    wrapper=$cache/wrappers/$wrapper_hash
    if [ ! -x "$wrapper/pulumi-language-nodejs" ]; then
        mkdir -p "$cache/wrappers"
        next=$(mktemp -d "$cache/wrappers/.build.XXXXXX")
        (cd tools/cli/langhost && go build -trimpath -o "$next/pulumi-language-nodejs" .)
        rm -rf "$wrapper" && mv "$next" "$wrapper"
        log "built the wrapper host $wrapper_hash in $((SECONDS - started)) s"
    fi
    next=$(mktemp -d "${TMPDIR:-/tmp}/pulumi-bin.XXXXXX")
    chmod 755 "$next"
    cp -a "$have/pulumi" "$have/pulumi-language-nodejs-$langhost_version" "$wrapper/pulumi-language-nodejs" "$next/"
    echo "$wrapper_hash" >"$next/.wrapper-hash"
    mkdir -p "$tools"
    rm -rf "${tools:?}/bin" && mv "$next" "$tools/bin"
    log "using $("$tools/bin/pulumi" version) from .tools (Node.js host: wrapper $wrapper_hash over $langhost_version)"
    echo "$tools/bin"
    exit 0
done

started=$SECONDS
modcache=$(go env GOMODCACHE)
before=$(du -sm "$modcache" 2>/dev/null | cut -f1 || echo 0)
build=$(mktemp -d "${TMPDIR:-/tmp}/pulumi-build.XXXXXX")
trap 'chmod -R u+w "$build" 2>/dev/null; rm -rf "$build"' EXIT
out=$build/bin
mkdir -p "$out"

# Downloads one module and prints its directory in the module cache.
module_dir() {
    (cd "$build" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

log "building pulumi $version from the Go module proxy (first time only: minutes to half an hour on 2 cores; about 0.35 GB downloaded, 1.5 GB of modules and 2 GB of build cache)"
pkg=$(module_dir "github.com/pulumi/pulumi/pkg/v3@$version")
sdk=$(module_dir "github.com/pulumi/pulumi/sdk/v3@$version")
mkdir -p "$build/src"
cp -r "$pkg" "$build/src/pkg"
cp -r "$sdk" "$build/src/sdk"
chmod -R u+w "$build/src"
(cd "$build/src/pkg" && go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" -o "$out/pulumi" ./cmd/pulumi)
log "pulumi built after $((SECONDS - started)) s"

old=$(module_dir "github.com/pulumi/pulumi/sdk/v3@$langhost_version")
cp -r "$old" "$build/src/sdk-$langhost_version"
chmod -R u+w "$build/src/sdk-$langhost_version"
(cd "$build/src/sdk-$langhost_version" && go build -trimpath -o "$out/pulumi-language-nodejs-$langhost_version" ./nodejs/cmd/pulumi-language-nodejs)
log "Node.js language host $langhost_version built after $((SECONDS - started)) s"

(cd tools/cli/langhost && go build -trimpath -o "$out/pulumi-language-nodejs" .)
echo "$wrapper_hash" >"$out/.wrapper-hash"
after=$(du -sm "$modcache" 2>/dev/null | cut -f1 || echo 0)
log "built in $((SECONDS - started)) s; module cache grew by $((after - before)) MB"

mkdir -p "$(dirname "$cache")" "$tools"
rm -rf "${cache:?}/bin.tmp" && cp -a "$out" "$cache/bin.tmp" && rm -rf "${cache:?}/bin" && mv "$cache/bin.tmp" "$cache/bin"
rm -rf "${tools:?}/bin" && cp -a "$out" "$tools/bin"
log "using $("$tools/bin/pulumi" version) from .tools"
echo "$tools/bin"
