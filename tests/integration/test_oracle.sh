#!/usr/bin/env bash
# pinpipe query --format json must equal the DuckDB oracle (tests/oracle) on:
#   1. the hand-made edge-case lake (tests/data/edge_lake), whose trickiest
#      answers are also checked against hand-derived values (check_edge.mjs);
#   2. emulator lakes with dirty values, duplicates and malformed records,
#      several partitions, zstd and plain objects, one-record objects;
#   3. the real records of the original pipeline (../shared/data/aicore), when
#      that directory is present.
#
#   test_oracle.sh <pinpipe binary> <source dir>
set -euo pipefail

pinpipe=$1
src=$2
oracle="$src/tests/oracle"
if ! command -v node >/dev/null || [ ! -d "$oracle/node_modules/@duckdb/node-api" ]; then
    echo "test_oracle: SKIP: node or @duckdb/node-api missing (run tools/scripts/setup.sh --tests)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
passed=0

# compare <name> <lake> [extra query args]
compare() {
    local name=$1 lake=$2
    shift 2
    if ! "$pinpipe" query --from "$lake" --format json --quiet "$@" >"$tmp/$name.pinpipe.json"; then
        echo "FAIL $name: pinpipe query exited $?"
        failed=$((failed + 1))
        return
    fi
    node "$oracle/oracle.mjs" "$lake" >"$tmp/$name.oracle.json"
    if node "$oracle/compare.mjs" "$tmp/$name.oracle.json" "$tmp/$name.pinpipe.json"; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        failed=$((failed + 1))
    fi
}

# 1. The edge-case lake; the oracle itself is checked against hand-derived answers.
if node "$oracle/check_edge.mjs" >"$tmp/check_edge.out" 2>&1; then
    echo "ok   oracle matches the hand-derived edge answers"
    passed=$((passed + 1))
else
    cat "$tmp/check_edge.out"
    echo "FAIL oracle vs hand-derived edge answers"
    failed=$((failed + 1))
fi
compare edge "$src/tests/data/edge_lake"

# 2. Emulator lakes: dirty values, exact duplicates (a small key space),
# malformed records of every kind, several partitions and object sizes.
"$pinpipe" emulate --to "$tmp/dirty" --count 20000 --seed 7 --partitions 3 \
    --ind-space 15000 --malformed 20 --flush-size 3000 --quiet
compare dirty "$tmp/dirty"
"$pinpipe" emulate --to "$tmp/plain" --count 3000 --seed 11 --partitions 5 \
    --malformed 5 --compression none --flush-size 700 --quiet
compare plain "$tmp/plain"
# One record per object, as MSK Connect with flush.size=1 writes them.
"$pinpipe" emulate --to "$tmp/one" --count 300 --seed 3 --partitions 2 --flush-size 1 --quiet
compare one-record-objects "$tmp/one"
# The same lake must give the same answers whatever the number of workers.
compare dirty-1-worker "$tmp/dirty" --workers 1
compare dirty-3-workers "$tmp/dirty" --workers 3

# 3. The real records, when present: one object per topic, as the sample is.
aicore="$src/../shared/data/aicore/sample_records.jsonl"
if [ -f "$aicore" ]; then
    python3 - "$aicore" "$tmp/aicore" <<'PY'
import json, os, sys
by = {"pin": [], "geo": [], "user": []}
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        rec = json.loads(line)
        by[rec.pop("topic")].append(json.dumps(rec))
for topic, lines in by.items():
    d = os.path.join(sys.argv[2], "topics", f"aicore.{topic}", "partition=0")
    os.makedirs(d)
    with open(os.path.join(d, f"aicore.{topic}+0+0000000000.json"), "w") as out:
        out.write("\n".join(lines) + "\n")
PY
    compare aicore "$tmp/aicore"
else
    echo "skip aicore: $aicore is absent"
fi

echo "test_oracle: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
