#!/usr/bin/env bash
# pinpipe broker (SPEC 8): a development Kafka broker any Kafka client can use.
# Produces and consumes with kcat through it; checks partitions, key
# placement, clean shutdown and the usage errors.
#
#   test_broker.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
: "$src"
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_broker kcat

# expect_usage <name> <exit code> <stderr text> -- <broker args...>: one line, that code.
expect_usage() {
    local name=$1 want=$2 pattern=$3
    shift 4
    expect_one_line "$name" "$want" "$pattern" 10 broker "$@"
}

port=$(free_port)
addr=127.0.0.1:$port
"$pinpipe" broker --listen "$addr" --partitions 4 2>"$tmp/broker.err" &
broker=$!
pids+=("$broker")
if wait_for_line "$tmp/broker.err" "listening on $addr" 20; then
    ok "ready line"
else
    fail "no ready line within 20 s"; cat "$tmp/broker.err"
    echo "test_broker: $passed passed, $failed failed"
    exit 1
fi
grep -qF "in memory, not durable" "$tmp/broker.err" && ok "ready line says not durable" ||
    fail "ready line does not say 'in memory, not durable'"

# check_topic <topic> <count>: produce keys 0..count-1, consume, compare.
check_topic() {
    local topic=$1 n=$2
    seq 0 $((n - 1)) | awk '{ print $1 ":value-" $1 }' >"$tmp/$topic.in"
    if timeout 60 kcat -P -b "$addr" -t "$topic" -K: -X message.timeout.ms=30000 \
        <"$tmp/$topic.in" 2>"$tmp/$topic.perr"; then
        ok "$topic: produced $n"
    else
        fail "$topic: kcat -P failed"; cat "$tmp/$topic.perr"; return
    fi
    if timeout 60 kcat -C -b "$addr" -t "$topic" -e -q -f '%p %k %s\n' \
        >"$tmp/$topic.out" 2>"$tmp/$topic.cerr"; then
        ok "$topic: consumed"
    else
        fail "$topic: kcat -C failed"; cat "$tmp/$topic.cerr"; return
    fi
    # Every message exactly once, with its value.
    awk '{ print $2 ":" $3 }' "$tmp/$topic.out" | sort >"$tmp/$topic.got"
    sort "$tmp/$topic.in" >"$tmp/$topic.want"
    if cmp -s "$tmp/$topic.got" "$tmp/$topic.want"; then
        ok "$topic: all $n messages exactly once"
    else
        fail "$topic: consumed $(wc -l <"$tmp/$topic.got") messages, want $n, each once"
    fi
    # Four partitions, and the messages spread over them.
    local parts
    parts=$(timeout 20 kcat -L -b "$addr" -t "$topic" 2>/dev/null | grep -o 'with [0-9]* partitions')
    if [ "$parts" = "with 4 partitions" ]; then
        ok "$topic: 4 partitions"
    else
        fail "$topic: metadata says '$parts', want 'with 4 partitions'"
    fi
    local used
    used=$(awk '{ print $1 }' "$tmp/$topic.out" | sort -u | tr '\n' ' ')
    if [ "$used" = "0 1 2 3 " ]; then
        ok "$topic: keys spread over partitions 0..3"
    else
        fail "$topic: partitions used '$used', want '0 1 2 3 '"
    fi
}

check_topic t1 1000
check_topic t2 300

# A consumer group (FindCoordinator, JoinGroup, offset commits) reads t2 too.
if timeout 60 kcat -G g1 -b "$addr" -o beginning -e -q -f '%k\n' t2 >"$tmp/g.out" 2>"$tmp/g.err" &&
    [ "$(sort -u "$tmp/g.out" | wc -l)" -eq 300 ]; then
    ok "t2: consumer group reads all 300"
else
    fail "t2: consumer group read $(sort -u "$tmp/g.out" | wc -l) keys, want 300"; head -5 "$tmp/g.err"
fi

# The same key always lands in the same partition: produce t1's keys again.
seq 0 999 | awk '{ print $1 ":again-" $1 }' |
    timeout 60 kcat -P -b "$addr" -t t1 -K: -X message.timeout.ms=30000 2>/dev/null
timeout 60 kcat -C -b "$addr" -t t1 -e -q -f '%p %k\n' 2>/dev/null | sort -u >"$tmp/t1.pk"
if [ "$(wc -l <"$tmp/t1.pk")" -eq 1000 ] &&
    [ "$(awk '{ print $2 }' "$tmp/t1.pk" | sort -u | wc -l)" -eq 1000 ]; then
    ok "t1: each key in one partition (2000 messages)"
else
    fail "t1: $(wc -l <"$tmp/t1.pk") distinct (partition, key) pairs, want 1000"
fi

# A port already in use: exit 1, one line naming the address.
expect_usage "port in use" 1 "$addr" -- --listen "$addr"

# SIGTERM: exit 0 within 10 s.
kill -TERM "$broker"
rc=0
for ((i = 0; i < 100; i++)); do
    kill -0 "$broker" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$broker" 2>/dev/null; then
    fail "broker still running 10 s after SIGTERM"
else
    wait "$broker" || rc=$?
    [ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit $rc, want 0"
fi

# SIGINT works the same.
port2=$(free_port)
"$pinpipe" broker --listen "127.0.0.1:$port2" --quiet 2>"$tmp/quiet.err" &
b2=$!
pids+=("$b2")
sleep 0.5
for ((i = 0; i < 50; i++)); do
    timeout 5 kcat -L -b "127.0.0.1:$port2" -m 2 >/dev/null 2>&1 && break
    sleep 0.1
done
kill -INT "$b2"
rc=0
timeout 10 tail --pid="$b2" -f /dev/null || true
wait "$b2" || rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/quiet.err" ]; then
    ok "--quiet and SIGINT: silent, exit 0"
else
    fail "--quiet and SIGINT: exit $rc, stderr: $(head -c 300 "$tmp/quiet.err")"
fi

expect_usage "partitions 0" 2 "--partitions" -- --partitions 0
expect_usage "partitions too many" 2 "--partitions" -- --partitions 10001
expect_usage "non-loopback listen" 2 "not a loopback address" -- --listen 10.0.0.1:9092
expect_usage "bad listen" 2 "host:port" -- --listen 127.0.0.1
expect_usage "unknown flag" 2 "unknown option '--frobnicate'" -- --frobnicate
expect_usage "unexpected argument" 2 "unexpected argument" -- extra

out=$(timeout 10 "$pinpipe" broker --help) && ok "--help exit 0" || fail "--help exit non-zero"
echo "$out" | grep -qi "not durable" && echo "$out" | grep -q "5 MiB" &&
    echo "$out" | grep -q "100,000 batches" && ok "--help states the limits" ||
    fail "--help does not state 'not durable', '5 MiB', '100,000 batches'"

echo "test_broker: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
