#!/usr/bin/python3
"""The PyTorch peer of build/bench for `make bench` (bench/run.py runs the two
alternately). Same cases, same options, same "key=value" output:

  chapter    --threads T               100 epochs on Iris (data/iris.csv, min-max
                                       normalised), batch 32, H 64, K 3, AdamW lr 0.001
                                       wd 0.01, cross-entropy, a fresh permutation of
                                       the rows every epoch; only the epoch loop is timed
  throughput --batch B --threads T     rows/s over 200 steps (forward, backward, AdamW)
                                       after 20 warm-up steps; 100,000 rows of Gaussian
                                       blobs, 16 features, 8 clusters, H 64
  fullctx    --rows N --threads T      one forward pass with attention across all N rows
                                       (4 features, H 64, K 3, no grad): seconds, and
                                       peak RSS minus RSS after the data and model exist
  kernel     --rows N --threads T      GFLOP/s of softmax(Q.K^T/8).V on a 64-feature
                                       input (Q, K, V computed before the clock starts)
  sgemm      [--size S]                GFLOP/s of a float32 S x S matrix product through
                                       numpy (best of several); set OPENBLAS_NUM_THREADS
                                       in the environment for the thread count
  check                                float32 forward and sgemm against float64: the
                                       BLAS kernel in use computes correctly

--threads T is torch.set_num_threads(T); --blas-threads M sets OpenBLAS's own
thread count (default 1: the environment's OPENBLAS_NUM_THREADS should say the
same, as bench/run.py does). Every case also prints the torch version, the
BLAS library mapped into the process and the OpenBLAS core it chose.

The model is bench/reference/model.py (the chapter's AttentionClustering with
Candle's initialisation and AdamW settings). A failed allocation prints
error=out of memory and exits with status 3.
"""

import argparse
import ctypes
import os
import resource
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the tree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "reference"))

EXIT_OOM = 3


def now():
    return time.perf_counter()


def rss_now():
    """Resident set size now, from /proc/self/statm, in bytes."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def rss_peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def blas_libraries():
    """Paths of the BLAS libraries mapped into this process."""
    paths = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5].startswith("/"):
                name = os.path.basename(parts[5])
                if "blas" in name or "mkl" in name or "blis" in name:
                    paths.add(parts[5])
    return sorted(paths)


def openblas_handle():
    for p in blas_libraries():
        if "openblas" in os.path.basename(p):
            try:
                lib = ctypes.CDLL(p)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_get_config.restype = ctypes.c_char_p
                return p, lib
            except (OSError, AttributeError):
                pass
    return None, None


def set_blas_threads(n):
    _, lib = openblas_handle()
    if lib is not None:
        lib.openblas_set_num_threads(ctypes.c_int(n))


def print_blas_info():
    paths = blas_libraries()
    print("blas=%s" % (",".join(paths) if paths else "none"))
    _, lib = openblas_handle()
    if lib is not None:
        print("blas_core=%s" % lib.openblas_get_corename().decode())
        print("blas_config=%s" % lib.openblas_get_config().decode())
        print("blas_threads=%d" % lib.openblas_get_num_threads())


def blobs(n, f, k, seed):
    """Gaussian blobs: k centres in [0, 1]^f, rows around them (float32)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.random((k, f), dtype=np.float32)
    y = (np.arange(n) % k).astype(np.int64)
    x = centres[y] + np.float32(0.1) * rng.standard_normal((n, f), dtype=np.float32)
    return x.astype(np.float32), y


def new_model(F, H, K, seed):
    import torch
    from model import AttentionClustering, candle_init_

    gen = torch.Generator().manual_seed(seed)
    model = AttentionClustering(F, H, K, "none")
    candle_init_(model, gen)
    return model, gen


def bench_chapter():
    import numpy as np
    import torch
    import torch.nn.functional as Fn
    import data
    from model import make_adamw

    x_raw, y_np, _ = data.load_labelled_csv(os.path.join(ROOT, "data", "iris.csv"))
    lo, rng = data.minmax_stats(x_raw)
    x = torch.from_numpy(data.apply_minmax(x_raw, lo, rng))
    y = torch.from_numpy(y_np.astype(np.int64))
    N, F = x.shape
    epochs, batch = 100, 32
    model, gen = new_model(F, 64, 3, 42)
    opt = make_adamw(model, lr=0.001, weight_decay=0.01)

    t0 = now()
    for _ in range(epochs):
        # torch.randperm on the CPU is a Fisher-Yates shuffle
        order = torch.randperm(N, generator=gen)
        loss_sum, acc_sum, batches = 0.0, 0.0, 0
        for start in range(0, N, batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = Fn.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            loss_sum += float(loss)
            acc_sum += float((logits.argmax(dim=1) == yb).float().mean())
            batches += 1
    t1 = now()
    print("seconds=%.6f" % (t1 - t0))
    print("final_loss=%.4f" % (loss_sum / batches))
    print("final_accuracy=%.4f" % (acc_sum / batches))


def bench_throughput(batch):
    import torch
    import torch.nn.functional as Fn
    from model import make_adamw

    N, F, K, warmup, steps = 100000, 16, 8, 20, 200
    x_np, y_np = blobs(N, F, K, 1)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model, _ = new_model(F, 64, K, 1)
    opt = make_adamw(model, lr=0.001, weight_decay=0.01)
    t0 = 0.0
    for s in range(warmup + steps):
        if s == warmup:
            t0 = now()
        start = (s * batch) % (N - batch)
        xb, yb = x[start : start + batch], y[start : start + batch]
        opt.zero_grad()
        loss = Fn.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    t1 = now()
    print("seconds=%.6f" % (t1 - t0))
    print("rows_per_s=%.1f" % (steps * batch / (t1 - t0)))
    print("final_loss=%.4f" % float(loss))


def bench_fullctx(N):
    import torch

    x_np, _ = blobs(N, 4, 3, 2)
    x = torch.from_numpy(x_np)
    model, _ = new_model(4, 64, 3, 2)
    model.eval()
    with torch.no_grad():
        # one tiny forward first: PyTorch's one-time set-up (thread pool,
        # dispatcher caches) is kept out of both the time and the memory
        model(x[:8]).argmax(dim=1)
    base = rss_now()
    t0 = now()
    with torch.no_grad():
        clusters = model(x).argmax(dim=1)
    t1 = now()
    print("seconds=%.6f" % (t1 - t0))
    print("extra_mb=%.1f" % ((rss_peak() - base) / 1048576.0))
    print("clusters_used=%d" % int(torch.unique(clusters).numel()))


def bench_kernel(N):
    import torch

    F, H = 64, 64
    x_np, _ = blobs(N, F, 3, 3)
    x = torch.from_numpy(x_np)
    model, _ = new_model(F, H, 3, 3)
    sa = model.self_attention
    with torch.no_grad():
        q, k, v = sa.query_proj(x), sa.key_proj(x), sa.value_proj(x)
        # the scale goes on Q (N x H), not on the N x N scores: one N x N pass less
        torch.softmax((q[:8] * 0.125) @ k[:8].T, dim=1) @ v[:8]  # set-up, untimed
        t0 = now()
        ctx = torch.softmax((q * 0.125) @ k.T, dim=1) @ v
        t1 = now()
    del ctx
    flops = 4.0 * N * N * H  # Q.K^T and weights.V: 2.N^2.H each
    print("seconds=%.6f" % (t1 - t0))
    print("gflops=%.2f" % (flops / (t1 - t0) * 1e-9))


def bench_sgemm(size, repeats):
    import numpy as np

    rng = np.random.default_rng(4)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    c = a @ b  # warm-up: thread start-up, page faults
    best = float("inf")
    for _ in range(repeats):
        t0 = now()
        np.matmul(a, b, out=c)
        best = min(best, now() - t0)
    # a spot check of the product against float64
    ref = a[:16].astype(np.float64) @ b[:, :16].astype(np.float64)
    err = float(np.max(np.abs(c[:16, :16] - ref) / np.abs(ref)))
    print("seconds=%.6f" % best)
    print("gflops=%.2f" % (2.0 * size**3 / best * 1e-9))
    print("max_rel_err=%.2e" % err)


def check():
    """The model's float32 forward (attention over 1,000 rows) and a float32
    matrix product, each against the same computation in float64."""
    import numpy as np
    import torch

    x_np, _ = blobs(1000, 4, 3, 5)
    model, _ = new_model(4, 64, 3, 5)
    with torch.no_grad():
        out32 = model(torch.from_numpy(x_np)).numpy()
        m64 = model.double()
        out64 = m64(torch.from_numpy(x_np.astype(np.float64))).numpy()
    fwd_err = float(np.max(np.abs(out32 - out64)))
    rng = np.random.default_rng(6)
    a = rng.standard_normal((512, 512)).astype(np.float32)
    b = rng.standard_normal((512, 512)).astype(np.float32)
    mm_err = float(np.max(np.abs(a @ b - a.astype(np.float64) @ b.astype(np.float64))))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    tmm_err = float(np.max(np.abs((ta @ tb).numpy() - a.astype(np.float64) @ b.astype(np.float64))))
    print("forward_max_abs_err=%.2e" % fwd_err)
    print("numpy_sgemm_max_abs_err=%.2e" % mm_err)
    print("torch_mm_max_abs_err=%.2e" % tmm_err)
    ok = fwd_err < 1e-3 and mm_err < 1e-3 and tmm_err < 1e-3
    print("check=%s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case", choices=["chapter", "throughput", "fullctx", "kernel", "sgemm", "check"])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads [1]")
    ap.add_argument("--blas-threads", type=int, default=1, help="OpenBLAS threads [1]")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rows", type=int, default=16000)
    ap.add_argument("--size", type=int, default=4096, help="sgemm: matrix size [4096]")
    ap.add_argument("--repeats", type=int, default=5, help="sgemm: products timed [5]")
    args = ap.parse_args()

    import numpy  # noqa: F401  (maps the BLAS into the process)

    if args.case == "sgemm":
        # numpy only: the thread count is OPENBLAS_NUM_THREADS's
        print_blas_info()
        bench_sgemm(args.size, args.repeats)
        return 0

    import torch

    torch.set_num_threads(max(1, args.threads))
    set_blas_threads(max(1, args.blas_threads))
    print("threads=%d" % torch.get_num_threads())
    print("torch_version=%s" % torch.__version__)
    print_blas_info()
    sys.stdout.flush()
    try:
        if args.case == "chapter":
            bench_chapter()
        elif args.case == "throughput":
            bench_throughput(args.batch)
        elif args.case == "fullctx":
            bench_fullctx(args.rows)
        elif args.case == "kernel":
            bench_kernel(args.rows)
        else:
            return check()
    except (MemoryError, RuntimeError) as e:
        msg = str(e)
        if isinstance(e, MemoryError) or "alloc" in msg or "memory" in msg:
            print("error=out of memory")
            print("detail=%s" % " ".join(msg.split())[:200])
            return EXIT_OOM
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
