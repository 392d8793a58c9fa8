#!/usr/bin/env bash
# S3 faults (issues 4 and 5): `pinpipe run` writes an s3:// lake through
# s3_fault_proxy.py, a proxy in front of s3rver, while `pinpipe emulate`
# produces at a steady rate into `pinpipe broker`. The proxy answers some
# requests with 500 InternalError, 503 ServiceUnavailable and 503 SlowDown,
# stalls some (s3.request.timeout.ms=2000 must end them), resets
# connections in the middle of requests and of answers, then refuses
# connections for 30 s. Expected and checked:
#   - every fault fires, each kind shows up as a retry warning in the log,
#     and pinpipe_sink_retries_total grows;
#   - while S3 is down: consumption pauses (pinpipe_sink_waits_total grows,
#     the lag grows by about what was produced, /v1/status shows pending
#     objects), the sink's buffer stays at sink.max.buffered.bytes (1 MiB)
#     plus a margin, and resident memory grows by less than RSS_BOUND_KIB;
#     once S3 is back, consumption resumes and catches up;
#   - S3 down again and SIGTERM: the run exits 1 within
#     sink.shutdown.timeout.ms (5 s) plus a margin, with one line saying how
#     many objects it abandoned, and the group's committed offsets cover
#     only records that are in the lake (committed_check.py);
#   - a restart with S3 back writes the rest: sink_check.py finds every
#     record in the raw objects exactly once (and the cleaned and dlq lines);
#   - `pinpipe replay --to s3://` stopped by SIGTERM while S3 is down also
#     exits 1 within its sink.shutdown.timeout.ms, with one line.
#
#   test_s3_faults.sh <pinpipe binary> <source dir>
# (KEEP_TMP=<dir> keeps a copy of the logs and lakes there.)
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_s3_faults node curl zstd
s3_setup test_s3_faults "$src"
if ! "$PYTHON" -c 'import confluent_kafka' 2>/dev/null; then
    echo "test_s3_faults: $PYTHON has no confluent_kafka (apt-get install python3-confluent-kafka); skipping"
    exit 77
fi
started=$SECONDS

# Resident memory may grow by this much while S3 is down: the sink's
# 1 MiB (sink.max.buffered.bytes), the pipeline's batches (8 of about
# 1 MiB on 2 cores), librdkafka's prefetch
# (kafka.queued.max.messages.kbytes=2048) and allocator slack. It grows by
# about 1 MiB in practice. At this rate a sink without backpressure would
# hold only about 4 MB more (18,000 records, compressed), under the bound:
# the checks that catch that are the records left in Kafka and the sink's
# buffer; this one catches growth elsewhere (retries keeping copies, the
# pipeline, leaks).
RSS_BOUND_KIB=$((16 * 1024))
OUTAGE_S=30
SHUTDOWN_MS=5000
RATE=200

s3port=$(free_port)
pport=$(free_port)
cport=$(free_port)
kport=$(free_port)
hport=$(free_port)
api=http://127.0.0.1:$hport
ctl=http://127.0.0.1:$cport
group=test-s3-faults

S3RVER_LOG=0 node --openssl-legacy-provider "$src/tests/s3/s3rver.mjs" "$s3port" "$tmp/s3data" lake \
    >"$tmp/s3rver.log" 2>&1 &
pids+=($!)
"$PYTHON" "$src/tests/integration/s3_fault_proxy.py" "$pport" "$s3port" "$cport" >"$tmp/proxy.log" 2>&1 &
pids+=($!)
if ! wait_for_line "$tmp/s3rver.log" "ready" 10 || ! wait_for_line "$tmp/proxy.log" "ready" 10; then
    cat "$tmp/s3rver.log" "$tmp/proxy.log"
    echo "s3rver or the proxy did not start"
    exit 1
fi
start_broker "$kport" "$tmp/broker.log" --partitions 4

# fault <kind> [every] [count]: the proxy's fault from now on.
fault() {
    curl -s --max-time 5 "$ctl/fault?kind=$1&every=${2:-1}${3:+&count=$3}" >/dev/null ||
        fail "proxy control: $1"
}
# injected <kind>: how many times the proxy injected it so far.
injected() { json_get "$ctl/stats" "d['faults']['$1']"; }
# metric <name>: its value in /metrics (0 when absent).
metric() {
    local v
    v=$(curl -s --max-time 5 "$api/metrics" | sed -n "s/^$1 \([0-9]*\).*/\1/p")
    echo "${v:-0}"
}
status() { json_get "$api/v1/status" "$1"; }
# in_kafka: the records in the three topics.
in_kafka() { "$PYTHON" "$src/tests/integration/kafka_log.py" end "127.0.0.1:$kport"; }
# term_and_wait <pid>: SIGTERM, then waits for the exit (SIGKILL after
# 30 s); sets rc (its exit status) and took_ms.
term_and_wait() {
    local t0 i
    t0=$(date +%s%N)
    kill -TERM "$1"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1"
    rc=$?
    took_ms=$((($(date +%s%N) - t0) / 1000000))
}
# at: seconds since the start, for the log.
at() { echo "    [$((SECONDS - started)) s] $*"; }

run_args=(--set lake.url=s3://lake/faults --set "store.url=http://127.0.0.1:$pport"
    --set "kafka.bootstrap.servers=127.0.0.1:$kport" --set "http.listen=127.0.0.1:$hport"
    --set "kafka.group.id=$group" --set kafka.session.timeout.ms=6000
    --set kafka.queued.max.messages.kbytes=2048 --set flush.size=200 --set sink.max.buffered.bytes=1MiB
    --set s3.request.timeout.ms=2000 --set "sink.shutdown.timeout.ms=$SHUTDOWN_MS")

"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --rate $RATE --count 1000000 --seed 41 \
    --malformed 10 --quiet 2>"$tmp/emulate.log" &
emu_pid=$!
pids+=("$emu_pid")
"$pinpipe" run "${run_args[@]}" --quiet 2>"$tmp/run.log" &
run_pid=$!
pids+=("$run_pid")
wait_json "$api/v1/status" 'd["objects"]["raw"] > 0' True 30 && ok "run: writing to S3 through the proxy" ||
    { fail "run: no object written"; cat "$tmp/run.log"; exit 1; }

# 1. Error answers, stalls and resets: each fault on one request in two or
# three (so that puts also get through) until it fired 5 times and a retry
# caused by it is logged, or 15 s.
phase() { # <name> <kind> <every> <text of its retry warnings>
    local before n i
    before=$(metric pinpipe_sink_retries_total)
    fault "$2" "$3"
    for ((i = 0; i < 60; i++)); do
        n=$(injected "$2")
        [ "${n:-0}" -ge 5 ] && grep -q -- "$4" "$tmp/run.log" && break
        sleep 0.25
    done
    fault pass
    n=$(injected "$2")
    if [ "${n:-0}" -ge 5 ] && [ "$(metric pinpipe_sink_retries_total)" -gt "$before" ] &&
        grep -q -- "$4" "$tmp/run.log"; then
        ok "$1: $n injected, retried ($4)"
    else
        fail "$1: injected ${n:-?}, retries $before -> $(metric pinpipe_sink_retries_total)"
        grep warning "$tmp/run.log" | tail -3
    fi
}
phase "500 InternalError" 500 2 "HTTP 500 InternalError"
phase "503 ServiceUnavailable" 503 2 "HTTP 503 ServiceUnavailable"
phase "503 SlowDown" slowdown 2 "HTTP 503 SlowDown"
# Stalls: requests never answered; the client must give up on each
# (s3.request.timeout.ms=2000) and retry.
phase "stalls" stall 3 "Operation timed out after 2[0-9]* milliseconds"
n=$(injected stall)
for ((i = 0; i < 40; i++)); do
    given_up=$(json_get "$ctl/stats" 'd["stalls_given_up_by_client"]')
    [ "${given_up:-0}" -ge "$n" ] && break
    sleep 0.25
done
[ "${given_up:-0}" -ge "$n" ] && ok "stalls: the client gave up on every stalled request ($given_up)" ||
    fail "stalls: the client gave up on ${given_up:-?} of $n: $(curl -s "$ctl/stats")"
# Resets in the middle of a request: libcurl repeats a request by itself
# when a reused connection dies before any answer, so these may not count
# as retries; they must not lose anything (checked at the end).
fault reset-request 3
for ((i = 0; i < 60; i++)); do
    [ "$(injected reset-request)" -ge 5 ] && break
    sleep 0.25
done
fault pass
n=$(injected reset-request)
[ "${n:-0}" -ge 5 ] && ok "resets mid-request: $n injected" || fail "resets mid-request: ${n:-?} injected"
phase "resets mid-answer" reset-response 3 "Connection reset by peer"
kill -0 "$run_pid" 2>/dev/null && ok "run: still running after the faults" || fail "run: died"

# 2. S3 down for 30 s: consumption pauses, memory stays bounded.
at "S3 down for $OUTAGE_S s"
waits0=$(metric pinpipe_sink_waits_total)
rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$run_pid/status")
records0=$(status 'd["records"]')
kafka0=$(in_kafka)
out_start=$SECONDS
fault down
max_rss=$rss0
max_pending=0
max_buffered=0
while ((SECONDS - out_start < OUTAGE_S)); do
    sleep 1
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$run_pid/status" 2>/dev/null)
    [ -n "$rss" ] && [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    read -r pending buffered < <(json_get "$api/v1/status" \
        'str(d["lake"]["pending_objects"]) + " " + str(d["lake"]["buffered_bytes"])')
    [ "${pending:-0}" -gt "$max_pending" ] && max_pending=$pending
    [ "${buffered:-0}" -gt "$max_buffered" ] && max_buffered=$buffered
done
waits1=$(metric pinpipe_sink_waits_total)
records1=$(status 'd["records"]')
kafka1=$(in_kafka)
produced=$((kafka1 - kafka0))
consumed=$((records1 - records0))
at "down ${OUTAGE_S} s: waits $waits0 -> $waits1, $produced records produced, $consumed consumed," \
    "pending objects up to $max_pending, buffered up to $max_buffered bytes," \
    "RSS $((rss0 / 1024)) -> max $((max_rss / 1024)) MiB"
[ "$waits1" -gt "$waits0" ] && ok "down: the loop waited for S3 (pinpipe_sink_waits_total $waits0 -> $waits1)" ||
    fail "down: pinpipe_sink_waits_total did not grow ($waits0 -> $waits1)"
# What fills the 1 MiB buffer (about 8,000 records, compressed) and the
# pipeline is consumed; the rest must stay in Kafka. (The lag in /v1/status
# is no measure here: librdkafka learns high watermarks from fetches, and
# paused partitions are not fetched.)
if [ "$produced" -gt 0 ] && [ "$consumed" -lt $((produced / 2)) ] && [ "$max_pending" -gt 0 ]; then
    ok "down: consumption paused ($consumed of $produced records consumed, up to $max_pending objects pending)"
else
    fail "down: $consumed of $produced records consumed, pending up to $max_pending"
fi
# The budget, plus a batch's worth (a batch is added before the check).
if [ "$max_buffered" -le $((2 * 1024 * 1024)) ]; then
    ok "down: sink buffer bounded ($max_buffered bytes, sink.max.buffered.bytes 1 MiB)"
else
    fail "down: sink buffer $max_buffered bytes"
fi
if [ $((max_rss - rss0)) -le "$RSS_BOUND_KIB" ]; then
    ok "down: resident memory bounded (+$(((max_rss - rss0) / 1024)) MiB, bound $((RSS_BOUND_KIB / 1024)) MiB)"
else
    fail "down: resident memory grew by $(((max_rss - rss0) / 1024)) MiB (bound $((RSS_BOUND_KIB / 1024)) MiB)"
fi

# S3 back: consumption resumes and catches up (within 2 s of production).
fault pass
resumed=""
for ((i = 0; i < 30; i++)); do
    behind=$(($(in_kafka) - $(status 'd["records"]')))
    if [ "$behind" -lt $((RATE * 3 * 2)) ]; then
        resumed=$((SECONDS - out_start - OUTAGE_S))
        break
    fi
    sleep 0.5
done
[ -n "$resumed" ] && ok "up: consumption resumed and caught up in ${resumed} s ($behind records behind)" ||
    fail "up: still $behind records behind"

# 3. S3 down again, SIGTERM: exit 1 within sink.shutdown.timeout.ms,
# nothing undurable committed.
at "S3 down, then SIGTERM"
fault down
sleep 2
term_and_wait "$run_pid"
kill -TERM "$emu_pid"
wait "$emu_pid" || fail "emulate: exit $?"
line=$(grep -F "abandoned" "$tmp/run.log")
abandoned=$(sed -n 's/.*lake: \([0-9]*\) objects .* abandoned.*/\1/p' <<<"$line")
if [ "$rc" -eq 1 ] && [ "$took_ms" -le $((SHUTDOWN_MS + 5000)) ] && [ "$(wc -l <<<"$line")" -eq 1 ] &&
    [ "${abandoned:-0}" -gt 0 ]; then
    ok "SIGTERM while S3 is down: exit 1 after $took_ms ms (sink.shutdown.timeout.ms $SHUTDOWN_MS), $abandoned objects abandoned"
else
    fail "SIGTERM while S3 is down: exit $rc after $took_ms ms; ${line:-no abandon line}"
    tail -5 "$tmp/run.log"
fi
echo "    $line"
aws_s3() { /usr/bin/aws --endpoint-url "http://127.0.0.1:$s3port" "$@"; }
aws_s3 s3 sync s3://lake/faults "$tmp/lake1" >/dev/null 2>&1
if "$PYTHON" "$src/tests/integration/committed_check.py" "127.0.0.1:$kport" pinterest $group \
    "$tmp/lake1" >"$tmp/committed.txt" 2>&1; then
    ok "SIGTERM while S3 is down: $(cat "$tmp/committed.txt")"
else
    fail "SIGTERM while S3 is down: undurable records committed"
    head -10 "$tmp/committed.txt"
fi

# 4. S3 back, restart: everything written exactly once.
at "restart"
fault pass
total=$(in_kafka)
"$pinpipe" run "${run_args[@]}" --quiet 2>"$tmp/run2.log" &
run_pid=$!
pids+=("$run_pid")
for ((i = 0; i < 240; i++)); do
    got=$(status 'sum(o["next_offset"] for o in d["offsets"]) if d["lag"] == 0 else -1')
    [ "$got" = "$total" ] && break
    sleep 0.25
done
[ "$got" = "$total" ] && ok "restart: caught up ($total records in Kafka)" ||
    { fail "restart: offsets at ${got:-?} of $total"; tail -5 "$tmp/run2.log"; }
stop_pid "restart" "$run_pid"
at "checking the lake"
aws_s3 s3 sync s3://lake/faults "$tmp/lake" >/dev/null 2>&1
if "$PYTHON" "$src/tests/integration/sink_check.py" "127.0.0.1:$kport" pinterest "$tmp/lake" 200 \
    >"$tmp/check.txt" 2>&1; then
    ok "no loss, no duplicate: $(cat "$tmp/check.txt")"
else
    fail "sink_check.py on the S3 lake"
    head -20 "$tmp/check.txt"
fi

# 5. replay --to s3:// (flush.size=1: thousands of objects) through the
# proxy, S3 down after a second, SIGTERM: the same bound applies.
"$pinpipe" emulate --to "$tmp/local" --count 1000 --seed 43 --quiet 2>/dev/null || fail "emulate to a local lake"
"$pinpipe" replay --from "$tmp/local" --to s3://lake/replayed --set "store.url=http://127.0.0.1:$pport" \
    --set flush.size=1 --set sink.shutdown.timeout.ms=2000 --quiet 2>"$tmp/replay.log" &
replay_pid=$!
pids+=("$replay_pid")
sleep 1
fault down
sleep 1
term_and_wait "$replay_pid"
fault pass
line=$(grep -F "abandoned" "$tmp/replay.log")
if [ "$rc" -eq 1 ] && [ "$took_ms" -le 7000 ] && [ "$(wc -l <<<"$line")" -eq 1 ]; then
    ok "replay --to s3://, SIGTERM while S3 is down: exit 1 after $took_ms ms (sink.shutdown.timeout.ms 2000)"
else
    fail "replay --to s3://, SIGTERM while S3 is down: exit $rc after $took_ms ms; ${line:-no abandon line}"
    tail -3 "$tmp/replay.log"
fi
echo "    $line"

[ -n "${KEEP_TMP:-}" ] && cp -r "$tmp" "$KEEP_TMP"
echo "test_s3_faults: $passed passed, $failed failed in $((SECONDS - started)) s"
[ "$failed" -eq 0 ]
