#!/usr/bin/env bash
# Lake writing (issue 4): pinpipe's sink against the zstd CLI on the same bytes, in one run,
# alternating, on the same cores. A benchmark, not a timed test.
#
#   bench/lake_bench.sh [--count N] [--seed S] [--runs N] [--level L] [--cpus LIST]
#
#   --count N    posts in the input lake (default 100000: ~97 MB of raw JSON lines, 3N records)
#   --seed S     emulator seed (default 100)
#   --runs N     runs per tool (default 3)
#   --level L    zstd level for both (default 3, pinpipe's sink.zstd.level default)
#   --cpus LIST  the cores both run on (taskset -c; default 0,1)
#
# pinpipe: `pinpipe replay --from <plain lake> --to <new lake>`: reads the uncompressed raw objects,
# parses and cleans every record, and writes raw, cleaned and dlq objects, zstd-compressed, fsynced and
# renamed into place (io_uring). zstd: `zstd -T<cores> -<L>` of the same raw bytes concatenated, to
# /dev/null. Reported: MB/s of raw input for both (median of the runs) and their ratio; and the
# objects pinpipe writes for the N posts against the original pipeline's 3N (MSK Connect with
# flush.size=1: one S3 object per record).
#
# Needs: meson + ninja, zstd, GNU time, taskset (optional). Results: bench/out/lake_bench.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/bench/out"
BUILD="$ROOT/build-bench"
PINPIPE="$BUILD/tools/pinpipe"

count=100000
seed=100
runs=3
level=3
cpus=0,1

die() {
    echo "lake_bench: $*" >&2
    exit 1
}
usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --count) count=${2:?}; shift 2 ;;
        --seed) seed=${2:?}; shift 2 ;;
        --runs) runs=${2:?}; shift 2 ;;
        --level) level=${2:?}; shift 2 ;;
        --cpus) cpus=${2:?}; shift 2 ;;
        -h | --help) usage ;;
        *) echo "lake_bench: unknown option $1" >&2; usage ;;
    esac
done
case "$count$runs$level" in *[!0-9]*) die "--count, --runs and --level take integers" ;; esac

command -v zstd >/dev/null || die "zstd CLI missing (apt install zstd)"
PIN=()
ncpus=$(echo "$cpus" | tr ',' '\n' | wc -l)
if command -v taskset >/dev/null && taskset -c "$cpus" true 2>/dev/null; then
    PIN=(taskset -c "$cpus")
fi
mkdir -p "$OUT"
if [ ! -x "$PINPIPE" ]; then
    echo "lake_bench: building pinpipe in $BUILD (debugoptimized)" >&2
    meson setup "$BUILD" "$ROOT" --buildtype=debugoptimized -Dtests=false >/dev/null
fi
ninja -C "$BUILD" >/dev/null || die "build failed: ninja -C $BUILD"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
in="$work/in"
"$PINPIPE" emulate --to "$in" --count "$count" --seed "$seed" --malformed 5 --compression none \
    --quiet || die "emulate failed"
# The raw objects only: the emulator writes cleaned and dlq objects too.
find "$in/topics" -type f -name '*.json' | sort >"$work/files"
xargs cat <"$work/files" >"$work/raw.json"
bytes=$(stat -c %s "$work/raw.json")
echo "lake_bench: $count posts, $((count * 3)) records, $((bytes / 1000000)) MB of raw JSON; cores $cpus; zstd -$level" >&2

# seconds <cmd...>: wall seconds of one run (GNU time), with the page cache warm.
seconds() {
    /usr/bin/time -f '%e' -o "$work/t" "$@" >/dev/null 2>"$work/err" || {
        cat "$work/err" >&2
        die "failed: $*"
    }
    cat "$work/t"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

: >"$work/pp"
: >"$work/zs"
cat "$work/raw.json" >/dev/null
for ((i = 1; i <= runs; i++)); do
    rm -rf "$work/out"
    t=$(seconds "${PIN[@]}" "$PINPIPE" replay --from "$in" --to "$work/out" --quiet \
        --set "sink.zstd.level=$level")
    echo "$t" >>"$work/pp"
    t=$(seconds "${PIN[@]}" zstd "-T$ncpus" "-$level" -q -c "$work/raw.json")
    echo "$t" >>"$work/zs"
    echo "lake_bench: run $i: pinpipe $(tail -1 "$work/pp") s, zstd $(tail -1 "$work/zs") s" >&2
done
pp=$(median <"$work/pp")
zs=$(median <"$work/zs")
objects() { find "$work/out/$1" -type f -name '*.json.zst' | wc -l; }
stored=$(du -sb "$work/out" | cut -f1)
{
    echo "lake_bench: $count posts ($((count * 3)) records, $((bytes / 1000000)) MB raw JSON), zstd level $level, cores $cpus, median of $runs runs"
    awk -v b="$bytes" -v p="$pp" -v z="$zs" 'BEGIN {
        printf "  pinpipe replay -> lake (parse, clean, raw+cleaned+dlq zstd, fsync): %.2f s, %.1f MB/s\n", p, b / p / 1e6
        printf "  zstd -T%d -%d of the raw bytes:                                      %.2f s, %.1f MB/s\n", '"$ncpus"', '"$level"', z, b / z / 1e6
        printf "  ratio pinpipe/zstd: %.2f (target >= 0.8)\n", z / p
    }'
    echo "  objects for $count posts: raw $(objects topics), cleaned $(objects cleaned), dlq $(objects dlq) (flush.size 10000, 4 partitions per topic); original pipeline: $((count * 3))"
    echo "  stored: $((stored / 1000000)) MB (raw, cleaned and dlq)"
} | tee "$OUT/lake_bench.txt"
