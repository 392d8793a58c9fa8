#!/usr/bin/env bash
# The live dashboard (GET /, SPEC 8) end to end: a `pinpipe broker`, posts
# produced with `pinpipe emulate --to kafka://`, `pinpipe run` with a Bearer
# token, then:
#   - GET / and its assets: status, content types, cache headers, ETag/304,
#     404; the embedded Chart.js is byte for byte Debian's file; no token
#     needed for them, one needed for the data;
#   - headless Chromium runs the page (--dump-dom): every chart has data,
#     the posts and records shown equal /v1/queries and /v1/status, the
#     window selector lists the kept specs, no error banner; with no token
#     or an unknown window the banner says so;
#   - a screenshot is not blank and shows every chart's colour;
#   - the same page from a running `pinpipe demo` (the stream still moving)
#     has data in every chart, and so does its screenshot.
#
#   test_dashboard.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_dashboard curl chromium

chartjs=/usr/share/javascript/chart.js/chart.min.js
check="$PYTHON $src/tests/integration/dashboard_check.py"
token=dash-test-token-0123456789
auth=(-H "Authorization: Bearer $token")
kport=$(free_port)
hport=$(free_port)
api="http://127.0.0.1:$hport"

start_broker "$kport" "$tmp/broker.log" --partitions 4

# 600 posts over about 2 s of record time: several 1 s windows to chart.
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 600 --rate 300 --seed 21 \
    --malformed 5 --quiet || fail "emulate to kafka"
"$pinpipe" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=127.0.0.1:$kport" \
    --set "http.listen=127.0.0.1:$hport" --set "http.auth.token=$token" \
    --set "analytics.windows=all,tumbling:1s,hopping:2s/1s" \
    --set kafka.group.id=test-dashboard 2>"$tmp/run.log" &
run_pid=$!
pids+=("$run_pid")

# get <path> [curl args...]: the body, with the token.
get() {
    local path=$1
    shift
    curl -s --max-time 5 "${auth[@]}" "$@" "$api$path"
}

records=""
for ((i = 0; i < 240; i++)); do
    records=$(get /v1/status | $PYTHON -c 'import json,sys; print(json.load(sys.stdin)["records"])' \
        2>/dev/null)
    [ "$records" = 1800 ] && break
    sleep 0.25
done
if [ "$records" = 1800 ]; then
    ok "run consumed the 1800 records"
else
    fail "run consumed 1800 records (got ${records:-no answer})"
    cat "$tmp/run.log"
    exit 1
fi

# ---- the page and its assets over HTTP ----

# fetch <name> <path> [curl args...]: headers to $tmp/<name>.h, body to
# $tmp/<name>.b, no token; prints the status.
fetch() {
    local name=$1 path=$2
    shift 2
    curl -s --max-time 5 -D "$tmp/$name.h" -o "$tmp/$name.b" -w '%{http_code}' "$@" "$api$path"
}
# has_header <name> <header line, case-insensitive, without CRLF>
has_header() {
    tr -d '\r' <"$tmp/$1.h" | grep -qix -- "$2"
}

if [ "$(fetch page /)" = 200 ] && has_header page 'Content-Type: text/html; charset=utf-8' &&
    has_header page 'Cache-Control: no-cache' && has_header page 'ETag: ".*"' &&
    grep -qi '^Content-Security-Policy: default-src .none.' "$tmp/page.h" &&
    cmp -s "$tmp/page.b" "$src/tools/dashboard/index.html"; then
    ok "GET /: the page, text/html, no-cache, ETag, CSP, without a token"
else
    fail "GET /"
    cat "$tmp/page.h"
fi
if [ "$(fetch chart /assets/chart.min.js)" = 200 ] &&
    has_header chart 'Content-Type: text/javascript; charset=utf-8' &&
    has_header chart 'Cache-Control: public, max-age=3600' && cmp -s "$tmp/chart.b" "$chartjs"; then
    ok "GET /assets/chart.min.js: Debian's Chart.js byte for byte, cacheable"
else
    fail "GET /assets/chart.min.js"
    cat "$tmp/chart.h"
fi
etag=$(tr -d '\r' <"$tmp/chart.h" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
if [ -n "$etag" ] && [ "$(fetch chart304 /assets/chart.min.js -H "If-None-Match: $etag")" = 304 ] &&
    [ ! -s "$tmp/chart304.b" ] &&
    [ "$(fetch chart200 /assets/chart.min.js -H 'If-None-Match: "other"')" = 200 ]; then
    ok "If-None-Match: 304 without a body for the current ETag, 200 for another"
else
    fail "If-None-Match"
fi
if [ "$(fetch js /assets/dashboard.js)" = 200 ] &&
    has_header js 'Content-Type: text/javascript; charset=utf-8' &&
    cmp -s "$tmp/js.b" "$src/tools/dashboard/dashboard.js" &&
    [ "$(fetch css /assets/dashboard.css)" = 200 ] && has_header css 'Content-Type: text/css; charset=utf-8' &&
    cmp -s "$tmp/css.b" "$src/tools/dashboard/dashboard.css"; then
    ok "GET /assets/dashboard.js and .css: the tree's files, their content types"
else
    fail "dashboard.js, dashboard.css"
fi
if [ "$(fetch head / -I)" = 200 ] &&
    has_header head "Content-Length: $(wc -c <"$src/tools/dashboard/index.html")"; then
    ok "HEAD /: 200 with the page's length"
else
    fail "HEAD /"
fi
if [ "$(fetch nope /assets/nope.js)" = 404 ] && grep -q '"error_code":40401' "$tmp/nope.b" &&
    [ "$(fetch index /assets/index.html)" = 404 ]; then
    ok "unknown asset: 404 in the API's error shape"
else
    fail "unknown asset"
fi
if [ "$(fetch status /v1/status)" = 401 ]; then
    ok "the data still needs the token (401)"
else
    fail "/v1/status without a token"
fi

# ---- the page in a browser ----

n_chrome=0
# chrome <url> <chromium args...>: headless Chromium with a fresh profile;
# virtual time lets the page's timers (its refresh loop) run at once.
chrome() {
    local url=$1
    shift
    n_chrome=$((n_chrome + 1))
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --disable-extensions --user-data-dir="$tmp/chrome-$n_chrome" \
        --window-size=1280,1500 --hide-scrollbars --virtual-time-budget=7000 "$@" "$url" \
        2>>"$tmp/chromium.log"
}

get "/v1/queries?window=all" >"$tmp/all.json"
get "/v1/queries?window=tumbling:1s" >"$tmp/tumbling.json"
get /v1/status >"$tmp/status.json"

chrome "$api/#token=$token" --dump-dom >"$tmp/dom-all.html"
if $check dom "$tmp/dom-all.html" "$tmp/all.json" "$tmp/status.json" all; then
    ok "page (token from #token=): all charts have data; posts, records, windows match the API"
else
    fail "page with window all"
fi
if grep -q 'data-updates="[2-9]' "$tmp/dom-all.html"; then
    ok "page: later refreshes still send the token (kept in sessionStorage)"
else
    fail "page: refreshes after the first"
fi

chrome "$api/#window=tumbling:1s&token=$token" --dump-dom >"$tmp/dom-tumbling.html"
if [ "$($PYTHON -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["windows"]))' \
    "$tmp/tumbling.json")" -ge 2 ] &&
    $check dom "$tmp/dom-tumbling.html" "$tmp/tumbling.json" "$tmp/status.json" tumbling:1s; then
    ok "page with window tumbling:1s: one trend point per window, the newest window charted"
else
    fail "page with window tumbling:1s"
fi

chrome "$api/" --dump-dom >"$tmp/dom-notoken.html"
if $check banner "$tmp/dom-notoken.html" "needs a token (401)"; then
    ok "no token: the error banner says so"
else
    fail "no token: banner"
fi
chrome "$api/#window=tumbling:7m&token=$token" --dump-dom >"$tmp/dom-unknown.html"
if $check banner "$tmp/dom-unknown.html" "HTTP 404: window 'tumbling:7m' is not kept"; then
    ok "a window spec not kept: the banner gives the API's message"
else
    fail "unknown window: banner"
fi

# shot <name> <url>: a screenshot of the page at url, kept in the test's tmp
# directory as <name>.png, is not blank and has every chart's colour.
shot() {
    chrome "$2" --screenshot="$tmp/$1.png" >/dev/null
    if [ -s "$tmp/$1.png" ] && $check png "$tmp/$1.png"; then
        ok "$1: screenshot not blank, every chart's colour present"
    else
        fail "$1: screenshot"
        tail -5 "$tmp/chromium.log"
    fi
}
shot run "$api/#token=$token"

# A clean stop, and nothing from the sanitizers when built with them.
kill -TERM "$run_pid"
for ((i = 0; i < 200; i++)); do
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.1
done
rc=0
wait "$run_pid" || rc=$?
if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$tmp/run.log"; then
    ok "run: SIGTERM exits 0, no sanitizer report"
else
    fail "run: exit $rc after SIGTERM"
    tail -30 "$tmp/run.log"
fi

# ---- from a running demo ----

dport=$(free_port)
dkport=$(free_port)
"$pinpipe" demo --set "lake.url=$tmp/demo-lake" --listen "127.0.0.1:$dport" --broker "127.0.0.1:$dkport" --partitions 4 --rate 300 \
    --duration 60 --quiet >"$tmp/demo.out" 2>"$tmp/demo.log" &
pids+=($!)
demo_posts=0
for ((i = 0; i < 120; i++)); do
    demo_posts=$(curl -s --max-time 5 "http://127.0.0.1:$dport/v1/status" 2>/dev/null |
        $PYTHON -c 'import json,sys; print(json.load(sys.stdin)["posts"])' 2>/dev/null)
    [ "${demo_posts:-0}" -ge 300 ] && break
    sleep 0.25
done
if [ "${demo_posts:-0}" -ge 300 ]; then
    chrome "http://127.0.0.1:$dport/" --dump-dom >"$tmp/dom-demo.html"
    if $check live "$tmp/dom-demo.html"; then
        ok "demo: the page has data in every chart while posts arrive"
    else
        fail "demo: the page"
    fi
    shot demo "http://127.0.0.1:$dport/"
else
    fail "demo: no posts joined (${demo_posts:-no answer})"
    tail -5 "$tmp/demo.log"
fi

echo "test_dashboard: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
