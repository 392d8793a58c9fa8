#!/usr/bin/env bash
# pp_sigv4 against botocore (issue 4): sigv4_diff.py generates random S3
# requests (methods, keys with spaces, unicode, reserved characters, empty
# and 1,024-byte keys, S3 query strings, extra headers, session tokens,
# payload hashes and UNSIGNED-PAYLOAD, regions, dates), signs each with
# botocore's S3SigV4Auth and with tests/integration/sigv4_sign.c, and
# requires every Authorization header to be equal. Two seeds, 2,000
# requests each; SIGV4_DIFF_COUNT changes the count.
#
#   test_sigv4.sh <sigv4_sign driver> <source dir>
set -uo pipefail

driver=$1
src=$2
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
if ! "$PYTHON" -c 'import botocore' 2>/dev/null; then
    echo "test_sigv4: botocore not found for $PYTHON (apt-get install python3-botocore); skipping"
    exit 77
fi

count=${SIGV4_DIFF_COUNT:-2000}
for seed in 1 2; do
    if "$PYTHON" "$src/tests/integration/sigv4_diff.py" "$driver" --count "$count" --seed "$seed" \
        >"$tmp/diff.out" 2>&1; then
        ok "seed $seed: $(tail -n 1 "$tmp/diff.out")"
    else
        fail "seed $seed: pp_sigv4 differs from botocore"
        cat "$tmp/diff.out"
    fi
done

# The driver reports a malformed request line instead of signing it.
if echo '{"method":"GET"}' | "$driver" >/dev/null 2>"$tmp/err"; then
    fail "a malformed line is accepted"
else
    ok "a malformed line is refused: $(cat "$tmp/err")"
fi

echo "test_sigv4: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
