#!/usr/bin/env bash
# pinpipe emulate --to kafka:// and pinpipe replay (SPEC 8, docs/kafka.md)
# against a `pinpipe broker`: record counts, keys, partition placement,
# per-partition order, pacing, usage errors and an unreachable broker.
#
#   test_kafka_io.sh <pinpipe binary> <source dir>
set -uo pipefail

pinpipe=$1
src=$2
: "$src"
export LC_ALL=C
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
require_tools test_kafka_io kcat zstd

now() { date +%s.%N; }

# expect_fail <name> <exit code> <stderr text> -- <pinpipe args...>: that
# code, one line on stderr containing the text.
expect_fail() {
    local name=$1 want=$2 pattern=$3
    shift 4
    expect_one_line "$name" "$want" "$pattern" 30 "$@"
}

# consume <topic> <out file>: every message as "partition<TAB>offset<TAB>key<TAB>value".
consume() {
    timeout 60 kcat -C -b "$addr" -t "$1" -e -q -f '%p\t%o\t%k\t%s\n' >"$2" 2>"$2.err"
}

# keys_match_inds <file of consume output> <topic kind>: every keyed message's
# value carries that key as its index (pin) or ind (geo, user). Prints the
# number of mismatches.
keys_match_inds() {
    local field=ind
    [ "$2" = pin ] && field=index
    awk -F'\t' -v f="$field" '
        $3 != "" {
            v = $0; sub(/^[^\t]*\t[^\t]*\t[^\t]*\t/, "", v)
            if (v !~ ("\"" f "\": *\"?" $3 "[^0-9]")) bad++
        }
        END { print bad + 0 }' "$1"
}

port=$(free_port)
addr=127.0.0.1:$port
"$pinpipe" broker --listen "$addr" --partitions 4 2>"$tmp/broker.err" &
pids+=("$!")
if wait_for_line "$tmp/broker.err" "listening on $addr" 20; then
    ok "broker ready"
else
    fail "broker: no ready line within 20 s"; cat "$tmp/broker.err"
    echo "test_kafka_io: $passed passed, $failed failed"
    exit 1
fi

# (a) emulate --to kafka://
if timeout 120 "$pinpipe" emulate --to "kafka://$addr" --count 500 --seed 3 2>"$tmp/em.err"; then
    ok "emulate --to kafka:// exit 0"
else
    fail "emulate --to kafka:// failed"; cat "$tmp/em.err"
fi
grep -q "500 posts (1500 records delivered)" "$tmp/em.err" && ok "emulate summary line" ||
    fail "emulate summary: $(cat "$tmp/em.err")"
# The same posts as a lake: the lake's partitioner is the Java client's.
"$pinpipe" emulate --to "$tmp/lake_a" --count 500 --seed 3 --partitions 4 --compression none \
    --quiet 2>/dev/null
for kind in pin geo user; do
    consume "pinterest.$kind" "$tmp/a.$kind"
    n=$(wc -l <"$tmp/a.$kind")
    [ "$n" -eq 500 ] && ok "emulate: 500 $kind messages" || fail "emulate: $n $kind messages, want 500"
    bad=$(keys_match_inds "$tmp/a.$kind" "$kind")
    nokey=$(awk -F'\t' '$3 == ""' "$tmp/a.$kind" | wc -l)
    [ "$bad" -eq 0 ] && [ "$nokey" -eq 0 ] && ok "emulate: $kind keys are the inds" ||
        fail "emulate: $kind: $bad keys differ from the ind, $nokey without key"
    # (partition, value) pairs equal the lake's: same records, same placement.
    cut -f1,4- "$tmp/a.$kind" | sort >"$tmp/a.$kind.got"
    for f in "$tmp"/lake_a/topics/pinterest."$kind"/partition=*/*.json; do
        p=${f%/*}; p=${p##*=}
        sed "s/^/$p\t/" "$f"
    done | sort >"$tmp/a.$kind.want"
    cmp -s "$tmp/a.$kind.got" "$tmp/a.$kind.want" &&
        ok "emulate: $kind records in the partitions the lake partitioner picks" ||
        fail "emulate: $kind (partition, record) pairs differ from the lake's"
done
awk -F'\t' '{ print $3 " " $4 }' "$tmp/a.pin" | head -3 | cut -c1-80 | sed 's/^/     /'

t0=$(now)
timeout 60 "$pinpipe" emulate --to "kafka://$addr" --count 300 --rate 200 --prefix rated \
    --quiet 2>"$tmp/rate.err"
rc=$?
t1=$(now)
secs=$(echo "$t1 - $t0" | bc)
if [ "$rc" -eq 0 ] && [ "$(echo "$secs >= 1.0 && $secs <= 10.0" | bc)" -eq 1 ]; then
    ok "emulate --rate 200 --count 300: $secs s"
else
    fail "emulate --rate 200 --count 300: exit $rc in $secs s, want 0 in 1.0..10.0 s (paced, not stalled)"
    cat "$tmp/rate.err"
fi

# (b) replay a lake with malformed records under another prefix
"$pinpipe" emulate --to "$tmp/lake" --count 2000 --seed 5 --partitions 4 --malformed 10 \
    --quiet 2>/dev/null
if timeout 120 "$pinpipe" replay --from "$tmp/lake" --to "kafka://$addr" --to-prefix replayed \
    2>"$tmp/rp.err"; then
    ok "replay exit 0"
else
    fail "replay failed"; cat "$tmp/rp.err"
fi
grep -q "6000 records (pin 2000, geo 2000, user 2000;" "$tmp/rp.err" && ok "replay summary line" ||
    fail "replay summary: $(cat "$tmp/rp.err")"
for kind in pin geo user; do
    consume "replayed.$kind" "$tmp/b.$kind"
    # multiset of values
    cut -f4- "$tmp/b.$kind" | sort >"$tmp/b.$kind.got"
    zstd -dcq "$tmp"/lake/topics/pinterest."$kind"/partition=*/*.zst | sort >"$tmp/b.$kind.want"
    n=$(wc -l <"$tmp/b.$kind.got")
    cmp -s "$tmp/b.$kind.got" "$tmp/b.$kind.want" &&
        ok "replay: $kind: the lake's $n records, each once" ||
        fail "replay: $kind: $n records differ from the lake's $(wc -l <"$tmp/b.$kind.want")"
    # order per partition
    order_ok=1
    for d in "$tmp"/lake/topics/pinterest."$kind"/partition=*; do
        p=${d##*=}
        zstd -dcq $(ls "$d"/*.zst | sort) >"$tmp/b.want.p"
        awk -F'\t' -v p="$p" '$1 == p' "$tmp/b.$kind" | sort -t"$(printf '\t')" -k2,2n -s |
            cut -f4- >"$tmp/b.got.p"
        cmp -s "$tmp/b.got.p" "$tmp/b.want.p" || { order_ok=0; echo "     $kind partition $p differs"; }
    done
    [ "$order_ok" -eq 1 ] && ok "replay: $kind: each lake partition in its Kafka partition, in order" ||
        fail "replay: $kind: partition placement or order differs"
    bad=$(keys_match_inds "$tmp/b.$kind" "$kind")
    keyed=$(awk -F'\t' '$3 != ""' "$tmp/b.$kind" | wc -l)
    [ "$bad" -eq 0 ] && [ "$keyed" -gt 1900 ] && [ "$keyed" -lt 2000 ] &&
        ok "replay: $kind: $keyed keyed by ind, the malformed rest without key" ||
        fail "replay: $kind: $bad keys differ from the ind, $keyed keyed"
done

# (c) errors
expect_fail "replay without --to" 2 "--to" -- replay --from "$tmp/lake"
expect_fail "replay --to unknown scheme" 2 "kafka://" -- replay --from "$tmp/lake" --to "http://$addr"
expect_fail "replay --rate 0" 2 "--rate" -- replay --from "$tmp/lake" --to "kafka://$addr" --rate 0
expect_fail "replay --rate abc" 2 "--rate" -- replay --from "$tmp/lake" --to "kafka://$addr" --rate abc
expect_fail "replay missing lake" 2 "$tmp/nolake" -- replay --from "$tmp/nolake" --to "kafka://$addr"
expect_fail "replay unknown flag" 2 "unknown option '--frob'" -- replay --frob
expect_fail "emulate --to http:// --malformed" 2 "--malformed" -- emulate --to "http://$addr" --count 1 --malformed 5
expect_fail "emulate --rate 0" 2 "--rate" -- emulate --to "kafka://$addr" --rate 0
dead=$(free_port)
t0=$(now)
expect_fail "replay to an unreachable broker: exit 1" 1 "127.0.0.1:$dead" -- \
    replay --from "$tmp/lake" --to "kafka://127.0.0.1:$dead" --timeout 3
secs=$(echo "$(now) - $t0" | bc)
[ "$(echo "$secs <= 15" | bc)" -eq 1 ] && ok "unreachable broker fails within $secs s" ||
    fail "unreachable broker took $secs s, want <= 15"
"$pinpipe" replay --help | grep -q -- "--rate <n>|max" && ok "replay --help" || fail "replay --help"

echo "test_kafka_io: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
