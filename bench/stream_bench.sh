#!/usr/bin/env bash
# Streaming benchmarks (issue 3) on a `pinpipe broker` (librdkafka's mock cluster) on a loopback port.
# A benchmark, not a timed test: it measures and prints; it fails only when a tool misses records.
#
#   bench/stream_bench.sh [--only throughput|latency] [--posts N] [--runs N] [--partitions N]
#                         [--rate N] [--duration S] [--warmup S] [--windows LIST] [--perf S]
#                         [--baseline S] [--fetch-wait-ms N|default] [--poll-ms N] [--seed S]
#                         [--cpus LIST] [--build DIR] [--set key=value]...
#
# throughput: one broker, the three topics preloaded with N posts (3N records), then in one run,
#   alternating, --runs runs each of: kcat -C -e (the three topics in parallel, and one after
#   another), a bare librdkafka consumer (bench/rdkafka_count.c) and `pinpipe run` with a fresh group
#   (timed until pinpipe_records_total in /metrics reaches 3N); records/s, median, ratios.
# latency: a fresh broker, `pinpipe run --set analytics.windows=LIST` consuming while
#   `pinpipe emulate --rate N` produces for --duration s; p50/p99 of pinpipe_post_visible_seconds,
#   RSS every 5 s, the produce rate reached, the consumer lag; optionally a perf profile.
#
#   --only MODE      throughput or latency (default: both)
#   --posts N        posts preloaded for the throughput runs (default 300000: 900000 records)
#   --runs N         runs per tool (default 3)
#   --partitions N   partitions per topic (default 64; the mock keeps ~5 MiB per partition)
#   --rate N         latency: emulator posts per second (3 records each; default 50000)
#   --duration S     latency: seconds of producing (default 600)
#   --warmup S       latency: seconds excluded from the steady-state percentiles (default 10)
#   --windows LIST   latency: analytics.windows (default all,tumbling:1m,hopping:1h/5m)
#   --perf S         latency: perf record -g the run process for S s mid-run (default 0: off)
#   --baseline S     latency: first, S s of the same emulator rate read by the bare librdkafka
#                    consumer alone, timing each record: the broker's own latency (default 30; 0: off)
#   --fetch-wait-ms N  latency: fetch.wait.max.ms of both consumers (default 10; 'default': 500). The
#                    mock broker holds a fetch that finds no data for this long, even if data arrives
#   --poll-ms N      throughput: /metrics poll interval in ms (default 20)
#   --seed S         emulator seed (default 100)
#   --cpus LIST      cores every process runs on (taskset -c; default 0,1)
#   --build DIR      meson build directory of the pinpipe to measure (default build-bench; created
#                    debugoptimized when it has no tools/pinpipe), e.g. to compare two trees
#   --set k=v        passed to every `pinpipe run` (repeatable), e.g. --set dedup.ttl=1m
#
# Needs: meson + ninja (to build pinpipe), kcat, curl, python3, cc and librdkafka-dev (for the bare
# consumer; skipped without them), GNU time (/usr/bin/time), taskset (optional), perf (for --perf),
# zstd (the lake's compression ratio after the latency run; skipped without it).
# Results: bench/out/stream-<time>.txt, every run in bench/out/stream-runs-<time>.tsv.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/bench/out"
BUILD="$ROOT/build-bench"
PINPIPE="$BUILD/tools/pinpipe"
RDCOUNT="$OUT/rdkafka_count"

only=
posts=300000
runs=3
partitions=64
rate=50000
duration=600
warmup=10
windows=all,tumbling:1m,hopping:1h/5m
perf_s=0
baseline_s=30
fetch_wait=10
poll_ms=20
seed=100
cpus=0,1
SETS=()

die() {
    echo "stream_bench: $*" >&2
    exit 1
}
say() { echo "stream_bench: $*" >&2; }
usage() {
    sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
need_uint() {
    case "$2" in '' | *[!0-9]*) echo "stream_bench: $1 must be a non-negative integer" >&2; exit 2 ;; esac
}

while [ $# -gt 0 ]; do
    case "$1" in
        --only) only=${2:?--only needs a value}; shift 2 ;;
        --posts) posts=${2:?--posts needs a value}; shift 2 ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --partitions) partitions=${2:?--partitions needs a value}; shift 2 ;;
        --rate) rate=${2:?--rate needs a value}; shift 2 ;;
        --duration) duration=${2:?--duration needs a value}; shift 2 ;;
        --warmup) warmup=${2:?--warmup needs a value}; shift 2 ;;
        --windows) windows=${2:?--windows needs a value}; shift 2 ;;
        --perf) perf_s=${2:?--perf needs a value}; shift 2 ;;
        --baseline) baseline_s=${2:?--baseline needs a value}; shift 2 ;;
        --fetch-wait-ms) fetch_wait=${2:?--fetch-wait-ms needs a value}; shift 2 ;;
        --poll-ms) poll_ms=${2:?--poll-ms needs a value}; shift 2 ;;
        --seed) seed=${2:?--seed needs a value}; shift 2 ;;
        --cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
        --build) BUILD=$(realpath -m "${2:?--build needs a directory}"); PINPIPE="$BUILD/tools/pinpipe"; shift 2 ;;
        --set) SETS+=(--set "${2:?--set needs key=value}"); shift 2 ;;
        -h | --help) usage ;;
        *) echo "stream_bench: unknown option $1" >&2; usage ;;
    esac
done
case "$only" in '' | throughput | latency) ;; *) echo "stream_bench: --only is throughput or latency" >&2; exit 2 ;; esac
for v in posts:$posts runs:$runs partitions:$partitions rate:$rate duration:$duration warmup:$warmup \
    perf:$perf_s baseline:$baseline_s poll-ms:$poll_ms seed:$seed; do
    need_uint "--${v%%:*}" "${v#*:}"
done
if [ "$posts" -eq 0 ] || [ "$runs" -eq 0 ] || [ "$partitions" -eq 0 ] || [ "$rate" -eq 0 ] ||
    [ "$duration" -eq 0 ] || [ "$poll_ms" -eq 0 ]; then
    echo "stream_bench: counts must be > 0" >&2
    exit 2
fi
[ "$warmup" -lt "$duration" ] || { echo "stream_bench: --warmup must be shorter than --duration" >&2; exit 2; }

case "$fetch_wait" in
    default) FETCH_SET=() FETCH_X=() ;;
    '' | *[!0-9]*) echo "stream_bench: --fetch-wait-ms must be an integer or 'default'" >&2; exit 2 ;;
    *) FETCH_SET=(--set "kafka.fetch.wait.max.ms=$fetch_wait") FETCH_X=(-X "fetch.wait.max.ms=$fetch_wait") ;;
esac

# The integration tests' harness: $tmp (removed at exit), the pids array (killed at exit), $PYTHON
# (Debian's python3), free_port, wait_for_line. Its cleanup runs with errexit off (a kill of a process
# that already exited fails).
# shellcheck source=tests/integration/lib.sh
source "$ROOT/tests/integration/lib.sh"
trap 'set +e; it_cleanup' EXIT

# ---- tools ---------------------------------------------------------------------------------------

for t in kcat curl; do command -v "$t" >/dev/null || die "$t is missing (apt-get install $t)"; done
[ -x /usr/bin/time ] || die "GNU time is missing (/usr/bin/time): apt-get install -y time"
"$PYTHON" -c 'import http.client' 2>/dev/null || die "python3 is missing"
if [ "$perf_s" -gt 0 ] && ! command -v perf >/dev/null; then die "--perf needs perf (linux-perf)"; fi

# Every process on the same cores: this shell is pinned (below, after the build) and every process
# it starts inherits the affinity: broker, emulator, the tools, the samplers.
can_pin=0
if command -v taskset >/dev/null && taskset -c "$cpus" true 2>/dev/null; then
    can_pin=1
else
    say "taskset -c $cpus unavailable: running unpinned"
fi

mkdir -p "$OUT"
if [ ! -x "$PINPIPE" ]; then
    say "building pinpipe in $BUILD (debugoptimized)"
    meson setup "$BUILD" "$ROOT" --buildtype=debugoptimized -Dtests=false >/dev/null
fi
ninja -C "$BUILD" >/dev/null || die "build failed: ninja -C $BUILD"
"$PINPIPE" run --help >/dev/null 2>&1 || die "$PINPIPE has no 'run' command: rebuild $BUILD"
pinpipe=$PINPIPE # lib.sh's start_broker runs $pinpipe
if [ "$can_pin" = 1 ]; then taskset -cp "$cpus" $$ >/dev/null; fi

# The bare consumer: built from bench/rdkafka_count.c when a compiler and librdkafka's headers exist.
have_rdcount=0
if [ "$RDCOUNT" -nt "$ROOT/bench/rdkafka_count.c" ] ||
    cc -std=c11 -O2 -Wall -Wextra -o "$RDCOUNT" "$ROOT/bench/rdkafka_count.c" -lrdkafka 2>"$OUT/rdkafka_count.err"; then
    have_rdcount=1
else
    say "the bare librdkafka consumer is skipped: cc or librdkafka-dev missing ($OUT/rdkafka_count.err)"
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULT="$OUT/stream-$stamp.txt"
RUNS_TSV="$OUT/stream-runs-$stamp.tsv"
trap 'exit 130' INT TERM
CLK_TCK=$(getconf CLK_TCK)
host_facts="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p;T;q' /proc/cpuinfo)), load $(cut -d' ' -f1-3 /proc/loadavg)"

# stamp_lines: prefixes each line of stdin with the wall-clock time it arrived (s, µs resolution).
stamp_lines() {
    local line
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}
# cpu_ticks PID: user + system clock ticks of a live process (0 when gone).
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
ticks_s() { awk -v t="$1" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# bench_broker LOG: lib.sh's start_broker on a free port with --partitions; sets broker_pid, bootstrap.
bench_broker() {
    local port
    port=$(free_port)
    start_broker "$port" "$1" --partitions "$partitions"
    broker_pid=${pids[-1]}
    bootstrap="127.0.0.1:$port"
}
# end_pid PID: SIGTERM and reap, whatever the exit status (the broker after the measurements).
end_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# start_run LOG GROUP ARGS...: `pinpipe run` in the background, stderr lines time-stamped into LOG;
# sets run_pid, run_t0 (the time just before the start) and api.
start_run() {
    local log=$1 group=$2 hport
    shift 2
    hport=$(free_port)
    api="http://127.0.0.1:$hport"
    run_t0=$EPOCHREALTIME
    "$PINPIPE" run --set "lake.url=$tmp/sink-lake" --set "kafka.bootstrap.servers=$bootstrap" --set "http.listen=127.0.0.1:$hport" \
        --set "kafka.group.id=$group" "$@" "${SETS[@]}" 2> >(stamp_lines >"$log") &
    run_pid=$!
    pids+=("$run_pid")
}
# stop_run LOG: SIGTERM, exit 0 within 30 s, or die.
stop_run() {
    local i rc=0
    kill -TERM "$run_pid"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$run_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$run_pid" 2>/dev/null && { tail -5 "$1" >&2; die "pinpipe run still running 30 s after SIGTERM"; }
    wait "$run_pid" || rc=$?
    [ "$rc" = 0 ] || { tail -5 "$1" >&2; die "pinpipe run exited $rc after SIGTERM"; }
}
# the time (epoch s) of the first line of LOG containing TEXT
log_time() { awk -v t="$2" 'index($0, t) { print $1; exit }' "$1"; }

# The Python helpers: poll /metrics for the throughput runs, sample the latency run, report.
cat >"$tmp/helpers.py" <<'PY'
import http.client, json, os, re, signal, subprocess, sys, time

def metrics(conn):
    conn.request("GET", "/metrics")
    resp = conn.getresponse()
    body = resp.read().decode()
    if resp.status != 200:
        raise OSError("HTTP %d" % resp.status)
    out = {"records": 0, "lag": 0, "buckets": [], "count": 0, "sum": 0.0, "partitions_lagging": 0}
    for line in body.splitlines():
        if line.startswith("#") or not line:
            continue
        name, _, value = line.rpartition(" ")
        if name.startswith("pinpipe_records_total{"):
            out["records"] += int(value)
        elif name.startswith("pinpipe_consumer_lag{"):
            out["lag"] += max(int(value), 0)
            out["partitions_lagging"] += int(value) > 0
        elif name.startswith("pinpipe_post_visible_seconds_bucket{"):
            le = name.split('le="', 1)[1].split('"', 1)[0]
            out["buckets"].append((float("inf") if le == "+Inf" else float(le), int(value)))
        elif name == "pinpipe_post_visible_seconds_count":
            out["count"] = int(value)
        elif name == "pinpipe_post_visible_seconds_sum":
            out["sum"] = float(value)
    return out

class Api:
    """One keep-alive connection, reopened after errors (cheap to poll every 20 ms)."""
    def __init__(self, url):
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        self.host, self.port, self.conn = host, int(port), None
    def get(self):
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
            return metrics(self.conn)
        except (OSError, http.client.HTTPException):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None

def is_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1

def poll(url, target, interval_ms, timeout_s, pid):
    """Prints '<epoch of first records > 0> <records then> <epoch of records == target>'."""
    api, first, start = Api(url), None, time.time()
    while time.time() - start < timeout_s:
        m = api.get()
        now = time.time()
        if m is not None:
            if first is None and m["records"] > 0:
                first = (now, m["records"])
            if m["records"] >= target:
                print("%.6f %d %.6f %d" % (first[0], first[1], now, m["records"]))
                return 0
        if not is_alive(pid):
            print("poll: pinpipe run exited", file=sys.stderr)
            return 1
        time.sleep(interval_ms / 1000.0)
    print("poll: %d records after %d s, want %d" % (m["records"] if m else -1, timeout_s, target), file=sys.stderr)
    return 1

def quantile(buckets, q):
    """Prometheus histogram_quantile: linear within the bucket holding rank q*count."""
    total = buckets[-1][1]
    if total == 0:
        return None
    rank, lower, below = q * total, 0.0, 0
    for le, cum in buckets:
        if cum >= rank and cum > below:
            if le == float("inf"):
                return lower  # beyond the last bound: report the bound (printed as '>')
            return lower + (le - lower) * (rank - below) / (cum - below)
        lower, below = le, cum
    return lower

def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
            return int(v[11]) + int(v[12])
    except OSError:
        return None

def threads(pid):
    """{tid: [name, ns on a CPU, ns waiting for a CPU]} from /proc/<pid>/task/*/schedstat."""
    out = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    name = f.read().strip()
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    run_ns, wait_ns = [int(x) for x in f.read().split()[:2]]
                out[tid] = [name, run_ns, wait_ns]
            except (OSError, ValueError):
                pass
    except OSError:
        pass
    return out

def machine_ticks():
    """(busy, total) clock ticks of all CPUs since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)

def delivered(emu_log):
    """The records the emulator's summary line says were delivered (None before it is written)."""
    try:
        for line in open(emu_log):
            if "records delivered" in line:
                return int(line.split("(", 1)[1].split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return None

def sample(url, run_pid, emu_pid, broker_pid, every, duration, warmup, perf_s, perf_at, perf_out, emu_log,
           drain_s, out):
    """Samples RSS, CPU and /metrics every `every` s while the emulator runs, stops the emulator
    (SIGTERM: it flushes and prints its summary) after `duration` s, then waits (at most drain_s) for
    the run to consume every delivered record. Writes one JSON line per sample to `out`."""
    api, t0, n, perf, base = Api(url), time.time(), 0, None, None
    samples = open(out, "w")
    def record(kind):
        m = api.get()
        row = {"t": round(time.time() - t0, 3), "kind": kind, "rss_kb": rss_kb(run_pid), "m": m,
               "cpu": {"run": cpu_ticks(run_pid), "emulate": cpu_ticks(emu_pid), "broker": cpu_ticks(broker_pid)},
               "machine": machine_ticks(), "threads": threads(run_pid)}
        samples.write(json.dumps(row) + "\n")
        samples.flush()
        return row
    while is_alive(emu_pid):
        n += 1
        time.sleep(max(0.0, min(t0 + n * every, t0 + duration) - time.time()))
        if not is_alive(run_pid):
            print("sample: pinpipe run exited", file=sys.stderr)
            return 1
        if not is_alive(emu_pid):
            break
        if time.time() - t0 >= duration:
            os.kill(emu_pid, signal.SIGTERM)
            while is_alive(emu_pid):
                time.sleep(0.01)
            break
        row = record("sample")
        if base is None and row["t"] >= warmup:
            base = row
        if perf_s > 0 and perf is None and row["t"] >= perf_at:
            perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(run_pid), "-o", perf_out,
                                     "--", "sleep", str(perf_s)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    record("emulator_done")
    target, end = None, time.time() + drain_s
    while time.time() < end:
        target = target or delivered(emu_log)
        m = api.get()
        if target is not None and m is not None and m["records"] >= target:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # let the last batches be applied (and observed) before the final read
    record("drained")
    if perf is not None:
        perf.wait()
    return 0

def fmt_q(v, buckets):
    if v is None:
        return "n/a"
    last = [le for le, _ in buckets if le != float("inf")][-1]
    return "> %g s" % last if v >= last else "%.1f ms" % (v * 1000)

def report(samples_path, emu_line, rate, duration, warmup, windows, want_records, fetch_wait):
    rows = [json.loads(l) for l in open(samples_path)]
    steady = [r for r in rows if r["kind"] == "sample"]
    done = [r for r in rows if r["kind"] == "emulator_done"][0]
    drained = [r for r in rows if r["kind"] == "drained"][0]
    end = drained["m"]
    base = next((r for r in steady if r["t"] >= warmup and r["m"]), None)
    def delta(a, b):
        return [(le, cb - ca) for (le, cb), (_, ca) in zip(b["buckets"], a["buckets"])]
    lines = []
    p = lambda s: lines.append(s)
    p("latency: pinpipe run --set analytics.windows=%s%s while pinpipe emulate --rate %d (posts/s,"
      " 3 records each) runs for %d s" % (windows, "" if fetch_wait == "default" else
                                           " --set kafka.fetch.wait.max.ms=" + fetch_wait, rate, duration))
    p("  emulator: %s" % emu_line)
    try:
        reached = float(re.search(r"\(([0-9.]+) posts/s\)", emu_line).group(1))
        p("  produce rate reached: %.0f posts/s = %.0f records/s, %.0f%% of the %d posts/s asked%s"
          % (reached, 3 * reached, 100 * reached / rate, rate,
             "" if reached >= 0.98 * rate else " (the emulator could not keep the pace on this machine)"))
    except (AttributeError, ValueError):
        pass
    produced = want_records
    if end is None:
        p("  no /metrics answer at the end")
        return "\n".join(lines)
    p("  consumed: %d of %d records produced%s" % (end["records"], produced,
      "" if end["records"] >= produced else "  (NOT all: the run fell behind by more than the drain time)"))
    if done["m"]:
        p("  consumer lag when the emulator finished: %d records (%d partitions behind); after the drain: %d"
          % (done["m"]["lag"], done["m"]["partitions_lagging"], end["lag"]))
    if end["records"] >= produced:
        p("  the run had consumed every record %.1f s after the emulator stopped (0.1 s polls)"
          % max(0.0, drained["t"] - 0.5 - done["t"]))
    lag_max = max((r["m"]["lag"] for r in steady if r["m"]), default=0)
    p("  largest lag in the 5 s samples: %d records" % lag_max)
    bk = end["buckets"]
    bounds = ", ".join("%g" % le for le, _ in bk if le != float("inf"))
    p("  pinpipe_post_visible_seconds (record timestamp -> its batch applied); buckets (s): %s, +Inf"
      % bounds)
    for label, b in (("whole run", bk), ("after the %d s warm-up" % warmup, delta(base["m"], end) if base else None)):
        if b is None:
            continue
        p("    %-26s posts %9d   p50 %-10s p99 %-10s p99.9 %s" % (label, b[-1][1],
          fmt_q(quantile(b, 0.5), bk), fmt_q(quantile(b, 0.99), bk), fmt_q(quantile(b, 0.999), bk)))
    if end["count"]:
        p("    mean (sum/count, exact)    %.1f ms" % (1000 * end["sum"] / end["count"]))
    cells = []
    for a, b in zip(steady, steady[1:]):
        if a["m"] and b["m"]:
            d = delta(a["m"], b["m"])
            q50, q99 = quantile(d, 0.5), quantile(d, 0.99)
            if q50 is not None:
                cells.append("%.0f:%s/%s" % (b["t"], fmt_q(q50, bk).replace(" ms", ""), fmt_q(q99, bk).replace(" ms", "")))
    if cells:
        p("    per 5 s interval, <end s>:<p50>/<p99> ms: " + " ".join(cells))
    rates = [(b["m"]["records"] - a["m"]["records"]) / (b["t"] - a["t"])
             for a, b in zip(steady, steady[1:]) if a["m"] and b["m"]]
    if rates:
        rates.sort()
        p("  consumed records/s between 5 s samples: min %.0f, median %.0f, max %.0f"
          % (rates[0], rates[len(rates) // 2], rates[-1]))
    if len(steady) >= 2:
        a, b, hz = steady[0], steady[-1], os.sysconf("SC_CLK_TCK")
        secs = b["t"] - a["t"]
        use = lambda k: ("%.2f" % ((b["cpu"][k] - a["cpu"][k]) / hz / secs)
                         if a["cpu"][k] is not None and b["cpu"][k] is not None else "?")
        busy = (b["machine"][0] - a["machine"][0]) / hz / secs
        ncpu = (b["machine"][1] - a["machine"][1]) / hz / secs
        ours = sum((b["cpu"][k] - a["cpu"][k]) / hz / secs for k in ("run", "emulate", "broker")
                   if a["cpu"][k] is not None and b["cpu"][k] is not None)
        p("  cores used, t=%.0f-%.0f s: pinpipe run %s, emulate %s, broker %s; machine %.2f of %.0f busy "
          "(%.2f by other processes)" % (a["t"], b["t"], use("run"), use("emulate"), use("broker"), busy,
                                         ncpu, max(0.0, busy - ours)))
    if base is not None and steady[-1] is not base:
        a, b = base, steady[-1]
        secs = b["t"] - a["t"]
        rows_t = []
        for tid, (name, run_ns, wait_ns) in b["threads"].items():
            run0, wait0 = a["threads"].get(tid, [name, 0, 0])[1:]
            rows_t.append((run_ns - run0, wait_ns - wait0, name))
        rows_t.sort(reverse=True)
        p("  threads of pinpipe run, t=%.0f-%.0f s (schedstat): cores on a CPU / cores waiting in the run queue"
          % (a["t"], b["t"]))
        p("    " + ", ".join("%s %.2f/%.2f" % (n, r / 1e9 / secs, w / 1e9 / secs) for r, w, n in rows_t[:8]))
    rss = [(r["t"], r["rss_kb"]) for r in steady if r["rss_kb"] > 0]
    if rss:
        span = 60 if rss[-1][0] >= 120 else rss[-1][0] / 3.0
        first = [k for t, k in rss if t <= rss[0][0] + span]
        last = [k for t, k in rss if t >= rss[-1][0] - span]
        mb = lambda kb: kb / 1024.0
        p("  RSS of pinpipe run (VmRSS every 5 s, %d samples): max %.0f MiB; first %.0f s mean %.0f MiB (%.0f-%.0f), "
          "last %.0f s mean %.0f MiB (%.0f-%.0f)" % (len(rss), mb(max(k for _, k in rss)), span,
          mb(sum(first) / len(first)), mb(min(first)), mb(max(first)), span, mb(sum(last) / len(last)),
          mb(min(last)), mb(max(last))))
        p("    RSS MiB by sample: " + " ".join("%.0f" % mb(k) for _, k in rss))
    return "\n".join(lines)

if __name__ == "__main__":
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "poll":
        sys.exit(poll(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4])))
    if cmd == "sample":
        sys.exit(sample(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4]), float(a[5]), float(a[6]), int(a[7]),
                        float(a[8]), a[9], a[10], float(a[11]), a[12]))
    if cmd == "report":
        print(report(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), a[5], int(a[6]), a[7]))
PY

: >"$RESULT"
printf 'tool\trun\twall_s\trecords\tcpu_s\tbroker_cpu_s\tmaxrss_kb\tconsuming_s\n' >"$RUNS_TSV"

# ---- throughput ----------------------------------------------------------------------------------

PREFIX=pinterest
TOPICS=("$PREFIX.pin" "$PREFIX.geo" "$PREFIX.user")

# kcat_count MODE: records of the three topics read by kcat -C -e, in parallel or one after another.
KCAT_PAR='b=$1; shift; ps=(); for t in "$@"; do kcat -C -b "$b" -t "$t" -e -q -o beginning -f "\n" & ps+=($!); done
          rc=0; for p in "${ps[@]}"; do wait "$p" || rc=1; done; exit $rc'
KCAT_SEQ='b=$1; shift; for t in "$@"; do kcat -C -b "$b" -t "$t" -e -q -o beginning -f "\n" || exit 1; done'

# measure TOOL RUN: one timed run, one line in RUNS_TSV.
measure() {
    local tool=$1 run=$2 t0 t1 b0 b1 got since='' wall cpu rss script
    b0=$(cpu_ticks "$broker_pid")
    case "$tool" in
        kcat-par | kcat-seq)
            [ "$tool" = kcat-par ] && script=$KCAT_PAR || script=$KCAT_SEQ
            t0=$EPOCHREALTIME
            got=$(/usr/bin/time -f '%U %S %M' -o "$tmp/time" bash -c "$script" kcat "$bootstrap" \
                "${TOPICS[@]}" | wc -l) || die "$tool failed"
            t1=$EPOCHREALTIME
            wall=$(elapsed "$t0" "$t1")
            read -r u s rss <"$tmp/time"
            cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
            ;;
        rdkafka)
            t0=$EPOCHREALTIME
            /usr/bin/time -f '%U %S %M' -o "$tmp/time" "$RDCOUNT" "$bootstrap" "${TOPICS[@]}" \
                >"$tmp/rdcount.out" || die "rdkafka_count failed"
            t1=$EPOCHREALTIME
            wall=$(elapsed "$t0" "$t1")
            read -r got _ _ since <"$tmp/rdcount.out"
            read -r u s rss <"$tmp/time"
            cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
            ;;
        pinpipe)
            # Not --quiet: the time-stamped "kafka: assigned" line tells when consuming starts.
            start_run "$tmp/run-$run.log" "stream-bench-$stamp-$run"
            "$PYTHON" "$tmp/helpers.py" poll "$api" "$records" "$poll_ms" 300 "$run_pid" >"$tmp/poll.out" ||
                { tail -5 "$tmp/run-$run.log" >&2; die "pinpipe run did not reach $records records"; }
            read -r _ _ tdone got <"$tmp/poll.out"
            cpu=$(ticks_s "$(cpu_ticks "$run_pid")")
            rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$run_pid/status")
            stop_run "$tmp/run-$run.log"
            grep -q "stopped after $records records" "$tmp/run-$run.log" ||
                { tail -5 "$tmp/run-$run.log" >&2; die "pinpipe run did not report $records records"; }
            wall=$(elapsed "$run_t0" "$tdone")
            since=$(elapsed "$(log_time "$tmp/run-$run.log" "kafka: assigned")" "$tdone")
            ;;
    esac
    b1=$(cpu_ticks "$broker_pid")
    [ "$got" = "$records" ] || die "$tool read $got records, want $records"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$run" "$wall" "$got" "$cpu" "$(ticks_s $((b1 - b0)))" \
        "$rss" "$since" >>"$RUNS_TSV"
    printf 'stream_bench: %-9s run %s: %6.2f s, %7.0f records/s, CPU %5.2f s, broker CPU %5.2f s\n' "$tool" "$run" \
        "$wall" "$(awk -v n="$records" -v w="$wall" 'BEGIN { print n / w }')" "$cpu" "$(ticks_s $((b1 - b0)))" >&2
}

throughput() {
    local tools=(kcat-par kcat-seq rdkafka pinpipe) order run i k emu t n
    [ "$have_rdcount" = 1 ] || tools=(kcat-par kcat-seq pinpipe)
    records=$((3 * posts))
    bench_broker "$tmp/broker-tp.log"
    say "throughput: broker $bootstrap, $partitions partitions; preloading $posts posts ($records records)"
    "$PINPIPE" emulate --to "kafka://$bootstrap" --count "$posts" --seed "$seed" 2>"$tmp/emulate-tp.log" ||
        { cat "$tmp/emulate-tp.log" >&2; die "emulate failed"; }
    emu=$(grep 'records delivered' "$tmp/emulate-tp.log" | sed 's/^pinpipe: emulate: //')
    # Every record is in the broker: the mock keeps only ~5 MiB per partition and drops older
    # records silently, so count them all back (and the partitions) before measuring anything.
    for t in "${TOPICS[@]}"; do
        kcat -C -b "$bootstrap" -t "$t" -e -q -o beginning -f '%p\n' >"$tmp/partitions" || die "kcat failed on $t"
        k=$(wc -l <"$tmp/partitions")
        n=$(sort -u "$tmp/partitions" | wc -l)
        [ "$k" = "$posts" ] || die "$t holds $k records, want $posts: raise --partitions (the mock keeps ~5 MiB each)"
        [ "$n" = "$partitions" ] || die "$t has records in $n partitions, want $partitions"
    done
    say "throughput: the broker holds all $records records ($posts per topic, in $partitions partitions each)"
    say "throughput: $runs runs per tool, alternating: ${tools[*]}"
    for run in $(seq 1 "$runs"); do
        order=()
        for i in "${!tools[@]}"; do order+=("${tools[(i + run - 1) % ${#tools[@]}]}"); done
        for t in "${order[@]}"; do measure "$t" "$run"; done
    done
    end_pid "$broker_pid"
    awk -F'\t' -v records="$records" -v posts="$posts" -v parts="$partitions" -v runs="$runs" -v cpus="$cpus" \
        -v emu="$emu" -v host="$host_facts" -v poll="$poll_ms" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" '
    function median(a, n,    i, j, t, b) {
        for (i = 1; i <= n; i++) b[i] = a[i]
        for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
        return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    function minimum(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
    NR > 1 {
        k = ++n[$1]; wall[$1, k] = $3; cpu[$1, k] = $5; bcpu[$1, k] = $6; rss[$1, k] = $7
        if ($1 == "pinpipe") { sw[k] = $8 }
        if ($1 == "rdkafka") { rsw[k] = $8 }
    }
    function row(label, tool,    k, w, c, b, r, m) {
        if (!n[tool]) return
        for (k = 1; k <= n[tool]; k++) { w[k] = wall[tool, k]; c[k] = cpu[tool, k]; b[k] = bcpu[tool, k]; r[k] = records / wall[tool, k] }
        med[tool] = median(r, n[tool])
        printf "%-44s %7.2f %8.2f %10.0f %10.0f %7.2f %9.2f\n", label, minimum(w, n[tool]), median(w, n[tool]),
            med[tool], records / minimum(w, n[tool]), median(c, n[tool]), median(b, n[tool])
    }
    END {
        printf "pinpipe run vs kcat and a bare librdkafka consumer: consuming the same preloaded topics, %s\n", date
        printf "machine: %s; cores %s; %d runs per tool, alternating\n", host, cpus, runs
        printf "broker: pinpipe broker (librdkafka 2.0.2 mock cluster), %d partitions per topic; preload: %s\n", parts, emu
        printf "records: %d (%d posts x pin, geo, user), all verified in the broker before the runs\n\n", records, posts
        printf "%-44s %7s %8s %10s %10s %7s %9s\n", "tool", "best s", "median s", "rec/s med", "rec/s best", "CPU s", "broker s"
        row("kcat -C -e, 3 topics in parallel (3 procs)", "kcat-par")
        row("kcat -C -e, one topic after another", "kcat-seq")
        row("bare librdkafka consumer (rdkafka_count)", "rdkafka")
        row("pinpipe run, from process start", "pinpipe")
        if (n["pinpipe"]) {
            for (k = 1; k <= n["pinpipe"]; k++) sr[k] = records / sw[k]
            med["pinpipe-after"] = median(sr, n["pinpipe"])
            printf "%-44s %7.2f %8.2f %10.0f %10.0f\n", "pinpipe run, from partition assignment", minimum(sw, n["pinpipe"]),
                median(sw, n["pinpipe"]), med["pinpipe-after"], records / minimum(sw, n["pinpipe"])
        }
        if (n["rdkafka"]) {
            for (k = 1; k <= n["rdkafka"]; k++) rr[k] = records / rsw[k]
            printf "%-44s %7.2f %8.2f %10.0f %10.0f\n", "bare consumer, first to last message", minimum(rsw, n["rdkafka"]),
                median(rsw, n["rdkafka"]), median(rr, n["rdkafka"]), records / minimum(rsw, n["rdkafka"])
        }
        printf "\nratio pinpipe run / peer (median records/s)     from start  from assignment\n"
        split("kcat-par kcat-seq rdkafka", peers, " ")
        split("kcat, 3 topics in parallel|kcat, one topic after another|bare librdkafka consumer", names, "|")
        for (i = 1; i <= 3; i++) if (n[peers[i]])
            printf "  vs %-44s %6.2fx %14.2fx\n", names[i], med["pinpipe"] / med[peers[i]], med["pinpipe-after"] / med[peers[i]]
        printf "\nwall time: kcat and the bare consumer from process start to exit; pinpipe run from process start\n"
        printf "to the /metrics poll (every %d ms) that shows all records: it includes joining the consumer group\n", poll
        printf "(the mock broker waits 3 s before the first rebalance); /metrics is rendered on request between\n"
        printf "two batches, so the resolution is the poll interval plus a batch. \"from partition assignment\": from the\n"
        printf "time-stamped \"kafka: assigned\" log line to the same poll. CPU s: user + sys of the tool\n"
        printf "(kcat: the three processes); broker s: CPU of the broker process during the run (it shares the cores).\n"
    }' "$RUNS_TSV" | tee -a "$RESULT"
}

# ---- latency and memory --------------------------------------------------------------------------

# lake_ratio DIR: the .zst objects under DIR, their JSON bytes and stored bytes, and the ratio.
lake_ratio() {
    local n stored json
    n=$(find "$1" -name '*.zst' 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] || { echo "no objects"; return 0; }
    stored=$(find "$1" -name '*.zst' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
    json=$(find "$1" -name '*.zst' -print0 | xargs -0 zstd -dcq | wc -c)
    awk -v n="$n" -v j="$json" -v s="$stored" 'BEGIN { printf "%d objects, %.0f -> %.0f bytes: %.2fx\n", n, j, s, j / s }'
}

# baseline: the broker's own latency at the same rate, seen by the bare consumer (no pinpipe run).
baseline() {
    local emu_pid out emu_line bwarm
    bench_broker "$tmp/broker-base.log"
    # one post creates the three topics (with --partitions), so the consumer finds them
    "$PINPIPE" emulate --to "kafka://$bootstrap" --count 1 --seed "$seed" --quiet ||
        die "emulate failed"
    say "latency baseline: the bare consumer alone for $baseline_s s at $rate posts/s"
    "$PINPIPE" emulate --to "kafka://$bootstrap" --count $((rate * (baseline_s + warmup + 10))) --rate "$rate" \
        --seed "$seed" 2>"$tmp/emulate-base.log" &
    emu_pid=$!
    pids+=("$emu_pid")
    sleep 1
    # the same warm-up as the run's "after the warm-up" figures (a third of the baseline at most)
    bwarm=$warmup
    [ $((3 * bwarm)) -le "$baseline_s" ] || bwarm=$((baseline_s / 3))
    out=$("$RDCOUNT" --follow $((baseline_s + bwarm)) --warmup "$bwarm" "${FETCH_X[@]}" "$bootstrap" \
        "${TOPICS[@]}") ||
        die "rdkafka_count --follow failed"
    kill -TERM "$emu_pid"
    wait "$emu_pid" || { cat "$tmp/emulate-base.log" >&2; die "emulate failed"; }
    emu_line=$(grep 'records delivered' "$tmp/emulate-base.log" | sed 's/^pinpipe: emulate: //')
    end_pid "$broker_pid"
    read -r n secs p50 p99 p999 max mean posts pp50 pp99 <<<"$out"
    {
        echo
        echo "latency baseline: the broker alone, $baseline_s s at --rate $rate after a $bwarm s warm-up, read by the"
        echo "bare librdkafka consumer (rdkafka_count --follow, consumer_poll, fetch.wait.max.ms=${fetch_wait}), each"
        echo "record timed from its Kafka timestamp to its arrival (1 ms steps, exact percentiles):"
        echo "  emulator: $emu_line"
        printf '  %d records in %.1f s (%.0f/s): p50 %d ms, p99 %d ms, p99.9 %d ms, max %d ms, mean %.1f ms\n' \
            "$n" "$secs" "$(awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }')" "$p50" "$p99" "$p999" "$max" "$mean"
        echo "  each post (its three records, by key) from its largest timestamp to its third record's arrival,"
        echo "  as pinpipe_post_visible_seconds measures a post: the comparable baseline for pinpipe run:"
        printf '  %d posts: p50 %d ms, p99 %d ms\n' "$posts" "$pp50" "$pp99"
    } | tee -a "$RESULT"
}

latency() {
    # At most rate x duration posts; the sampler stops the emulator after --duration s if it is behind.
    local count=$((rate * duration)) emu_pid log="$tmp/run-lat.log" emu_line perf_at perf_out
    perf_out="$OUT/stream-perf-$stamp.data"
    if [ "$baseline_s" -gt 0 ] && [ "$have_rdcount" = 1 ]; then baseline; fi
    bench_broker "$tmp/broker-lat.log"
    rm -rf "$tmp/sink-lake" # the lake of this run only, for its compression ratio
    say "latency: broker $bootstrap; pinpipe run with analytics.windows=$windows"
    # Not quiet: the assignment line tells when the run is ready to consume (the topics are created by
    # its own Metadata requests, with the broker's --partitions).
    start_run "$log" "stream-bench-lat-$stamp" --set "analytics.windows=$windows" "${FETCH_SET[@]}"
    wait_for_line "$log" "kafka: assigned" 60 || { cat "$log" >&2; die "pinpipe run was not assigned partitions"; }
    say "latency: run assigned ($(grep -m 1 -o 'assigned.*' "$log")); emulating $count posts at $rate posts/s"
    "$PINPIPE" emulate --to "kafka://$bootstrap" --count "$count" --rate "$rate" --seed "$seed" \
        2>"$tmp/emulate-lat.log" &
    emu_pid=$!
    pids+=("$emu_pid")
    perf_at=$(((duration - perf_s) / 2))
    [ "$perf_at" -ge "$warmup" ] || perf_at=$warmup
    "$PYTHON" "$tmp/helpers.py" sample "$api" "$run_pid" "$emu_pid" "$broker_pid" 5 "$duration" "$warmup" \
        "$perf_s" "$perf_at" "$perf_out" "$tmp/emulate-lat.log" 120 "$tmp/samples.jsonl" ||
        { tail -5 "$log" >&2; die "sampling failed"; }
    wait "$emu_pid" || { cat "$tmp/emulate-lat.log" >&2; die "emulate failed"; }
    emu_line=$(grep 'records delivered' "$tmp/emulate-lat.log" | sed 's/^pinpipe: emulate: //')
    records=$(sed -n 's/^[0-9]* posts (\([0-9]*\) records delivered).*/\1/p' <<<"$emu_line")
    [ -n "$records" ] || die "no summary from the emulator: $(cat "$tmp/emulate-lat.log")"
    cpu=$(ticks_s "$(cpu_ticks "$run_pid")")
    stop_run "$log"
    end_pid "$broker_pid"
    cp "$tmp/samples.jsonl" "$OUT/stream-samples-$stamp.jsonl"
    {
        echo
        "$PYTHON" "$tmp/helpers.py" report "$tmp/samples.jsonl" "$emu_line" "$rate" "$duration" "$warmup" \
            "$windows" "$records" "$fetch_wait"
        echo "  CPU of pinpipe run: $cpu s over the whole run; machine: $host_facts"
        if command -v zstd >/dev/null; then
            echo "  the run's lake, JSON bytes / stored bytes (zstd level of the run; small chunks share frames):"
            echo "    raw:     $(lake_ratio "$tmp/sink-lake/topics")"
            echo "    cleaned: $(lake_ratio "$tmp/sink-lake/cleaned")"
        fi
        echo "  percentiles: linear interpolation within the histogram bucket holding the rank (as Prometheus'"
        echo "  histogram_quantile); the bucket bounds are the resolution."
    } | tee -a "$RESULT"
    if [ "$perf_s" -gt 0 ] && [ -s "$perf_out" ]; then
        {
            echo
            echo "perf record -F 999 -g -p <run> for $perf_s s from t=${perf_at} s ($perf_out):"
            echo "  by thread: share of the run's samples, samples, cores (samples / 999 Hz / $perf_s s);"
            echo "  'pinpipe' is the loop thread (stream, windows, HTTP documents), pp-source the Kafka consumer"
            perf report -i "$perf_out" --no-children --sort comm --stdio -F overhead,sample,comm -g none 2>/dev/null |
                awk -v hz=999 -v s="$perf_s" '/^ +[0-9.]+%/ && ++k <= 12 { printf "    %8s %7d %5.2f  %s\n", $1, $2, $2 / hz / s, $3 }'
            for t in $(perf report -i "$perf_out" --no-children --sort comm --stdio -g none 2>/dev/null |
                awk '/^ +[0-9.]+%/ && ++k <= 6 { print $2 }'); do
                echo "  top symbols of $t (self, share of the run's samples):"
                perf report -i "$perf_out" --no-children --comms "$t" --sort dso,sym --stdio -g none 2>/dev/null |
                    awk '/^ +[0-9.]+%/ && ++k <= 8 { printf "    %s\n", $0 }'
            done
            echo "  the loop thread (pinpipe), inclusive (children) time:"
            perf report -i "$perf_out" --children --comms pinpipe --sort sym --stdio -g none 2>/dev/null |
                awk '/^ +[0-9.]+%/ && ++k <= 14 { printf "    %s\n", $0 }'
        } | tee -a "$RESULT"
    fi
}

[ "$only" = latency ] || throughput
[ "$only" = throughput ] || latency
say "results in ${RESULT#"$ROOT"/}, every run in ${RUNS_TSV#"$ROOT"/}"
