#!/usr/bin/env bash
# Builds the libFuzzer targets in their own clang build directory and runs
# each for a fixed time (docs/testing.md, "Fuzzing").
#
#   tests/fuzz/run.sh [--time SECONDS] [--builddir DIR] [--replay] [TARGET...]
#
# TARGET: record, rest, config, lake, sigv4, windows, stream (default: all). --time: seconds
# per target (default $PP_FUZZ_TIME or 10). --replay: run each target once
# over its seed corpus only (the regression inputs), no fuzzing.
#
# Each target starts from tests/fuzz/corpus/<name>/ (read only) and a fresh
# scratch corpus. A crash, a sanitizer report (ASan, UBSan, leaks), an input
# slower than 10 s or one above 2 GB of memory fails the target; the
# reproducer is kept under <builddir>/fuzz-artifacts/ and named in the
# output. One line per target, then "fuzz: N passed, N failed"; the exit
# status is 1 when any target failed.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
builddir="$here/build-fuzz"
secs=${PP_FUZZ_TIME:-10}
is_replay=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --time) secs=$2; shift ;;
    --builddir) builddir=$2; shift ;;
    --replay) is_replay=1 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
    esac
    shift
done
[ "${#targets[@]}" -gt 0 ] || targets=(record rest config lake sigv4 windows stream)
for t in "${targets[@]}"; do
    if [ ! -f "$here/tests/fuzz/fuzz_$t.c" ]; then
        echo "run.sh: no target '$t' (tests/fuzz/fuzz_$t.c)" >&2
        exit 2
    fi
done

for tool in clang clang++; do
    if ! command -v "$tool" >/dev/null; then
        echo "run.sh: $tool not found (tools/scripts/setup.sh --tests installs it)" >&2
        exit 1
    fi
done

log="$builddir.log"
mkdir -p "$(dirname "$builddir")"
if [ ! -f "$builddir/build.ninja" ]; then
    # -Dwerror=false: clang warns about a few things gcc does not; the gcc
    # build (-Dwerror=true) is the one that keeps the code warning-free.
    if ! CC=clang CXX=clang++ meson setup "$builddir" "$here" --buildtype=debugoptimized \
        -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false \
        -Dwerror=false >"$log" 2>&1; then
        cat "$log" >&2
        echo "run.sh: meson setup $builddir failed" >&2
        exit 1
    fi
fi
ninja_targets=()
for t in "${targets[@]}"; do ninja_targets+=("tests/fuzz/fuzz_$t"); done
if ! ninja -C "$builddir" "${ninja_targets[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "run.sh: building the fuzz targets failed" >&2
    exit 1
fi
rm -f "$log"

work=$(mktemp -d "$builddir/fuzz-run.XXXXXX")
# fuzz_lake writes a small lake per input, fsyncs included: on tmpfs
# when there is one, where that costs nothing.
lakes=$work
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    lakes=$(mktemp -d /dev/shm/pp_fuzz.XXXXXX)
fi
trap 'rm -rf "$work" "$lakes"' EXIT
artifacts="$builddir/fuzz-artifacts"
mkdir -p "$artifacts"
# Every finding ends the run with an error: UBSan stops at its first report
# (the build has -fno-sanitize-recover too), and leaks count.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
export TMPDIR="$lakes"

passed=0
failed=0
for t in "${targets[@]}"; do
    exe="$builddir/tests/fuzz/fuzz_$t"
    seeds="$here/tests/fuzz/corpus/$t"
    out="$work/$t.log"
    mkdir -p "$work/corpus-$t"
    args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          "-artifact_prefix=$artifacts/$t-")
    if [ "$is_replay" = 1 ]; then
        args+=(-runs=0 "$seeds")
    else
        args+=("-max_total_time=$secs" "$work/corpus-$t" "$seeds")
    fi
    start=$SECONDS
    rc=0
    "$exe" "${args[@]}" >"$out" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz_$t: ok (${runs:-?} inputs in $((SECONDS - start)) s)"
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    echo "FAIL fuzz_$t: exit $rc after $((SECONDS - start)) s"
    grep -E '^(==[0-9]+== ?ERROR|SUMMARY|.*runtime error)' "$out" | head -n 5 || true
    grep -E '^ +#[0-9]+ .* in (fuzz_|pp_|json|sink|clean|lake|sigv4|config|rest)' "$out" |
        head -n 8 || true
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out" | tail -n 1)
    if [ -n "$repro" ]; then
        echo "  reproducer: $repro"
        echo "  replay it:  $exe $repro"
    fi
    cp "$out" "$artifacts/$t.log"
    echo "  full log:   $artifacts/$t.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
