#!/usr/bin/env bash
# Chaos (issue 5): `pinpipe run` killed with SIGKILL at random moments while
# the emulator produces at a steady rate, restarted each time, and nothing
# is lost, duplicated or counted twice:
#   - `pinpipe broker` in its own process; `pinpipe emulate` at a steady rate
#     with malformed records;
#   - two consumer groups at once: one `pinpipe run` writing a local lake,
#     one writing to s3rver; each killed -9 at least 5 times, at a random
#     moment after it has applied records, and started again (state
#     checkpoints every 500 ms, docs/checkpoints.md);
#   - at the end, for each lake: every produced record is in the raw objects
#     exactly once, the cleaned and dlq lines agree (sink_check.py); the
#     nine all-time answers and the input counts of the last run, which
#     restored the state of the killed ones, equal `pinpipe query` over the
#     lake and the DuckDB oracle over it; and some restarts did restore a
#     non-empty state (or the test would prove nothing).
#
#   test_chaos.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$src/tests/integration/lib.sh"
require_tools test_chaos curl node zstd
"$PYTHON" -c 'import confluent_kafka' 2>/dev/null || {
    echo "test_chaos: python3-confluent-kafka missing; skipping"
    exit 77
}
s3_setup test_chaos "$src"

kills=${CHAOS_KILLS:-5}
posts=${CHAOS_POSTS:-15000}
rate=${CHAOS_RATE:-500}
flush=300
kport=$(free_port)
s3port=$(free_port)
endpoint=http://127.0.0.1:$s3port
start_broker "$kport" "$tmp/broker.log" --partitions 4

S3RVER_LOG=0 node --openssl-legacy-provider "$src/tests/s3/s3rver.mjs" "$s3port" "$tmp/s3data" lake \
    >"$tmp/s3rver.log" 2>&1 &
pids+=($!)
wait_for_line "$tmp/s3rver.log" "ready" 10 || {
    cat "$tmp/s3rver.log"
    echo "s3rver did not start"
    exit 1
}

"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count "$posts" --rate "$rate" --seed 51 \
    --malformed 10 --quiet 2>"$tmp/emulate.log" &
emulate_pid=$!
pids+=("$emulate_pid")

# The two members: name -> lake, port, pid, log count.
declare -A lake_of port_of pid_of runs_of
lake_of[local]=$tmp/local-lake
lake_of[s3]=s3://lake/chaos
port_of[local]=$(free_port)
port_of[s3]=$(free_port)
runs_of[local]=0
runs_of[s3]=0

start_run() {
    local name=$1 n
    n=$((runs_of[$name] + 1))
    runs_of[$name]=$n
    "$pinpipe" run --set "lake.url=${lake_of[$name]}" --set "store.url=$endpoint" \
        --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
        --set "http.listen=127.0.0.1:${port_of[$name]}" --set "flush.size=$flush" \
        --set "kafka.group.id=chaos-$name" --set kafka.session.timeout.ms=3000 \
        --set kafka.heartbeat.interval.ms=300 --set state.checkpoint.interval=500ms \
        2>"$tmp/run-$name-$n.log" &
    pid_of[$name]=$!
    pids+=("${pid_of[$name]}")
}

# kill_after_work <name>: once the member has applied records since its
# start, waits a random 0.2-2 s and kills it with SIGKILL.
kill_after_work() {
    local name=$1 i got
    for ((i = 0; i < 120; i++)); do
        got=$(json_get "http://127.0.0.1:${port_of[$name]}/v1/status" 'd["records"]')
        [ -n "$got" ] && [ "$got" -gt 0 ] && break
        sleep 0.25
    done
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (r % 1800) / 1000 }')"
    kill -KILL "${pid_of[$name]}" 2>/dev/null
    wait "${pid_of[$name]}" 2>/dev/null
}

start_run local
start_run s3
for ((k = 1; k <= kills; k++)); do
    for name in local s3; do
        kill_after_work "$name"
        start_run "$name"
    done
done
ok "each member killed with SIGKILL $kills times at random moments and restarted"
# The last kill leaves a dead member in each group until its session times
# out (3 s); the rebalance that follows revokes and assigns the partitions
# again. A stop during it would flush nothing (the partitions are not the
# member's then, and their records are not committed: the next member
# writes them), so the checks below wait for it to pass.
last_start=$SECONDS
if wait "$emulate_pid"; then ok "emulate: $posts posts at $rate/s delivered"; else
    fail "emulate exited non-zero"
    cat "$tmp/emulate.log"
fi

total=$((3 * posts))
for name in local s3; do
    api=http://127.0.0.1:${port_of[$name]}
    last=$tmp/run-$name-${runs_of[$name]}.log
    while ((SECONDS - last_start < 6)); do sleep 0.5; done
    wait_json "$api/v1/status" 'd["assigned_partitions"]' 12 30 >/dev/null
    # Caught up: everything applied, and nothing left to read again for
    # the lake (its records below the restored offsets are redelivered).
    if wait_caught_up "$api" "$total" 90 60; then
        ok "$name: the last run caught up with the $total records"
    else
        fail "$name: the last run caught up"
        tail -5 "$last"
    fi
    curl -s --max-time 10 "$api/v1/queries?window=all" >"$tmp/all-$name.json"
    curl -s --max-time 10 "$api/v1/status" >"$tmp/status-$name.json"
    stop_pid "$name: the last run" "${pid_of[$name]}"
    if grep -qE 'AddressSanitizer|runtime error|Assertion|error:' "$tmp"/run-"$name"-*.log; then
        fail "$name: an error or sanitizer report in a run's log"
        grep -hE 'AddressSanitizer|runtime error|Assertion|error:' "$tmp"/run-"$name"-*.log | head -5
    fi
    restored=$(grep -hc 'loaded the state of [0-9]* partitions of group chaos-[a-z0-9]*: [1-9]' "$tmp"/run-"$name"-*.log |
        awk '{ n += $1 } END { print n + 0 }')
    if [ "$restored" -ge 2 ]; then
        ok "$name: $restored of ${runs_of[$name]} starts restored a checkpoint with posts"
    else
        fail "$name: only $restored starts restored a checkpoint with posts"
    fi

    dir=${lake_of[$name]}
    if [ "$name" = s3 ]; then
        dir=$tmp/s3-copy
        /usr/bin/aws --endpoint-url "$endpoint" s3 sync s3://lake/chaos "$dir" >/dev/null 2>&1 ||
            fail "s3: aws s3 sync"
    fi
    if "$PYTHON" "$src/tests/integration/sink_check.py" "127.0.0.1:$kport" pinterest "$dir" \
        "$flush" >"$tmp/check-$name.txt" 2>&1; then
        ok "$name: every record in the raw lake exactly once, cleaned and dlq agree: $(cat "$tmp/check-$name.txt")"
    else
        fail "$name: sink_check.py"
        head -20 "$tmp/check-$name.txt"
        echo "    the last run's /v1/status before its stop: $(cat "$tmp/status-$name.json")"
        for f in "$tmp"/run-"$name"-*.log; do
            echo "    -- $f"
            grep -v 'kafka: commit\|retrying with the next' "$f" | tail -8 | sed 's/^/    /'
        done
    fi
    "$pinpipe" query --from "$dir" --format json --quiet >"$tmp/query-$name.json"
    if "$PYTHON" "$src/tests/integration/compare_answers.py" "$tmp/all-$name.json" \
        "$tmp/query-$name.json" >"$tmp/cmp-$name.txt" 2>&1; then
        ok "$name: after the kills, window=all equals pinpipe query over the lake"
    else
        fail "$name: window=all differs from pinpipe query over the lake"
        head -20 "$tmp/cmp-$name.txt"
    fi
    if node "$src/tests/oracle/oracle.mjs" "$dir" >"$tmp/oracle-$name.json" 2>"$tmp/oracle.err" &&
        node "$src/tests/oracle/compare.mjs" "$tmp/oracle-$name.json" "$tmp/query-$name.json" \
            >"$tmp/ocmp-$name.txt" 2>&1; then
        ok "$name: the DuckDB oracle over the lake equals pinpipe query"
    else
        fail "$name: the DuckDB oracle differs"
        cat "$tmp/oracle.err" "$tmp/ocmp-$name.txt" | head -20
    fi
done

echo "test_chaos: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
