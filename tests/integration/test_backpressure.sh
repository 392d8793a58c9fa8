#!/usr/bin/env bash
# Backpressure (SPEC 9, issues 3 and 4): a backlog consumed by a run whose
# lake is the bottleneck (objects of 20 records, each fsynced, and at most
# 1 MiB buffered: the loop waits for the store), so the pipeline's batch
# pool runs dry and the Kafka source pauses its partitions (at once:
# backpressure.pause.after=0s; the stalls here are shorter than the
# default 1s, which test_kafka's test_blocked_pauses_after covers). (Before windows
# were kept by panes, hundreds of hopping windows per post made the loop
# the bottleneck by themselves.) Expected: pauses happen and end, nothing is lost
# (every record consumed once, the all-time answers equal `pinpipe query`
# over a lake of the same records). Resident memory is printed, not
# asserted: here it is the state of the ~420 windows each post enters, and
# the bound on memory over time is measured by bench/stream_bench.sh.
#
#   test_backpressure.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_backpressure curl python3

kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"
start_broker "$kport" "$tmp/broker.log" --partitions 4

emul=(--count 30000 --seed 5 --malformed 5)
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" "${emul[@]}" --quiet || fail "emulate to kafka"
"$pinpipe" emulate --to "$tmp/lake" --partitions 4 "${emul[@]}" --quiet || fail "emulate to lake"
"$pinpipe" query --from "$tmp/lake" --format json >"$tmp/batch.json" || fail "pinpipe query"
want=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(d["input"]["records"].values()))' "$tmp/batch.json")

"$pinpipe" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" --set "http.listen=127.0.0.1:$hport" \
    --set analytics.windows=all,hopping:1h/1m,hopping:2h/1m,hopping:4h/1m \
    --set flush.size=20 --set sink.max.buffered.bytes=1MiB --set backpressure.pause.after=0s \
    --set kafka.group.id=test-backpressure 2>"$tmp/run.log" &
run_pid=$!
pids+=("$run_pid")

# Sample status and resident memory until every record is consumed.
max_rss=0
max_paused=0
got=""
for ((i = 0; i < 240; i++)); do
    sleep 0.25
    status=$(curl -s --max-time 5 "$api/v1/status") || continue
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$run_pid/status" 2>/dev/null)
    [ -n "$rss" ] && [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    read -r got paused pauses < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["records"], int(d["paused"]), d["pauses"])' "$status" 2>/dev/null)
    [ "${paused:-0}" = 1 ] && max_paused=1
    [ "$got" = "$want" ] && break
done
echo "    records $got of $want, pauses ${pauses:-?}, seen paused $max_paused, max RSS $((max_rss / 1024)) MiB"

if [ "$got" = "$want" ]; then ok "every record consumed ($want)"; else fail "consumed ${got:-?} of $want"; fi
# The counter proves the pauses; sampling every 0.25 s may miss short ones.
if [ "${pauses:-0}" -gt 0 ]; then
    ok "the pipeline fell behind and paused the partitions ($pauses pauses, seen paused: $max_paused)"
else
    fail "no pause seen (pauses ${pauses:-?})"
fi
sleep 0.5
status=$(curl -s --max-time 5 "$api/v1/status")
if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert not d["paused"] and d["lag"] == 0' "$status"; then
    ok "resumed once caught up: not paused, lag 0"
else
    fail "after catching up: ${status:0:200}"
fi
if grep -q 'pinpipe_backpressure_pauses_total [1-9]' <(curl -s "$api/metrics") &&
    grep -q 'pinpipe_sink_waits_total [1-9]' <(curl -s "$api/metrics") &&
    grep -q '^pinpipe_consumer_paused 0' <(curl -s "$api/metrics"); then
    ok "metrics: pinpipe_backpressure_pauses_total, pinpipe_sink_waits_total, pinpipe_consumer_paused"
else
    fail "metrics lack the backpressure series"
fi
curl -s "$api/v1/queries?window=all" >"$tmp/stream.json"
if python3 - "$tmp/stream.json" "$tmp/batch.json" <<'PY'; then
import json, sys
stream = json.load(open(sys.argv[1]))
batch = json.load(open(sys.argv[2]))
win = stream["windows"][0]
assert win["posts"] == batch["input"]["posts"], (win["posts"], batch["input"]["posts"])
for name, table in batch["queries"].items():
    assert win["queries"][name] == table, name
for key in ("records", "rejected", "duplicates"):
    assert stream["input"][key] == batch["input"][key], key
PY
    ok "nothing lost: window=all equals pinpipe query (nine queries, records, rejects, duplicates)"
else
    fail "window=all differs from pinpipe query"
fi

stop_pid "run" "$run_pid"

echo "backpressure: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
