#!/usr/bin/env python3
"""Side-by-side benchmark of our gateway and the real OpenClaw gateway (issue #7).

Run through tests/bench/vs-openclaw.sh, which installs OpenClaw and builds ours first. Everything is on
loopback; every process started here is in its own process group and killed at the end of its cell.

Environment: OURS (our `openclaw` binary), LOAD (our `load` binary), NODE and OCMJS (Node.js and
OpenClaw's openclaw.mjs), QUICK=1 for a small smoke run, ONLY_FLOWS=1 for the operator-flow cells only
(no node flows, idle RSS, `nodes pending` or hold), OURS_RUNS=K to run each of our cells K times (the
summary takes the run with the median rate; OpenClaw's cells run once: they take minutes).
"""
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
import urllib.request

OURS = os.environ["OURS"]
LOAD = os.environ["LOAD"]
NODE = os.environ["NODE"]
OCMJS = os.environ["OCMJS"]
QUICK = os.environ.get("QUICK") == "1"
ONLY_FLOWS = os.environ.get("ONLY_FLOWS") == "1"
OURS_RUNS = max(1, int(os.environ.get("OURS_RUNS", "1")))
WORK = tempfile.mkdtemp(prefix="vs-openclaw-")
TOKEN = "bench-" + os.urandom(12).hex()
LOOPBACK = "127.0.0.1"

# Sizes: (paired first, connections, measured flows) per cell and gateway. OpenClaw's measured flows
# are fewer: at ~50 flows/s more would take minutes and grow the store the cell is about.
if QUICK:
    CELLS = [("N=1000,C=32", 100, 32, 200, 50), ("N=5000,C=32", 200, 32, 200, 50),
             ("N=1000,C=1", 100, 1, 100, 30), ("N=1000,C=256", 100, 256, 500, None)]
    HOLD_OURS, HOLD_OC, NODE_FLOWS_OURS, NODE_FLOWS_OC, PENDING_RUNS = 500, 50, 200, 30, 3
else:
    CELLS = [("N=1000,C=32", 1000, 32, 5000, 300), ("N=5000,C=32", 5000, 32, 5000, 300),
             ("N=1000,C=1", 1000, 1, 1000, 200), ("N=1000,C=256", 1000, 256, 5000, None)]
    HOLD_OURS, HOLD_OC, NODE_FLOWS_OURS, NODE_FLOWS_OC, PENDING_RUNS = 10000, 1000, 2000, 300, 10

OC_ENV = {
    # Loopback only: no chat channels, model providers, mDNS, browser control, canvas host, cron.
    "OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_SKIP_GMAIL_WATCHER": "1", "OPENCLAW_DISABLE_BONJOUR": "1",
    "OPENCLAW_SKIP_BROWSER_CONTROL_SERVER": "1", "OPENCLAW_SKIP_CANVAS_HOST": "1",
    "OPENCLAW_SKIP_CRON": "1", "OPENCLAW_SKIP_PROVIDERS": "1", "OPENCLAW_NO_RESPAWN": "1",
}


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def tree(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, i = [pid], 0
    while i < len(out):
        out.extend(kids.get(out[i], []))
        i += 1
    return out


def rss_mib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


class Gateway:
    """One gateway process on a fresh state directory, with the time to its first accepted TCP
    connection measured from the spawn."""

    def __init__(self, kind):
        self.kind = kind
        self.port = free_port()
        self.state = tempfile.mkdtemp(dir=WORK, prefix=kind + "-")
        env = dict(os.environ, OPENCLAW_STATE_DIR=self.state, RUST_LOG="warn")
        if kind == "ours":
            with open(os.path.join(self.state, "openclaw.json"), "w") as f:
                json.dump({"gateway": {"auth": {"mode": "token", "token": TOKEN}}}, f)
            os.chmod(os.path.join(self.state, "openclaw.json"), 0o600)
            cmd = [OURS, "gateway", "--port", str(self.port)]
        else:
            env.update(OC_ENV)
            cmd = [NODE, OCMJS, "gateway", "--allow-unconfigured", "--auth", "token", "--token", TOKEN,
                   "--port", str(self.port), "--bind", "loopback"]
        self.log = open(os.path.join(self.state, "..", f"{kind}-{self.port}.log"), "w")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = t0 + 120
        while True:
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.perf_counter() > deadline:
                    self.stop()
                    raise RuntimeError(f"{kind} gateway did not start; see {self.log.name}")
                time.sleep(0.001)
        self.start_ms = (time.perf_counter() - t0) * 1000
        self.url = f"ws://{LOOPBACK}:{self.port}/"
        if kind == "openclaw":
            self.url = self.url.rstrip("/")

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.log.close()

    def load(self, *args, timeout=1800):
        cmd = [LOAD, "--url", self.url, "--token", TOKEN, "--pid", str(self.proc.pid), "--json", *map(str, args)]
        if self.kind == "openclaw":
            cmd.append("--node-token")
        print("   $", " ".join(c if c != TOKEN else "$TOKEN" for c in cmd).replace(LOAD, "load"), flush=True)
        print("   load average", loadavg(), flush=True)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        sys.stdout.write("".join("   | " + l + "\n" for l in r.stdout.splitlines() if not l.startswith("RESULT")))
        if r.stderr.strip():
            sys.stdout.write("".join("   ! " + l + "\n" for l in r.stderr.strip().splitlines()[-4:]))
        res = [json.loads(l[7:]) for l in r.stdout.splitlines() if l.startswith("RESULT ")]
        if r.returncode != 0 or not res:
            raise RuntimeError(f"load failed ({r.returncode}) against {self.kind}")
        return res[-1]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def durability_limit(flows=300):
    """Two durable changes per flow, each an atomic write: temp file + fsync + rename + fsync dir."""
    d = tempfile.mkdtemp(dir=WORK, prefix="fsync-")
    body = json.dumps({f"node-{i}": {"nodeId": f"node-{i}", "createdAtMs": i} for i in range(8)}).encode()
    dfd = os.open(d, os.O_RDONLY)
    t0 = time.perf_counter()
    for i in range(flows):
        for name in ("pending.json", "paired.json"):
            tmp = os.path.join(d, f".{name}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, body)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, os.path.join(d, name))
            os.fsync(dfd)
    secs = time.perf_counter() - t0
    os.close(dfd)
    return flows / secs, secs / flows / 2 * 1000


def cli_pending_ms(g, runs):
    """Median wall time of `openclaw nodes pending` with each gateway's own CLI."""
    if g.kind == "ours":
        cmd = [OURS, "nodes", "pending", "--url", g.url, "--token", TOKEN]
        env = dict(os.environ, OPENCLAW_STATE_DIR=tempfile.mkdtemp(dir=WORK))
    else:
        cmd = [NODE, OCMJS, "nodes", "pending", "--url", g.url, "--token", TOKEN]
        env = dict(os.environ, OPENCLAW_STATE_DIR=tempfile.mkdtemp(dir=WORK), **OC_ENV)
    walls = []
    for _ in range(runs + 1):  # the first run (OpenClaw pairs the CLI's device) is not counted
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        walls.append((time.perf_counter() - t0) * 1000)
        if r.returncode != 0:
            raise RuntimeError(f"{g.kind} nodes pending failed: {r.stdout}{r.stderr}")
    return statistics.median(walls[1:]), walls[1:]


def page_bytes(g):
    total = 0
    for path in ["/", "/app.js", "/style.css", "/pkg/pairing_wasm.js", "/pkg/pairing_wasm_bg.wasm"]:
        req = urllib.request.Request(f"http://{LOOPBACK}:{g.port}{path}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=10) as r:
            total += len(r.read())
    return total


def p99(res):
    return max(m["p99"] for m in res["methods"].values())


def main():
    out = {"cells": {}, "start_ms": {"ours": [], "openclaw": []}}
    print(f"work dir {WORK}; {os.cpu_count()} cores; open files limit {open('/proc/self/limits').read().split('Max open files')[1].split()[0]}")
    fl, ms = durability_limit()
    out["durability"] = fl
    print(f"\n== durability limit: {fl:.0f} flows/s (two atomic writes with fsync of file and dir per flow, {ms:.2f} ms per write)")

    for label, prefill, c, m_ours, m_oc in CELLS:
        print(f"\n== operator flows {label}")
        runs = [("ours", m_ours)] * OURS_RUNS + [("openclaw", m_oc)]
        results = {"ours": [], "openclaw": []}
        for kind, m in runs:
            if m is None:
                continue
            g = Gateway(kind)
            try:
                out["start_ms"][kind].append(g.start_ms)
                results[kind].append(g.load("-c", c, "-n", m, "--prefill", prefill, "--label", f"{kind} {label}"))
            finally:
                g.stop()
        for kind, rs in results.items():
            if rs:
                rs.sort(key=lambda r: r["rate"])
                out["cells"][(label, kind)] = rs[len(rs) // 2]
                if len(rs) > 1:
                    rates = ", ".join(f"{r['rate']:.0f}" for r in rs)
                    print(f"   {kind} {label}: rates {rates}; median run kept")

    if ONLY_FLOWS:
        fl2, ms2 = durability_limit()
        print(f"\n== durability limit again: {fl2:.0f} flows/s ({ms2:.2f} ms per write)")
        out["durability"] = max(fl, fl2)
        summarise(out)
        return

    print("\n== node flows (Ed25519 connect → request → approve → token → verify), fresh state, C=32")
    for kind, m in (("ours", NODE_FLOWS_OURS), ("openclaw", NODE_FLOWS_OC)):
        g = Gateway(kind)
        try:
            out["start_ms"][kind].append(g.start_ms)
            out["cells"][("node", kind)] = g.load("--mode", "node", "-c", 32, "-n", m, "--sources", 32, "--label", f"{kind} node flows")
        finally:
            g.stop()

    print("\n== idle RSS, `nodes pending`, connected nodes held, page size")
    for kind in ("ours", "openclaw"):
        g = Gateway(kind)
        try:
            out["start_ms"][kind].append(g.start_ms)
            time.sleep(1.0 if kind == "ours" else 5.0)
            out[("idle", kind)] = rss_mib(g.proc.pid)
            print(f"   {kind}: idle RSS {out[('idle', kind)]:.1f} MiB")
            med, walls = cli_pending_ms(g, PENDING_RUNS)
            out[("pending", kind)] = med
            print(f"   {kind}: `nodes pending` median {med:.1f} ms of {len(walls)} ({', '.join(f'{w:.0f}' for w in walls)})")
            if kind == "ours":
                out["page"] = page_bytes(g)
                print(f"   ours: approval page transfer {out['page']} B (gzip)")
            n = HOLD_OURS if kind == "ours" else HOLD_OC
            out[("hold", kind)] = g.load("--mode", "hold", "-c", 64, "-n", n, "--sources", 50,
                                         "--time-limit", 240, "--label", f"{kind} hold {n}")
        finally:
            g.stop()

    # fsync latency drifts on a shared disk (the build just before can leave dirty pages): measure
    # again at the end and take the better of the two.
    fl2, ms2 = durability_limit()
    print(f"\n== durability limit again: {fl2:.0f} flows/s ({ms2:.2f} ms per write)")
    out["durability"] = max(fl, fl2)
    summarise(out)


def summarise(o):
    c = o["cells"]
    rows = []

    def ratio(a, b):
        return a / b if b else float("nan")

    print("\n================ side by side (same run) ================")
    print(f"{'figure':<44} {'ours':>12} {'OpenClaw':>12} {'ratio':>10}  target")
    for label, _, _, _, _ in CELLS:
        ours, oc = c.get((label, "ours")), c.get((label, "openclaw"))
        if ours and oc:
            r = ratio(ours["rate"], oc["rate"])
            tgt = {"N=1000,C=32": ">= 30x", "N=5000,C=32": ">= 60x"}.get(label, "")
            rows.append((f"flows/s {label}", f"{ours['rate']:.0f}", f"{oc['rate']:.1f}", f"{r:.1f}x", tgt))
            rows.append((f"p99 per call {label} (ms, worst method)", f"{p99(ours):.2f}", f"{p99(oc):.1f}",
                         f"1/{ratio(p99(oc), p99(ours)):.1f}", "<= 1/20" if label == "N=1000,C=32" else ""))
        elif ours:
            base = c[("N=1000,C=32", "ours")]["rate"]
            rows.append((f"flows/s {label}", f"{ours['rate']:.0f}", "-", f"{ratio(ours['rate'], base):.2f}x C=32",
                         ">= 1x C=32"))
            rows.append((f"p99 per call {label} (ms, worst method)", f"{p99(ours):.2f}", "-", "", ""))
    c1 = c.get(("N=1000,C=1", "ours"))
    if c1:
        rows.append(("C=1 vs durability limit (flows/s)", f"{c1['rate']:.0f}", f"{o['durability']:.0f} limit",
                     f"{ratio(c1['rate'], o['durability']):.2f}x", ">= 1/1.3 (0.77x)"))
    ours, oc = c.get(("node", "ours")), c.get(("node", "openclaw"))
    if ours and oc:
        rows.append(("node flows/s (Ed25519 connect, C=32)", f"{ours['rate']:.0f}", f"{oc['rate']:.1f}",
                     f"{ratio(ours['rate'], oc['rate']):.1f}x", ""))
    if ONLY_FLOWS:
        for r in rows:
            print(f"{r[0]:<44} {r[1]:>12} {r[2]:>12} {r[3]:>10}  {r[4]}")
        print("(ratio: ours / OpenClaw for rates, 1/x where ours is x times smaller)")
        return
    so, sc = statistics.median(o["start_ms"]["ours"]), statistics.median(o["start_ms"]["openclaw"])
    rows.append(("start to first accepted connection (ms, median)", f"{so:.1f}", f"{sc:.0f}", f"1/{ratio(sc, so):.0f}", "<= 50 ms"))
    io, ic = o[("idle", "ours")], o[("idle", "openclaw")]
    rows.append(("idle RSS (MiB)", f"{io:.1f}", f"{ic:.1f}", f"1/{ratio(ic, io):.0f}", "<= 1/20"))
    po, pc = o[("pending", "ours")], o[("pending", "openclaw")]
    rows.append(("`nodes pending` wall (ms, median)", f"{po:.1f}", f"{pc:.0f}", f"1/{ratio(pc, po):.0f}", "<= 1/50"))
    for kind in ("ours", "openclaw"):
        h = o[("hold", kind)]
        per = (h["rss_after_kib"] - h["rss_before_kib"]) / max(h["held"], 1)
        o[("per_conn", kind)] = per
        o[("hold_rss", kind)] = h["rss_after_kib"] / 1024
    ho, hc = o[("hold", "ours")], o[("hold", "openclaw")]
    rows.append(("RSS with nodes connected (MiB)", f"{o[('hold_rss', 'ours')]:.0f} @{ho['held']}",
                 f"{o[('hold_rss', 'openclaw')]:.0f} @{hc['held']}", "", ""))
    rows.append(("RSS per connected idle node (KiB)", f"{o[('per_conn', 'ours')]:.1f}",
                 f"{o[('per_conn', 'openclaw')]:.1f}", f"1/{ratio(o[('per_conn', 'openclaw')], o[('per_conn', 'ours')]):.1f}",
                 "<= 16 KiB"))
    rows.append(("approval page transfer (bytes, gzip)", str(o["page"]), "-", "", ""))
    for r in rows:
        print(f"{r[0]:<44} {r[1]:>12} {r[2]:>12} {r[3]:>10}  {r[4]}")
    print("(ratio: ours / OpenClaw for rates, 1/x where ours is x times smaller)")


if __name__ == "__main__":
    try:
        main()
    finally:
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(WORK, ignore_errors=True)
