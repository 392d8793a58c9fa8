#!/usr/bin/env bash
# The lake sink end to end (issue 4, local lake): `pinpipe run` writes raw,
# cleaned and dlq objects that hold every record exactly once, across a
# kill -9 and restarts:
#   - a `pinpipe broker`, posts from `pinpipe emulate` (dirty values,
#     malformed records) and hostile records (invalid UTF-8, not an object,
#     a JSON value spread over lines);
#   - run 1 is killed with SIGKILL right after consuming everything (open
#     objects lost, commits behind); run 2 rewrites them, more posts arrive,
#     SIGTERM flushes; run 3 reads nothing new;
#   - sink_check.py: per partition the raw objects concatenated equal the
#     records in offset order; cleaned and dlq lines match; names, paths and
#     flush.size hold; no temporary file is left;
#   - DuckDB reads the zstd lake directly with the answers of `pinpipe query`;
#   - TimeBasedPartitioner paths; an unwritable lake or spool exits 1 with one line.
#
#   test_sink.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_sink curl python3 zstd node
"$PYTHON" -c 'import confluent_kafka' 2>/dev/null || {
    echo "test_sink: skipped: python3-confluent-kafka is missing"
    exit 77
}

kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"
lake=$tmp/sink-lake
flush=400

start_broker "$kport" "$tmp/broker.log" --partitions 3

# produce_hostile: records the cleaner rejects, and one valid record whose
# JSON spans lines (a raw line must still hold it whole).
produce_hostile() {
    "$PYTHON" - "127.0.0.1:$kport" <<'EOF'
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1]})
for i, v in enumerate([b'{"index": 900001, "title": "caf\xe9 \xff"}', b'[1, 2, 3]', b'{"index": "x"}',
                       b'not json at all', b'{\n  "index": 900002,\n  "category": "travel"\n}']):
    p.produce("pinterest.pin", value=v, key=str(900001 + i).encode())
p.produce("pinterest.user", value=b'{"ind": 12, "age": 30', key=b"12")
p.flush(10)
EOF
}

start_run() {
    local log=$1
    shift
    "$pinpipe" run --set "lake.url=$lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
        --set "http.listen=127.0.0.1:$hport" --set "flush.size=$flush" \
        --set kafka.group.id=test-sink --set kafka.session.timeout.ms=6000 \
        --set errors.deadletterqueue.topic.name=pinterest.errors "$@" 2>"$log" &
    run_pid=$!
    pids+=("$run_pid")
}
wait_records() { wait_json "$api/v1/status" 'd["records"]' "$1" "$2"; }

"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 3000 --seed 21 --malformed 15 --quiet ||
    fail "emulate"
produce_hostile

start_run "$tmp/run1.log"
if wait_records 9006 60; then ok "run 1 consumed 9006 records"; else
    fail "run 1 consumed 9006 records"
    cat "$tmp/run1.log"
fi
kill -KILL "$run_pid"
wait "$run_pid" 2>/dev/null
ok "run 1 killed with SIGKILL"
ls -R "$lake" >"$tmp/after-kill.txt" 2>/dev/null

# Run 2 starts from the committed offsets: what the kill lost is read again
# and its objects rewritten under the same names.
start_run "$tmp/run2.log"
sleep 2
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 1000 --seed 22 --malformed 15 --quiet ||
    fail "emulate, second part"
# Run 2 has read everything once its next offsets add up to every record
# produced (the killed member holds the partitions until its session times
# out; the lag can read 0 before the fetches have seen new records).
wait_json "$api/v1/status" 'sum(o["next_offset"] for o in d["offsets"])' 12006 60 ||
    fail "run 2 caught up"
stop_pid "run 2" "$run_pid"
grep -q "writing through io_uring\|writing with plain system calls" \
    "$tmp/run2.log" && ok "run 2 logged how it writes objects" || {
    fail "run 2 logged how it writes objects"
    cat "$tmp/run2.log"
}

if "$PYTHON" "$src/tests/integration/sink_check.py" "127.0.0.1:$kport" pinterest "$lake" "$flush" \
    >"$tmp/check.txt"; then
    ok "lake after kill -9 and restart: $(cat "$tmp/check.txt")"
else
    fail "lake after kill -9 and restart"
    cat "$tmp/check.txt"
fi

# The dead-letter topic got every reject (at least once: run 1 was killed).
if "$PYTHON" "$src/tests/integration/dlq_check.py" "127.0.0.1:$kport" pinterest.errors "$lake" \
    >"$tmp/dlq.txt" 2>&1; then
    ok "errors.deadletterqueue.topic.name: $(cat "$tmp/dlq.txt")"
else
    fail "errors.deadletterqueue.topic.name"
    cat "$tmp/dlq.txt"
fi

# Run 3: everything was committed after the flush; nothing is read again.
start_run "$tmp/run3.log"
if wait_json "$api/v1/status" 'd["assigned_partitions"]' 9 30 && sleep 2 && wait_records 0 1; then
    ok "run 3: nothing re-read"
else
    fail "run 3: nothing re-read"
fi
curl -s --max-time 5 "$api/metrics" >"$tmp/metrics.txt"
stop_pid "run 3" "$run_pid"

# DuckDB reads the zstd objects as they are, and the lake answers like the
# records: the oracle over this lake equals pinpipe query over it.
if node "$src/tests/oracle/oracle.mjs" "$lake" >"$tmp/oracle.json" 2>"$tmp/oracle.err" &&
    "$pinpipe" query --from "$lake" --format json --quiet >"$tmp/query.json" &&
    node "$src/tests/oracle/compare.mjs" "$tmp/oracle.json" "$tmp/query.json" >"$tmp/cmp.txt"; then
    ok "DuckDB over the written lake equals pinpipe query over it"
else
    fail "DuckDB over the written lake equals pinpipe query"
    cat "$tmp/oracle.err" "$tmp/cmp.txt" 2>/dev/null | head -20
fi
cleaned=$(node "$src/tests/oracle/read_lake.mjs" "$lake/cleaned/pin/*/*.json.zst" 2>"$tmp/read.err")
want=$("$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); i=d["input"]; print(i["records"]["pin"] - sum(i["rejected"]["pin"].values()))' \
    "$tmp/query.json" 2>/dev/null)
if [ -n "$cleaned" ] && [ "$cleaned" = "$want" ]; then
    ok "DuckDB read_json over cleaned/pin: $cleaned rows"
else
    fail "DuckDB read_json over cleaned/pin: '$cleaned', want '$want'"
    cat "$tmp/read.err"
fi

# replay --to <lake>: the written lake through the pipeline again, into a
# new lake (the batch job's cleaned tables): same answers, same cleaned rows.
if "$pinpipe" replay --from "$lake" --to "$tmp/replayed" --set flush.size=1000 --quiet &&
    "$pinpipe" query --from "$tmp/replayed" --format json --quiet >"$tmp/replayed.json" &&
    cmp -s <("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["queries"])' "$tmp/query.json") \
        <("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["queries"])' "$tmp/replayed.json") &&
    [ "$(node "$src/tests/oracle/read_lake.mjs" "$tmp/replayed/cleaned/pin/*/*.json.zst")" = "$want" ]; then
    ok "replay --to <lake>: same answers, $want cleaned pin rows"
else
    fail "replay --to <lake>"
fi
expect_one_line "replay --set with kafka" 2 "--set goes with a lake" 10 \
    replay --from "$lake" --to kafka://127.0.0.1:1 --set flush.size=5
expect_one_line "replay --rate with a lake" 2 "--rate and --timeout" 10 \
    replay --from "$lake" --to "$tmp/x" --rate 5

# Two members of one group write one lake while partitions move between
# them (B joins, A leaves with SIGTERM, A comes back, B is killed with
# SIGKILL): each partition's objects are written by its owner, a member
# that loses a partition drops its open objects instead of writing partial
# ones, and the lake still holds every record once. The analytics move
# with the partitions (docs/checkpoints.md): the member left holding every
# partition loaded the others' state from their checkpoints and answers
# like `pinpipe query` over the whole lake.
glake=$tmp/group-lake
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --prefix grp --count 2000 --seed 31 --malformed 15 \
    --quiet || fail "emulate grp"
hport_b=$(free_port)
start_member() {
    "$pinpipe" run --set "lake.url=$glake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
        --set "http.listen=127.0.0.1:$1" --set flush.size=150 --set topics.prefix=grp \
        --set kafka.group.id=test-sink-group --set kafka.session.timeout.ms=6000 \
        --set state.checkpoint.interval=1s 2>"$2" &
    member_pid=$!
    pids+=("$member_pid")
}
# save_answers <api> <name>: a member's window=all answers, before its
# stop; check_answers <name>: those against `pinpipe query` over the
# group's lake, after the stop (which makes every object durable).
save_answers() { json_get "$1/v1/queries?window=all" 'json.dumps(d)' >"$tmp/$2-all.json"; }
check_answers() {
    "$pinpipe" query --from "$glake" --prefix grp --format json --quiet >"$tmp/$1-query.json"
    if "$PYTHON" "$src/tests/integration/compare_answers.py" "$tmp/$1-all.json" \
        "$tmp/$1-query.json" >"$tmp/$1-cmp.txt" 2>&1; then
        ok "two members: $1 held every partition, and its window=all equals pinpipe query over the lake"
    else
        fail "two members: $1's window=all differs from pinpipe query over the lake"
        head -20 "$tmp/$1-cmp.txt"
    fi
}
start_member "$hport" "$tmp/member-a.log"
pid_a=$member_pid
wait_json "$api/v1/status" 'int(d["records"] > 0)' 1 30 || fail "member A started"
start_member "$hport_b" "$tmp/member-b.log"
pid_b=$member_pid
api_b="http://127.0.0.1:$hport_b"
# B holds some partitions once the group has rebalanced.
wait_json "$api_b/v1/status" 'int(d["assigned_partitions"] > 0)' 1 40 || fail "member B assigned"
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --prefix grp --count 1500 --seed 32 \
    --malformed 15 --quiet || fail "emulate grp, second part"
sleep 2
stop_pid "member A" "$pid_a"
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --prefix grp --count 1000 --seed 33 \
    --malformed 15 --quiet || fail "emulate grp, third part"
# Caught up: B's next offsets add up to every record produced (its lag
# alone can read 0 before its fetches have seen the new records) and its
# lag is 0 (a checkpoint of A that B loaded may set the offsets ahead of
# what B has read again for the lake): wait_caught_up in lib.sh.
wait_caught_up "$api_b" 13500 60 30 || fail "member B took every partition and caught up"
save_answers "$api_b" "member B"
stop_pid "member B" "$pid_b"
check_answers "member B"
# What A stopped with, B loaded: the state of A's partitions.
if grep -q "loaded the state of [1-9][0-9]* partitions of group test-sink-group: [1-9]" \
    "$tmp/member-b.log"; then
    ok "two members: B loaded the state of the partitions A gave up"
else
    fail "two members: B did not load the state of A's partitions"
    grep "run:" "$tmp/member-b.log" | head
fi
# Both come back and share the partitions (each loading the state B
# stopped with); B is killed: A takes B's partitions from B's last
# durable checkpoints.
start_member "$hport" "$tmp/member-a2.log"
pid_a=$member_pid
wait_json "$api/v1/status" 'int(d["assigned_partitions"] > 0)' 1 40 || fail "member A back"
start_member "$hport_b" "$tmp/member-b2.log"
pid_b=$member_pid
wait_json "$api_b/v1/status" 'int(d["assigned_partitions"] > 0)' 1 40 || fail "member B back"
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --prefix grp --count 500 --seed 34 \
    --malformed 15 --quiet || fail "emulate grp, fourth part"
wait_json "$api_b/v1/status" 'int(d["records"] > 0)' 1 30 || fail "member B applied records"
sleep 2
{ kill -KILL "$pid_b" && wait "$pid_b"; } 2>/dev/null
wait_caught_up "$api" 15000 60 30 || fail "member A took every partition and caught up"
save_answers "$api" "member A"
stop_pid "member A, back" "$pid_a"
check_answers "member A"
if "$PYTHON" "$src/tests/integration/sink_check.py" "127.0.0.1:$kport" grp "$glake" 150 \
    >"$tmp/gcheck.txt"; then
    ok "two members, partitions moving: $(cat "$tmp/gcheck.txt")"
else
    fail "two members, partitions moving"
    cat "$tmp/gcheck.txt"
fi

# TimeBasedPartitioner: hour paths of each record's Kafka timestamp (open
# objects in memory: sink.spool.dir=none).
tlake=$tmp/time-lake
"$pinpipe" run --set "lake.url=$tlake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
    --set "http.listen=127.0.0.1:$hport" --set "flush.size=$flush" \
    --set kafka.group.id=test-sink-time --set kafka.session.timeout.ms=6000 \
    --set partitioner.class=io.confluent.connect.storage.partitioner.TimeBasedPartitioner \
    --set "path.format='year'=YYYY/'month'=MM/'day'=dd/'hour'=HH" \
    --set partition.duration.ms=3600000 --set sink.spool.dir=none 2>"$tmp/time.log" &
run_pid=$!
pids+=("$run_pid")
wait_records 12006 60 || fail "time run consumed 12006 records"
stop_pid "time-partitioned run" "$run_pid"
if "$PYTHON" "$src/tests/integration/sink_check.py" "127.0.0.1:$kport" pinterest "$tlake" "$flush" \
    --time-format >"$tmp/tcheck.txt"; then
    ok "TimeBasedPartitioner lake: $(cat "$tmp/tcheck.txt")"
else
    fail "TimeBasedPartitioner lake"
    cat "$tmp/tcheck.txt"
fi

# A lake (or a spool) that cannot be written stops the start: exit 1, one
# line.
echo "a file" >"$tmp/plain-file"
expect_one_line "lake under a regular file" 1 "$tmp/plain-file/lake" 20 \
    run --set "lake.url=$tmp/plain-file/lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
    --set "http.listen=127.0.0.1:$hport"
expect_one_line "spool in a missing directory" 1 "cannot make a file in $tmp/no-such-dir" 20 \
    run --set "lake.url=$tmp/spool-lake" --set "sink.spool.dir=$tmp/no-such-dir" \
    --set "kafka.bootstrap.servers=127.0.0.1:$kport" --set "http.listen=127.0.0.1:$hport"
expect_one_line "bad path.format" 2 "path.format" 20 \
    run --set "lake.url=$lake" --set partitioner.class=time \
    --set "path.format=YYYY/ww" --set partition.duration.ms=3600000 \
    --set "kafka.bootstrap.servers=127.0.0.1:$kport" --set "http.listen=127.0.0.1:$hport"

echo "sink: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
