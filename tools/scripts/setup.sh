#!/usr/bin/env bash
# Installs what pinpipe needs on Debian 12 (as root) and builds it.
#
#   tools/scripts/setup.sh [--tests] [--builddir DIR]
#
# Build dependencies always; with --tests also what the test suite uses
# (clang for the fuzz targets, the DuckDB oracle's and s3rver's npm
# packages). Packages already present are not reinstalled, so a second run
# only rebuilds.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
builddir="$here/build"
with_tests=0
while [ $# -gt 0 ]; do
    case "$1" in
    --tests) with_tests=1 ;;
    --builddir) builddir=$2; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

pkgs=(meson ninja-build pkg-config gcc g++ libsimdjson-dev libzstd-dev librdkafka-dev libmicrohttpd-dev
      libcurl4-openssl-dev libjs-chart.js zstd liburing-dev libssl-dev libexpat1-dev)
if [ "$with_tests" = 1 ]; then
    # clang and its runtimes (libFuzzer, sanitizers): tests/fuzz/run.sh
    pkgs+=(check nodejs npm python3 python3-requests python3-confluent-kafka kcat curl chromium bc
           python3-botocore awscli clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere on the machine: a working node and npm will do.
if [ "${#missing[@]}" -gt 0 ]; then
    filtered=()
    for p in "${missing[@]}"; do
        case "$p" in
        nodejs) command -v node >/dev/null || filtered+=("$p") ;;
        npm) command -v npm >/dev/null || filtered+=("$p") ;;
        *) filtered+=("$p") ;;
        esac
    done
    missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup.sh: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
        exit 1
    fi
    echo "setup.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The main job builds the binary only; --tests also builds the unit tests.
tests_opt=false
[ "$with_tests" = 1 ] && tests_opt=true
log="$builddir.log"
run_logged() {
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "setup.sh: failed: $*" >&2
        exit 1
    fi
}
if [ ! -f "$builddir/build.ninja" ]; then
    run_logged meson setup "$builddir" "$here" --buildtype=debugoptimized -Dwerror=true \
        -Dtests="$tests_opt"
elif [ "$with_tests" = 1 ]; then
    run_logged meson configure "$builddir" -Dtests=true
fi
run_logged ninja -C "$builddir"
rm -f "$log"

if [ "$with_tests" = 1 ] && [ ! -d "$here/tests/oracle/node_modules/@duckdb" ]; then
    # npm install, not npm ci: the pinned @duckdb/node-api has native
    # bindings for linux-x64 only, so its lockfile cannot list the other
    # platforms and npm ci would call it out of sync. The lockfile still
    # pins every version.
    echo "setup.sh: installing the DuckDB oracle (npm install)" >&2
    (cd "$here/tests/oracle" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
if [ "$with_tests" = 1 ] && [ -f "$here/tests/s3/package.json" ] &&
    [ ! -d "$here/tests/s3/node_modules/s3rver" ]; then
    # s3rver: the S3-compatible server the lake tests write to
    echo "setup.sh: installing s3rver (npm install)" >&2
    (cd "$here/tests/s3" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
