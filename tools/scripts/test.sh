#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian packages, the DuckDB
# oracle from npm), builds, and runs, in four stages (docs/testing.md):
#   plain  every test registered with meson, in build/, except those of
#          suite "long" when the asan stage runs too;
#   asan   the unit tests and every integration and chaos test under
#          ASan+UBSan, in build-asan/ (PP_ASAN_TESTS, test names, narrows
#          the integration tests);
#   tsan   the ring, pipeline and http unit tests under TSan, in build-tsan/;
#   fuzz   each libFuzzer target for PP_FUZZ_TIME seconds (tests/fuzz/run.sh).
# Ends with one line "tests: N passed, N failed, N skipped" over all stages;
# the exit status is 1 when any test failed.
#
# Arguments go to the plain stage's `meson test` (e.g. --suite unit, or a
# test name) and then only the plain stage runs, unless PP_TEST_STAGES names
# the stages ("plain asan tsan fuzz" by default without arguments).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
"$here/tools/scripts/setup.sh" --tests

if [ -n "${PP_TEST_STAGES:-}" ]; then
    stages=$PP_TEST_STAGES
elif [ $# -gt 0 ]; then
    stages=plain
else
    stages="plain asan tsan fuzz"
fi
# Every integration test runs under ASan+UBSan. The long ones (suite
# "long": a minute or more each, most of it waiting) run there only, not
# in the plain stage too, to stay within the time budget (docs/testing.md).
asan_tests=${PP_ASAN_TESTS:-}
plain_skip=()
case " $stages " in *" asan "*) plain_skip=(--no-suite long) ;; esac

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_ok=0
total_fail=0
total_skip=0
status=0
stage_rc=0

# Adds the counts of the `meson test` summaries in a log to the totals.
count_meson() {
    local log=$1 ok fail timeout skip upass
    count() { awk -v k="$1" '$0 ~ "^"k":" {n += $NF} END {print n + 0}' "$log"; }
    ok=$(count "Ok"); fail=$(count "Fail"); timeout=$(count "Timeout"); skip=$(count "Skipped")
    upass=$(count "Unexpected Pass")
    total_ok=$((total_ok + ok))
    total_fail=$((total_fail + fail + timeout + upass))
    total_skip=$((total_skip + skip))
}

# run_stage <name> <command...>: runs a stage, its output shown and kept
# in $logs/<name>.log, its start, end and duration printed.
run_stage() {
    local name=$1 rc start=$SECONDS
    shift
    echo "==== stage $name ($(date +%T))"
    set +e
    "$@" 2>&1 | tee "$logs/$name.log"
    rc=${PIPESTATUS[0]}
    set -e
    echo "==== stage $name: exit $rc, $((SECONDS - start)) s"
    stage_rc=$rc
    [ "$rc" -eq 0 ] || status=1
}

# A sanitizer build directory: configured once, then rebuilt like build/.
sanitizer_build() {
    local dir=$1 log
    shift
    log="$dir.log"
    if [ ! -f "$dir/build.ninja" ] &&
        ! meson setup "$dir" "$here" --buildtype=debugoptimized -Dwerror=true -Dtests=true \
            -Db_lundef=false "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "test.sh: meson setup $dir failed" >&2
        return 1
    fi
    rm -f "$log"
}

stage_plain() {
    meson test -C "$here/build" --print-errorlogs --num-processes 2 "${plain_skip[@]}" "$@"
}

# Every sanitizer report fails: ASan and LSan end the process with an
# error, UBSan stops at its first report (-fno-sanitize-recover in
# meson.build too), TSan at its first race, so the test that checks the
# exit status fails; and the reports go to files in $1, which must stay
# empty, so that a report of a process whose status no test checks (a
# server in the background) fails the stage too. Options the caller set
# come after ours and win.
sanitizer_env() {
    local reports=$1
    mkdir -p "$reports"
    export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:${UBSAN_OPTIONS:-}"
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan:${TSAN_OPTIONS:-}"
    if [ -f "$here/tests/lsan.supp" ]; then
        export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:${LSAN_OPTIONS:-}"
    fi
}

# Prints the reports in $1; false when there is one.
sanitizer_reports() {
    local reports=$1 f n
    n=$(find "$reports" -type f | wc -l)
    [ "$n" -eq 0 ] && return 0
    echo "FAIL $n sanitizer report(s):"
    for f in "$reports"/*; do
        echo "---- $f"
        head -n 60 "$f"
    done
    return 1
}

stage_asan() {
    local dir="$here/build-asan" tests=() rc=0
    sanitizer_build "$dir" -Db_sanitize=address,undefined || return 1
    ninja -C "$dir" -j 2 >"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
    rm -f "$dir.log"
    sanitizer_env "$logs/reports-asan"
    read -r -a tests <<<"$asan_tests"
    # Every test in one run (one pool of two slots, no idle tail between
    # suites); with PP_ASAN_TESTS, the unit suite and then the integration
    # tests it names (two runs: some names are in both suites). Sanitized
    # code is 2-5x slower: meson's timeouts get a multiplier.
    if [ "${#tests[@]}" -eq 0 ]; then
        meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 \
            --timeout-multiplier 3 --suite unit --suite integration --suite chaos || rc=1
    else
        meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 \
            --timeout-multiplier 3 --suite unit || rc=1
        meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 \
            --timeout-multiplier 3 --suite integration "${tests[@]}" || rc=1
    fi
    sanitizer_reports "$logs/reports-asan" || rc=1
    return "$rc"
}

stage_tsan() {
    local dir="$here/build-tsan" rc=0
    sanitizer_build "$dir" -Db_sanitize=thread || return 1
    ninja -C "$dir" -j 2 tests/unit/test_ring tests/unit/test_pipeline tests/unit/test_http \
        >"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
    rm -f "$dir.log"
    sanitizer_env "$logs/reports-tsan"
    # Not the Kafka tests: librdkafka's threads escape TSan (docs/testing.md).
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
        --suite unit ring pipeline http || rc=1
    sanitizer_reports "$logs/reports-tsan" || rc=1
    return "$rc"
}

for s in $stages; do
    fail_before=$total_fail
    case "$s" in
    plain) run_stage plain stage_plain "$@"; count_meson "$logs/plain.log" ;;
    asan) run_stage asan stage_asan; count_meson "$logs/asan.log" ;;
    tsan) run_stage tsan stage_tsan; count_meson "$logs/tsan.log" ;;
    fuzz)
        run_stage fuzz "$here/tests/fuzz/run.sh"
        p=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$logs/fuzz.log")
        f=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$logs/fuzz.log")
        [ -n "$f" ] || { p=0; f=0; } # no summary: a build failure, counted below
        total_ok=$((total_ok + p))
        total_fail=$((total_fail + f))
        ;;
    *) echo "test.sh: unknown stage '$s' in PP_TEST_STAGES (plain asan tsan fuzz)" >&2; exit 2 ;;
    esac
    # A stage that failed without a failed test (a build error) counts one.
    if [ "$stage_rc" -ne 0 ] && [ "$total_fail" -eq "$fail_before" ]; then
        total_fail=$((total_fail + 1))
    fi
done
echo "tests: $total_ok passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ "$status" -eq 0 ]
