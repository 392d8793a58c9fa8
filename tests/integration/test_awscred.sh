#!/usr/bin/env bash
# pp_awscred end to end (issue 4), through tests/integration/awscred_get.c:
#   - the EC2 instance role from a fake IMDSv2 server (imds_server.py): a
#     session token first, the role, its credentials; credentials that
#     expire soon are fetched again (not more than once a minute), a failed
#     refresh keeps the held ones while they last, then fails;
#   - the server's own rules (401 without the token header), and botocore
#     reading the same server, so the fake speaks real IMDSv2;
#   - malformed answers, no role, the service disabled, an endpoint that
#     never answers (fails within the 1 s timeout);
#   - environment and credentials file, each compared with botocore's
#     choice for the same environment;
#   - no secret or token handed out appears in anything the driver prints
#     or logs.
#
#   test_awscred.sh <awscred_get driver> <source dir>
set -uo pipefail

driver=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_awscred curl

# A clean environment: no AWS variable from the caller, an empty home.
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export HOME=$tmp/home
mkdir -p "$HOME"
secrets_file=$tmp/secrets
: >"$secrets_file"

# start_imds <log> <imds_server.py args...>: a fake IMDS on a free port;
# sets imds_port and base (its URL) and exports
# AWS_EC2_METADATA_SERVICE_ENDPOINT.
start_imds() {
    local log=$1
    shift
    imds_port=$(free_port)
    : >"$log"
    "$PYTHON" "$src/tests/integration/imds_server.py" --port "$imds_port" --log "$log" \
        --secrets "$secrets_file" "$@" >"$log.out" 2>&1 &
    imds_pid=$!
    pids+=("$imds_pid")
    if ! wait_for_line "$log.out" "listening on" 10; then
        cat "$log.out"
        echo "the fake IMDS did not start"
        exit 1
    fi
    base=http://127.0.0.1:$imds_port
    export AWS_EC2_METADATA_SERVICE_ENDPOINT=$base
}

stop_imds() {
    kill "$imds_pid" 2>/dev/null
    wait "$imds_pid" 2>/dev/null
}

# run_driver <name> <offsets...>: the driver's stdout in $tmp/<name>.out,
# its log in $tmp/<name>.err, its exit code in rc.
run_driver() {
    local name=$1
    shift
    rc=0
    timeout 30 "$driver" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    cat "$tmp/$name.out" "$tmp/$name.err" >>"$tmp/all_driver_output"
}

# expect_out <name> <expected stdout>
expect_out() {
    if [ "$(cat "$tmp/$1.out")" = "$2" ]; then
        ok "$1"
    else
        fail "$1: got"
        sed 's/^/    /' "$tmp/$1.out" "$tmp/$1.err"
        echo "  want"
        echo "$2" | sed 's/^/    /'
    fi
}

# ---- the fake server's own rules ----
start_imds "$tmp/rules.log"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/latest/meta-data/iam/security-credentials/")
[ "$code" = 401 ] && ok "fake IMDS: GET without a token is 401" || fail "fake IMDS: GET without a token is $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$base/latest/api/token")
[ "$code" = 400 ] && ok "fake IMDS: PUT without a ttl is 400" || fail "fake IMDS: PUT without a ttl is $code"
# botocore reads the same fake service (it honours the same variable).
if "$PYTHON" -c 'import botocore' 2>/dev/null; then
    got=$("$PYTHON" -c '
import botocore.session
c = botocore.session.Session().get_credentials()
print(c.method, c.access_key[:8], bool(c.token))' 2>&1)
    if [ "$got" = "iam-role ASIAFAKE True" ]; then
        ok "botocore takes the fake IMDS for an instance role"
    else
        fail "botocore on the fake IMDS: $got"
    fi
fi
# A proxy named in the environment is not used for the metadata service
# (this one does not exist: through it, the request would fail).
dead_proxy=http://127.0.0.1:$(free_port)
http_proxy=$dead_proxy HTTP_PROXY=$dead_proxy run_driver proxy 0
if grep -q '^+0 source=instance role key=ASIAFAKE' "$tmp/proxy.out"; then
    ok "proxy: the metadata service is asked directly"
else
    fail "proxy: $(cat "$tmp/proxy.out")"
fi
stop_imds

# ---- the instance role, its refresh and a failing refresh ----
start_imds "$tmp/imds.log" --first-expiry 600 --later-expiry 21600 --fail-after 3
# Offsets (seconds after start): 0 fetches (expires in 10 min, inside the
# 15 min refresh window); 0 again keeps it (last try < 60 s ago); 61
# fetches (6 h); 120 keeps; 20800 is within 15 min of the 6 h: fetches
# (the server's 6 h run from its real clock, so still soon); 20830 keeps
# (< 60 s); 20900 tries, the server fails: kept with a warning; 21570 is
# within a minute of expiry: tries, fails, error.
run_driver imds 0 0 61 120 20800 20830 20900 21570
expect_out imds "+0 source=instance role key=ASIAFAKE000000000001 token=yes
+0 source=instance role key=ASIAFAKE000000000001 token=yes
+61 source=instance role key=ASIAFAKE000000000002 token=yes
+120 source=instance role key=ASIAFAKE000000000002 token=yes
+20800 source=instance role key=ASIAFAKE000000000003 token=yes
+20830 source=instance role key=ASIAFAKE000000000003 token=yes
+20900 source=instance role key=ASIAFAKE000000000003 token=yes
+21570 error=i/o error AWS credentials expired at $(sed -n 's/.*expires \([^ ]*\)$/\1/p' "$tmp/imds.err" | tail -n 1) and could not be fetched again: instance metadata $base/latest/meta-data/iam/security-credentials/pinpipe-role: HTTP 500"
[ "$rc" -eq 1 ] && ok "imds: exit 1 after the failure" || fail "imds: exit $rc, want 1"
n_put=$(grep -c '^PUT /latest/api/token 200' "$tmp/imds.log")
n_creds=$(grep -c '^GET /latest/meta-data/iam/security-credentials/pinpipe-role ' "$tmp/imds.log")
n_401=$(grep -c ' 401' "$tmp/imds.log")
if [ "$n_put" -eq 5 ] && [ "$n_creds" -eq 5 ] && [ "$n_401" -eq 0 ]; then
    ok "imds: 5 token requests, 5 credential requests (3 answered, 2 failing), no 401"
else
    fail "imds: $n_put token requests, $n_creds credential requests, $n_401 refused (want 5, 5, 0)"
    cat "$tmp/imds.log"
fi
if grep -q "warning: AWS credentials: refreshing the instance role's failed" "$tmp/imds.err"; then
    ok "imds: the failed refresh is logged as a warning"
else
    fail "imds: no warning for the failed refresh"
    cat "$tmp/imds.err"
fi
if grep -q "AWS credentials from instance role pinpipe-role at $base, expires " "$tmp/imds.err"; then
    ok "imds: the log names the source: $(head -n 1 "$tmp/imds.err")"
else
    fail "imds: the log does not name the source"
    cat "$tmp/imds.err"
fi

stop_imds

# ---- malformed answers, no role, disabled, hanging ----
start_imds "$tmp/bad.log" --bad-json
run_driver bad_json 0
expect_out bad_json "+0 error=corrupt data instance role pinpipe-role: the credentials are not a JSON object"
stop_imds

start_imds "$tmp/norole.log" --no-role
run_driver no_role 0
expect_out no_role "+0 error=not found no AWS credentials: AWS_ACCESS_KEY_ID is not set; $HOME/.aws/credentials does not exist; instance metadata $base/latest/meta-data/iam/security-credentials/: HTTP 404 (no instance role)"
# Disabled: the chain does not ask the service at all.
: >"$tmp/norole.log"
AWS_EC2_METADATA_DISABLED=true run_driver disabled 0
expect_out disabled "+0 error=not found no AWS credentials: AWS_ACCESS_KEY_ID is not set; $HOME/.aws/credentials does not exist; AWS_EC2_METADATA_DISABLED=true"
if [ -s "$tmp/norole.log" ]; then
    fail "disabled: the service was asked"
    cat "$tmp/norole.log"
else
    ok "disabled: the service was not asked"
fi
stop_imds

start_imds "$tmp/hang.log" --hang
start=$(date +%s%N)
run_driver hang 0
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if grep -q "^+0 error=not found no AWS credentials: .*instance metadata PUT $base/latest/api/token" "$tmp/hang.out" &&
    [ "$elapsed_ms" -lt 3000 ]; then
    ok "an endpoint that never answers fails after the timeout ($elapsed_ms ms)"
else
    fail "hanging endpoint: $elapsed_ms ms"
    cat "$tmp/hang.out"
fi
stop_imds

# ---- environment and credentials file, against botocore's choice ----
export AWS_EC2_METADATA_DISABLED=true
unset AWS_EC2_METADATA_SERVICE_ENDPOINT
botocore_key() {
    "$PYTHON" -c '
import botocore.session
c = botocore.session.Session().get_credentials()
print(c.access_key if c else None)' 2>&1
}
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/credentials" <<'EOF'
# written by test_awscred.sh
[default]
aws_access_key_id = FILEDEFAULTKEY
aws_secret_access_key = file-secret-default
[ci]
AWS_ACCESS_KEY_ID: FILECIKEY
aws_secret_access_key   =   file-secret-ci
; a comment
aws_session_token = file-token-ci
[indented]
aws_access_key_id = FILEINDENTEDKEY
  aws_secret_access_key = file-secret-indented
EOF
printf '%s\n' file-secret-default file-secret-ci file-token-ci file-secret-indented env-secret \
    env-token >>"$secrets_file"

run_driver file_default 0
expect_out file_default "+0 source=shared credentials file key=FILEDEFAULTKEY token=no"
[ "$(botocore_key)" = FILEDEFAULTKEY ] && ok "file_default: botocore agrees" || fail "file_default: botocore says $(botocore_key)"

AWS_PROFILE=ci run_driver file_ci 0
expect_out file_ci "+0 source=shared credentials file key=FILECIKEY token=yes"
[ "$(AWS_PROFILE=ci botocore_key)" = FILECIKEY ] && ok "file_ci: botocore agrees" || fail "file_ci: botocore says $(AWS_PROFILE=ci botocore_key)"

# An indented line continues the previous value (configparser's rule), so
# this profile has a key id and no secret: both refuse it.
AWS_PROFILE=indented run_driver file_indented 0
expect_out file_indented "+0 error=usage error $HOME/.aws/credentials, profile [indented]: aws_access_key_id without aws_secret_access_key"
got=$(AWS_PROFILE=indented botocore_key)
if [[ "$got" == *PartialCredentialsError* ]]; then
    ok "file_indented: botocore refuses it too"
else
    fail "file_indented: botocore says $(echo "$got" | tail -n 1)"
fi

export AWS_ACCESS_KEY_ID=ENVKEY AWS_SECRET_ACCESS_KEY=env-secret AWS_SESSION_TOKEN=env-token
run_driver env 0
expect_out env "+0 source=environment key=ENVKEY token=yes"
[ "$(botocore_key)" = ENVKEY ] && ok "env: botocore agrees (environment before the file)" || fail "env: botocore says $(botocore_key)"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

# ---- nothing secret in anything the driver printed or logged ----
n_secrets=$(grep -c . "$secrets_file")
if [ "$n_secrets" -lt 10 ]; then
    fail "leak check: only $n_secrets secrets recorded"
elif grep -F -f "$secrets_file" "$tmp/all_driver_output" >"$tmp/leaks"; then
    fail "a secret or token appears in the driver's output:"
    cat "$tmp/leaks"
else
    ok "none of the $n_secrets secrets and tokens handed out appears in the driver's output ($(wc -l <"$tmp/all_driver_output") lines)"
fi

echo "test_awscred: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
