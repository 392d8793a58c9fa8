#!/usr/bin/env bash
# Hostile input (issue 5): records and HTTP clients built to break pinpipe.
#
# Kafka: a `pinpipe broker` and `pinpipe run` (local lake, dead-letter topic);
# hostile.py produces 20 good posts, then 201 hostile records on the three
# topics (and 4 on others), then 20 more good posts. The hostile ones:
# invalid JSON, invalid UTF-8, NUL bytes, 10,000-deep nesting, records of
# 1 MiB + 100 B and 4 MiB
# (input.max.record.bytes is 1 MiB), numbers out of range (1e400, 2^66,
# 10^400), duplicate keys, a wrong type on every field of every record type,
# values that are not objects, empty values, tombstones, and records on four
# topics of the same prefix that pinpipe does not consume. Checked:
#   - the run keeps answering /healthz while it reads them and consumes the
#     good posts sent after them;
#   - hostile.py check: every reject is in dlq/<topic>/ once with its SPEC 3
#     reason and its exact bytes; every accepted hostile record is cleaned
#     as SPEC 2 says (wrong types are null, the first duplicate wins); the
#     raw objects hold every value in offset order; the unknown topics leave
#     no trace; /metrics counts records and rejects by topic and reason;
#     /v1/queries joined exactly the 40 good posts;
#   - the dead-letter topic holds the same rejects with their bytes, except
#     the two whose line is larger than a Kafka message (1,000,000 bytes):
#     those go without (raw_omitted_bytes) instead of stopping the run;
#   - SIGTERM exits 0.
# HTTP, against a second `pinpipe run` with a token (hostile.py http):
# malformed requests, lying lengths, a 10 MB body, chunked bodies over the
# limit, bodies and content types test_rest.sh does not send, hostile query
# strings, a client sending a byte a second (cut within the 30 s timeout
# while the others are served), 1,000 concurrent connections, every route
# with missing, wrong and malformed tokens; SIGTERM exits 0.
# Off loopback without a token: exit 2.
# Lake: `pinpipe query` over a lake holding a 10 MB line rejects it as
# too_large and reads the records around it.
#
#   test_hostile.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_hostile curl zstd
if ! "$PYTHON" -c 'import confluent_kafka' 2>/dev/null; then
    echo "test_hostile: python3-confluent-kafka not found; skipping"
    exit 77
fi
# 1,000 client sockets in one process, plus the server's.
[ "$(ulimit -n)" -ge 4096 ] || ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"

started=$SECONDS
kport=$(free_port)
hport=$(free_port)
wport=$(free_port)
api="http://127.0.0.1:$hport"
web="http://127.0.0.1:$wport"
token="hostile-token-$RANDOM$RANDOM"
hostile=("$PYTHON" "$src/tests/integration/hostile.py")
expect=$tmp/expect.jsonl

start_broker "$kport" "$tmp/broker.log" --partitions 2

# start_run <pid variable> <log> <port> <args...>: pinpipe run in the
# background, until /healthz answers.
start_run() {
    local var=$1 log=$2 port=$3
    shift 3
    "$pinpipe" run --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
        --set "http.listen=127.0.0.1:$port" "$@" 2>"$log" &
    printf -v "$var" %s $!
    pids+=($!)
    if ! wait_json "http://127.0.0.1:$port/healthz" 'd["status"]' ok 20 >/dev/null; then
        cat "$log"
        echo "pinpipe run did not start"
        exit 1
    fi
}

# report <name>: the ok/FAIL lines of $tmp/<name>.out count as checks.
report() {
    local name=$1 line
    while IFS= read -r line; do
        case $line in
        "ok   "*) ok "$name: ${line#ok   }" ;;
        "FAIL "*) fail "$name: ${line#FAIL }" ;;
        *) echo "    $line" ;;
        esac
    done <"$tmp/$name.out"
}

# run_py <name> <hostile.py args...>: runs it, then report <name>.
run_py() {
    local name=$1 rc=0
    shift
    "${hostile[@]}" "$@" >"$tmp/$name.out" 2>&1 || rc=$?
    # A crash of the script itself (a traceback) fails too.
    [ "$rc" -eq 0 ] || grep -q "^FAIL" "$tmp/$name.out" ||
        echo "FAIL hostile.py $1: exit $rc" >>"$tmp/$name.out"
    report "$name"
}

start_run run_pid "$tmp/run.log" "$hport" --set "lake.url=$tmp/lake" \
    --set kafka.group.id=hostile --set errors.deadletterqueue.topic.name=pinterest.errors
start_run web_pid "$tmp/web.log" "$wport" --set "lake.url=$tmp/web-lake" \
    --set kafka.group.id=hostile-web --set topics.prefix=web --set "http.auth.token=$token"

# The HTTP clients run meanwhile (their slow client takes the 30 s timeout).
"${hostile[@]}" http --url "$web" --prefix web --token "$token" --timeout 30 >"$tmp/http.out" 2>&1 &
http_pid=$!

# produce <phase> <records consumed before>: until the run counts them all.
consumed=0
produce() {
    local n
    if ! n=$("${hostile[@]}" produce --bootstrap "127.0.0.1:$kport" --phase "$1" \
        --expect "$expect" 2>"$tmp/produce.err"); then
        fail "produce $1"
        cat "$tmp/produce.err"
        return
    fi
    consumed=$((consumed + n))
    if wait_json "$api/v1/status" 'd["records"]' "$consumed" 60; then
        ok "$1: the run consumed all $n records ($consumed in all)"
    else
        fail "$1: the run consumed all $n records"
        tail -5 "$tmp/run.log"
    fi
}

produce before
# /healthz is asked every 0.2 s while the hostile records are read: every
# answer must come, and quickly.
(
    for ((i = 0; i < 50; i++)); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 "$api/healthz"
        sleep 0.2
    done
) >"$tmp/health.txt" &
health_pid=$!
produce hostile
wait "$health_pid"
if [ "$(grep -c '^200 ' "$tmp/health.txt")" -eq 50 ] &&
    awk '{ if ($2 > 2) exit 1 }' "$tmp/health.txt"; then
    ok "/healthz answered 50 times in under 2 s while the hostile records were read"
else
    fail "/healthz while the hostile records were read"
    sort "$tmp/health.txt" | uniq -c | head
fi
produce after

curl -s --max-time 10 "$api/metrics" >"$tmp/metrics.txt"
curl -s --max-time 10 "$api/v1/queries?window=all" >"$tmp/queries.json"
stop_pid "run" "$run_pid"
run_py check check --lake "$tmp/lake" --expect "$expect" --metrics "$tmp/metrics.txt" \
    --queries "$tmp/queries.json" --bootstrap "127.0.0.1:$kport" --dlq-topic pinterest.errors

# Off loopback a token is required (SPEC 8); the check runs before anything
# listens. The token checks above run on loopback: the same code path.
expect_one_line "http.listen=0.0.0.0 without a token: exit 2, one line" 2 "not a loopback address" 10 \
    run --set "kafka.bootstrap.servers=127.0.0.1:$kport" --set "http.listen=0.0.0.0:$(free_port)" \
    --set "lake.url=$tmp/lake-x"

rc=0
wait "$http_pid" || rc=$?
[ "$rc" -eq 0 ] || grep -q "^FAIL" "$tmp/http.out" || echo "FAIL hostile.py http: exit $rc" >>"$tmp/http.out"
report http
stop_pid "http run" "$web_pid"
# Under a sanitizer build, a report in either log fails the test.
if grep -q "AddressSanitizer\|runtime error\|Segmentation\|Aborted" "$tmp/run.log" "$tmp/web.log"; then
    fail "the runs' logs show a crash"
else
    ok "the runs' logs show no crash"
fi

# A lake holding a 10 MB line (the development broker cannot hold a 10 MB
# record): too_large, and the records around it are read.
mkdir -p "$tmp/big-lake/topics/big."{geo,user} "$tmp/big-lake/topics/big.pin/partition=0"
{
    echo '{"index": 1, "category": "art"}'
    printf '{"index": 2, "title": "'
    head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'x'
    echo '"}'
    echo '{"index": 3, "category": "art"}'
} >"$tmp/big-lake/topics/big.pin/partition=0/big.pin+0+0000000000.json"
if "$pinpipe" query --from "$tmp/big-lake" --format json --quiet >"$tmp/big.json" 2>"$tmp/big.err" &&
    [ "$(json_get "file://$tmp/big.json" 'd["input"]["records"]["pin"], d["input"]["rejected"]["pin"]')" = \
        "3 {'too_large': 1}" ]; then
    ok "query over a lake with a 10 MB line: 3 records, 1 too_large"
else
    fail "query over a lake with a 10 MB line"
    cat "$tmp/big.err"
    head -c 300 "$tmp/big.json"
fi

echo "test_hostile: $passed passed, $failed failed ($((SECONDS - started)) s)"
[ "$failed" -eq 0 ]
