#!/usr/bin/env bash
# pinpipe query vs DuckDB: the same whole job (read the raw zstd JSON lake, clean, reject, dedup, join,
# nine queries) on the same cores, alternating, several runs each. A benchmark, not a timed test.
#
#   bench/query_bench.sh [--count N] [--seed S] [--runs N] [--lake DIR] [--cpus LIST] [--memory]
#
#   --count N    posts in the generated lake (default 300000: ~290 MB of JSON, ~50 MB zstd)
#   --seed S     emulator seed (default 100)
#   --runs N     runs per tool (default 3), alternating pinpipe / DuckDB / DuckDB without line order
#   --lake DIR   the lake (default bench/out/lake-<N/1000>k; generated once, reused when complete)
#   --cpus LIST  the cores both tools run on (taskset -c; default 0,1); threads = cores in LIST
#   --memory     also run pinpipe (and DuckDB, once) on a lake with 2x the posts and on the lake with
#                every object duplicated under new offsets (2x the bytes, same distinct posts), to show
#                what memory follows
#
# Needs: meson + ninja (to build pinpipe), node 20+ with @duckdb/node-api (tests/oracle: npm install),
# GNU time (/usr/bin/time), zstd, taskset (util-linux; optional). Results: bench/out/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/bench/out"
BUILD="$ROOT/build-bench"
PINPIPE="$BUILD/tools/pinpipe"
COMPARE="$ROOT/tests/oracle/compare.mjs"
DUCKJOB="$ROOT/bench/duckdb_job.mjs"

count=300000
seed=100
runs=3
lake=
cpus=0,1
memory=0

die() {
    echo "query_bench: $*" >&2
    exit 1
}
usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --count) count=${2:?--count needs a value}; shift 2 ;;
        --seed) seed=${2:?--seed needs a value}; shift 2 ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --lake) lake=${2:?--lake needs a value}; shift 2 ;;
        --cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
        --memory) memory=1; shift ;;
        -h | --help) usage ;;
        *) echo "query_bench: unknown option $1" >&2; usage ;;
    esac
done
case "$count" in '' | *[!0-9]*) die "--count must be a positive integer" ;; esac
case "$runs" in '' | *[!0-9]* | 0) die "--runs must be a positive integer" ;; esac
[ -n "$lake" ] || lake="$OUT/lake-$((count / 1000))k"

# ---- tools ---------------------------------------------------------------------------------------

[ -x /usr/bin/time ] || die "GNU time is missing (/usr/bin/time): apt-get install -y time"
command -v zstd >/dev/null || die "zstd is missing"
command -v node >/dev/null || die "node is missing"
[ -d "$ROOT/tests/oracle/node_modules/@duckdb/node-api" ] ||
    die "@duckdb/node-api is missing: (cd tests/oracle && npm install)"

# Both tools on the same cores: taskset when available, and as many threads as cores.
ncpus=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { if (split($i, r, "-") == 2) n += r[2] - r[1] + 1; else n++ } print n }' <<<"$cpus")
PIN=()
if command -v taskset >/dev/null && taskset -c "$cpus" true 2>/dev/null; then
    PIN=(taskset -c "$cpus")
else
    echo "query_bench: taskset -c $cpus unavailable: running unpinned with $ncpus threads" >&2
fi

mkdir -p "$OUT"
if [ ! -x "$PINPIPE" ]; then
    echo "query_bench: building pinpipe in $BUILD (debugoptimized)" >&2
    meson setup "$BUILD" "$ROOT" --buildtype=debugoptimized -Dtests=false >/dev/null
fi
ninja -C "$BUILD" >/dev/null || die "build failed: ninja -C $BUILD"

# ---- lakes ---------------------------------------------------------------------------------------

# emulate_lake DIR COUNT: generates the lake once and marks it complete. A complete lake is reused; an
# incomplete one under bench/out is regenerated; any other existing directory is used as it is.
emulate_lake() {
    local dir=$1 n=$2
    if [ -f "$dir/.bench-complete" ]; then
        return
    fi
    if [ -e "$dir" ]; then
        case "$dir" in
            "$OUT"/*) rm -rf "$dir" ;;
            *)
                [ -d "$dir/topics" ] || die "$dir exists and holds no topics/ directory"
                echo "query_bench: using the existing lake $dir as it is" >&2
                return
                ;;
        esac
    fi
    echo "query_bench: generating $dir ($n posts, seed $seed)" >&2
    "$PINPIPE" emulate --to "$dir" --count "$n" --seed "$seed" --quiet
    echo "count=$n seed=$seed" >"$dir/.bench-complete"
}

# duplicate_lake SRC DIR: every object of SRC a second time under a start offset past the partition's
# last one (hard links when possible): twice the records and bytes, the same distinct posts, and the
# same answers (every copy loses to its original).
duplicate_lake() {
    local src=$1 dir=$2 rel base copy
    if [ -f "$dir/.bench-complete" ]; then
        return
    fi
    rm -rf "$dir"
    echo "query_bench: building $dir (every object of $src twice)" >&2
    (cd "$src" && find topics -type d) | while read -r rel; do mkdir -p "$dir/$rel"; done
    (cd "$src" && find topics -type f) | while read -r rel; do
        base=$(basename "$rel")
        # <topic>+<partition>+<offset>.json[.zst]; the copy starts 10^12 offsets later
        [[ $base =~ ^(.*)\+([0-9]+)\+([0-9]+)(\.json(\.zst)?)$ ]] || continue
        copy="${BASH_REMATCH[1]}+${BASH_REMATCH[2]}+$((10#${BASH_REMATCH[3]} + 1000000000000))${BASH_REMATCH[4]}"
        for f in "$rel" "$(dirname "$rel")/$copy"; do
            ln "$src/$rel" "$dir/$f" 2>/dev/null || cp "$src/$rel" "$dir/$f"
        done
    done
    echo "duplicate of $src" >"$dir/.bench-complete"
}

emulate_lake "$lake" "$count"
emitted=$(sed -n 's/^count=\([0-9]*\).*/\1/p' "$lake/.bench-complete" 2>/dev/null || true)

# ---- measuring -----------------------------------------------------------------------------------

stamp=$(date -u +%Y%m%dT%H%M%SZ)
RUNS_TSV="$OUT/runs-$stamp.tsv"
printf 'lake\ttool\trun\twall_s\tuser_s\tsys_s\tmaxrss_kb\tjob_s\n' >"$RUNS_TSV"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure TOOL LAKE RUN: one timed run; answers in $tmp/TOOL.json, one line appended to RUNS_TSV.
measure() {
    local tool=$1 dir=$2 run=$3 job=
    local cmd=()
    case "$tool" in
        pinpipe) cmd=("$PINPIPE" query --from "$dir" --format json --quiet --workers "$ncpus") ;;
        duckdb) cmd=(node "$DUCKJOB" "$dir" --threads "$ncpus") ;;
        duckdb-nlo) cmd=(node "$DUCKJOB" "$dir" --threads "$ncpus" --no-line-order) ;;
    esac
    if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "${PIN[@]}" "${cmd[@]}" >"$tmp/$tool.json" 2>"$tmp/$tool.err"; then
        cat "$tmp/$tool.err" >&2
        die "$tool failed on $dir"
    fi
    if [ "$tool" != pinpipe ]; then
        job=$(sed -n 's/.* job \([0-9.]*\) s.*/\1/p' "$tmp/$tool.err")
    fi
    read -r wall user sys rss <"$tmp/time"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$dir" "$tool" "$run" "$wall" "$user" "$sys" "$rss" "${job:-}" >>"$RUNS_TSV"
    printf 'query_bench: %-10s run %s: %6.2f s wall, %5.2f s CPU, %4d MB peak RSS%s\n' "$tool" "$run" "$wall" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" $((rss / 1024)) "${job:+ (DuckDB job $job s)}" >&2
}

# check_equal TOOL: DuckDB's answers (with posts and duplicates) equal pinpipe's, or die loudly.
check_equal() {
    local tool=$1
    if ! node "$COMPARE" "$tmp/$tool.json" "$tmp/pinpipe.json" >"$tmp/compare.out"; then
        cat "$tmp/compare.out" >&2
        cp "$tmp/$tool.json" "$OUT/mismatch-$tool.json"
        cp "$tmp/pinpipe.json" "$OUT/mismatch-pinpipe.json"
        die "MISMATCH: $tool and pinpipe disagree (kept in $OUT/mismatch-*.json)"
    fi
}

# Lake facts from pinpipe's "input" counts: objects, raw JSON bytes, records, joined posts.
input_field() {
    node -e '
        const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).input;
        const r = d.records;
        const v = { objects: d.objects, bytes: d.bytes, records: r.pin + r.geo + r.user, posts: d.posts,
                    distinct: d.posts + d.orphans.pin };
        console.log(v[process.argv[2]]);' "$1" "$2"
}

echo "query_bench: $runs runs per tool on cores $cpus ($ncpus threads each), lake $lake" >&2
for run in $(seq 1 "$runs"); do
    # rotate the order so that no tool always runs first (or right after another one)
    case $((run % 3)) in
        1) order="pinpipe duckdb duckdb-nlo" ;;
        2) order="duckdb pinpipe duckdb-nlo" ;;
        0) order="duckdb-nlo duckdb pinpipe" ;;
    esac
    for tool in $order; do measure "$tool" "$lake" "$run"; done
    check_equal duckdb
    check_equal duckdb-nlo
done
echo "query_bench: answers equal: DuckDB == pinpipe ($(cat "$tmp/compare.out"))" >&2

objects=$(input_field "$tmp/pinpipe.json" objects)
json_bytes=$(input_field "$tmp/pinpipe.json" bytes)
records=$(input_field "$tmp/pinpipe.json" records)
posts=$(input_field "$tmp/pinpipe.json" posts)
zst_bytes=$(find "$lake/topics" -type f -name '*.json.zst' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
duck_version=$(sed -n 's/.*(DuckDB \(v[0-9.]*\).*/\1/p' "$tmp/duckdb.err")

RESULT="$OUT/result-$stamp.txt"
awk -F'\t' -v lake="$lake" -v objects="$objects" -v zst="$zst_bytes" -v json="$json_bytes" \
    -v records="$records" -v posts="$posts" -v emitted="${emitted:-?}" -v runs="$runs" -v cpus="$cpus" \
    -v ncpus="$ncpus" -v duck="$duck_version" -v host="$(uname -n)" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" '
    function median(a, n,    i, j, t, b) {
        for (i = 1; i <= n; i++) b[i] = a[i]
        for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
        return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    function minimum(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
    function maximum(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
    NR > 1 && $1 == lake && $3 !~ /^mem/ {
        n[$2]++; k = n[$2]
        wall[$2, k] = $4; cpu[$2, k] = $5 + $6; rss[$2, k] = $7; job[$2, k] = $8
    }
    END {
        split("pinpipe duckdb duckdb-nlo", tools, " ")
        label["pinpipe"] = "pinpipe query"
        label["duckdb"] = "DuckDB " duck
        label["duckdb-nlo"] = "DuckDB, no line order"
        for (t = 1; t <= 3; t++) {
            tool = tools[t]
            for (k = 1; k <= n[tool]; k++) { w[k] = wall[tool, k]; c[k] = cpu[tool, k]; r[k] = rss[tool, k]; j[k] = job[tool, k] }
            best[tool] = minimum(w, n[tool]); med[tool] = median(w, n[tool])
            mcpu[tool] = median(c, n[tool]); mrss[tool] = maximum(r, n[tool])
            if (tool != "pinpipe") { bjob[tool] = minimum(j, n[tool]); mjob[tool] = median(j, n[tool]) }
        }
        printf "pinpipe query vs DuckDB: the same whole job from the raw lake, %s\n", date
        printf "machine: %s, cores %s (%d threads per tool), %d runs per tool, alternating\n", host, cpus, ncpus, runs
        printf "lake: %s\n", lake
        printf "  %d objects, %.1f MB zstd, %.1f MB JSON, %d records (%s posts emitted, %d joined)\n\n",
            objects, zst / 1e6, json / 1e6, records, emitted, posts
        printf "%-24s %8s %9s %11s %10s %7s %9s %11s\n", "tool", "best s", "median s", "records/s", "JSON MB/s", "CPU s", "peak RSS", "job s (med)"
        for (t = 1; t <= 3; t++) {
            tool = tools[t]
            printf "%-24s %8.2f %9.2f %11.0f %10.0f %7.2f %6.0f MB %11s\n", label[tool], best[tool], med[tool],
                records / med[tool], json / 1e6 / med[tool], mcpu[tool], mrss[tool] / 1024,
                tool == "pinpipe" ? "" : sprintf("%.2f", mjob[tool])
        }
        printf "\nratio DuckDB / pinpipe, whole commands:           median %.2fx, best %.2fx\n",
            med["duckdb"] / med["pinpipe"], best["duckdb"] / best["pinpipe"]
        printf "ratio DuckDB job alone (no node start) / pinpipe:  median %.2fx, best %.2fx\n",
            mjob["duckdb"] / med["pinpipe"], bjob["duckdb"] / best["pinpipe"]
        printf "  (DuckDB without line order: whole %.2fx / %.2fx, job alone %.2fx / %.2fx)\n",
            med["duckdb-nlo"] / med["pinpipe"], best["duckdb-nlo"] / best["pinpipe"],
            mjob["duckdb-nlo"] / med["pinpipe"], bjob["duckdb-nlo"] / best["pinpipe"]
        printf "records/s and MB/s at the median wall time; CPU s = user + sys (median); peak RSS = max over runs.\n"
        printf "DuckDB runs in node: its wall, CPU and RSS include node and loading @duckdb/node-api; job s is\n"
        printf "DuckDB alone (instance start to results read), as duckdb_job.mjs reports it.\n"
    }' "$RUNS_TSV" | tee "$RESULT"

# ---- memory: distinct posts vs bytes -------------------------------------------------------------

if [ "$memory" = 1 ]; then
    lake2="$OUT/lake-$((2 * count / 1000))k"
    lakedup="$OUT/lake-$((count / 1000))k-x2"
    emulate_lake "$lake2" $((2 * count))
    duplicate_lake "$lake" "$lakedup"
    echo "query_bench: memory: pinpipe on 3 lakes (best of $runs), DuckDB once each" >&2
    {
        echo
        echo "memory: what pinpipe's peak RSS follows (pinpipe: smallest RSS of $runs runs; DuckDB: 1 run)"
        printf "%-34s %10s %10s %12s %14s %14s\n" "lake" "JSON MB" "records" "distinct keys" "pinpipe RSS" "DuckDB RSS"
    } | tee -a "$RESULT"
    for dir in "$lake" "$lake2" "$lakedup"; do
        best_rss=
        for run in $(seq 1 "$runs"); do
            measure pinpipe "$dir" "mem$run"
            rss=$(tail -n 1 "$RUNS_TSV" | cut -f7)
            if [ -z "$best_rss" ] || [ "$rss" -lt "$best_rss" ]; then best_rss=$rss; fi
        done
        measure duckdb "$dir" mem1
        check_equal duckdb
        duck_rss=$(tail -n 1 "$RUNS_TSV" | cut -f7)
        printf "%-34s %10.1f %10d %12d %11d MB %11d MB\n" "${dir#"$ROOT"/}" \
            "$(awk -v b="$(input_field "$tmp/pinpipe.json" bytes)" 'BEGIN { print b / 1e6 }')" \
            "$(input_field "$tmp/pinpipe.json" records)" "$(input_field "$tmp/pinpipe.json" distinct)" \
            $((best_rss / 1024)) $((duck_rss / 1024)) | tee -a "$RESULT"
    done
fi

echo "query_bench: results in ${RESULT#"$ROOT"/}, every run in ${RUNS_TSV#"$ROOT"/}" >&2
