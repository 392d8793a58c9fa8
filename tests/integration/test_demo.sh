#!/usr/bin/env bash
# pinpipe demo end to end (issue 3): everything in one process on free
# loopback ports. While it runs, the API answers with data that keeps
# growing: posts joined, rejects counted (the demo's emulator sends some
# malformed records), windows open, the dashboard page served; SIGINT stops
# it with exit 0, --duration stops it by itself; a second demo on the same
# lake starts afresh (the lake emptied, no state restored); a lake no demo
# wrote is refused; bad flags exit 2 with one line, and a busy broker port
# exits 1 with one line.
#
#   test_demo.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_demo curl python3

kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"

json_get() {
    curl -s --max-time 5 "$1" 2>/dev/null |
        python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" 2>/dev/null
}

# wait_posts <more than n> <seconds>: prints the count once /v1/status has
# more joined posts than n.
wait_posts() {
    local i got=""
    for ((i = 0; i < $2 * 4; i++)); do
        got=$(json_get "$api/v1/status" 'd["posts"]')
        if [ -n "$got" ] && [ "$got" -gt "$1" ]; then
            echo "$got"
            return 0
        fi
        sleep 0.25
    done
    return 1
}

"$pinpipe" demo --set "lake.url=$tmp/sink-lake" --listen "127.0.0.1:$hport" --broker "127.0.0.1:$kport" --rate 400 \
    --partitions 4 --malformed 20 2>"$tmp/demo.log" &
demo_pid=$!
pids+=("$demo_pid")
if wait_for_line "$tmp/demo.log" "dashboard on http://127.0.0.1:$hport/" 20; then
    ok "prints the dashboard URL"
else
    fail "prints the dashboard URL"; cat "$tmp/demo.log"
fi

if first=$(wait_posts 0 30); then
    ok "posts flow: $first joined"
else
    fail "no posts joined in 30 s"; cat "$tmp/demo.log"
fi
if later=$(wait_posts "${first:-0}" 10); then
    ok "posts keep arriving: $later joined"
else
    fail "posts stopped growing at ${first:-?}"
fi

status=$(curl -s --max-time 5 "$api/v1/status")
if python3 - "$status" <<'PY'; then
import json, sys
d = json.loads(sys.argv[1])
assert d["records"] >= 3 * d["posts"] > 0, d
assert d["rejected"] > 0, "the demo's malformed records are counted"
assert d["windows"] == ["all", "tumbling:1m", "hopping:10m/1m"], d["windows"]
assert d["assigned_partitions"] == 12, d["assigned_partitions"]
PY
    ok "status: records, rejects, the demo's windows, 12 partitions"
else
    fail "status: $status"
fi

doc=$(curl -s --max-time 5 "$api/v1/queries?window=tumbling:1m")
if python3 - "$doc" <<'PY'; then
import json, sys
d = json.loads(sys.argv[1])
assert d["window"] == "tumbling:1m"
wins = d["windows"]
assert wins and any(w["open"] for w in wins), wins
total = sum(w["posts"] for w in wins)
assert total > 0
rows = wins[-1]["queries"]["category_by_country"]["rows"]
assert rows, "the open window answers category_by_country"
PY
    ok "tumbling:1m windows answer with data"
else
    fail "tumbling:1m: ${doc:0:300}"
fi

doc=$(curl -s --max-time 5 "$api/v1/queries?window=hopping:10m/1m&last=2")
if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); w=d["windows"]; assert len(w) == 2 and w[0]["start_ms"] < w[1]["start_ms"], len(w)' "$doc"; then
    ok "last=2: the newest two hopping windows, oldest first"
else
    fail "last=2: ${doc:0:200}"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$api/v1/queries?last=0")
if [ "$code" = 400 ]; then ok "last=0: 400"; else fail "last=0: $code"; fi
# answers=1, as the dashboard asks: the same windows, the newest with its
# queries, the others only listed (bounds and posts).
doc=$(curl -s --max-time 5 "$api/v1/queries?window=hopping:10m/1m&last=3&answers=1")
if python3 -c '
import json, sys
w = json.loads(sys.argv[1])["windows"]
assert len(w) == 3, len(w)
assert [sorted(x) for x in w[:2]] == [["end_ms", "open", "posts", "start_ms"]] * 2, w[:2]
assert "category_by_country" in w[2]["queries"], w[2]
assert all(w[i]["start_ms"] < w[i + 1]["start_ms"] for i in range(2))
' "$doc"; then
    ok "answers=1: three windows listed, the newest answered"
else
    fail "answers=1: ${doc:0:300}"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$api/v1/queries?answers=x")
if [ "$code" = 400 ]; then ok "answers=x: 400"; else fail "answers=x: $code"; fi

code=$(curl -s -o "$tmp/page" -w '%{http_code}' --max-time 5 "$api/")
if [ "$code" = 200 ] && grep -qi '<html' "$tmp/page"; then
    ok "GET / serves the dashboard"
else
    fail "GET /: $code"
fi

stop_pid "demo" "$demo_pid" INT
if grep -q 'run: stopped after' "$tmp/demo.log"; then
    ok "SIGINT: the engine drained and committed"
else
    fail "SIGINT: no clean stop in the log"; tail -5 "$tmp/demo.log"
fi

# A second demo on the same lake: its broker starts empty, so it starts
# afresh (the earlier demo's lake emptied, no state restored) and applies
# what its own emulator produces.
rc=0
# An object of the first demo that the second would not rewrite must go.
mkdir -p "$tmp/sink-lake/topics/pinterest.pin/partition=99"
echo '{"ind": 1}' >"$tmp/sink-lake/topics/pinterest.pin/partition=99/pinterest.pin+99+0000000000.json"
timeout 60 "$pinpipe" demo --set "lake.url=$tmp/sink-lake" --listen "127.0.0.1:$hport" --broker "127.0.0.1:$kport" \
    --duration 8 2>"$tmp/duration.log" || rc=$?
if [ "$rc" = 0 ]; then
    ok "--duration 8: stops by itself, exit 0"
else
    fail "--duration 8: exit $rc"; cat "$tmp/duration.log"
fi
if grep -q "demo: emptying $tmp/sink-lake, the lake of an earlier demo" "$tmp/duration.log" &&
    [ ! -e "$tmp/sink-lake/topics/pinterest.pin/partition=99" ] &&
    ! grep -q "loaded the state of" "$tmp/duration.log" &&
    grep -qE "run: stopped after [1-9][0-9]* records" "$tmp/duration.log"; then
    ok "a second demo on the same lake starts afresh and applies its records"
else
    fail "a second demo on the same lake"
    grep -E "emptying|loaded the state|stopped" "$tmp/duration.log"
fi
# The lake holds the second demo's records only: the posts pinpipe query
# joins over it are the posts the demo's engine joined.
demo_posts=$(sed -n 's/.*run: stopped after [0-9]* records, \([0-9]*\) posts.*/\1/p' "$tmp/duration.log")
if "$pinpipe" query --from "$tmp/sink-lake" --format json --quiet >"$tmp/q2.json" 2>&1 &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["input"]["posts"] == int(sys.argv[2]) > 0 else 1)' \
        "$tmp/q2.json" "${demo_posts:-0}"; then
    ok "the second demo's lake holds its records only: pinpipe query joins its $demo_posts posts"
else
    fail "the second demo's lake: pinpipe query"
    head -3 "$tmp/q2.json"
fi
# A marked lake with something no demo writes is refused too.
echo notes >"$tmp/sink-lake/notes.txt"
expect_one_line "demo on its lake with a file of the user's" 2 "holds files besides" 10 \
    demo --set "lake.url=$tmp/sink-lake" --listen "127.0.0.1:$hport" --broker "127.0.0.1:$kport"
[ -f "$tmp/sink-lake/notes.txt" ] && [ -d "$tmp/sink-lake/topics" ] && ok "that lake is left as it was" ||
    fail "the refused demo lake lost files"
# A non-empty directory no demo wrote (a lake the user recorded) is refused.
mkdir -p "$tmp/user-lake/topics"
echo '{}' >"$tmp/user-lake/topics/x.json"
expect_one_line "demo on a lake it did not write" 2 "no earlier demo wrote it" 10 \
    demo --set "lake.url=$tmp/user-lake" --listen "127.0.0.1:$hport" --broker "127.0.0.1:$kport"
[ -f "$tmp/user-lake/topics/x.json" ] && ok "that lake is left as it was" ||
    fail "the refused lake lost its file"

expect_one_line "demo --rate 0" 2 "--rate must be" 10 demo --rate 0
expect_one_line "demo --bogus" 2 "unknown option" 10 demo --bogus
expect_one_line "demo --set dedup.tl=1m" 2 "dedup.ttl" 10 demo --set dedup.tl=1m
# A port that is taken: the holder binds port 0 itself and prints what it
# got, so no other process can take the port between choosing and holding
# it (a free_port race failed CI once).
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' \
    >"$tmp/holder.port" &
pids+=($!)
wait_for_line "$tmp/holder.port" "" 5
bport=$(cat "$tmp/holder.port")
expect_one_line "demo on a busy broker port" 1 "127.0.0.1:$bport" 20 \
    demo --broker "127.0.0.1:$bport" --listen "127.0.0.1:$hport"

echo "demo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
