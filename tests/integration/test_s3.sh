#!/usr/bin/env bash
# The S3 backend of pp_store against s3rver (tests/s3), through the test
# driver s3_put.c (pp_store_open, pp_store_put..., pp_store_close):
#   - objects land with their exact bytes (read back with the AWS CLI):
#     empty, small, keys with spaces and unicode, under a prefix;
#   - an overwrite leaves the last bytes;
#   - multipart: a 12 MiB object with s3.part.size=5MiB goes up in 3 parts;
#   - both drivers of libcurl's sockets: io_uring and libcurl's own poll;
#   - preflight: no such bucket, nothing listening, an endpoint that never
#     answers, a malformed URL: exit 1 (2 for the URL) with one line;
#   - retries: s3rver killed in the middle of 30 puts and started again on
#     the same directory: every object lands, retries counted;
#   - end to end: `pinpipe replay --to s3://lake/<prefix>` (store.url,
#     s3.part.size) writes the same objects, byte for byte, as a replay
#     into a local lake, and `pinpipe query` answers the same on the copy
#     the AWS CLI downloads; replay to a missing bucket exits 1, one line;
#   - `pinpipe query --from s3://` and `pinpipe replay --from s3://` read
#     the bucket (two ListObjectsV2 pages, 1,500 GETs) with the same
#     answers and objects as the local lake; bad endpoints exit 1;
#   - `pinpipe run` with lake.url=s3://...: s3rver killed while records keep
#     arriving, retries counted in /metrics, started again; sink_check.py on
#     the bucket's copy finds every record exactly once;
#   - IMDS credentials that S3 answers 400 ExpiredToken (through
#     s3_fault_proxy.py): fetched again, the retries signed with the new
#     ones, every object written.
#
#   test_s3.sh <s3_put driver> <source dir> <pinpipe>
set -uo pipefail

driver=$1
src=$2
pinpipe=$3
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_s3 node cmp
s3_setup test_s3 "$src"
port=$(free_port)
endpoint=http://127.0.0.1:$port
data=$tmp/s3data
srv_log=$tmp/s3rver.log
: >"$srv_log"

# The key ids of the fake IMDS's credentials (section 8) are s3rver's too.
export S3RVER_ACCESS_KEY_ID=ASIAFAKE000000000001,ASIAFAKE000000000002,ASIAFAKE000000000003,ASIAFAKE000000000004

# start_s3: s3rver on $port serving $data (bucket "lake"); its request
# log appended to $srv_log.
start_s3() {
    local mark
    mark=$(wc -l <"$srv_log" 2>/dev/null || echo 0)
    S3RVER_LOG=1 node --openssl-legacy-provider "$src/tests/s3/s3rver.mjs" "$port" "$data" lake >>"$srv_log" 2>&1 &
    s3_pid=$!
    pids+=("$s3_pid")
    for ((i = 0; i < 100; i++)); do
        tail -n +"$((mark + 1))" "$srv_log" | grep -q "^ready" && return 0
        sleep 0.1
    done
    cat "$srv_log"
    echo "s3rver did not start"
    exit 1
}

aws_s3() { /usr/bin/aws --endpoint-url "$endpoint" "$@"; }

# same <name> <key> <file>: the object's bytes equal the file's.
same() {
    rm -f "$tmp/back"
    if aws_s3 s3 cp "s3://lake/$2" "$tmp/back" >/dev/null 2>&1 && cmp -s "$tmp/back" "$3"; then
        ok "$1"
    else
        fail "$1: s3://lake/$2 differs from $3"
    fi
}

start_s3
head -c 0 /dev/urandom >"$tmp/empty"
head -c 1000 /dev/urandom >"$tmp/small"
head -c 300000 /dev/urandom >"$tmp/medium"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$tmp/big"
head -c 777 /dev/urandom >"$tmp/small2"

# 1. Puts of every size, odd keys, a prefix.
if "$driver" --endpoint "$endpoint" s3://lake/pre/fix/ \
    raw/t/partition=0/t+0+0000000000.json.zst="$tmp/small" \
    empty="$tmp/empty" "odd/a b+c,ü=\$&(x).json"="$tmp/medium" >"$tmp/put1.out" 2>"$tmp/put1.err"; then
    ok "puts: exit 0"
else
    fail "puts: exit $?"; cat "$tmp/put1.out" "$tmp/put1.err"
fi
grep -q "^objects=3 bytes=301000 retries=0 backend=s3$" "$tmp/put1.out" && ok "puts: counters" ||
    { fail "puts: counters"; cat "$tmp/put1.out"; }
grep -q "sockets on io_uring" "$tmp/put1.err" && ok "puts: sockets on io_uring" ||
    { fail "puts: not on io_uring"; cat "$tmp/put1.err"; }
same "puts: small" pre/fix/raw/t/partition=0/t+0+0000000000.json.zst "$tmp/small"
same "puts: empty" pre/fix/empty "$tmp/empty"
same "puts: odd key" "pre/fix/odd/a b+c,ü=\$&(x).json" "$tmp/medium"
if aws_s3 s3 ls --recursive s3://lake/pre/fix/_pinpipe/ 2>/dev/null | grep -q probe; then
    fail "preflight: the probe object was left behind"
else
    ok "preflight: the probe object is deleted"
fi

# 2. Overwrite: the last bytes stay (also two puts of one key in one run).
"$driver" --endpoint "$endpoint" s3://lake/pre/fix k="$tmp/small" k="$tmp/small2" >/dev/null 2>&1
"$driver" --endpoint "$endpoint" s3://lake/pre/fix empty="$tmp/small2" >/dev/null 2>&1
same "overwrite: same key twice in one run" pre/fix/k "$tmp/small2"
same "overwrite: a later run" pre/fix/empty "$tmp/small2"

# 3. Multipart: 12 MiB in 5 MiB parts (3 parts), libcurl polling itself too.
for mode in uring polled; do
    flag=""
    [ "$mode" = polled ] && flag=--uring-off
    parts0=$(grep -c 'Stored part' "$srv_log")
    if "$driver" $flag --endpoint "$endpoint" --part-size $((5 * 1024 * 1024)) s3://lake/mp \
        "big-$mode"="$tmp/big" small="$tmp/small" >"$tmp/mp.out" 2>"$tmp/mp.err"; then
        ok "multipart ($mode): exit 0"
    else
        fail "multipart ($mode): exit $?"; cat "$tmp/mp.out" "$tmp/mp.err"
    fi
    parts=$(($(grep -c 'Stored part' "$srv_log") - parts0))
    [ "$parts" -eq 3 ] && ok "multipart ($mode): 3 parts" || fail "multipart ($mode): $parts parts, want 3"
    same "multipart ($mode): 12 MiB object" "mp/big-$mode" "$tmp/big"
    same "multipart ($mode): small object beside it" mp/small "$tmp/small"
done
grep -q "sockets polled by libcurl" "$tmp/mp.err" && ok "uring off: libcurl polls" ||
    fail "uring off: not said in the log"
# The default part size (25 MiB): the same object in one PutObject.
parts0=$(grep -c 'Stored part' "$srv_log")
"$driver" --endpoint "$endpoint" s3://lake/mp big-single="$tmp/big" >/dev/null 2>&1
parts=$(($(grep -c 'Stored part' "$srv_log") - parts0))
[ "$parts" -eq 0 ] && ok "below s3.part.size: PutObject" || fail "below s3.part.size: $parts parts"
same "below s3.part.size: bytes" mp/big-single "$tmp/big"

# 4. Preflight failures: one line, exit 1 (2 for a malformed URL), fast.
# expect_fail <name> <exit> <text> <driver args...>
expect_fail() {
    local name=$1 want=$2 text=$3 rc=0 start
    shift 3
    start=$SECONDS
    timeout 30 "$driver" "$@" x="$tmp/small" >"$tmp/pf.out" 2>"$tmp/pf.err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, want $want"; cat "$tmp/pf.err"; return
    fi
    if [ "$(wc -l <"$tmp/pf.err")" -ne 1 ] || ! grep -qF -- "$text" "$tmp/pf.err"; then
        fail "$name: stderr is not one line with '$text'"; cat "$tmp/pf.err"; return
    fi
    [ -s "$tmp/pf.out" ] && { fail "$name: something was put"; return; }
    ok "$name ($((SECONDS - start)) s)"
}
expect_fail "preflight: no such bucket" 1 "NoSuchBucket" --endpoint "$endpoint" s3://nobucket/p
dead=$(free_port)
expect_fail "preflight: nothing listening" 1 "preflight PUT http://127.0.0.1:$dead/lake/" \
    --endpoint "http://127.0.0.1:$dead" s3://lake/p
# A server that accepts connections and never answers: the probe's 10 s.
"$PYTHON" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("listening", flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$dead" >"$tmp/mute.log" 2>&1 &
pids+=($!)
wait_for_line "$tmp/mute.log" listening 10
expect_fail "preflight: endpoint never answers" 1 "timed out" --endpoint "http://127.0.0.1:$dead" \
    s3://lake/p
expect_fail "preflight: malformed bucket" 2 "not a valid bucket name" --endpoint "$endpoint" \
    s3://Bad_Bucket/p
expect_fail "preflight: malformed endpoint" 2 "is not http(s)://host[:port]" \
    --endpoint "ftp://127.0.0.1:$port" s3://lake/p
expect_fail "preflight: part size below 5 MiB" 2 "below S3's minimum" --endpoint "$endpoint" \
    --part-size 1000 s3://lake/p
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    expect_fail "preflight: no credentials" 1 "no AWS credentials" --endpoint "$endpoint" s3://lake/p
    exit "$failed") || failed=$((failed + 1))

# 5. Retries: s3rver killed mid-run and started again on the same data.
args=()
for i in $(seq 1 30); do
    printf 'object %d\n%s\n' "$i" "$(head -c 2000 /dev/urandom | base64 -w0)" >"$tmp/obj$i"
    args+=("r/obj$i=$tmp/obj$i")
done
"$driver" --endpoint "$endpoint" --pace-ms 100 s3://lake/retry "${args[@]}" \
    >"$tmp/retry.out" 2>"$tmp/retry.err" &
driver_pid=$!
pids+=("$driver_pid")
sleep 1
kill -KILL "$s3_pid"
wait "$s3_pid" 2>/dev/null
sleep 2
start_s3
rc=0
for ((i = 0; i < 600; i++)); do kill -0 "$driver_pid" 2>/dev/null || break; sleep 0.1; done
wait "$driver_pid" || rc=$?
[ "$rc" -eq 0 ] && ok "retries: every put reported durable" ||
    { fail "retries: exit $rc"; tail -5 "$tmp/retry.out" "$tmp/retry.err"; }
retries=$(sed -n 's/.*retries=\([0-9]*\).*/\1/p' "$tmp/retry.out")
[ "${retries:-0}" -gt 0 ] && ok "retries: counted ($retries)" || fail "retries: none counted"
grep -q "retry 1 in" "$tmp/retry.err" && ok "retries: logged" || fail "retries: not logged"
aws_s3 s3 sync s3://lake/retry "$tmp/retry-back" >/dev/null 2>&1
bad=0
for i in $(seq 1 30); do cmp -s "$tmp/obj$i" "$tmp/retry-back/r/obj$i" || bad=$((bad + 1)); done
[ "$bad" -eq 0 ] && ok "retries: all 30 objects landed with their bytes" ||
    fail "retries: $bad of 30 objects missing or different"

# 6. End to end: pinpipe replay into the S3 lake.
# flush.size=1: one object per record, 1,500 of them (two listing pages).
"$pinpipe" emulate --to "$tmp/src" --count 250 --seed 11 --quiet 2>"$tmp/emu.err" ||
    { fail "emulate: exit $?"; cat "$tmp/emu.err"; }
if "$pinpipe" replay --from "$tmp/src" --to s3://lake/replayed --set "store.url=$endpoint" \
    --set s3.part.size=5MiB --set flush.size=1 --quiet 2>"$tmp/rp.err"; then
    ok "replay to s3: exit 0"
else
    fail "replay to s3: exit $?"; cat "$tmp/rp.err"
fi
grep -q "store s3://lake/replayed: S3 at $endpoint (path-style)" "$tmp/rp.err" &&
    ok "replay to s3: the store's line" || { fail "replay to s3: no store line"; cat "$tmp/rp.err"; }
"$pinpipe" replay --from "$tmp/src" --to "$tmp/local" --set flush.size=1 --quiet 2>/dev/null ||
    fail "replay to a local lake: exit $?"
aws_s3 s3 sync s3://lake/replayed "$tmp/copy" >/dev/null 2>&1
n_local=$(find "$tmp/local" -type f | wc -l)
if [ "$n_local" -gt 10 ] && diff -r "$tmp/local" "$tmp/copy" >"$tmp/diff" 2>&1; then
    ok "replay to s3: the same $n_local objects as a local lake, byte for byte"
else
    fail "replay to s3: objects differ from a local replay ($n_local local)"; head "$tmp/diff"
fi
"$pinpipe" query --from "$tmp/copy" --format json >"$tmp/q-s3.json" 2>/dev/null
"$pinpipe" query --from "$tmp/local" --format json >"$tmp/q-local.json" 2>/dev/null
if [ -s "$tmp/q-s3.json" ] && cmp -s "$tmp/q-s3.json" "$tmp/q-local.json"; then
    ok "replay to s3: query answers equal"
else
    fail "replay to s3: query answers differ"
fi
expect_one_line "replay to a missing bucket: exit 1, one line" 1 "NoSuchBucket" 30 \
    replay --from "$tmp/src" --to s3://nobucket/x --set "store.url=$endpoint" --quiet

# Reading an S3 lake: query and replay --from s3:// (ListObjectsV2 pages,
# parallel GETs into a temporary directory, removed afterwards).
export TMPDIR=$tmp/tmpdir
mkdir -p "$TMPDIR"
lists0=$(grep -c 'list-type=2' "$srv_log")
"$pinpipe" query --from s3://lake/replayed --store-url "$endpoint" --format json \
    >"$tmp/q-from-s3.json" 2>"$tmp/qs3.err"
if [ -s "$tmp/q-from-s3.json" ] && cmp -s "$tmp/q-from-s3.json" "$tmp/q-local.json"; then
    ok "query --from s3://: the local lake's answers"
else
    fail "query --from s3://: answers differ"; cat "$tmp/qs3.err"
fi
grep -q "1500 objects, .* downloaded" "$tmp/qs3.err" && ok "query --from s3://: 1500 objects fetched" ||
    { fail "query --from s3://: not 1500 objects"; cat "$tmp/qs3.err"; }
lists=$(($(grep -c 'list-type=2' "$srv_log") - lists0))
[ "$lists" -eq 2 ] && ok "query --from s3://: two listing pages" || fail "query --from s3://: $lists pages"
"$pinpipe" replay --from s3://lake/replayed --from-store-url "$endpoint" --to "$tmp/local2" \
    --set flush.size=1 --quiet 2>/dev/null || fail "replay --from s3://: exit $?"
if diff -r "$tmp/local" "$tmp/local2" >/dev/null 2>&1; then
    ok "replay --from s3:// into a local lake: the same objects"
else
    fail "replay --from s3://: objects differ"
fi
[ -z "$(ls -A "$TMPDIR")" ] && ok "the temporary copies are removed" ||
    fail "temporary copies left: $(ls "$TMPDIR")"
expect_one_line "query --from s3:// with nothing listening: exit 1, one line" 1 "Couldn't connect" 30 \
    query --from s3://lake/replayed --store-url "http://127.0.0.1:$(free_port)"
expect_one_line "query --from a missing bucket: exit 1, one line" 1 "NoSuchBucket" 30 \
    query --from s3://nobucket/replayed --store-url "$endpoint"
unset TMPDIR

# 7. pinpipe run into the S3 lake, s3rver killed while records keep coming
# and started again: sink_check.py finds every record exactly once.
if ! "$PYTHON" -c 'import confluent_kafka' 2>/dev/null || ! command -v zstd >/dev/null; then
    echo "test_s3: section 7 (pinpipe run) skipped: python3-confluent-kafka or zstd missing"
else
    kport=$(free_port)
    hport=$(free_port)
    api=http://127.0.0.1:$hport
    start_broker "$kport" "$tmp/broker.log" --partitions 3
    "$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 500 --seed 31 --malformed 10 \
        --quiet || fail "run: emulate"
    "$pinpipe" run --set lake.url=s3://lake/run --set "store.url=$endpoint" \
        --set "kafka.bootstrap.servers=127.0.0.1:$kport" --set "http.listen=127.0.0.1:$hport" \
        --set flush.size=20 --set kafka.group.id=test-s3 2>"$tmp/run.log" &
    run_pid=$!
    pids+=("$run_pid")
    wait_json "$api/v1/status" 'd["records"]' 1500 60 && ok "run: consumed 1500 records" ||
        { fail "run: consumed 1500 records"; cat "$tmp/run.log"; }
    kill -KILL "$s3_pid"
    wait "$s3_pid" 2>/dev/null
    "$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 500 --seed 32 --malformed 10 \
        --quiet || fail "run: emulate, second part"
    sleep 3
    retries=$(curl -s "$api/metrics" | sed -n 's/^pinpipe_sink_retries_total \([0-9]*\).*/\1/p')
    [ "${retries:-0}" -gt 0 ] && ok "run: S3 down, retries counted ($retries)" ||
        fail "run: S3 down, no retries counted (${retries:-none})"
    start_s3
    wait_json "$api/v1/status" 'sum(o["next_offset"] for o in d["offsets"])' 3000 60 ||
        fail "run: caught up after S3 came back"
    stop_pid "run" "$run_pid"
    aws_s3 s3 sync s3://lake/run "$tmp/run-lake" >/dev/null 2>&1
    if "$PYTHON" "$src/tests/integration/sink_check.py" "127.0.0.1:$kport" pinterest \
        "$tmp/run-lake" 20 >"$tmp/check.txt" 2>&1; then
        ok "run: the S3 lake holds every record once: $(cat "$tmp/check.txt")"
    else
        fail "run: sink_check.py on the S3 lake"
        head -20 "$tmp/check.txt"
    fi
fi

# 8. Instance-role credentials that S3 says have expired: a replay through
# s3_fault_proxy.py, which answers two of its requests 400 ExpiredToken,
# with credentials from the fake IMDSv2 (imds_server.py, keys numbered
# ASIAFAKE...1, 2, ...). pinpipe drops the refused credentials, fetches
# new ones and retries: every object lands, byte for byte what a local
# replay writes, and the requests after the refusals carry another key.
imds_port=$(free_port)
pport=$(free_port)
cport=$(free_port)
"$PYTHON" "$src/tests/integration/imds_server.py" --port "$imds_port" --log "$tmp/imds.log" \
    --secrets "$tmp/imds.secrets" >"$tmp/imds.out" 2>&1 &
pids+=("$!")
"$PYTHON" "$src/tests/integration/s3_fault_proxy.py" "$pport" "$port" "$cport" >"$tmp/proxy.log" 2>&1 &
pids+=("$!")
if wait_for_line "$tmp/imds.out" "listening on" 10 && wait_for_line "$tmp/proxy.log" "ready" 10; then
    # Every third request, twice: the first two are the preflight probe's
    # PUT and DELETE, which fail fast by design (a store that cannot work
    # stops the start).
    curl -s --max-time 5 "http://127.0.0.1:$cport/fault?kind=expired&every=3&count=2" >/dev/null
    if (unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED
        export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$imds_port
        "$pinpipe" replay --from "$tmp/src" --to s3://lake/expired \
            --set "store.url=http://127.0.0.1:$pport" --set flush.size=100 2>"$tmp/exp.err"); then
        ok "expired credentials: replay exit 0"
    else
        fail "expired credentials: replay exit $?"
        tail -5 "$tmp/exp.err"
    fi
    json_get "http://127.0.0.1:$cport/stats" 'json.dumps(d["keys"], sort_keys=True)' >"$tmp/keys.json"
    if "$PYTHON" - "$tmp/keys.json" <<'PY'; then
import json, sys
keys = json.loads(open(sys.argv[1]).read())
faulted = sum(k["faulted"] for k in keys.values())
first = keys.get("ASIAFAKE%012d" % 1, {"requests": 0, "faulted": 0})
later = sum(k["requests"] - k["faulted"] for n, k in keys.items() if n != "ASIAFAKE%012d" % 1)
sys.exit(0 if faulted == 2 and first["faulted"] >= 1 and later > 0 else 1)
PY
        ok "expired credentials: 2 requests refused, the retries signed with new IMDS credentials"
    else
        fail "expired credentials: keys seen by the proxy: $(cat "$tmp/keys.json")"
    fi
    grep -q "ExpiredToken" "$tmp/exp.err" && ok "expired credentials: the refusal is logged" ||
        fail "expired credentials: no ExpiredToken in the log"
    "$pinpipe" replay --from "$tmp/src" --to "$tmp/local-exp" --set flush.size=100 --quiet \
        2>/dev/null || fail "expired credentials: local replay exit $?"
    aws_s3 s3 sync s3://lake/expired "$tmp/copy-exp" >/dev/null 2>&1
    n_exp=$(find "$tmp/local-exp" -type f | wc -l)
    if [ "$n_exp" -gt 0 ] && diff -r "$tmp/local-exp" "$tmp/copy-exp" >"$tmp/diff-exp" 2>&1; then
        ok "expired credentials: the same $n_exp objects as a local replay"
    else
        fail "expired credentials: objects differ from a local replay ($n_exp local)"
        head "$tmp/diff-exp"
    fi
    grep -qf "$tmp/imds.secrets" "$tmp/exp.err" &&
        fail "expired credentials: an IMDS secret in the log" ||
        ok "expired credentials: no IMDS secret in the log"
else
    fail "expired credentials: the fake IMDS or the proxy did not start"
    cat "$tmp/imds.out" "$tmp/proxy.log"
fi

kill "$s3_pid" 2>/dev/null
echo "test_s3: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
