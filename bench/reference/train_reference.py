#!/usr/bin/python3
"""Train the chapter's model in PyTorch and write an attncluster model file.

As the chapter (and attncluster's default mode): data/iris.csv min-max
normalised per column, labels by species, 100 epochs, each a fresh shuffle of
the rows (torch.randperm from the seeded generator that drew the
initialisation) cut into batches of 32, mean cross-entropy, every layer
trained, AdamW (lr 0.001, betas 0.9/0.999, eps 1e-8, weight decay 0.01),
scores Q.K^T.

The model file follows docs/model-format.md, with all 150 normalised training
rows as the reference rows and attncluster_version "pytorch-reference".

    /usr/bin/python3 bench/reference/train_reference.py --seed 0 \\
        --out tests/fixtures/reference_model.safetensors \\
        --predictions tests/fixtures/reference_model_predictions.csv
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as Fn

sys.dont_write_bytecode = True  # leave no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import st  # noqa: E402
from model import LAYERNORM_EPS, AttentionClustering, candle_init_, make_adamw  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


def g9(v):
    """A float as the format prints it: 9 significant digits."""
    return "%.9g" % float(v)


def json_floats(values):
    return "[" + ",".join(g9(v) for v in values) + "]"


def json_strings(values):
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


def model_metadata(args, model, lo, rng, feature_names, label_names, x, y):
    return {
        "format": "attncluster-model",
        "format_version": "1",
        "attncluster_version": "pytorch-reference",
        "features": str(model.F),
        "hidden_size": str(model.H),
        "clusters": str(model.K),
        "attention_scale": model.scale,
        "layernorm_eps": g9(np.float32(LAYERNORM_EPS)),
        "normalization": "minmax",
        "feature_min": json_floats(lo),
        "feature_range": json_floats(rng),
        "feature_names": json_strings(feature_names),
        "label_names": json_strings(label_names),
        "reference_rows": str(x.shape[0]),
        "training.lr": g9(args.lr),
        "training.weight_decay": g9(args.weight_decay),
        "training.beta1": g9(BETA1),
        "training.beta2": g9(BETA2),
        "training.adam_eps": g9(ADAM_EPS),
        "training.batch_size": str(args.batch_size),
        "training.epochs": str(args.epochs),
        "training.seed": str(args.seed),
        "training.rows": str(x.shape[0]),
        "training.candle_compat": "false",
        "training.data_hash": data.data_hash(x, y),
    }


def write_predictions(path, clusters):
    with open(path, "w", newline="") as f:
        f.write("row,cluster\n")
        for i, c in enumerate(clusters):
            f.write("%d,%d\n" % (i, c))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="seed of the one generator [0]")
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "iris.csv"))
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--clusters", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--print-every", type=int, default=10)
    ap.add_argument("--out", metavar="FILE", help="write the trained model here")
    ap.add_argument("--predictions", metavar="FILE",
                    help="write row,cluster predictions on --data (reference-row context)")
    args = ap.parse_args()

    torch.set_num_threads(1)  # run-to-run identical results
    x_raw, y_np, feature_names = data.load_labelled_csv(args.data)
    lo, rng = data.minmax_stats(x_raw)
    x_np = data.apply_minmax(x_raw, lo, rng)
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(y_np.astype(np.int64))
    N, F = x_np.shape
    print("Loaded %d samples from %s" % (N, os.path.relpath(args.data)))

    gen = torch.Generator().manual_seed(args.seed)
    model = AttentionClustering(F, args.hidden, args.clusters, "none")
    candle_init_(model, gen)  # the generator draws the initialisation first,
    opt = make_adamw(model, lr=args.lr, weight_decay=args.weight_decay)

    for epoch in range(args.epochs):
        order = torch.randperm(N, generator=gen)  # ... then every epoch's shuffle
        losses, accs = [], []
        for start in range(0, N, args.batch_size):
            idx = order[start : start + args.batch_size]
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = Fn.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            losses.append(float(loss))
            accs.append(float((logits.argmax(dim=1) == yb).float().mean()))
        if epoch % args.print_every == 0 or epoch == args.epochs - 1:
            print("Epoch %d/%d: Loss = %.4f, Accuracy = %.4f"
                  % (epoch + 1, args.epochs, np.mean(losses), np.mean(accs)))

    with torch.no_grad():
        batch_pred = np.argmax(model(x).numpy(), axis=1)
        ref_pred = np.argmax(model.predict_with_reference(x, x).numpy(), axis=1)
    acc_batch = float(np.mean(batch_pred == y_np))
    acc_ref = float(np.mean(ref_pred == y_np))
    print("\nFinal clustering accuracy: %.4f" % acc_batch)
    print("Accuracy with the reference-row context: %.4f" % acc_ref)

    if args.out:
        tensors = {n: t.detach().numpy() for n, t in model.state_dict().items()}
        tensors["attncluster.reference_rows"] = x_np
        meta = model_metadata(args, model, lo, rng, feature_names, data.SPECIES, x_np, y_np)
        st.save(args.out, tensors, meta)
        print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))
    if args.predictions:
        write_predictions(args.predictions, ref_pred)
        print("wrote %s" % args.predictions)


if __name__ == "__main__":
    main()
