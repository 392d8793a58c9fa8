# Shared by the integration tests that run servers: sourced, not run.
#
# Gives: $tmp (a directory removed at exit), the array pids (processes
# killed at exit), the counters passed/failed with ok/fail, and helpers.
# Every wait is bounded: a broken server makes a test fail, never hang.

# require_tools <test name> <tool>...: exits 77 (skip) when a tool is missing.
require_tools() {
    local name=$1 tool
    shift
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$name: $tool not found (apt-get install $tool); skipping"
            exit 77
        fi
    done
}

tmp=$(mktemp -d)
pids=()
# PP_KEEP_TMP=1 keeps $tmp of a failed test for a post-mortem.
it_cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [ -n "${PP_KEEP_TMP:-}" ] && [ "$failed" -gt 0 ]; then
        echo "kept $tmp"
        return
    fi
    rm -rf "$tmp"
}
trap it_cleanup EXIT
failed=0
passed=0

# Debian's interpreter: the python3-* packages that setup.sh installs
# (requests, confluent_kafka) live in its dist-packages, which another
# python3 first on PATH (pyenv, a venv) would not see.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

# A free loopback port, drawn below the kernel's ephemeral range
# (32768-60999): a port the kernel handed out by bind(0) is also what it
# hands out for the outgoing connections of the tests running alongside,
# and one of those took a chosen port once. Checked free by binding it.
# Without python3, a random port in the same range.
free_port() {
    python3 -c '
import random, socket
for _ in range(200):
    p = random.randrange(20000, 32768)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
' 2>/dev/null || echo $((20000 + RANDOM % 12768))
}

# wait_for_line <file> <fixed text> <seconds>
wait_for_line() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# start_broker <port> <log> [pinpipe broker args...]: starts `pinpipe broker`
# on 127.0.0.1:<port> in the background ($pinpipe) and waits until it
# listens; on failure prints its log and exits 1.
start_broker() {
    local port=$1 log=$2
    shift 2
    "$pinpipe" broker --listen "127.0.0.1:$port" "$@" 2>"$log" &
    pids+=($!)
    if ! wait_for_line "$log" "listening on" 20; then
        cat "$log"
        echo "the broker did not start"
        exit 1
    fi
}

# json_get <url> <python expression over d>: prints the value of the JSON
# document at url, or nothing (no answer, not JSON, no such field). The
# array json_curl_args adds curl arguments (an Authorization header).
json_curl_args=()
json_get() {
    curl -s --max-time 5 "${json_curl_args[@]}" "$1" 2>/dev/null |
        "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($2)" 2>/dev/null
}

# wait_json <url> <python expression over d> <value> <seconds>: until
# json_get prints value; on timeout prints what it saw and returns 1.
wait_json() {
    local i got=""
    for ((i = 0; i < $4 * 4; i++)); do
        got=$(json_get "$1" "$2")
        [ "$got" = "$3" ] && return 0
        sleep 0.25
    done
    echo "    ($2: ${got:-no answer}, want $3)"
    return 1
}

# wait_caught_up <api base URL> <records> <seconds> <seconds again>: until
# a pinpipe run has applied every record (its /v1/status offsets add up to
# records) and read everything there is (lag 0). The offsets are the applied ones,
# which a restored checkpoint sets ahead of what the run has read again
# for the lake; the lag is the consumer's, so it covers those, but it
# leaves out a partition whose first fetch has not answered yet: both
# must hold again 2 s later. Prints what it saw when it times out.
wait_caught_up() {
    local caught='sum(o["next_offset"] for o in d["offsets"]) if d["lag"] == 0 else -d["lag"]'
    wait_json "$1/v1/status" "$caught" "$2" "$3" && sleep 2 &&
        wait_json "$1/v1/status" "$caught" "$2" "$4"
}

# stop_pid <name> <pid> [signal]: sends the signal (default TERM), then the
# process must exit 0 within 20 s.
stop_pid() {
    local i rc sig=${3:-TERM}
    kill "-$sig" "$2"
    for ((i = 0; i < 200; i++)); do
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$2" 2>/dev/null; then
        fail "$1: still running 20 s after SIG$sig"
        return 1
    fi
    wait "$2"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "$1: SIG$sig exits 0"; else fail "$1: SIG$sig exit $rc"; fi
    [ "$rc" -eq 0 ]
}

# expect_one_line <name> <exit code> <stderr text> <seconds> <pinpipe args...>:
# $pinpipe exits with that code within the time, writing exactly one line on
# stderr, which contains the text (a fixed string).
expect_one_line() {
    local name=$1 want=$2 pattern=$3 secs=$4
    shift 4
    local rc=0
    timeout "$secs" "$pinpipe" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, want $want"; cat "$tmp/err"; return
    fi
    if [ "$lines" -ne 1 ]; then
        fail "$name: $lines lines on stderr, want 1"; cat "$tmp/err"; return
    fi
    if ! grep -qF -- "$pattern" "$tmp/err"; then
        fail "$name: stderr does not match '$pattern'"; cat "$tmp/err"; return
    fi
    ok "$name"
}

# s3_setup <test name> <source dir>: exits 77 (skip) without the AWS CLI or
# s3rver (tests/s3), then points the AWS variables at s3rver's fixed
# credentials (nothing of the caller's AWS environment or home is used).
s3_setup() {
    local v
    if [ ! -x /usr/bin/aws ]; then
        echo "$1: /usr/bin/aws not found (apt-get install awscli); skipping"
        exit 77
    fi
    if [ ! -d "$2/tests/s3/node_modules/s3rver" ]; then
        echo "$1: s3rver not installed (cd tests/s3 && npm install); skipping"
        exit 77
    fi
    for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
    export HOME=$tmp/home AWS_EC2_METADATA_DISABLED=true
    mkdir -p "$HOME"
}
