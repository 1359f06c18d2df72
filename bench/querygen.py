#!/usr/bin/env python3
"""Dashboard range queries against any server speaking the Prometheus HTTP API.

The query list is what a Node Exporter Full dashboard plus a RED dashboard for the HTTP
service ask of the bench dataset (bench/gen/dataset.h). `run_queries` times each one as a
`/api/v1/query_range` call (median of N runs) and keeps the results so they can be compared
with Prometheus's (`compare_results`). A server that answers 404 (Pharos until its PromQL
engine is wired to the HTTP API) is reported as unavailable rather than failing the run.

Standalone:  bench/querygen.py --url=http://127.0.0.1:9090 --start=S --end=E [--step=30]
"""

import argparse
import json
import math
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request

# 36 queries: node-exporter panels, HTTP service RED panels, scrape health.
QUERIES = [
    '100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)',
    'sum by (instance, mode) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
    'avg by (instance) (irate(node_cpu_seconds_total{mode="user"}[5m]))',
    'sum without (cpu) (rate(node_cpu_seconds_total{mode="system"}[5m]))',
    'count by (instance) (node_cpu_seconds_total{mode="idle"})',
    'node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes',
    '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
    'node_memory_Cached_bytes + node_memory_Buffers_bytes',
    'node_load1',
    'avg_over_time(node_load5[10m])',
    'stddev_over_time(node_load1[15m])',
    '1 - node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes{fstype!="tmpfs"}',
    'deriv(node_filesystem_free_bytes{mountpoint="/"}[30m])',
    'predict_linear(node_filesystem_avail_bytes{mountpoint="/data"}[1h], 4 * 3600)',
    'clamp_min(node_filesystem_avail_bytes / 1024 / 1024 / 1024, 10)',
    'rate(node_network_receive_bytes_total{device!="lo"}[5m]) * 8',
    'sum by (instance) (rate(node_network_transmit_bytes_total[5m]))',
    'sort_desc(sum by (instance) (rate(node_network_receive_bytes_total[5m])))',
    'changes(node_boot_time_seconds[1h])',
    'label_replace(node_load15, "host", "$1", "instance", "([^:]+):.*")',
    'sum by (handler) (rate(http_requests_total[5m]))',
    'sum by (handler, status) (increase(http_requests_total[5m]))',
    'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    'topk(5, sum by (instance) (rate(http_requests_total[5m])))',
    'resets(http_requests_total[1h])',
    'histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{handler="/api/v1/users"}[5m])))',
    'sum by (handler) (rate(http_request_duration_seconds_sum[5m])) / sum by (handler) (rate(http_request_duration_seconds_count[5m]))',
    'increase(failed_logins_total[1h])',
    'rate(process_cpu_seconds_total[5m])',
    'quantile by (job) (0.9, rate(process_cpu_seconds_total[5m]))',
    'delta(go_goroutines[10m])',
    'abs(delta(process_resident_memory_bytes[5m]))',
    'count by (job) (up == 1)',
    'max_over_time(scrape_duration_seconds[5m])',
    'sum by (job) (scrape_samples_scraped)',
]


def http_get(url, timeout=60):
    """(status, body bytes); status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode()


def query_range(base, q, start, end, step, timeout=60):
    params = urllib.parse.urlencode({"query": q, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                     "step": str(step)})
    return http_get(f"{base}/api/v1/query_range?{params}", timeout)


def run_queries(base, start, end, step=30, repeats=5, deadline_s=300):
    """Times every query. Returns {"available": bool, "reason": str, "queries": [{query,
    median_ms, ok, error, result}], "sum_median_ms": float|None}."""
    out = {"available": True, "reason": "", "queries": [], "sum_median_ms": None}
    status, body = query_range(base, "1", start, end, step)
    if status in (404, 405, 501) or status == 0:
        out["available"] = False
        out["reason"] = f"/api/v1/query_range answered {status or 'nothing'}"
        return out
    t_end = time.monotonic() + deadline_s
    total = 0.0
    for q in QUERIES:
        entry = {"query": q, "median_ms": None, "ok": False, "error": "", "result": None}
        times = []
        for i in range(repeats):
            if time.monotonic() > t_end:
                entry["error"] = "bench deadline"
                break
            t0 = time.perf_counter()
            status, body = query_range(base, q, start, end, step)
            times.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                entry["error"] = f"HTTP {status}: {body[:200].decode(errors='replace')}"
                break
            if i == 0:
                try:
                    doc = json.loads(body)
                    entry["result"] = doc.get("data", {}).get("result")
                    entry["result_series"] = len(entry["result"] or [])
                except ValueError as e:
                    entry["error"] = f"bad JSON: {e}"
                    break
        if not entry["error"] and times:
            entry["ok"] = True
            entry["median_ms"] = statistics.median(times)
            total += entry["median_ms"]
        out["queries"].append(entry)
    if all(e["ok"] for e in out["queries"]):
        out["sum_median_ms"] = total
    else:
        failed = sum(not e["ok"] for e in out["queries"])
        out["sum_median_ms"] = total
        out["reason"] = f"{failed} queries failed"
    return out


def _series_map(result):
    m = {}
    for s in result or []:
        key = tuple(sorted(s.get("metric", {}).items()))
        m[key] = [(float(t), v) for t, v in s.get("values", [])]
    return m


def _close(a, b):
    fa, fb = float(a), float(b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    return abs(fa - fb) <= 1e-9 * max(abs(fa), abs(fb)) or abs(fa - fb) < 1e-300


def results_equal(ref, got):
    a, b = _series_map(ref), _series_map(got)
    if a.keys() != b.keys():
        return False
    for k, pts in a.items():
        other = b[k]
        if len(pts) != len(other):
            return False
        for (t1, v1), (t2, v2) in zip(pts, other):
            if abs(t1 - t2) > 1e-6 or not _close(v1, v2):
                return False
    return True


def compare_results(reference, other):
    """How many of `other`'s query results equal `reference`'s (both from run_queries)."""
    if not reference.get("available") or not other.get("available"):
        return None
    n = 0
    for r, o in zip(reference["queries"], other["queries"]):
        if r["ok"] and o["ok"] and results_equal(r["result"], o["result"]):
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--start", type=float, required=True)
    ap.add_argument("--end", type=float, required=True)
    ap.add_argument("--step", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    r = run_queries(a.url.rstrip("/"), a.start, a.end, a.step, a.repeats)
    if not r["available"]:
        print(r["reason"])
        return 1
    for e in r["queries"]:
        ms = f"{e['median_ms']:.1f} ms" if e["ok"] else e["error"]
        print(f"{ms:>12}  {e['query']}")
    print(f"sum of medians: {r['sum_median_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
