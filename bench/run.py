#!/usr/bin/python3
"""make bench: attncluster (build/bench) against its PyTorch peer
(bench/torch_peer.py), alternately in one invocation, on every case and with 1
and 2 threads on each side. Prints a table and writes bench/RESULTS.md.

Environment (all optional):
  BENCH_RUNS          runs of each side per case and thread count [5]
  BENCH_RUNS_LARGE    attncluster runs at fullctx N = 64,000 [3]; PyTorch gets one attempt
                      per configuration there
  BENCH_MEM_GIB       address-space limit (prlimit --as) of both sides in fullctx [12]
  BENCH_CASES         comma-separated subset of chapter,throughput,fullctx,kernel [all]
  BENCH_FULLCTX_ROWS  comma-separated N for fullctx [1000,4000,16000,64000]
  BENCH_OUT           the report to write [bench/RESULTS.md]

The PyTorch peer runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from
its environment (OpenBLAS then picks its kernel for this CPU itself); build/bench
runs in the environment as it is. With 2 threads the peer is run in both
configurations that use 2 cores without oversubscribing them (torch 2 threads
with OpenBLAS 1, torch 1 with OpenBLAS 2) and the faster one, by median, is the
one compared.
"""

import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_BIN = os.path.join(ROOT, "build", "bench")
PEER = [sys.executable, os.path.join(HERE, "torch_peer.py")]
PEER_DROP_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
EXIT_OOM = 3
GIB = 1 << 30


def env_int(name, default):
    v = os.environ.get(name, "")
    try:
        return int(v) if v.strip() else default
    except ValueError:
        sys.exit("run.py: %s=%r is not a whole number" % (name, v))


RUNS = max(1, env_int("BENCH_RUNS", 5))
RUNS_LARGE = max(1, env_int("BENCH_RUNS_LARGE", 3))
MEM_GIB = max(1, env_int("BENCH_MEM_GIB", 12))
CASES = [c.strip() for c in os.environ.get("BENCH_CASES", "chapter,throughput,fullctx,kernel").split(",") if c.strip()]
FULLCTX_ROWS = [int(n) for n in os.environ.get("BENCH_FULLCTX_ROWS", "1000,4000,16000,64000").split(",") if n.strip()]
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "RESULTS.md"))
LARGE_N = 64000
THREADS = (1, 2)
TIMEOUT_S = 600


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Running one process


class Run:
    """One process: its key=value output, exit status and peak RSS."""

    def __init__(self, argv, rc, out, err, maxrss_mb, wall):
        self.argv, self.rc, self.err, self.maxrss_mb, self.wall = argv, rc, err, maxrss_mb, wall
        self.kv = {}
        for line in out.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                self.kv[k.strip()] = v.strip()

    @property
    def ok(self):
        return self.rc == 0 and "error" not in self.kv

    def num(self, key):
        return float(self.kv[key])

    def failure(self, limit_gib=None):
        if getattr(self, "timed_out", False):
            return "failed (no result within %d s)" % TIMEOUT_S
        if self.kv.get("error") == "out of memory" or self.rc in (EXIT_OOM, -9) or "MemoryError" in self.err \
                or "bad_alloc" in self.err or "out of memory" in self.err.lower():
            if limit_gib:
                return "failed (out of memory under a %d GiB limit)" % limit_gib
            return "failed (out of memory)"
        last = self.err.strip().splitlines()[-1] if self.err.strip() else ""
        if self.rc < 0:
            return "failed (signal %d) %s" % (-self.rc, last[:80])
        return "failed (exit status %d) %s" % (self.rc, last[:80])


def run(argv, env=None, mem_gib=None):
    if mem_gib:
        argv = ["prlimit", "--as=%d" % (mem_gib * GIB), "--"] + list(argv)
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=fo, stderr=fe, env=env, cwd=ROOT)
        fired = []
        timer = threading.Timer(TIMEOUT_S, lambda: (fired.append(1), p.kill()))
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)  # keeps Popen from waiting again
        wall = time.perf_counter() - t0
        fo.seek(0)
        fe.seek(0)
        r = Run(argv, p.returncode, fo.read(), fe.read(), ru.ru_maxrss / 1024.0, wall)
        r.timed_out = bool(fired)
        return r


def c_argv(case, extra, threads):
    return [BENCH_BIN, case] + list(extra) + ["--threads", str(threads)]


def peer_env(blas_threads, torch_threads):
    env = {k: v for k, v in os.environ.items() if k not in PEER_DROP_ENV}
    env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    env["OMP_NUM_THREADS"] = str(torch_threads)
    return env


def peer_argv(case, extra, torch_threads, blas_threads):
    return PEER + [case] + list(extra) + ["--threads", str(torch_threads),
                                          "--blas-threads", str(blas_threads)]


def peer_configs(threads):
    """(label, torch threads, OpenBLAS threads): never both above 1."""
    if threads == 1:
        return [("torch 1 / OpenBLAS 1", 1, 1)]
    return [("torch %d / OpenBLAS 1" % threads, threads, 1),
            ("torch 1 / OpenBLAS %d" % threads, 1, threads)]


# --------------------------------------------------------------------------
# Statistics


class Series:
    """The runs of one side in one configuration."""

    def __init__(self, label):
        self.label = label
        self.runs = []

    def values(self, key):
        return [r.num(key) for r in self.runs if r.ok and key in r.kv]

    def failures(self):
        return [r for r in self.runs if not r.ok]

    def stat(self, key):
        v = self.values(key)
        if not v:
            return None
        return statistics.median(v), min(v), max(v), len(v)

    def first(self, key):
        for r in self.runs:
            if r.ok and key in r.kv:
                return r.kv[key]
        return None


def best_series(series, key, higher_is_better):
    ok = [s for s in series if s.stat(key)]
    if not ok:
        return series[0] if series else None
    pick = max if higher_is_better else min
    return pick(ok, key=lambda s: s.stat(key)[0])


def fmt(x, key):
    if x is None:
        return "-"
    if key == "rows_per_s":
        return "{:,.0f}".format(x)
    if key in ("gflops", "extra_mb", "maxrss_mb"):
        return "%.1f" % x
    if x >= 10:
        return "%.2f" % x
    if x >= 0.1:
        return "%.3f" % x
    return "%.4f" % x


def fmt_stat(st, key, failure=None):
    if st is None:
        return failure or "no result"
    med, lo, hi, n = st
    return "%s (%s .. %s, n=%d)" % (fmt(med, key), fmt(lo, key), fmt(hi, key), n)


# --------------------------------------------------------------------------
# The cases


class Row:
    """One case, one thread count: attncluster's series, PyTorch's best and the ratio."""

    def __init__(self, case, label, threads, key, higher, c, peers, mem_gib=None):
        self.case, self.label, self.threads, self.key, self.higher = case, label, threads, key, higher
        self.c, self.peers, self.mem_gib = c, peers, mem_gib
        self.peer = best_series(peers, key, higher) if peers else None
        if self.peer is not None and not self.peer.stat(key) and len(peers) > 1:
            self.peer_label = "each of the %d settings" % len(peers)
        else:
            self.peer_label = self.peer.label if self.peer else "-"

    def c_stat(self, key=None):
        return self.c.stat(key or self.key)

    def peer_stat(self, key=None):
        return self.peer.stat(key or self.key) if self.peer else None

    def ratio(self):
        a, b = self.c_stat(), self.peer_stat()
        if not a or not b or a[0] <= 0 or b[0] <= 0:
            return None
        return a[0] / b[0] if self.higher else b[0] / a[0]

    def c_failure(self):
        f = self.c.failures()
        return f[0].failure(self.mem_gib) if f and not self.c_stat() else None

    def peer_failure(self):
        if not self.peer:
            return "not run"
        f = self.peer.failures()
        return f[0].failure(self.mem_gib) if f and not self.peer_stat() else None


def alternate(case, extra, threads, runs, peer_runs=None, mem_gib=None, sgemm=None):
    """attncluster, then each PyTorch configuration, then again, `runs` times."""
    c = Series("attncluster")
    peers = [Series(label) for label, _, _ in peer_configs(threads)]
    peer_runs = runs if peer_runs is None else peer_runs
    for i in range(runs):
        r = run(c_argv(case, extra, threads), mem_gib=mem_gib)
        c.runs.append(r)
        log("  %s %s T=%d run %d/%d  attncluster: %s" % (case, " ".join(extra), threads, i + 1, runs,
                                                       short(r)))
        if i < peer_runs:
            for s, (label, tt, bt) in zip(peers, peer_configs(threads)):
                r = run(peer_argv(case, extra, tt, bt), env=peer_env(bt, tt), mem_gib=mem_gib)
                s.runs.append(r)
                log("  %s %s T=%d run %d/%d  PyTorch (%s): %s" % (case, " ".join(extra), threads, i + 1,
                                                                 runs, label, short(r, mem_gib)))
        if sgemm is not None:
            sgemm(threads)
    return c, peers


def short(r, mem_gib=None):
    if not r.ok:
        return r.failure(mem_gib)
    keys = [k for k in ("seconds", "rows_per_s", "gflops", "extra_mb") if k in r.kv]
    return ", ".join("%s=%s" % (k, r.kv[k]) for k in keys)


def case_chapter():
    rows = []
    for t in THREADS:
        c, peers = alternate("chapter", [], t, RUNS)
        rows.append(Row("chapter", "chapter: 100 epochs on Iris (seconds)", t, "seconds", False, c, peers))
    return rows


def case_throughput():
    rows = []
    for b in (32, 256):
        for t in THREADS:
            c, peers = alternate("throughput", ["--batch", str(b)], t, RUNS)
            rows.append(Row("throughput", "throughput, batch %d (rows/s)" % b, t, "rows_per_s", True,
                            c, peers))
    return rows


def case_fullctx():
    rows = []
    for n in FULLCTX_ROWS:
        for t in THREADS:
            large = n >= LARGE_N
            c, peers = alternate("fullctx", ["--rows", str(n)], t, RUNS_LARGE if large else RUNS,
                                 peer_runs=1 if large else None, mem_gib=MEM_GIB)
            row = Row("fullctx", "fullctx, N = {:,} (seconds)".format(n), t, "seconds", False, c, peers,
                      mem_gib=MEM_GIB)
            row.rows = n
            rows.append(row)
    return rows


SGEMM = {}  # (threads, "auto" | "env") -> Series


def sgemm_once(threads, which="auto", repeats=3):
    if which == "auto":
        env = {k: v for k, v in os.environ.items() if k not in PEER_DROP_ENV}
    else:
        env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    r = run(PEER + ["sgemm", "--size", "4096", "--repeats", str(repeats)], env=env)
    SGEMM.setdefault((threads, which), Series("sgemm")).runs.append(r)
    log("  sgemm 4096, OpenBLAS %d thread(s), %s: %s" % (threads, which, short(r)))


def case_kernel():
    rows = []
    for t in THREADS:
        c, peers = alternate("kernel", ["--rows", "16000"], t, RUNS, sgemm=sgemm_once)
        rows.append(Row("kernel", "kernel: attention forward, N = 16,000, 64 features (GFLOP/s)", t,
                        "gflops", True, c, peers))
    for t in THREADS:  # the same product with the environment's OpenBLAS settings, once
        sgemm_once(t, "env", repeats=3)
    return rows


# --------------------------------------------------------------------------
# The machine


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def machine():
    lscpu = {}
    for line in sh("LC_ALL=C lscpu").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            lscpu[k.strip()] = v.strip()
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cc = os.environ.get("CC", "cc")
    dirty = sh("git status --porcelain --untracked-files=no")
    return {
        "model": lscpu.get("Model name", platform.processor() or "unknown"),
        "cpus": lscpu.get("CPU(s)", str(os.cpu_count())),
        "threads_per_core": lscpu.get("Thread(s) per core", "?"),
        "cores_per_socket": lscpu.get("Core(s) per socket", "?"),
        "sockets": lscpu.get("Socket(s)", "?"),
        "hypervisor": lscpu.get("Hypervisor vendor", ""),
        "mem_gib": mem_kb / 1048576.0,
        "kernel": platform.release(),
        "compiler": (sh("%s --version" % cc).splitlines() or ["unknown"])[0],
        "cc": cc,
        "python": platform.python_version(),
        "commit": sh("git rev-parse --short HEAD") or "unknown",
        "dirty": bool(dirty),
        "openblas_env": ", ".join("%s=%s" % (k, os.environ[k]) for k in PEER_DROP_ENV if k in os.environ)
                        or "none set",
    }


# --------------------------------------------------------------------------
# Report


def bar(ok):
    return "**met**" if ok else "**not met**"


def bars(rows):
    """(text, verdict) for each of the issue's bars, from the measured rows."""
    out = []
    by = {}
    for r in rows:
        by.setdefault(r.case, []).append(r)

    if "chapter" in by:
        for r in by["chapter"]:
            x = r.ratio()
            out.append(("(a) chapter, %d thread%s: >= 25x faster than PyTorch" % (r.threads, "s" * (r.threads > 1)),
                        "%.1fx" % x if x else "no ratio", x is not None and x >= 25))
    if "throughput" in by:
        for r in by["throughput"]:
            need = 10 if "batch 32 " in r.label else 3
            x = r.ratio()
            out.append(("(b) %s, %d thread%s: >= %dx PyTorch's rows/s" % (r.label.split(" (")[0], r.threads,
                                                                        "s" * (r.threads > 1), need),
                        "%.1fx" % x if x else "no ratio", x is not None and x >= need))
    if "fullctx" in by:
        fc = {(r.rows, r.threads): r for r in by["fullctx"]}
        r = fc.get((16000, 2))
        if r:
            x = r.ratio()
            out.append(("(c) fullctx N = 16,000, 2 threads each: >= 8x faster than PyTorch",
                        "%.1fx" % x if x else "no ratio", x is not None and x >= 8))
            mem = r.c_stat("extra_mb")
            out.append(("(c) fullctx N = 16,000, 2 threads: attncluster under 50 MB extra memory",
                        "%.1f MB" % mem[2] if mem else "no result", mem is not None and mem[2] < 50))
        big = [fc[k] for k in sorted(fc) if k[0] == LARGE_N]
        for r in big:
            st = r.c_stat()
            peak = max((x.maxrss_mb for x in r.c.runs if x.ok), default=None)
            extra = r.c_stat("extra_mb")
            ok = st is not None and peak is not None and peak < 1024 and extra is not None and extra[2] < 1024
            out.append(("(c) fullctx N = 64,000, %d thread%s: attncluster completes in under 1 GiB"
                        % (r.threads, "s" * (r.threads > 1)),
                        ("completed, %s s; extra %.1f MB, peak RSS %.1f MB" % (fmt(st[0], "seconds"), extra[2], peak))
                        if ok or st else (r.c_failure() or "no result"), ok))
    if "kernel" in by:
        per_core = sgemm_best(1, "auto")
        for r in by["kernel"]:
            if r.threads != 1:
                continue
            st = r.c_stat()
            if st and per_core:
                x = st[0] / per_core
                out.append(("(d) attention forward at N = 16,000, 1 thread: >= 60% of sgemm GFLOP/s per core",
                            "%.0f%% (%.1f of %.1f GFLOP/s)" % (100 * x, st[0], per_core), x >= 0.6))
            else:
                out.append(("(d) attention forward at N = 16,000: >= 60% of sgemm GFLOP/s per core",
                            "no result", False))
    return out


def sgemm_best(threads, which):
    s = SGEMM.get((threads, which))
    v = s.values("gflops") if s else []
    return max(v) if v else None


def sgemm_stat(threads, which):
    s = SGEMM.get((threads, which))
    return s.stat("gflops") if s else None


def text_table(rows):
    lines = []
    hdr = "%-62s %2s  %-36s %-44s %-22s %s" % ("case", "T", "attncluster median (min .. max)",
                                              "PyTorch median (min .. max)", "PyTorch setting", "ratio")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for r in rows:
        x = r.ratio()
        lines.append("%-62s %2d  %-36s %-44s %-22s %s" % (
            r.label, r.threads, fmt_stat(r.c_stat(), r.key, r.c_failure()),
            fmt_stat(r.peer_stat(), r.key, r.peer_failure()), r.peer_label,
            "%.1fx" % x if x else "-"))
        if r.case == "fullctx":
            lines.append("%-62s %2s  %-36s %-44s" % ("  extra memory (MB)", "",
                                                     fmt_stat(r.c_stat("extra_mb"), "extra_mb", r.c_failure()),
                                                     fmt_stat(r.peer_stat("extra_mb"), "extra_mb", r.peer_failure())))
    if SGEMM:
        lines.append("")
        for (t, which) in sorted(SGEMM):
            lines.append("sgemm 4096x4096 float32, numpy + OpenBLAS, %d thread%s, %s: best %s GFLOP/s, median %s" % (
                t, "s" * (t > 1),
                "OpenBLAS's own kernel choice" if which == "auto" else "environment's OpenBLAS settings",
                fmt(sgemm_best(t, which), "gflops"), fmt((sgemm_stat(t, which) or [None])[0], "gflops")))
        for r in rows:
            if r.case == "kernel":
                st = r.c_stat()
                pc = sgemm_best(1, "auto")
                if st and pc:
                    lines.append("attention forward, %d thread%s: %.1f GFLOP/s = %.0f%% of sgemm per core (%.1f)"
                                 % (r.threads, "s" * (r.threads > 1), st[0] / r.threads,
                                    100 * st[0] / r.threads / pc, pc)
                                 if r.threads > 1 else
                                 "attention forward, 1 thread: %.1f GFLOP/s = %.0f%% of sgemm per core (%.1f)"
                                 % (st[0], 100 * st[0] / pc, pc))
    return "\n".join(lines)


def md_case_table(rows, key, unit, ratio_name=None):
    head = "| threads | attncluster median | min | max | PyTorch median | min | max | PyTorch setting |"
    out = [head + (" %s |" % ratio_name if ratio_name else ""),
           "|---" * (9 if ratio_name else 8) + "|"]
    for r in rows:
        c, p = r.c_stat(key), r.peer_stat(key)
        x = r.ratio() if key == r.key else None
        cells = [str(r.threads)]
        cells += [fmt(v, key) for v in c[:3]] if c else [r.c_failure() or "no result", "", ""]
        cells += [fmt(v, key) for v in p[:3]] if p else [r.peer_failure() or "no result", "", ""]
        cells.append(r.peer_label)
        if ratio_name:
            cells.append("%.1fx" % x if x else "-")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def md_other_configs(rows, key):
    """Every PyTorch configuration of the rows with more than one."""
    lines = []
    for r in rows:
        if len(r.peers) < 2:
            continue
        for s in r.peers:
            st = s.stat(key)
            f = s.failures()
            lines.append("- %d threads, %s: %s" % (
                r.threads, s.label,
                fmt_stat(st, key) if st else (f[0].failure(r.mem_gib) if f else "no result")))
    return lines


def peer_info(rows):
    for r in rows:
        for s in r.peers:
            for x in s.runs:
                if "torch_version" in x.kv:
                    return x.kv
    return {}


def write_report(path, rows, info, started, elapsed, command):
    pk = peer_info(rows)
    by = {}
    for r in rows:
        by.setdefault(r.case, []).append(r)
    md = []
    md.append("# attncluster against PyTorch: measured results\n")
    md.append("Written by `bench/run.py`; bench/README.md says what each case does. Every number "
              "below was measured in the run described here.\n")
    md.append("- **Date:** %s" % started.strftime("%Y-%m-%d %H:%M %Z").strip())
    md.append("- **Command:** `%s`; runs per side, case and thread count: %d (fullctx at N = 64,000: %d "
              "of attncluster, one attempt per PyTorch setting); %.0f s in all"
              % (command, RUNS, RUNS_LARGE, elapsed))
    md.append("- **Machine:** %s, %s CPUs (%s socket, %s cores per socket, %s thread per core)%s, "
              "%.1f GiB memory, Linux %s"
              % (info["model"], info["cpus"], info["sockets"], info["cores_per_socket"],
                 info["threads_per_core"], ", under %s" % info["hypervisor"] if info["hypervisor"] else "",
                 info["mem_gib"], info["kernel"]))
    md.append("- **attncluster:** commit %s%s, `build/bench` built by `%s` (%s)"
              % (info["commit"], " with uncommitted changes" if info["dirty"] else "", info["cc"],
                 info["compiler"]))
    md.append("- **PyTorch:** %s (Python %s), BLAS `%s`, OpenBLAS core %s (%s)"
              % (pk.get("torch_version", "?"), info["python"], pk.get("blas", "?"),
                 pk.get("blas_core", "?"), pk.get("blas_config", "?")))
    md.append("- **Environment:** %s; build/bench runs with them as they are, the PyTorch peer and the "
              "sgemm with OpenBLAS's own choice run with both removed" % info["openblas_env"])
    md.append("- **Threads:** attncluster `--threads T`; PyTorch with T = 2 was run as torch 2 threads / "
              "OpenBLAS 1 and as torch 1 / OpenBLAS 2, and the faster by median is the one compared "
              "(column \"PyTorch setting\")")
    md.append("- **fullctx** runs both sides under `prlimit --as=%d GiB`\n" % MEM_GIB)

    md.append("## Bars from the issue\n")
    md.append("| bar | measured | verdict |")
    md.append("|---|---|---|")
    for text, measured, ok in bars(rows):
        md.append("| %s | %s | %s |" % (text, measured, bar(ok)))
    md.append("")

    if "chapter" in by:
        md.append("## (a) chapter: 100 epochs on Iris, training only (seconds)\n")
        md.append(md_case_table(by["chapter"], "seconds", "s", "PyTorch / attncluster"))
        extra = md_other_configs(by["chapter"], "seconds")
        if extra:
            md.append("\nEach PyTorch setting measured:\n")
            md += extra
        p = by["chapter"][0].peer
        if p and p.first("final_loss"):
            md.append("\nPyTorch peer's last epoch: mean loss %s, mean accuracy %s."
                      % (p.first("final_loss"), p.first("final_accuracy")))
        md.append("")
    if "throughput" in by:
        md.append("## (b) throughput: rows/s over 200 training steps (100,000 rows, 16 features, 8 clusters, H 64)\n")
        for b in (32, 256):
            rs = [r for r in by["throughput"] if ("batch %d " % b) in r.label]
            if rs:
                md.append("Batch %d:\n" % b)
                md.append(md_case_table(rs, "rows_per_s", "rows/s", "attncluster / PyTorch"))
                extra = md_other_configs(rs, "rows_per_s")
                if extra:
                    md.append("\nEach PyTorch setting measured:\n")
                    md += extra
                md.append("")
    if "fullctx" in by:
        md.append("## (c) fullctx: one forward pass with attention across all N rows\n")
        for n in FULLCTX_ROWS:
            rs = [r for r in by["fullctx"] if r.rows == n]
            if not rs:
                continue
            md.append("N = {:,}, seconds:\n".format(n))
            md.append(md_case_table(rs, "seconds", "s", "PyTorch / attncluster"))
            md.append("\nN = {:,}, extra memory (MB; peak RSS minus RSS after the data and model exist):\n"
                      .format(n))
            md.append(md_case_table(rs, "extra_mb", "MB"))
            peaks = []
            for r in rs:
                cp = max((x.maxrss_mb for x in r.c.runs if x.ok), default=None)
                pp = max((x.maxrss_mb for x in r.peer.runs if x.ok), default=None) if r.peer else None
                peaks.append("%d thread%s: attncluster %s MB, PyTorch %s MB" % (
                    r.threads, "s" * (r.threads > 1), fmt(cp, "maxrss_mb") if cp else "no result",
                    fmt(pp, "maxrss_mb") if pp else "no result"))
            md.append("\nPeak RSS of the whole process (largest of the runs, in MB): " + "; ".join(peaks).replace(" MB", "") + ".")
            extra = md_other_configs(rs, "seconds")
            if extra:
                md.append("\nEach PyTorch setting measured:\n")
                md += extra
            md.append("")
    if "kernel" in by:
        md.append("## (d) kernel: attention forward, N = 16,000, 64 features, H 64 (GFLOP/s = 4·N²·H / time)\n")
        md.append(md_case_table(by["kernel"], "gflops", "GFLOP/s", "attncluster / PyTorch"))
        extra = md_other_configs(by["kernel"], "gflops")
        if extra:
            md.append("\nEach PyTorch setting measured:\n")
            md += extra
        md.append("\nThe machine's practical peak, float32 4096 x 4096 @ 4096 x 4096 through numpy and "
                  "OpenBLAS (best of 3 products per process, one process after each round of kernel runs; "
                  "GFLOP/s = 2·4096³ / time):\n")
        md.append("| OpenBLAS threads | OpenBLAS settings | best GFLOP/s | median of processes' best | processes |")
        md.append("|---|---|---|---|---|")
        for (t, which) in sorted(SGEMM):
            st = sgemm_stat(t, which)
            core = SGEMM[(t, which)].first("blas_core") or "?"
            md.append("| %d | %s (core %s) | %s | %s | %s |" % (
                t, "own choice" if which == "auto" else "environment's (%s)" % info["openblas_env"], core,
                fmt(sgemm_best(t, which), "gflops"), fmt(st[0], "gflops") if st else "-",
                st[3] if st else 0))
        pc = sgemm_best(1, "auto")
        md.append("")
        for r in by["kernel"]:
            st = r.c_stat()
            if st and pc:
                md.append("- attncluster, %d thread%s: %.1f GFLOP/s%s = **%.0f%%** of the per-core sgemm "
                          "(%.1f GFLOP/s)" % (r.threads, "s" * (r.threads > 1), st[0],
                                              " (%.1f per thread)" % (st[0] / r.threads) if r.threads > 1 else "",
                                              100 * st[0] / r.threads / pc, pc))
        md.append("")
    md.append("## Profile\n")
    md.append("(filled by hand)\n")
    with open(path, "w") as f:
        f.write("\n".join(md))


# --------------------------------------------------------------------------


def main():
    if not os.access(BENCH_BIN, os.X_OK):
        sys.exit("run.py: %s is missing: run `make bench` (it builds it first)" % BENCH_BIN)
    if "fullctx" in CASES and not shutil.which("prlimit"):
        sys.exit("run.py: prlimit (util-linux) is needed for the fullctx case")
    unknown = [c for c in CASES if c not in ("chapter", "throughput", "fullctx", "kernel")]
    if unknown:
        sys.exit("run.py: unknown case(s) in BENCH_CASES: %s" % ", ".join(unknown))

    started = datetime.datetime.now().astimezone()
    t0 = time.perf_counter()
    info = machine()
    command = "make bench" if os.environ.get("MAKELEVEL") else "/usr/bin/python3 bench/run.py"

    # The PyTorch peer's environment computes correctly (float32 against float64).
    for bt in (1, 2):
        r = run(PEER + ["check", "--blas-threads", str(bt)], env=peer_env(bt, 1))
        log("check, OpenBLAS %d thread(s): %s (%s)" % (bt, r.kv.get("check", "FAILED"), ", ".join(
            "%s=%s" % (k, v) for k, v in r.kv.items() if k.endswith("_err") or k == "blas_core")))
        if not r.ok or r.kv.get("check") != "ok":
            sys.exit("run.py: the PyTorch peer's self-check failed:\n" + r.err)

    rows = []
    for case in CASES:
        log("== %s" % case)
        rows += {"chapter": case_chapter, "throughput": case_throughput, "fullctx": case_fullctx,
                 "kernel": case_kernel}[case]()
    elapsed = time.perf_counter() - t0

    print(text_table(rows))
    print()
    for text, measured, ok in bars(rows):
        print("%-88s %-48s %s" % (text, measured, "met" if ok else "NOT MET"))
    write_report(OUT, rows, info, started, elapsed, command)
    print("\n%.0f s; wrote %s" % (elapsed, os.path.relpath(OUT, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
