#!/usr/bin/env bash
# The REST proxy end to end (issue 3, SPEC 8 POST /topics/{topic}): a
# `pinpipe broker`, `pinpipe run`, and a Python client written like the
# original posting emulator (rest_client.py: requests, the v2 content type,
# one record per request) posting the real records in the original posting
# order, then:
#   - Confluent-shaped answers, co-partitioned keys, growing offsets;
#   - kcat reads back exactly what was answered: every (topic, key,
#     partition, offset, value), the value as Kafka must hold it;
#   - /v1/queries?window=all counts the posted records, duplicates and posts;
#   - malformed bodies, content types, unknown topics and partitions, an
#     oversized body: SPEC 8 status codes, Confluent error shape, nothing
#     produced;
#   - /metrics counts the proxy's answers;
#   - `pinpipe emulate --to http://` delivers its posts, keyed by ind;
#   - with http.auth.token: 401 without or with a wrong token, 200 with it,
#     emulate with PINPIPE_HTTP_TOKEN.
#
#   test_rest.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_rest curl kcat
if ! "$PYTHON" -c 'import requests' 2>/dev/null; then
    echo "test_rest: python3-requests not found (apt-get install python3-requests); skipping"
    exit 77
fi

# The real records (../shared/data/aicore/README.md); without them the
# client generates posts of the same shape.
data="$src/../shared/data/aicore"
kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"
token="rest-test-token-$RANDOM"
unset PINPIPE_HTTP_TOKEN
max_body=65536
client=("$PYTHON" "$src/tests/integration/rest_client.py")

start_broker "$kport" "$tmp/broker.log" --partitions 4

# start_run <log> <args...>: pinpipe run in the background.
start_run() {
    local log=$1
    shift
    "$pinpipe" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
        --set "http.listen=127.0.0.1:$hport" --set "http.max.body.bytes=$max_body" \
        "$@" 2>"$log" &
    run_pid=$!
    pids+=("$run_pid")
    if ! wait_json "$api/healthz" 'd["status"]' ok 20 >/dev/null; then
        cat "$log"
        echo "pinpipe run did not start"
        exit 1
    fi
}

# records_with_token <n> <seconds>: until /v1/status (asked with the token)
# counts n records; prints what it saw last.
records_with_token() {
    local i got=""
    for ((i = 0; i < $2 * 4; i++)); do
        got=$(curl -s --max-time 5 -H "Authorization: Bearer $token" "$api/v1/status" |
            "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["records"])' 2>/dev/null)
        [ "$got" = "$1" ] && return 0
        sleep 0.25
    done
    echo "$got"
    return 1
}

# run_client <name> <rest_client.py args...>: its lines count as checks.
run_client() {
    local name=$1 line
    shift
    "${client[@]}" "$@" >"$tmp/client.out" 2>&1
    while IFS= read -r line; do
        case $line in
        "ok   "*) ok "$name: ${line#ok   }" ;;
        "FAIL "*) fail "$name: ${line#FAIL }" ;;
        *) echo "    $line" ;;
        esac
    done <"$tmp/client.out"
}

# kcat_dump <file>: every record of the three topics as "topic key
# partition offset value" lines, sorted.
kcat_dump() {
    local t
    for t in pin geo user; do
        kcat -b "127.0.0.1:$kport" -C -t "pinterest.$t" -e -q -f '%t\t%k\t%p\t%o\t%s\n' 2>/dev/null
    done | sort >"$1"
}

# ---- without a token (loopback): the original client unchanged ----
start_run "$tmp/run1.log" --set kafka.group.id=test-rest
mkdir -p "$tmp/client"
run_client "post" post --url "$api" --out "$tmp/client" --data "$data/sample_records.jsonl" \
    --order "$data/emission_order_seed100.txt" --draws 300 --batch-draws 100
[ -s "$tmp/client/expect.json" ] || { echo "the client wrote no expectations"; exit 1; }
expect() { "$PYTHON" -c "import json; d=json.load(open('$tmp/client/expect.json')); print($1)"; }
total=$(expect 'd["records"]')

run_client "errors" errors --url "$api" --max-body "$max_body"

# Kafka holds exactly what the answers said, and nothing of the refused
# requests.
sort "$tmp/client/sent.tsv" >"$tmp/sent.sorted"
kcat_dump "$tmp/kafka.sorted"
if cmp -s "$tmp/sent.sorted" "$tmp/kafka.sorted"; then
    ok "kcat: the $total records as answered (topic, key, partition, offset, value), nothing else"
else
    fail "kcat: Kafka differs from the answers"
    diff "$tmp/sent.sorted" "$tmp/kafka.sorted" | head -5
fi

# The engine consumed them: the answers count the posts.
if wait_json "$api/v1/status" 'd["records"]' "$total" 60; then
    ok "run consumed the $total posted records"
else
    fail "run consumed the posted records"
fi
q="$api/v1/queries?window=all"
in_ok=1
for k in pin geo user; do
    [ "$(json_get "$q" "d['input']['records']['$k']")" = "$(expect "d['$k']")" ] || in_ok=0
    [ "$(json_get "$q" "d['input']['duplicates']['$k']")" = "$(expect "d['duplicates']['$k']")" ] ||
        in_ok=0
done
posts=$(expect 'd["posts"]')
[ "$(json_get "$q" 'd["input"]["posts"]')" = "$posts" ] || in_ok=0
[ "$(json_get "$q" 'd["windows"][0]["posts"]')" = "$posts" ] || in_ok=0
[ "$in_ok" -eq 1 ] && ok "/v1/queries?window=all: records, duplicates and $posts joined posts" ||
    fail "/v1/queries?window=all counts differ from what was posted"

# The proxy's counters.
requests=$(expect 'd["requests"]')
curl -s --max-time 5 "$api/metrics" >"$tmp/metrics.txt"
if grep -qx "pinpipe_rest_requests_total{status=\"200\"} $requests" "$tmp/metrics.txt" &&
    grep -qx "pinpipe_rest_records_delivered_total $total" "$tmp/metrics.txt" &&
    grep -qx 'pinpipe_rest_requests_total{status="415"} 5' "$tmp/metrics.txt" &&
    grep -qx 'pinpipe_rest_requests_total{status="422"} 10' "$tmp/metrics.txt" &&
    grep -qx 'pinpipe_rest_requests_total{status="404"} 3' "$tmp/metrics.txt" &&
    grep -qx 'pinpipe_rest_records_failed_total 0' "$tmp/metrics.txt"; then
    ok "metrics: $requests answered 200, $total delivered, refusals by status"
else
    fail "metrics"
    grep '^pinpipe_rest' "$tmp/metrics.txt"
fi

# pinpipe emulate through the proxy: every post arrives, keyed by ind.
if "$pinpipe" emulate --to "$api" --count 100 --seed 11 --quiet 2>"$tmp/emulate.err"; then
    ok "emulate --to http://: exit 0"
else
    fail "emulate --to http://"
    cat "$tmp/emulate.err"
fi
if wait_json "$api/v1/status" 'd["records"]' "$((total + 300))" 30; then
    ok "emulate --to http://: its 300 records consumed"
else
    fail "emulate --to http://: its records consumed"
fi
kcat_dump "$tmp/kafka2.sorted"
comm -13 "$tmp/kafka.sorted" "$tmp/kafka2.sorted" >"$tmp/emulated.tsv"
[ "$(wc -l <"$tmp/emulated.tsv")" -eq 300 ] && ok "emulate --to http://: 300 new records in Kafka" ||
    fail "emulate --to http://: $(wc -l <"$tmp/emulated.tsv") new records in Kafka, want 300"
run_client "emulate" keys --file "$tmp/emulated.tsv"
stop_pid "run without token" "$run_pid"

# ---- with http.auth.token ----
# A new group (the mock broker lets a restarted member of the same group
# wait for the old one's session timeout): it reads the topics from the start.
start_run "$tmp/run2.log" --set "http.auth.token=$token" --set kafka.group.id=test-rest-auth
run_client "auth" auth --url "$api" --token "$token"
if PINPIPE_HTTP_TOKEN=$token "$pinpipe" emulate --to "$api" --count 20 --seed 12 --quiet \
    2>"$tmp/emulate.err"; then
    ok "emulate --to http:// with PINPIPE_HTTP_TOKEN: exit 0"
else
    fail "emulate with PINPIPE_HTTP_TOKEN"
    cat "$tmp/emulate.err"
fi
# Everything so far, plus the auth check's record and the 20 posts.
if got=$(records_with_token "$((total + 300 + 61))" 60); then
    ok "with a token: all $((total + 361)) records consumed"
else
    fail "with a token: $got records consumed, want $((total + 361))"
    cat "$tmp/run2.log"
fi
expect_one_line "emulate without the token: exit 1, one line" 1 "401" 30 \
    emulate --to "$api" --count 1 --quiet
grep -q "$token" "$tmp/run2.log" "$tmp/err" "$tmp/emulate.err" && fail "the token appears in a log" ||
    ok "the token appears in no log"
stop_pid "run with token" "$run_pid"

echo "test_rest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
