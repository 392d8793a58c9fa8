#!/usr/bin/env bash
# Secrets never leak (issue 5; SPEC 8: credentials are never logged). Five
# random secrets: AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (environment),
# the AWS access key id (registered in s3rver), http.auth.token and
# kafka.sasl.password (a properties file). pinpipe runs with them through
# success and failure:
#   - `pinpipe run -c <file>` into an s3:// lake on s3rver: emulated posts
#     (malformed ones too) from Kafka and through the REST proxy, the API
#     read with the token and refused without it or with a wrong one, the
#     dashboard, s3rver killed (failing requests, retries) and restarted,
#     SIGTERM;
#   - the same credentials from a shared credentials file (AWS_PROFILE);
#   - error paths, each exit 1 or 2 with one line: a missing bucket, an
#     unknown access key (403), an unknown profile, a Kafka SASL handshake
#     that fails, a misspelt secret key, a syntax error on a secret's line,
#     a bad kafka.* property next to the password, emulate with a wrong token;
#   - every stderr line, every HTTP answer (headers and body: /v1/status,
#     /metrics, /v1/queries, 401s, the dashboard, REST answers) and every
#     error message is kept, and none may hold any of the secrets. A
#     planted file proves the search finds them.
#
#   test_secrets.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_secrets curl node
if [ ! -d "$src/tests/s3/node_modules/s3rver" ]; then
    echo "test_secrets: s3rver not installed (cd tests/s3 && npm install); skipping"
    exit 77
fi
if [ ! -x /usr/bin/aws ]; then
    echo "test_secrets: /usr/bin/aws not found (apt-get install awscli); skipping"
    exit 77
fi

started=$SECONDS
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset PINPIPE_HTTP_TOKEN
export HOME=$tmp/home AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1
mkdir -p "$HOME" "$tmp/seen"

rnd() { "$PYTHON" -c 'import secrets, sys; print(sys.argv[1] + secrets.token_hex(10))' "$1"; }
akid=AKIA$(rnd "" | tr a-f A-F | head -c 16)
secret_key=$(rnd sk)
session=$(rnd st)
token=$(rnd tok)
sasl=$(rnd sasl)
secrets=("$akid" "$secret_key" "$session" "$token" "$sasl")
export_creds() {
    export AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret_key AWS_SESSION_TOKEN=$session
}
unset_creds() { unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; }

s3port=$(free_port)
kport=$(free_port)
hport=$(free_port)
endpoint=http://127.0.0.1:$s3port
api=http://127.0.0.1:$hport
srv_log=$tmp/s3rver.log

# seen_file <name>: a new file in the searched set, named after name.
seen_file() { mktemp "$tmp/seen/${1//[^a-zA-Z0-9.-]/_}.XXXX"; }

# keep <name> <file>...: what pinpipe said goes into the searched set.
keep() {
    local name=$1
    shift
    cat "$@" >"$(seen_file "$name")" 2>/dev/null
}

# get <name> <curl args...>: an HTTP answer, headers and body, kept; the
# status is printed.
get() {
    local name=$1 f
    shift
    f=$(seen_file "$name")
    curl -s --max-time 10 -D "$f" -o "$f.body" -w '%{http_code}' "$@"
}

start_s3() {
    S3RVER_LOG=1 S3RVER_ACCESS_KEY_ID=$akid node --openssl-legacy-provider \
        "$src/tests/s3/s3rver.mjs" "$s3port" "$tmp/s3data" lake >>"$srv_log" 2>&1 &
    s3_pid=$!
    pids+=("$s3_pid")
    for ((i = 0; i < 100; i++)); do
        grep -q "^ready" "$srv_log" && return 0
        sleep 0.1
    done
    cat "$srv_log"
    echo "s3rver did not start"
    exit 1
}

# expect_fail <name> <exit code> <text> <pinpipe args...>: exit code and one
# stderr line holding the text, like expect_one_line; the line is kept.
expect_fail() {
    expect_one_line "$@"
    keep "$1" "$tmp/err" "$tmp/out"
}

start_s3
start_broker "$kport" "$tmp/broker.log" --partitions 2

cat >"$tmp/secret.properties" <<EOF
lake.url=s3://lake/run
store.url=$endpoint
flush.size=50
kafka.bootstrap.servers=127.0.0.1:$kport
kafka.group.id=secrets
kafka.sasl.username=pinpipe
kafka.sasl.password=$sasl
http.listen=127.0.0.1:$hport
http.auth.token=$token
errors.deadletterqueue.topic.name=pinterest.errors
EOF

# ---- a run that succeeds, with failures on the way ----
export_creds
"$pinpipe" run -c "$tmp/secret.properties" 2>"$tmp/run.log" &
run_pid=$!
pids+=("$run_pid")
if wait_json "$api/healthz" 'd["status"]' ok 20 >/dev/null; then ok "run with every secret set started"; else
    fail "run with every secret set started"
    cat "$tmp/run.log"
fi
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 300 --seed 5 --malformed 10 --quiet \
    2>"$tmp/emulate.err" || fail "emulate to kafka"
keep emulate "$tmp/emulate.err"
PINPIPE_HTTP_TOKEN=$token "$pinpipe" emulate --to "$api" --count 20 --seed 6 --quiet \
    2>"$tmp/emulate-http.err" && ok "emulate --to http:// with the token" ||
    fail "emulate --to http:// with the token"
keep emulate-http "$tmp/emulate-http.err"
expect_fail "emulate with a wrong token: exit 1" 1 "401" 30 \
    emulate --to "$api" --count 1 --token "x$token" --quiet
json_curl_args=(-H "Authorization: Bearer $token")
status_ok() { wait_json "$api/v1/status" 'd["records"]' "$1" 60; }
status_ok 960 && ok "run consumed the 960 records" || fail "run consumed the 960 records"

auth=(-H "Authorization: Bearer $token")
codes=""
for path in /v1/status /metrics "/v1/queries?window=all" /v1/queries/category_by_year / \
    /assets/dashboard.js /healthz /readyz; do
    codes+="$(get "ok${path//[\/?=]/_}" "${auth[@]}" "$api$path") "
done
[ "$codes" = "200 200 200 200 200 200 200 200 " ] && ok "API with the token: all 200" ||
    fail "API with the token: $codes"
codes=""
for hdr in "X-No-Token: 1" "Authorization: Bearer x$token" "Authorization: Bearer ${token:0:10}" \
    "Authorization: Basic $token" "Authorization: $token"; do
    for path in /v1/status /metrics /v1/queries; do
        codes+="$(get refused -H "$hdr" "$api$path") "
    done
done
[ "$(echo "$codes" | tr ' ' '\n' | sort -u | tr '\n' ' ')" = " 401 " ] &&
    ok "API without, with a wrong, a cut, a Basic or a bare token: 401" ||
    fail "API refusals: $codes"
code=$(get rest-post "${auth[@]}" -H 'Content-Type: application/vnd.kafka.json.v2+json' \
    --data '{"records":[{"value":{"index":424242,"title":"secret?"}}]}' "$api/topics/pinterest.pin")
code2=$(get rest-bad "${auth[@]}" -H 'Content-Type: application/json' --data "{\"records\":\"$token\"}" \
    "$api/topics/pinterest.pin")
[ "$code $code2" = "200 422" ] && ok "REST proxy: 200, and a bad body 422" ||
    fail "REST proxy: $code $code2"

# s3rver down: the sink's requests fail and are retried (warnings logged).
kill -KILL "$s3_pid"
wait "$s3_pid" 2>/dev/null
"$pinpipe" emulate --to "kafka://127.0.0.1:$kport" --count 100 --seed 7 --quiet || fail "emulate 2"
sleep 4
retries=$(curl -s "${auth[@]}" "$api/metrics" | sed -n 's/^pinpipe_sink_retries_total \([0-9]*\).*/\1/p')
[ "${retries:-0}" -gt 0 ] && ok "S3 down: failing requests retried ($retries)" ||
    fail "S3 down: no retries (${retries:-none})"
start_s3
status_ok 1261 && ok "S3 back: caught up" || fail "S3 back: caught up"
get status-end "${auth[@]}" "$api/v1/status" >/dev/null
get metrics-end "${auth[@]}" "$api/metrics" >/dev/null
stop_pid "run" "$run_pid"
keep run "$tmp/run.log"
objects=$(/usr/bin/aws --endpoint-url "$endpoint" s3 ls --recursive s3://lake/run/ 2>/dev/null | wc -l)
[ "$objects" -gt 0 ] && ok "the credentials worked: $objects objects in s3://lake/run" ||
    fail "no object in s3://lake/run"
grep -q "sink_retries\|retry\|retrying\|Couldn't connect\|refused" "$tmp/run.log" &&
    ok "the run logged the failing S3 requests" || { fail "the run logged no S3 failure"; cat "$tmp/run.log"; }

"$pinpipe" emulate --to "$tmp/mini-lake" --count 5 --quiet 2>/dev/null

# The same credentials from the shared credentials file.
unset_creds
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = AKIAWRONGWRONGWRONG\n[lake]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n' \
    "$akid" "$secret_key" "$session" >"$HOME/.aws/credentials"
if AWS_PROFILE=lake "$pinpipe" query --from s3://lake/run --store-url "$endpoint" --format json \
    >"$tmp/q.json" 2>"$tmp/q.err" && grep -q '"queries"' "$tmp/q.json"; then
    ok "query --from s3:// with the profile's credentials"
else
    fail "query --from s3:// with the profile's credentials"
    cat "$tmp/q.err"
fi
keep query-profile "$tmp/q.err"
AWS_PROFILE=nope expect_fail "an unknown profile: exit 2" 2 "has no profile [nope]" 30 \
    query --from s3://lake/run --store-url "$endpoint"

# And from the configuration keys (discouraged, but accepted).
if "$pinpipe" replay --from "$tmp/mini-lake" --to s3://lake/cfg --set "store.url=$endpoint" \
    --set "aws.access.key.id=$akid" --set "aws.secret.access.key=$secret_key" --quiet \
    2>"$tmp/cfg.err"; then
    ok "replay --to s3:// with aws.access.key.id and aws.secret.access.key"
else
    fail "replay --to s3:// with the configuration keys"
    cat "$tmp/cfg.err"
fi
keep replay-cfg "$tmp/cfg.err"

# ---- error paths, each exit 1 or 2 with one line ----
export_creds
expect_fail "run into a missing bucket: exit 1" 1 "NoSuchBucket" 30 \
    run -c "$tmp/secret.properties" --set lake.url=s3://nobucket/x --set "http.listen=127.0.0.1:$(free_port)"
AWS_ACCESS_KEY_ID=AKIAUNKNOWNUNKNOWN expect_fail "an unknown access key: exit 1" 1 "InvalidAccessKeyId" 30 \
    run -c "$tmp/secret.properties" --set "http.listen=127.0.0.1:$(free_port)"
expect_fail "replay to a missing bucket: exit 1" 1 "NoSuchBucket" 30 \
    replay --from "$tmp/mini-lake" --to s3://nobucket/y --set "store.url=$endpoint"
expect_fail "a misspelt secret key: exit 2" 2 "http.auth.token" 10 \
    run -c "$tmp/secret.properties" --set "http.auth.tokn=$token"
expect_fail "aws.secret.access.key misspelt: exit 2" 2 "aws.secret.access.key" 10 \
    run -c "$tmp/secret.properties" --set "aws.secret.acces.key=$secret_key"
printf 'http.auth.token=%s\\u12zz\n' "$token" >"$tmp/bad.properties"
expect_fail "a syntax error on the token's line: exit 2" 2 "bad.properties:1" 10 \
    run -c "$tmp/bad.properties"
expect_fail "aws.secret.access.key without its key id: exit 2" 2 "go together" 10 \
    run -c "$tmp/secret.properties" --set "aws.secret.access.key=$secret_key"
expect_fail "a bad kafka.* property next to the password: exit 2" 2 "no.such.property" 10 \
    run -c "$tmp/secret.properties" --set kafka.no.such.property=1
expect_fail "http.auth=maybe: exit 2" 2 "http.auth" 10 \
    run -c "$tmp/secret.properties" --set http.auth=maybe
# Kafka refuses the SASL handshake (the development broker has no SASL):
# the run reports it and still stops cleanly.
"$pinpipe" run -c "$tmp/secret.properties" --set kafka.security.protocol=SASL_PLAINTEXT \
    --set kafka.sasl.mechanisms=PLAIN --set "http.listen=127.0.0.1:$(free_port)" \
    --set lake.url="$tmp/sasl-lake" 2>"$tmp/sasl.log" &
sasl_pid=$!
pids+=("$sasl_pid")
wait_for_line "$tmp/sasl.log" "_AUTHENTICATION" 10
stop_pid "SASL failure: run" "$sasl_pid"
grep -q "warning: kafka: _AUTHENTICATION: .*SASL" "$tmp/sasl.log" && ok "SASL failure: reported" ||
    { fail "SASL failure: not reported"; cat "$tmp/sasl.log"; }
keep sasl "$tmp/sasl.log"

# ---- the search ----
# A planted copy of each secret proves the search would find it.
for s in "${secrets[@]}"; do echo "x${s}x" >>"$tmp/planted"; done
found_planted=0
for s in "${secrets[@]}"; do grep -rqF -- "$s" "$tmp/planted" && found_planted=$((found_planted + 1)); done
files=$(find "$tmp/seen" -type f | wc -l)
bytes=$(cat "$tmp/seen"/* | wc -c)
leaks=""
for s in "${secrets[@]}"; do
    hit=$(grep -rlF -- "$s" "$tmp/seen" | head -3 | xargs -r -n1 basename | tr '\n' ' ')
    [ -n "$hit" ] && leaks+="${s:0:6}...: $hit; "
done
if [ "$found_planted" -eq 5 ] && [ "$files" -ge 60 ] && [ -z "$leaks" ]; then
    ok "none of the 5 secrets in $files logs, answers and messages ($bytes bytes)"
else
    fail "secrets found (planted $found_planted/5, $files files): $leaks"
fi

echo "test_secrets: $passed passed, $failed failed ($((SECONDS - started)) s)"
[ "$failed" -eq 0 ]
