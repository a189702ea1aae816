#!/usr/bin/env python3
"""Paired OpenClaw-style devices coming back (issue #13): the node connect cells and the reconnect storm,
several runs each, interleaved, medians printed as Markdown. Run by tests/bench/reconnect.sh.

Environment: LOAD and CORE_BENCH (the binaries; `openclaw` must be beside LOAD), RUNS (default 5),
N (devices, default 10000), C (connect cell concurrency, default 32), SOURCES (storm source
addresses, default 200), QUICK=1 (tiny sizes, one run).
"""
import json
import os
import re
import statistics
import subprocess
import sys

LOAD = os.environ["LOAD"]
CORE_BENCH = os.environ["CORE_BENCH"]
QUICK = os.environ.get("QUICK") == "1"
RUNS = 1 if QUICK else int(os.environ.get("RUNS", "5"))
N = int(os.environ.get("N", "300" if QUICK else "10000"))
C = int(os.environ.get("C", "8" if QUICK else "32"))
SOURCES = int(os.environ.get("SOURCES", "8" if QUICK else "200"))
AUTHS = ["token", "device-token"]
# Storm variants: (label, auth, extra load arguments). The last one isolates the cost of writing each
# device's lastSeenAtMs at admission: its devices were seen less than a minute before, so nothing is
# written.
STORMS = [
    ("token", "token", []),
    ("device-token", "device-token", []),
    ("token, seen < 1 min (no write)", "token", ["--last-seen", "0"]),
]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(cmd, timeout=600):
    print("   $", " ".join(os.path.basename(c) if c in (LOAD, CORE_BENCH) else c for c in cmd), flush=True)
    print("   load average", loadavg(), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    for line in r.stdout.splitlines():
        if not line.startswith("RESULT "):
            print("     ", line, flush=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}")
    return r.stdout


def result(out):
    lines = [l for l in out.splitlines() if l.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):])


def core_cells(out):
    cells = {}
    for line in out.splitlines():
        m = re.match(r"^(token|device-token)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", line)
        if m:
            cells[m.group(1)] = {
                "rate": float(m.group(3)),
                "p50": float(m.group(4)) / 1000,
                "p95": float(m.group(5)) / 1000,
                "p99": float(m.group(6)) / 1000,
            }
    return cells


def med(values):
    return statistics.median(values) if values else float("nan")


def all_of(values, fmt):
    return " / ".join(fmt.format(v) for v in values)


def main():
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} CPUs, {model}, {os.uname().release}; open files limit "
          f"{subprocess.run(['sh', '-c', 'ulimit -n'], stdout=subprocess.PIPE, text=True).stdout.strip()}")
    print(f"{RUNS} runs, N={N}, C={C}, storm sources={SOURCES}\n", flush=True)
    core = {a: [] for a in AUTHS}
    gw = {a: [] for a in AUTHS}
    storm = {label: [] for label, _, _ in STORMS}
    loads = []
    for i in range(RUNS):
        print(f"==> round {i + 1}/{RUNS}", flush=True)
        loads.append(loadavg())
        args = ["--connect-only"] + (["--smoke"] if QUICK else [])
        for a, cell in core_cells(run([CORE_BENCH] + args)).items():
            core[a].append(cell)
        for a in AUTHS:
            out = run([LOAD, "--spawn", "--mode", "connect", "--auth", a, "-c", str(C), "-n", str(N), "--json"])
            gw[a].append(result(out))
        for label, a, extra in STORMS:
            out = run([LOAD, "--mode", "storm", "--auth", a, "-n", str(N), "--sources", str(SOURCES), "--json"] + extra)
            storm[label].append(result(out))
    loads.append(loadavg())

    print(f"\n## Medians of {RUNS} runs (load average at each round: {', '.join(loads)})\n")
    print("| cell | connects/s | p50 | p95 | p99 | errors | gateway CPU per connect |")
    print("|---|---:|---|---|---|---:|---|")
    for a in AUTHS:
        cs = core[a]
        print(f"| core alone, {a} | {med([c['rate'] for c in cs]):,.0f} ({all_of([c['rate'] for c in cs], '{:,.0f}')}) "
              f"| {med([c['p50'] for c in cs]) * 1000:.1f} µs | {med([c['p95'] for c in cs]) * 1000:.1f} µs "
              f"| {med([c['p99'] for c in cs]) * 1000:.1f} µs | – | – |")
    for a in AUTHS:
        rs = gw[a]
        m = lambda k: med([r["methods"]["connect"][k] for r in rs])
        cpu = med([(r["cpu_after_s"] - r["cpu_before_s"]) / max(r["ok"], 1) * 1e6 for r in rs])
        print(f"| gateway, {a}, C={C} | {med([r['rate'] for r in rs]):,.0f} ({all_of([r['rate'] for r in rs], '{:,.0f}')}) "
              f"| {m('p50'):.2f} ms | {m('p95'):.2f} ms | {m('p99'):.2f} ms | {sum(r['errors'] for r in rs)} "
              f"| {cpu:.0f} µs |")
    print()
    print("| storm | all admitted (each run) | connect p50 / p99 / max | 503 retries | gateway CPU (core thread) "
          "| generator CPU | other processes' CPU (each run) | RSS before → after, peak | errors |")
    print("|---|---|---|---:|---|---|---|---|---:|")
    for label, _, _ in STORMS:
        rs = storm[label]
        m = lambda k: med([r["connect_ms"][k] for r in rs])
        mib = lambda k: med([r[k] / 1024 for r in rs])
        core = med([r["threads"].get("pairing-core", {}).get("run_s", float("nan")) for r in rs])
        print(f"| {N} devices, {label}, {SOURCES} addresses | {med([r['all_admitted_s'] for r in rs]):.2f} s "
              f"({all_of([r['all_admitted_s'] for r in rs], '{:.2f}')}) "
              f"| {m('p50'):.0f} / {m('p99'):.0f} / {m('max'):.0f} ms | {sum(r['retries'] for r in rs)} "
              f"| {med([r['storm_cpu_s'] for r in rs]):.2f} s ({core:.2f} s) "
              f"| {med([r['generator_cpu_s'] for r in rs]):.2f} s "
              f"| {all_of([r['others_cpu_s'] for r in rs], '{:.1f}')} s "
              f"| {mib('rss_before_kib'):.0f} → {mib('rss_after_kib'):.0f} MiB, {mib('rss_peak_kib'):.0f} MiB "
              f"| {sum(r['errors'] for r in rs)} |")


if __name__ == "__main__":
    main()
