#!/usr/bin/env python3
"""Pharos side by side with Prometheus 2.42 and VictoriaMetrics 1.79, in one command.

    bench/compare.py                       # default: ~10.9k series x 2h at 15 s (5.2M samples)
    bench/compare.py --series=2000 --duration=30m --servers=pharos,victoriametrics

Builds Pharos (release preset) and the bench tools, installs the peers when missing (apt-get),
generates the dataset once (bench/gen), then for each server in turn: starts it fresh on
127.0.0.1 with an empty data dir, pushes the same remote-write requests with bench/loadgen,
and measures ingest samples/s (wall), CPU seconds per million samples (utime+stime from
/proc/<pid>/stat around the push), peak RSS (VmHWM), disk bytes per sample after a flush,
series and samples held, and dashboard range-query latency (bench/querygen.py; skipped where
/api/v1/query_range answers 404). Prints one Markdown table with Pharos's ratio to each peer.

Python 3 standard library only. Every wait is bounded; every server listens on loopback.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import querygen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "release")
PHAROS = os.path.join(BUILD, "server", "pharos")
GEN = os.path.join(BUILD, "bench", "gen", "pharos_gen")
LOADGEN = os.path.join(BUILD, "bench", "loadgen", "pharos_loadgen")
COMPACT = os.path.join(BUILD, "bench", "compact", "pharos_bench_compact")
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
VICTORIA = "/usr/bin/victoria-metrics"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVERS = ["prometheus", "victoriametrics", "pharos"]
NAMES = {"prometheus": "Prometheus", "victoriametrics": "VictoriaMetrics", "pharos": "Pharos"}


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(argv, **kw):
    log("$ " + " ".join(argv))
    return subprocess.run(argv, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def du_bytes(path):
    """Allocated bytes under `path` (what du reports)."""
    total = 0
    for d, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(d, name)).st_blocks * 512
            except OSError:
                pass
    return total


def wait_http(url, timeout_s, ok=(200,)):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, _ = querygen.http_get(url, timeout=2)
        if status in ok:
            return True
        time.sleep(0.1)
    return False


# --- setup -------------------------------------------------------------------------------

def build(skip):
    if skip and all(os.path.exists(p) for p in (PHAROS, GEN, LOADGEN, COMPACT)):
        return
    run(["cmake", "--preset", "release"], cwd=ROOT, stdout=subprocess.DEVNULL)
    run(["cmake", "--build", os.path.join("build", "release"), "--target", "pharos",
         "pharos_gen", "pharos_loadgen", "pharos_bench_compact", "-j1"], cwd=ROOT)


def ensure_peers(servers):
    """Installs missing peers; returns the servers that are still unavailable."""
    want = []
    if "prometheus" in servers and not (os.access(PROMETHEUS, os.X_OK) and os.access(PROMTOOL, os.X_OK)):
        want.append("prometheus")
    if "victoriametrics" in servers and not os.access(VICTORIA, os.X_OK):
        want.append("victoria-metrics")
    if not want:
        return []
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing {' '.join(want)}")
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=False, env=env)
    try:
        run(sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + want, env=env)
    except (subprocess.CalledProcessError, OSError) as e:
        log(f"could not install {' '.join(want)} ({e}); continuing without them")
    # The packages start services where systemd runs; ours listen on their own ports, so the
    # packaged ones only cost CPU: stop the ones this install just started.
    for svc in want:
        subprocess.run(sudo + ["systemctl", "stop", svc], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    missing = []
    if "prometheus" in servers and not os.access(PROMETHEUS, os.X_OK):
        missing.append("prometheus")
    if "victoriametrics" in servers and not os.access(VICTORIA, os.X_OK):
        missing.append("victoriametrics")
    return missing


# --- servers ------------------------------------------------------------------------------

class Server:
    """One server process: fresh data dir, loopback port, log file."""

    def __init__(self, kind, workdir):
        self.kind = kind
        self.dir = os.path.join(workdir, kind)
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.rusage = None
        self.log_path = os.path.join(self.dir, "server.log")

    def argv(self):
        cfg = os.path.join(self.dir, "config.yml")
        with open(cfg, "w") as f:  # no scrape configs: the dataset is all there is
            f.write("global:\n  scrape_interval: 15s\n")
        addr = f"127.0.0.1:{self.port}"
        if self.kind == "pharos":
            return [PHAROS, f"--config.file={cfg}", f"--storage.path={self.data}",
                    f"--web.listen-address={addr}", "--storage.retention.time=100y",
                    "--log.level=warn"]
        if self.kind == "prometheus":
            return [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address={addr}", "--web.enable-remote-write-receiver",
                    "--storage.tsdb.retention.time=100y", "--log.level=warn"]
        # VictoriaMetrics: no rollup cache, so repeated range queries measure the engine;
        # no latency offset, so freshly written samples are visible to queries at once; series
        # limits raised so /api/v1/series can list big datasets (its default stops at 30k).
        return [VICTORIA, f"-storageDataPath={self.data}", f"-httpListenAddr={addr}",
                "-retentionPeriod=100y", "-search.disableCache", "-search.latencyOffset=0s",
                "-search.maxSeries=10000000", "-search.maxUniqueTimeseries=10000000",
                "-loggerLevel=WARN"]

    @property
    def write_url(self):
        return self.base + "/api/v1/write"

    def start(self):
        logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        ready = "/health" if self.kind == "victoriametrics" else "/-/ready"
        if not wait_http(self.base + ready, 120):
            self.kill()
            raise RuntimeError(f"{self.kind} did not become ready; log: {self.log_path}")

    def stop(self, timeout_s=300):
        """SIGTERM, wait (bounded), SIGKILL if needed; keeps the rusage of the whole life."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid != 0:
                self.rusage = ru
                self.proc.returncode = status
                self.proc = None
                return
            time.sleep(0.05)
        log(f"{self.kind} did not stop within {timeout_s}s: SIGKILL")
        self.kill()

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            _, _, self.rusage = os.wait4(self.proc.pid, 0)
            self.proc = None


def get_json(url, timeout=120):
    status, body = querygen.http_get(url, timeout)
    if status != 200:
        return status, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def count_series(srv, start_s, end_s):
    q = urllib.parse.urlencode({"match[]": '{__name__!=""}', "start": f"{start_s:.3f}",
                                "end": f"{end_s:.3f}"})
    status, doc = get_json(f"{srv.base}/api/v1/series?{q}")
    if doc is None:
        return None, f"/api/v1/series: HTTP {status}"
    return len(doc.get("data", [])), ""


def count_samples(srv, end_s, range_s):
    """Samples held, by PromQL when the server has /api/v1/query (one count_over_time per
    metric name: without __name__ the series of different metrics would collide); otherwise
    the server's own appended-samples counter, marked as such."""
    status, doc = get_json(f"{srv.base}/api/v1/label/__name__/values")
    names = doc.get("data", []) if doc else []
    total, how = 0, "query"
    for name in names:
        q = urllib.parse.urlencode({"query": f'sum(count_over_time({{__name__="{name}"}}[{int(range_s)}s]))',
                                    "time": f"{end_s:.3f}"})
        status, doc = get_json(f"{srv.base}/api/v1/query?{q}")
        if doc is None or doc.get("status") != "success":
            how = "counter"
            break
        res = doc["data"]["result"]
        total += int(float(res[0]["value"][1])) if res else 0
    if names and how == "query":
        return total, how
    metric = {"pharos": "pharos_storage_samples_appended_total",
              "prometheus": "prometheus_tsdb_head_samples_appended_total",
              "victoriametrics": 'vm_rows_inserted_total{type="promremotewrite"}'}[srv.kind]
    status, body = querygen.http_get(f"{srv.base}/metrics", 30)
    total = 0
    found = False
    for line in body.decode(errors="replace").splitlines():
        if line.startswith(metric) and (len(line) == len(metric) or line[len(metric)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return (int(total) if found else None), "counter"


def measure(kind, args, ds, workdir, rw_file, full=True, run_no=0):
    """Starts `kind` fresh, pushes the dataset, measures. With full=False only the ingest
    figures (samples/s, CPU, RSS) are taken (repeat runs)."""
    srv = Server(kind, os.path.join(workdir, f"run{run_no}"))
    r = {"server": kind}
    log(f"{NAMES[kind]}: starting on {srv.base}")
    srv.start()
    try:
        pid = srv.proc.pid
        time.sleep(1.0)  # let start-up work settle before the CPU snapshot
        cpu0 = cpu_seconds(pid)
        lg = subprocess.run([LOADGEN, f"--requests={rw_file}", f"--url={srv.write_url}",
                             f"--deadline={args.load_deadline}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=args.load_deadline_s + 120)
        cpu1 = cpu_seconds(pid)
        sys.stderr.write(lg.stderr.decode(errors="replace"))
        load = json.loads(lg.stdout.decode().strip().splitlines()[-1])
        r["load"] = load
        r["samples_per_s"] = load["samples_per_second"]
        r["ingest_cpu_s"] = cpu1 - cpu0
        r["cpu_s_per_m"] = (cpu1 - cpu0) / max(1, load["samples_ok"]) * 1e6
        r["rss_hwm_mib"] = status_kib(pid, "VmHWM") / 1024
        if not full:
            srv.stop()
            shutil.rmtree(srv.dir, ignore_errors=True)
            return r
        # What the server holds (series, samples), before any flush.
        start_s = ds["min_time_ms"] / 1000 - 1
        end_s = ds["max_time_ms"] / 1000 + 1
        if kind == "victoriametrics":
            querygen.http_get(srv.base + "/internal/force_flush", 60)
        r["series"], r["series_err"] = count_series(srv, start_s, end_s)
        r["samples_held"], r["samples_how"] = count_samples(srv, end_s, end_s - start_s + 60)
        # Dashboard range queries over the last part of the data (rates need history).
        if args.queries:
            q_start = start_s + 900
            log(f"{NAMES[kind]}: range queries")
            r["queries"] = querygen.run_queries(srv.base, q_start, end_s, step=args.step,
                                                repeats=args.query_repeats)
        r["rss_hwm_after_queries_mib"] = status_kib(pid, "VmHWM") / 1024
        # Flush, then disk.
        cpu2 = cpu_seconds(pid)
        if kind == "victoriametrics":
            querygen.http_get(srv.base + "/internal/force_flush", 60)
            time.sleep(3)  # in-memory parts become files; let the merge that follows finish
            r["flush_cpu_s"] = cpu_seconds(pid) - cpu2
            r["disk_bytes"] = du_bytes(srv.data)
            r["disk_what"] = "after /internal/force_flush"
            srv.stop()
        elif kind == "pharos":
            srv.stop()  # SIGTERM: Pharos flushes everything on close
            ru = srv.rusage
            r["flush_cpu_s"] = (ru.ru_utime + ru.ru_stime) - cpu2 if ru else None
            r["disk_bytes"] = du_bytes(srv.data)
            r["disk_what"] = "after SIGTERM (flush on close)"
            r["disk_parts_sigterm"] = {d: du_bytes(os.path.join(srv.data, d)) for d in os.listdir(srv.data)
                                       if os.path.isdir(os.path.join(srv.data, d))}
            # Pharos's shutdown leaves its last writes in RocksDB's WAL, uncompressed; the
            # counterpart of the peers' flushed/compacted figures is after a RocksDB flush and
            # compaction, done offline by pharos_bench_compact.
            r["disk_bytes_sigterm"] = r["disk_bytes"]
            r["disk_b_per_sample_sigterm"] = r["disk_bytes"] / max(1, load["samples_ok"])
            t0 = time.monotonic()
            p = subprocess.Popen([COMPACT, f"--storage.path={srv.data}"], stdout=subprocess.DEVNULL)
            _, st, ru = os.wait4(p.pid, 0)
            p.returncode = st
            r["compact_seconds"] = time.monotonic() - t0
            r["compact_cpu_s"] = ru.ru_utime + ru.ru_stime
            if st == 0:
                r["disk_bytes"] = du_bytes(srv.data)
                r["disk_what"] = "after SIGTERM + offline FlushAndCompact"
            r["disk_parts"] = {d: du_bytes(os.path.join(srv.data, d)) for d in os.listdir(srv.data)
                               if os.path.isdir(os.path.join(srv.data, d))}
        else:
            r["disk_bytes"] = du_bytes(srv.data)
            r["disk_what"] = "head chunks + WAL"
            srv.stop()
            ru = srv.rusage
            r["flush_cpu_s"] = None
        r["disk_b_per_sample"] = r["disk_bytes"] / max(1, load["samples_ok"])
        r["exit"] = srv.rusage is not None
    finally:
        srv.kill()
    return r


def prometheus_block(args, workdir, ds):
    """promtool's compacted block(s) made from the same data as OpenMetrics."""
    om = os.path.join(workdir, "dataset.om")
    out = os.path.join(workdir, "promtool-blocks")
    run([GEN] + gen_flags(args, ds["start_ms"]) + [f"--om-out={om}"], stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", om, out],
        stdout=subprocess.DEVNULL, timeout=1800)
    secs = time.monotonic() - t0
    os.remove(om)
    size = du_bytes(out)
    shutil.rmtree(out, ignore_errors=True)
    return {"bytes": size, "b_per_sample": size / ds["samples"], "seconds": secs}


def gen_flags(args, start_ms):
    return [f"--series={args.series}", f"--duration={args.duration}", f"--shards={args.shards}",
            f"--seed={args.seed}", f"--start={start_ms}"]


# --- report -------------------------------------------------------------------------------

def fmt_rate(v):
    return "—" if v is None else (f"{v / 1e6:.2f}M" if v >= 1e5 else f"{v / 1e3:.1f}k")


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def ratio(ph, peer, higher_better):
    if ph is None or peer in (None, 0) or ph == 0:
        return "—"
    x = ph / peer
    good = x > 1 if higher_better else x < 1
    return f"{x:.2f}× {'✓' if good else '✗'}"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "loadavg": os.getloadavg()}


def table(results, block, sink, ds, args):
    servers = [s for s in SERVERS if s in results]
    res = {s: results[s] for s in servers}

    def get(s, key):
        v = res[s]
        for k in key.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        return v

    rows = []
    #        label, key, formatter, higher is better, target note
    spec = [
        ("ingest samples/s (wall, median)", "samples_per_s", fmt_rate, True, "above VictoriaMetrics"),
        ("ingest CPU s / M samples (median)", "cpu_s_per_m", lambda v: fmt(v, ".2f"), False, "below VictoriaMetrics"),
        ("peak RSS MiB (VmHWM after ingest, median)", "rss_hwm_mib", lambda v: fmt(v, ".0f"), False, "below Prometheus"),
        ("disk bytes / sample after flush", "disk_b_per_sample", lambda v: fmt(v, ".2f"), False, "below VictoriaMetrics"),
        ("range queries, sum of medians ms", "queries.sum_median_ms", lambda v: fmt(v, ".0f"), False, "below VictoriaMetrics"),
    ]
    header = ["figure"] + [NAMES[s] for s in servers]
    peers = [s for s in servers if s != "pharos"]
    if "pharos" in servers:
        header += [f"Pharos / {NAMES[p]}" for p in peers]
    header.append("Pharos target")
    for label, key, f, hib, target in spec:
        cells = []
        for s in servers:
            v = get(s, key)
            if key.startswith("queries") and res[s].get("queries") and not res[s]["queries"]["available"]:
                cells.append("n/a (" + res[s]["queries"]["reason"].replace("/api/v1/", "") + ")")
            elif key.startswith("queries") and not args.queries:
                cells.append("skipped")
            elif key.startswith("queries") and res[s].get("queries", {}).get("reason"):
                cells.append(f"{f(v)} ({res[s]['queries']['reason']})")
            else:
                cells.append(f(v))
        if "pharos" in servers:
            cells += [ratio(get("pharos", key), get(p, key), hib) for p in peers]
        rows.append([label] + cells + [target])
        # Same-run pairs: servers take turns, so a ratio within one run shares that run's noise.
        if key in ("samples_per_s", "cpu_s_per_m") and args.runs > 1 and "pharos" in servers:
            pc = []
            for p in peers:
                pairs = [a[key] / b[key] for a, b in zip(res["pharos"].get("runs", []), res[p].get("runs", []))
                         if b[key]]
                pc.append(ratio(statistics.median(pairs), 1, hib) if pairs else "—")
            rows.append(["  median of same-run Pharos/peer ratios"] + [""] * len(servers) + pc + [""])

    def other(label, fn, target=""):
        cells = [fn(s) for s in servers]
        if "pharos" in servers:
            cells += [""] * len(peers)
        rows.append([label] + cells + [target])

    if block is not None:
        other("  Prometheus compacted block (promtool) B/sample",
              lambda s: fmt(block["b_per_sample"], ".2f") if s == "prometheus" else "")
    if "pharos" in res and res["pharos"].get("disk_b_per_sample_sigterm") is not None:
        other("  Pharos right after SIGTERM B/sample (before compaction)",
              lambda s: fmt(res[s]["disk_b_per_sample_sigterm"], ".2f") if s == "pharos" else "")
    other("disk measured", lambda s: res[s].get("disk_what", ""))
    other("flush CPU s (after ingest)",
          lambda s: fmt(res[s].get("flush_cpu_s"), ".2f") + (
              f" + {res[s]['compact_cpu_s']:.2f} compaction" if res[s].get("compact_cpu_s") is not None else ""))
    if args.runs > 1:
        other(f"ingest samples/s, each of {args.runs} runs",
              lambda s: " / ".join(fmt_rate(x["samples_per_s"]) for x in res[s].get("runs", [])))
        other(f"ingest CPU s / M, each of {args.runs} runs",
              lambda s: " / ".join(f"{x['cpu_s_per_m']:.2f}" for x in res[s].get("runs", [])))
    other("samples held (of %d)" % ds["samples"],
          lambda s: "—" if res[s].get("samples_held") is None else
          f"{res[s]['samples_held']}{'' if res[s]['samples_how'] == 'query' else ' (appended counter)'}")
    other("series via /api/v1/series (of %d)" % ds["series"],
          lambda s: str(res[s]["series"]) if res[s].get("series") is not None else res[s].get("series_err", "—"))
    other("samples dropped / non-2xx",
          lambda s: f"{res[s]['load']['samples_dropped']} / {sum(res[s]['load']['non_2xx'].values())}")
    other("write latency p50 / p99 ms",
          lambda s: f"{res[s]['load']['latency_p50_ms']:.1f} / {res[s]['load']['latency_p99_ms']:.1f}")
    if args.queries and "prometheus" in res and res["prometheus"].get("queries"):
        ref = res["prometheus"]["queries"]
        n = len(querygen.QUERIES)

        def eq(s):
            if s == "prometheus":
                ok = sum(e["ok"] for e in ref["queries"])
                return f"{ok}/{n} (reference)"
            c = querygen.compare_results(ref, res[s].get("queries") or {})
            return "n/a" if c is None else f"{c}/{n}"
        other("PromQL results equal to Prometheus's", eq, f"{n}/{n}")

    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    out = "\n".join(lines)
    fastest = max((res[s]["samples_per_s"] for s in servers), default=0)
    out += (f"\n\nDataset: {ds['series']} series, {ds['samples']} samples ({args.duration} at 15 s), "
            f"{ds['requests']} remote-write 1.0 requests of <= 2000 samples in {ds['shards']} shards, "
            f"{ds['body_bytes'] / ds['samples']:.1f} snappy bytes/sample on the wire.")
    m = args.machine
    out += (f"\nMachine: {m['nproc']} × {m['cpu']}; load average before the run "
            f"{m['loadavg'][0]:.1f} / {m['loadavg'][1]:.1f} / {m['loadavg'][2]:.1f} (1/5/15 min): "
            "other work shares these cores, so wall-clock figures are noisy; CPU s/M much less so.")
    if sink:
        out += (f"\nLoad generator ceiling (null sink, same machine): {fmt_rate(sink['samples_per_second'])} "
                f"samples/s = {sink['samples_per_second'] / max(1, fastest):.1f}× the fastest server.")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=10900, help="approximate series count [10900]")
    ap.add_argument("--duration", default="2h", help="dataset time span [2h]")
    ap.add_argument("--shards", type=int, default=4, help="remote-write shards = connections [4]")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5,
                    help="pushes per server; ingest figures are medians [5]")
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset of " + ",".join(SERVERS))
    ap.add_argument("--no-queries", dest="queries", action="store_false", help="skip range queries")
    ap.add_argument("--query-repeats", type=int, default=5)
    ap.add_argument("--step", type=int, default=30, help="range query step, seconds [30]")
    ap.add_argument("--no-prom-block", dest="prom_block", action="store_false",
                    help="skip the promtool compacted-block measurement")
    ap.add_argument("--no-null-sink", dest="null_sink", action="store_false")
    ap.add_argument("--skip-build", action="store_true", help="use existing binaries when present")
    ap.add_argument("--workdir", help="keep data here (default: a temp dir, removed afterwards)")
    ap.add_argument("--json", help="also write all raw figures to this file")
    ap.add_argument("--load-deadline", default="8m", help="bound on each push [8m]")
    args = ap.parse_args()
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s}")
    from_ms = {"s": 1000, "m": 60000, "h": 3600000}
    args.load_deadline_s = int(args.load_deadline[:-1]) * from_ms[args.load_deadline[-1]] // 1000

    t_start = time.monotonic()
    args.machine = machine()
    build(args.skip_build)
    for s in ensure_peers(servers):
        servers.remove(s)
    if not servers:
        log("no server left to measure")
        return 1
    workdir = args.workdir or tempfile.mkdtemp(prefix="pharos-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        rw = os.path.join(workdir, "requests.bin")
        hour = 3600 * 1000
        dur_ms = int(args.duration[:-1]) * from_ms[args.duration[-1]]
        start_ms = int(time.time() * 1000) // hour * hour - dur_ms
        out = subprocess.run([GEN] + gen_flags(args, start_ms) + [f"--rw-out={rw}"], check=True,
                             stdout=subprocess.PIPE).stdout
        ds = json.loads(out)
        log(f"dataset: {ds['series']} series, {ds['samples']} samples, {ds['requests']} requests "
            f"({ds['body_bytes'] / 1e6:.0f} MB) in {ds['seconds']:.1f}s")
        sink = None
        if args.null_sink:
            lg = subprocess.run([LOADGEN, f"--requests={rw}", "--null-sink", "--repeat=3",
                                 "--deadline=5m"], stdout=subprocess.PIPE, timeout=600)
            sink = json.loads(lg.stdout.decode().strip().splitlines()[-1])
            log(f"null sink: {sink['samples_per_second'] / 1e6:.2f}M samples/s")
        results = {}
        runs = {}
        # Servers take turns, run after run, so a noisy minute on the shared machine hits all.
        for run_no in range(args.runs):
            for kind in [s for s in SERVERS if s in servers]:
                r = measure(kind, args, ds, workdir, rw, full=run_no == 0, run_no=run_no)
                if run_no == 0:
                    results[kind] = r
                runs.setdefault(kind, []).append(
                    {k: r[k] for k in ("samples_per_s", "cpu_s_per_m", "rss_hwm_mib")})
                log(f"{NAMES[kind]} run {run_no + 1}/{args.runs}: {r['samples_per_s'] / 1e6:.2f}M samples/s, "
                    f"{r['cpu_s_per_m']:.2f} CPU s/M, {r['rss_hwm_mib']:.0f} MiB"
                    + (f", {r['disk_b_per_sample']:.2f} B/sample" if run_no == 0 else ""))
        for kind, rs in runs.items():  # medians over the runs
            results[kind]["runs"] = rs
            for k in ("samples_per_s", "cpu_s_per_m", "rss_hwm_mib"):
                results[kind][k] = statistics.median(x[k] for x in rs)
        block = None
        if "prometheus" in servers and args.prom_block:
            log("promtool tsdb create-blocks-from openmetrics (Prometheus's compacted block)")
            block = prometheus_block(args, workdir, ds)
        text = table(results, block, sink, ds, args)
        print(text)
        log(f"total {time.monotonic() - t_start:.0f}s")
        if args.json:
            for r in results.values():  # query results are large; keep timings only
                for e in (r.get("queries") or {}).get("queries", []):
                    e.pop("result", None)
            with open(args.json, "w") as f:
                json.dump({"machine": args.machine, "dataset": ds, "results": results, "promtool_block": block,
                           "null_sink": sink, "table": text}, f, indent=1)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
