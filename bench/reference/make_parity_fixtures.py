#!/usr/bin/python3
"""Write the PyTorch parity fixtures tests/fixtures/parity_{none,sqrt,candle}.safetensors.

Each file holds one batch (B=32 rows of min-max normalised Iris, F=4, H=32,
K=3), the initial parameters, the logits, loss and gradients of one forward
and backward at those parameters, and the parameters after 5 AdamW steps on
that batch:

    x (B, F), y (B)                  the batch; y holds species ids as float32
    init.<name>                      the 12 parameters (Candle-style init, then
                                     LayerNorm's weight and bias perturbed)
    logits (B, K), loss (1)          forward at init; mean cross-entropy
    grad.<name>                      d loss / d <name> at init (zeros where
                                     candle-compat gives no gradient)
    step5.<name>                     after 5 x (zero_grad, forward, backward,
                                     AdamW step) on the same batch

parity_none: scores Q.K^T; parity_sqrt: Q.K^T/sqrt(H); parity_candle: scores
Q.K^T with LayerNorm's output detached (only cluster_proj learns).

    /usr/bin/python3 bench/reference/make_parity_fixtures.py [--seed N] [--out-dir DIR]
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as Fn

sys.dont_write_bytecode = True  # leave no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import st  # noqa: E402
from model import PARAM_NAMES, AttentionClustering, candle_init_, make_adamw  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
B, F, H, K = 32, 4, 32, 3
LR, WD, STEPS = 0.001, 0.01, 5
MODES = [  # file suffix, attention scale, detach LayerNorm (candle-compat)
    ("none", "none", False),
    ("sqrt", "sqrt", False),
    ("candle", "none", True),
]


def build(scale, init_state):
    m = AttentionClustering(F, H, K, scale)
    m.load_state_dict(init_state, strict=True)
    return m


def snapshot(m):
    return {n: t.detach().numpy().copy() for n, t in m.state_dict().items()}


def fixture(scale, detach, x, y, init_state):
    yl = y.long()
    tensors = {"x": x.numpy(), "y": y.float().numpy()}
    for n, v in init_state.items():
        tensors["init." + n] = v.numpy()

    m = build(scale, init_state)
    logits = m(x, detach_layernorm=detach)
    loss = Fn.cross_entropy(logits, yl)
    loss.backward()
    tensors["logits"] = logits.detach().numpy()
    tensors["loss"] = loss.detach().reshape(1).numpy()
    params = dict(m.named_parameters())
    for n in PARAM_NAMES:
        g = params[n].grad
        tensors["grad." + n] = (torch.zeros_like(params[n]) if g is None else g).numpy().copy()

    m = build(scale, init_state)
    opt = make_adamw(m, lr=LR, weight_decay=WD)
    for _ in range(STEPS):
        opt.zero_grad()
        Fn.cross_entropy(m(x, detach_layernorm=detach), yl).backward()
        opt.step()
    for n, v in snapshot(m).items():
        tensors["step5." + n] = v
    return tensors, float(loss)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "iris.csv"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests", "fixtures"))
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    x_all, y_all, _ = data.load_labelled_csv(args.data)
    lo, rng = data.minmax_stats(x_all)
    xn = data.apply_minmax(x_all, lo, rng)
    idx = torch.randperm(xn.shape[0])[:B].numpy()
    x = torch.from_numpy(xn[idx].copy())
    y = torch.from_numpy(y_all[idx].astype(np.int64))

    init_model = AttentionClustering(F, H, K)
    candle_init_(init_model)
    with torch.no_grad():
        init_model.layer_norm.weight.add_(0.3 * torch.randn(H))
        init_model.layer_norm.bias.copy_(0.3 * torch.randn(H))
    init_state = {n: t.detach().clone() for n, t in init_model.state_dict().items()}
    assert list(init_state) == PARAM_NAMES, list(init_state)

    for suffix, scale, detach in MODES:
        tensors, loss = fixture(scale, detach, x, y, init_state)
        meta = {
            "scale": scale,
            "candle_compat": "1" if detach else "0",
            "lr": "0.001",
            "weight_decay": "0.01",
            "steps": str(STEPS),
            "generator": "bench/reference/make_parity_fixtures.py",
        }
        path = os.path.join(args.out_dir, "parity_%s.safetensors" % suffix)
        st.save(path, tensors, meta)
        print("%s: %d tensors, %d bytes, loss %.6f"
              % (os.path.relpath(path), len(tensors), os.path.getsize(path), loss))


if __name__ == "__main__":
    main()
