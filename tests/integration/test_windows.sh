#!/usr/bin/env bash
# Windows with controlled record timestamps (issue 3, SPEC 6): hand-made
# pin/geo/user records produced with chosen Kafka timestamps into
# `pinpipe broker`, consumed by `pinpipe run` with
# analytics.windows=all,tumbling:1m,hopping:2m/1m, lateness 5 s,
# join.timeout 30 s, dedup.ttl 2 m. windows_check.py produces the posts step
# by step and checks hand-derived answers: tumbling and hopping boundaries
# (a post at a boundary, at boundary - 1 ms, one whose parts straddle it),
# windows closing when the watermark reaches their end, a post exactly at the
# watermark, a late post (in `all` and late_posts only), orphans after
# join.timeout, duplicates within dedup.ttl and a post re-sent after it.
#
#   test_windows.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_windows curl
if ! "$PYTHON" -c 'import confluent_kafka' 2>/dev/null; then
    echo "test_windows: $PYTHON has no confluent_kafka (apt-get install python3-confluent-kafka); skipping"
    exit 77
fi

kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"

# One partition per topic: the posts' order is the order they are sent in.
start_broker "$kport" "$tmp/broker.log" --partitions 1
"$pinpipe" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
    --set "http.listen=127.0.0.1:$hport" --set kafka.group.id=test-windows \
    --set analytics.windows=all,tumbling:1m,hopping:2m/1m \
    --set analytics.allowed.lateness=5s --set join.timeout=30s --set dedup.ttl=2m \
    2>"$tmp/run.log" &
run_pid=$!
pids+=("$run_pid")
if ! wait_json "$api/v1/status" 'd["assigned_partitions"]' 3 30; then
    cat "$tmp/run.log"
    echo "test_windows: pinpipe run did not join its group"
    exit 1
fi

if "$PYTHON" "$src/tests/integration/windows_check.py" "127.0.0.1:$kport" "$api"; then
    ok "windows: every hand-derived answer"
else
    fail "windows: hand-derived answers (above)"
    tail -20 "$tmp/run.log"
fi
stop_pid "run" "$run_pid"

echo "test_windows: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
