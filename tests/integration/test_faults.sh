#!/usr/bin/env bash
# Kafka faults (issue 3): `pinpipe run` consumes while `pinpipe emulate`
# produces, through a 3-broker `pinpipe broker` whose fault-injection control
# (--control, docs/broker.md) makes requests fail and takes brokers down:
#   - disconnects on Produce, retriable errors and disconnects on Fetch, on
#     every broker, OffsetCommit timeouts, a Heartbeat error that forces a
#     coordinator lookup, FindCoordinator errors, one broker down for 3 s
#     then up; then a rebalance (Heartbeat REBALANCE_IN_PROGRESS, JoinGroup
#     errors) while records flow (a known re-read bug is reported, see 1b);
#   - every injected error fires (the per-broker queues drain), nothing
#     crashes, both commands exit 0;
#   - nothing the emulator sent is missing from the log (read back with
#     kafka_log.py), `pinpipe run` reads every record of the log exactly once
#     (pinpipe_records_total per topic), and SPEC 4's invariant holds:
#     window=all equals `pinpipe query` over the log written as a lake;
#   - a restart of `pinpipe run` while faults are active (commit timeouts,
#     the bootstrap broker down) resumes exactly at the committed offsets.
#
#   test_faults.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_faults curl node
if ! "$PYTHON" -c 'import confluent_kafka' 2>/dev/null; then
    echo "test_faults: $PYTHON has no confluent_kafka (apt-get install python3-confluent-kafka); skipping"
    exit 77
fi

# ---- 0. The control interface on stdin ----

cport=$(free_port)
long=$(printf 'x%.0s' $(seq 1100))
printf '%s\n' help "status" "" "# a comment" "errors Produce 2 _TRANSPORT" "bogus 1" \
    "down 9" "$long" "up all" >"$tmp/commands"
# The commands, then end of input: the broker answers each and keeps running.
"$pinpipe" broker --listen "127.0.0.1:$cport" --partitions 2 --brokers 2 --control stdin \
    <"$tmp/commands" >"$tmp/stdin-acks" 2>"$tmp/stdin-broker.log" &
cpid=$!
pids+=("$cpid")
if wait_for_line "$tmp/stdin-acks" "ok up all" 10; then
    ok "control on stdin: answers until the last command"
else
    fail "control on stdin: answers until the last command"
    cat "$tmp/stdin-broker.log" "$tmp/stdin-acks"
fi
sed 's/^\(ok [a-z]*\|error [a-z]* [a-z]*\).*/\1/' "$tmp/stdin-acks" >"$tmp/stdin-short"
printf '%s\n' "ok commands" "ok status" "ok errors" "error unknown command" "error no broker" \
    "error line longer" "ok up" >"$tmp/stdin-want"
if diff "$tmp/stdin-want" "$tmp/stdin-short" >/dev/null; then
    ok "control: one answer per command, errors answered without stopping"
else
    fail "control: one answer per command"
    diff "$tmp/stdin-want" "$tmp/stdin-short"
fi
sleep 0.5
if kill -0 "$cpid" 2>/dev/null; then
    stop_pid "broker after the end of its control input" "$cpid"
else
    fail "broker still running after the end of its control input"
fi
expect_one_line "broker --brokers 17: exit 2" 2 "--brokers must be an integer from 1 to 16" 10 \
    broker --brokers 17
expect_one_line "broker --control in a missing directory: exit 2" 2 "--control $tmp/no/ctl" 10 \
    broker --listen "127.0.0.1:$cport" --control "$tmp/no/ctl"

kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"
group=faults
topics=(pin geo user)

# Three brokers, topics of 4 partitions (replication factor 3); commands go
# to the FIFO $tmp/ctl, answers come back one line each in $tmp/acks.
start_broker "$kport" "$tmp/broker.log" --partitions 4 --brokers 3 --control "$tmp/ctl" \
    >"$tmp/acks"
broker_pid=${pids[-1]}
addrs=$(sed -n 's/.*(3 brokers at \([^;]*\);.*/\1/p' "$tmp/broker.log")
if [ -z "$addrs" ]; then
    cat "$tmp/broker.log"
    echo "test_faults: no broker addresses in the ready line"
    exit 1
fi

# ctl <command>: sends one control command and waits (bounded) for its one
# answer line, left in $ack; an answer other than "ok ..." is a failure.
n_acks=0
ctl() {
    local i
    echo "$1" >"$tmp/ctl"
    n_acks=$((n_acks + 1))
    for ((i = 0; i < 50; i++)); do
        [ "$(wc -l <"$tmp/acks")" -ge "$n_acks" ] && break
        sleep 0.1
    done
    ack=$(sed -n "${n_acks}p" "$tmp/acks")
    case $ack in
    ok*) return 0 ;;
    *) fail "control '$1': ${ack:-no answer}"; return 1 ;;
    esac
}

# wait_fired <seconds> <api> <broker>...: until none of the errors pushed on
# those brokers for that API is left (each one fired).
wait_fired() {
    local secs=$1 api_name=$2 i b left
    shift 2
    for ((i = 0; i < secs * 4; i++)); do
        left=0
        for b in "$@"; do
            ctl "pending $api_name $b" || return 1
            left=$((left + ${ack##* }))
        done
        [ "$left" -eq 0 ] && return 0
        sleep 0.25
    done
    echo "    ($left $api_name errors on brokers $* never fired)"
    return 1
}

# The group's coordinator is broker 2, and every broker leads partitions of
# every topic, so that each kind of fault reaches a known broker.
ctl "coordinator $group 2"
for t in "${topics[@]}"; do
    for p in 0 1 2 3; do
        ctl "leader pinterest.$t $p $((p % 3 + 1))"
    done
done

start_run() {
    local log=$1
    shift
    "$pinpipe" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=$addrs" --set "http.listen=127.0.0.1:$hport" \
        --set "kafka.group.id=$group" --set kafka.session.timeout.ms=10000 \
        --set kafka.heartbeat.interval.ms=500 --set state.checkpoint.interval=1s "$@" 2>"$log" &
    run_pid=$!
    pids+=("$run_pid")
}

# records_metric <topic>: pinpipe_records_total of a topic.
records_metric() {
    curl -s --max-time 5 "$api/metrics" |
        sed -n "s/^pinpipe_records_total{topic=\"pinterest.$1\"} //p"
}

# ---- 1. Faults while producing and consuming ----

n1=2000
emul1=(--count "$n1" --seed 31 --ind-space 1800)
start_run "$tmp/run1.log"
"$pinpipe" emulate --to "kafka://$addrs" "${emul1[@]}" --rate 400 --quiet \
    2>"$tmp/emulate1.log" &
emulate_pid=$!
pids+=("$emulate_pid")

sleep 1
# Produce fails by disconnection only: librdkafka 2.0.2's mock does not check
# an idempotent producer's sequence numbers (it does for transactional ones),
# so after a retriable error code on one batch it appends the next batch in
# flight, which a real broker rejects as out of order; the producer then
# counts the failed batch as written and it is lost (docs/broker.md). A
# disconnect loses nothing, but the mock may write a batch whose answer was
# lost twice: so the truth below is what the log holds, not what was sent.
for b in 1 2 3; do
    ctl "errors Produce 2 _TRANSPORT broker $b"
    ctl "errors Fetch 3 NOT_LEADER_FOR_PARTITION broker $b"
done
ctl "errors Fetch 2 _TRANSPORT"
ctl "errors OffsetCommit 3 REQUEST_TIMED_OUT broker 2"
ctl "errors FindCoordinator 2 COORDINATOR_NOT_AVAILABLE"
# NOT_COORDINATOR: the member looks the coordinator up again and stays in
# the group (a rebalance is phase 1b).
ctl "errors Heartbeat 1 NOT_COORDINATOR broker 2"
sleep 1
ctl "down 3"
sleep 3
ctl "up 3"

if wait "$emulate_pid"; then
    ok "emulate under faults: exit 0 (every record delivered)"
else
    fail "emulate under faults: exit non-zero"
    cat "$tmp/emulate1.log"
fi
for a in Produce Fetch; do
    wait_fired 30 "$a" 1 2 3 && ok "$a errors on every broker fired" || fail "$a errors fired"
done
for a in OffsetCommit Heartbeat; do
    wait_fired 30 "$a" 2 && ok "$a errors on the coordinator fired" || fail "$a errors fired"
done

# The log against what the emulator sent (the same posts as a plain lake),
# and the log as a lake for the batch answers.
"$pinpipe" emulate --to "$tmp/sent" --partitions 4 --compression none "${emul1[@]}" --quiet ||
    fail "emulate to a lake"
if "$PYTHON" "$src/tests/integration/kafka_log.py" dump "$addrs" "$tmp/log" "$tmp/sent" \
    >"$tmp/log.txt"; then
    ok "nothing the emulator sent is missing from the log"
else
    fail "nothing the emulator sent is missing from the log"
fi
echo "    ($(cat "$tmp/log.txt"))"
declare -A in_log
for t in "${topics[@]}"; do
    in_log[$t]=$(sed -n "s/.*[( ]$t \([0-9]*\)[,)].*/\1/p" "$tmp/log.txt")
done
want1=$((in_log[pin] + in_log[geo] + in_log[user]))

if wait_json "$api/v1/status" 'd["records"]' "$want1" 60; then
    ok "run: consumed the $want1 records of the log"
else
    fail "run: consumed the $want1 records of the log"
fi
sleep 2 # anything read twice would show now
all_once=1
for t in "${topics[@]}"; do
    got=$(records_metric "$t")
    if [ "$got" != "${in_log[$t]}" ]; then
        fail "pinpipe_records_total{topic=pinterest.$t} is ${got:-missing}, want ${in_log[$t]}"
        all_once=0
    fi
done
[ "$all_once" -eq 1 ] && ok "every record of the log consumed exactly once"
if grep -qE 'AddressSanitizer|runtime error|Assertion' "$tmp/run1.log" "$tmp/broker.log"; then
    fail "no crash or sanitizer report"
fi

# SPEC 4: the streaming answers equal the batch job over the same records.
curl -s --max-time 5 "$api/v1/queries?window=all" >"$tmp/all.json"
"$pinpipe" query --from "$tmp/log" --format json --quiet >"$tmp/batch.json"
if "$PYTHON" "$src/tests/integration/compare_answers.py" "$tmp/all.json" "$tmp/batch.json"; then
    ok "after faults, window=all equals pinpipe query over the same records"
else
    fail "after faults, window=all equals pinpipe query"
fi

# ---- 1b. A rebalance while records flow ----
#
# REBALANCE_IN_PROGRESS on a heartbeat makes the member rejoin: its
# partitions are revoked and assigned again (JoinGroup errors delay the
# rejoin). Nothing may be read twice: librdkafka restarts each partition at
# the last committed offset, up to a second behind what was applied, and
# `pinpipe run` skips the records below its own next offset per partition
# (tools/pp_run.c, run_apply; pinpipe_redelivered_total counts them).
# rebalance_rereads_known=1 would report a difference instead of failing.
rebalance_rereads_known=0
n1b=4000
ctl "errors JoinGroup 2 COORDINATOR_LOAD_IN_PROGRESS broker 2"
revokes() { grep -c 'kafka: revoked' "$tmp/run1.log"; }
revoked_before=$(revokes)
"$pinpipe" emulate --to "kafka://$addrs" --count "$n1b" --seed 33 --rate 2000 --quiet \
    2>"$tmp/emulate1b.log" &
emulate_pid=$!
pids+=("$emulate_pid")
sleep 0.5
ctl "errors Heartbeat 1 REBALANCE_IN_PROGRESS broker 2"
wait "$emulate_pid" || fail "emulate during the rebalance: exit non-zero"
wait_fired 30 JoinGroup 2 && ok "JoinGroup errors on the coordinator fired (the member rejoined)" ||
    fail "JoinGroup errors fired"
if [ "$(revokes)" -gt "$revoked_before" ]; then
    ok "rebalance: partitions revoked and assigned again"
else
    fail "rebalance: no revocation in the run's log"
fi
log_end() { "$PYTHON" "$src/tests/integration/kafka_log.py" end "$addrs"; }
want1b=$(log_end)
wait_json "$api/v1/status" 'd["records"]' "$want1b" 30 >/dev/null
sleep 2
got=$(json_get "$api/v1/status" 'd["records"]')
redelivered=$(curl -s --max-time 5 "$api/metrics" | sed -n 's/^pinpipe_redelivered_total //p')
echo "    (records delivered again after the rebalance and skipped: ${redelivered:-?})"
if [ "$got" = "$want1b" ]; then
    ok "rebalance: every record of the log consumed exactly once ($want1b)"
elif [ "$rebalance_rereads_known" = 1 ]; then
    echo "KNOWN BUG rebalance: $got records consumed, the log holds $want1b" \
        "(re-read after the rebalance; not counted as a failure)"
else
    fail "rebalance: $got records consumed, the log holds $want1b"
fi

# ---- 2. A restart while faults are active ----

n2=1000
ctl "errors OffsetCommit 2 REQUEST_TIMED_OUT broker 2"
"$pinpipe" emulate --to "kafka://$addrs" --count "$n2" --seed 32 --rate 300 --quiet \
    2>"$tmp/emulate2.log" &
emulate_pid=$!
pids+=("$emulate_pid")
sleep 2
stop_pid "first run, stopped mid-stream with commit timeouts pending" "$run_pid"

# What the group committed, read before the next member starts.
committed=$("$PYTHON" - "$addrs" "$group" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "enable.auto.commit": False})
tps = [TopicPartition(f"pinterest.{t}", p) for t in ("pin", "geo", "user") for p in range(4)]
got = c.committed(tps, timeout=20)
assert not any(tp.error for tp in got), got
print(sum(max(tp.offset, 0) for tp in got))
c.close()
PY
)
if [ -z "$committed" ]; then
    fail "read the committed offsets"
    committed=0
fi
# Committed offsets cover only records the first run applied: never ahead.
read1=$(sed -n 's/.*run: stopped after \([0-9]*\) records.*/\1/p' "$tmp/run1.log")
if [ -n "$read1" ] && [ "$committed" -le "$read1" ]; then
    ok "first run committed $committed of the $read1 records it applied"
else
    fail "first run committed $committed records but applied ${read1:-?}"
fi

# The next member starts while the bootstrap broker is down and the
# coordinator delays commits.
ctl "down 1"
ctl "errors OffsetCommit 2 REQUEST_TIMED_OUT broker 2"
start_run "$tmp/run2.log"
sleep 3
ctl "up 1"
if wait "$emulate_pid"; then
    ok "second emulate: exit 0"
else
    fail "second emulate: exit non-zero"
    cat "$tmp/emulate2.log"
fi
total=$(log_end)
want2=$((total - committed))
echo "    (committed by the first run: $committed of the $total records in the log)"
# The second member loads the first one's last checkpoint: of what it reads
# from the committed offsets, the records the checkpoint holds are skipped
# (pinpipe_redelivered_total) and the rest applied; across the two runs
# every record of the log is counted once (docs/checkpoints.md).
read2() {
    curl -s --max-time 5 "$api/metrics" | awk '
        /^pinpipe_redelivered_total / { n += $2 }
        /^pinpipe_records_total\{/ { c += $2 }
        END { print n + 0, c + 0 }'
}
if wait_json "$api/v1/status" 'sum(o["next_offset"] for o in d["offsets"])' "$total" 60 && sleep 2; then
    read -r skipped counted <<<"$(read2)"
    applied=$(curl -s --max-time 5 "$api/v1/status" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["records"])')
    if [ "$((applied + skipped))" -eq "$want2" ] && [ "$counted" -eq "$total" ]; then
        ok "restart: read exactly from the committed offsets to the end ($want2 records: $skipped in the checkpoint, $applied applied), each of the $total counted once"
    else
        fail "restart: read $applied + $skipped skipped, want $want2; counted $counted, want $total"
        tail -20 "$tmp/run2.log"
    fi
else
    fail "restart: caught up with the $total records"
    tail -20 "$tmp/run2.log"
fi
if curl -s --max-time 5 "$api/metrics" | grep '^pinpipe_consumer_lag{' | grep -qv ' 0$'; then
    fail "restart: lag 0 on every partition"
else
    ok "restart: lag 0 on every partition"
fi
stop_pid "second run" "$run_pid"
kill -0 "$broker_pid" 2>/dev/null && ok "broker alive after the faults" || fail "broker alive"

echo "test_faults: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
