#!/usr/bin/env bash
# The command-line contract of SPEC 8: exit 0 ok, 1 runtime failure, 2 usage
# or configuration error, with one clear line on stderr naming the problem.
#
#   test_cli.sh <pinpipe binary> <source dir>
set -euo pipefail

pinpipe=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
passed=0

# expect <name> <exit code> <stderr text (fixed string; "" for none)> -- <args...>
expect() {
    local name=$1 want=$2 pattern=$3
    shift 4
    local rc=0
    "$pinpipe" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, want $want"; cat "$tmp/err"; failed=$((failed + 1)); return
    fi
    if [ "$want" -ne 0 ] && [ "$lines" -ne 1 ]; then
        echo "FAIL $name: $lines lines on stderr, want 1"; cat "$tmp/err"; failed=$((failed + 1)); return
    fi
    if [ -n "$pattern" ] && ! grep -qF -- "$pattern" "$tmp/err"; then
        echo "FAIL $name: stderr does not match '$pattern'"; cat "$tmp/err"; failed=$((failed + 1)); return
    fi
    echo "ok   $name"
    passed=$((passed + 1))
}

"$pinpipe" emulate --to "$tmp/lake" --count 200 --seed 1 --quiet
mkdir -p "$tmp/empty"

expect "no command" 2 "no command given" --
expect "unknown command" 2 "unknown command 'frobnicate'" -- frobnicate
expect "unknown flag" 2 "unknown option '--bogus'" -- query --bogus --from "$tmp/lake"
expect "missing --from" 2 "--from <lake> is required" -- query
expect "missing lake" 2 "lake $tmp/nope" -- query --from "$tmp/nope"
expect "lake without topics" 2 "$tmp/empty/topics: No such file or directory" -- query --from "$tmp/empty"
expect "bad format" 2 "--format must be table, csv or json, not 'xml'" -- query --from "$tmp/lake" --format xml
expect "unknown query" 2 "unknown query 'nope'" -- query --from "$tmp/lake" --query nope
expect "bad workers" 2 "--workers must be" -- query --from "$tmp/lake" --workers 0
expect "flag without value" 2 "needs a value" -- query --from
expect "emulate bad count" 2 "emulate: " -- emulate --to "$tmp/x" --count many
expect "emulate to http without a host" 2 "needs http://<host:port>" -- emulate --to http:///x
expect "query ok" 0 "" -- query --from "$tmp/lake" --quiet
expect "query csv" 0 "" -- query --from "$tmp/lake" --format csv --query category_by_year
grep -q '^# category_by_year$' "$tmp/out" && grep -q '^post_year,category,category_count$' "$tmp/out" \
    && { echo "ok   csv shape"; passed=$((passed + 1)); } || { echo "FAIL csv shape"; failed=$((failed + 1)); }

# Two topic prefixes in one lake: --prefix chooses.
"$pinpipe" emulate --to "$tmp/lake" --count 50 --seed 2 --prefix other --quiet
expect "several prefixes" 2 "choose one with --prefix" -- query --from "$tmp/lake"
expect "prefix chosen" 0 "" -- query --from "$tmp/lake" --prefix other --quiet

# A corrupt object is an error naming it (exit 1); --skip-corrupt counts and skips it.
obj=$(find "$tmp/lake/topics/pinterest.geo" -name '*.json.zst' | sort | head -n 1)
printf 'this is not zstd' >"$obj"
expect "corrupt object" 1 "$(basename "$obj"): corrupt zstd data" -- query --from "$tmp/lake" --prefix pinterest
rc=0
"$pinpipe" query --from "$tmp/lake" --prefix pinterest --skip-corrupt --format json --quiet \
    >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ "$rc" -eq 0 ] && grep -qF "skipping $obj" "$tmp/err" && grep -q '"corrupt_objects":1,' "$tmp/out"; then
    echo "ok   --skip-corrupt"; passed=$((passed + 1))
else
    echo "FAIL --skip-corrupt (exit $rc)"; cat "$tmp/err"; failed=$((failed + 1))
fi

# A truncated object is corrupt too.
"$pinpipe" emulate --to "$tmp/trunc" --count 500 --seed 4 --quiet
obj=$(find "$tmp/trunc/topics/pinterest.user" -name '*.json.zst' | sort | head -n 1)
head -c 100 "$obj" >"$tmp/part" && mv "$tmp/part" "$obj"
expect "truncated object" 1 "$(basename "$obj"): truncated zstd data" -- query --from "$tmp/trunc"

# Files that are not objects (here a FIFO with an object-like name plus a
# suffix) are ignored, not opened.
"$pinpipe" emulate --to "$tmp/unread" --count 100 --seed 5 --quiet
obj=$(find "$tmp/unread/topics/pinterest.pin" -name '*.json.zst' | sort | head -n 1)
rm "$obj" && mkfifo "$obj.fifo-not-an-object"
expect "non-object files are ignored" 0 "" -- query --from "$tmp/unread" --quiet

echo "test_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
