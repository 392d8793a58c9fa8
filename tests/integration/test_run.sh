#!/usr/bin/env bash
# pinpipe run end to end (issue 3): a `pinpipe broker`, posts produced with
# `pinpipe emulate --to kafka://` (dirty values, duplicates, malformed
# records), then:
#   - SPEC 4's invariant: GET /v1/queries?window=all equals `pinpipe query`
#     over a lake of the same records (same seed, same partitioner);
#   - the query and window endpoints, their errors;
#   - SIGTERM: exit 0; a restart in the same group resumes after the
#     committed offsets (reads only what was produced since);
#   - configuration errors exit 2 with one line.
#
#   test_run.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_run curl python3 node

kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"

start_broker "$kport" "$tmp/broker.log" --partitions 4

# The same posts into Kafka and into a lake (records depend only on the
# seed and the key; both use Kafka's murmur2 partitioner).
emul=(--count 2000 --seed 9 --malformed 10 --ind-space 1800)
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" "${emul[@]}" --quiet || fail "emulate to kafka"
"$pinpipe" emulate --to "$tmp/lake" --partitions 4 "${emul[@]}" --quiet || fail "emulate to lake"
want_records=6000

# start_run <log> <args...>: starts pinpipe run in the background.
# librdkafka 2.0.2's mock cluster forgets a member that left only after its
# session timeout (docs/broker.md): a short one keeps the restart quick.
start_run() {
    local log=$1
    shift
    "$pinpipe" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
        --set "http.listen=127.0.0.1:$hport" --set "analytics.windows=all,tumbling:1h" \
        --set kafka.group.id=test-run --set kafka.session.timeout.ms=6000 "$@" 2>"$log" &
    run_pid=$!
    pids+=("$run_pid")
}

# wait_records <n> <seconds>: until /v1/status counts n records.
wait_records() { wait_json "$api/v1/status" 'd["records"]' "$1" "$2"; }

# stop_run <name>: SIGTERM, then exit 0 within 20 s.
stop_run() { stop_pid "$1" "$run_pid"; }

start_run "$tmp/run1.log"
if wait_records "$want_records" 60; then
    ok "consumed all $want_records records"
else
    fail "consumed all $want_records records"
    cat "$tmp/run1.log"
fi

# SPEC 4: the streaming all-time answers equal the batch job over the same
# records, and so do the input counts, except orphans: a part whose siblings
# were replaced by malformed records is an orphan for the batch job at once,
# but for the stream only after join.timeout (10 minutes of record time).
curl -s --max-time 5 "$api/v1/queries?window=all" >"$tmp/all.json"
"$pinpipe" query --from "$tmp/lake" --format json --quiet >"$tmp/batch.json"
if python3 "$src/tests/integration/compare_answers.py" "$tmp/all.json" "$tmp/batch.json"; then
    ok "window=all equals pinpipe query over the same records (nine queries, input counts)"
else
    fail "window=all equals pinpipe query"
fi

# One query, a time window, and the errors.
[ "$(json_get "$api/v1/queries/category_by_year?window=all" 'list(d["windows"][0]["queries"])')" = \
    "['category_by_year']" ] && ok "one query" || fail "one query"
[ "$(json_get "$api/v1/queries?window=tumbling:60m" 'd["window"]')" = "tumbling:1h" ] &&
    ok "tumbling window (spelled 60m)" || fail "tumbling window"
[ "$(json_get "$api/v1/queries?window=tumbling:1h" 'sum(w["posts"] for w in d["windows"])')" = \
    "$(json_get "$api/v1/queries?window=all" 'd["windows"][0]["posts"]')" ] &&
    ok "tumbling windows hold every on-time post" || fail "tumbling windows hold every post"
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1"; }
[ "$(code "$api/v1/queries/nope")" = 404 ] && ok "unknown query: 404" || fail "unknown query"
[ "$(code "$api/v1/queries?window=tumbling:5m")" = 404 ] && ok "window not kept: 404" ||
    fail "window not kept"
[ "$(code "$api/v1/queries?window=weekly")" = 400 ] && ok "bad window: 400" || fail "bad window"
[ "$(code "$api/healthz")" = 200 ] && [ "$(code "$api/readyz")" = 200 ] && ok "healthz, readyz" ||
    fail "healthz, readyz"
# Prometheus metrics: the counters match the answers' input counts, and
# every joined post is in the visibility histogram.
curl -s --max-time 5 "$api/metrics" >"$tmp/metrics.txt"
posts=$(json_get "$api/v1/queries?window=all" 'd["input"]["posts"]')
if grep -qx 'pinpipe_records_total{topic="pinterest.pin"} 2000' "$tmp/metrics.txt" &&
    grep -qx "pinpipe_posts_joined_total $posts" "$tmp/metrics.txt" &&
    grep -qx "pinpipe_post_visible_seconds_count $posts" "$tmp/metrics.txt" &&
    grep -q '^pinpipe_consumer_lag{topic="pinterest.geo",partition="0"} 0$' "$tmp/metrics.txt" &&
    grep -q '^# TYPE pinpipe_post_visible_seconds histogram$' "$tmp/metrics.txt" &&
    grep -q '^pinpipe_checkpoint_round_seconds [0-9]*\.[0-9]*$' "$tmp/metrics.txt"; then
    ok "metrics: records, posts, lag, the visibility histogram, the checkpoint round"
else
    fail "metrics"
    head -40 "$tmp/metrics.txt"
fi
stop_run "first run"

# A restart in the same group resumes after the committed offsets.
start_run "$tmp/run2.log"
if wait_json "$api/v1/status" 'd["assigned_partitions"]' 12 30 && sleep 2 && wait_records 0 1; then
    ok "restart: nothing re-read"
else
    fail "restart: nothing re-read"
fi
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 100 --seed 10 --quiet
# Exactly the new records, and no more later (a restart from the start would
# pass 300 on its way to 6,300).
if wait_records 300 30 && sleep 2 && wait_records 300 1; then
    ok "restart: reads the 300 new records only"
else
    fail "restart: reads the 300 new records only"
fi
stop_run "second run"

# The same lake and group against another broker (a development broker
# started again: a new cluster, whose offsets are other records): the
# group's checkpoint is refused, exit 1 with one line naming both clusters,
# instead of skipping the new broker's first records as applied.
kport2=$(free_port)
start_broker "$kport2" "$tmp/broker2.log" --partitions 4
rc=0
timeout 60 "$pinpipe" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport2" \
    --set "http.listen=127.0.0.1:$hport" --set "analytics.windows=all,tumbling:1h" \
    --set kafka.group.id=test-run >/dev/null 2>"$tmp/run3.log" || rc=$?
if [ "$rc" -eq 1 ] && [ "$(grep -c "taken on Kafka cluster pinpipe-[0-9a-f]*; this run reads cluster pinpipe-[0-9a-f]* " "$tmp/run3.log")" -eq 1 ] &&
    ! grep -q "loaded the state of" "$tmp/run3.log"; then
    ok "a checkpoint of another Kafka cluster: exit 1, one line naming both"
else
    fail "a checkpoint of another Kafka cluster: exit $rc"
    cat "$tmp/run3.log"
fi

# Configuration errors: exit 2, one line.
for args in "--set flush.sise=1" "-c $tmp/missing.properties" "--set join.timeout=ten"; do
    rc=0
    # shellcheck disable=SC2086
    "$pinpipe" run $args >/dev/null 2>"$tmp/err" || rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
        ok "run $args: exit 2, one line"
    else
        fail "run $args: exit $rc"
        cat "$tmp/err"
    fi
done

echo "test_run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
