#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian packages, the DuckDB
# oracle from npm), builds, and runs every test registered with meson (unit
# suites and integration tests). Ends with one line "tests: N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
"$here/tools/scripts/setup.sh" --tests

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
meson test -C "$here/build" --print-errorlogs --num-processes 2 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

count() { awk -v k="$1" '$0 ~ "^"k":" {print $NF}' "$log" | tail -n 1; }
ok=$(count "Ok"); fail=$(count "Fail"); timeout=$(count "Timeout"); skip=$(count "Skipped")
upass=$(count "Unexpected Pass")
echo "tests: ${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} + ${upass:-0} )) failed, ${skip:-0} skipped"
exit "$rc"
