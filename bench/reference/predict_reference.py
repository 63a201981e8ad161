#!/usr/bin/python3
"""Predict clusters with an attncluster model file, in PyTorch.

    /usr/bin/python3 bench/reference/predict_reference.py MODEL.safetensors DATA.csv

Loads a model written by attncluster (or by train_reference.py), builds the
torch module from its tensors by name (load_state_dict, strict), reads the
columns of DATA.csv named by the model's feature_names, normalises them with
the stored feature_min / feature_range (a range of 0 maps the feature to 0),
lets each row attend over the stored reference rows plus itself, and prints
CSV: a header `row,cluster`, then one line per data row (row counts from 0).
Exit status 1 with a message on stderr for a file it cannot use.
"""

import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # leave no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import st  # noqa: E402
from model import PARAM_NAMES, AttentionClustering  # noqa: E402

REQUIRED = [
    "format", "format_version", "attncluster_version", "features", "hidden_size", "clusters",
    "attention_scale", "layernorm_eps", "normalization",
    "feature_names", "label_names", "reference_rows",
]


class ModelError(ValueError):
    pass


def _int(meta, key, path):
    try:
        v = int(meta[key])
    except ValueError:
        raise ModelError("%s: metadata %s = %r is not an integer" % (path, key, meta[key]))
    if v < 1:
        raise ModelError("%s: metadata %s = %d (expected at least 1)" % (path, key, v))
    return v


def _json_list(meta, key, path, n=None, kind=None):
    try:
        v = json.loads(meta[key])
    except ValueError:
        raise ModelError("%s: metadata %s is not JSON text" % (path, key))
    if not isinstance(v, list) or (n is not None and len(v) != n):
        raise ModelError("%s: metadata %s is not a JSON array%s"
                         % (path, key, "" if n is None else " of %d items" % n))
    if kind is not None and not all(isinstance(e, kind) and not isinstance(e, bool) for e in v):
        raise ModelError("%s: metadata %s holds an item of the wrong type" % (path, key))
    return v


def load_model(path):
    """Returns (module, reference rows float32 tensor, metadata dict, a
    normalise(x) function)."""
    tensors, meta = st.load(path)
    if meta is None:
        raise ModelError("%s: no __metadata__ in the header: this is not an attncluster model "
                         "file (a bare weights file cannot say how to normalise the data)"
                         % path)
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise ModelError("%s: metadata lacks %s" % (path, ", ".join(missing)))
    if meta["format"] != "attncluster-model":
        raise ModelError("%s: format %r (expected attncluster-model)" % (path, meta["format"]))
    if meta["format_version"] != "1":
        raise ModelError("%s: format_version %r (expected 1)" % (path, meta["format_version"]))
    F, H, K = (_int(meta, k, path) for k in ("features", "hidden_size", "clusters"))
    R = _int(meta, "reference_rows", path)
    scale = meta["attention_scale"]
    if scale not in ("none", "sqrt"):
        raise ModelError("%s: attention_scale %r (expected none or sqrt)" % (path, scale))
    eps = float(meta["layernorm_eps"])
    norm = meta["normalization"]
    if norm not in ("minmax", "zscore", "none"):
        raise ModelError("%s: normalization %r (expected minmax, zscore or none)" % (path, norm))
    if norm != "none":
        # x' = (x - shift) / scale, a scale of 0 giving 0: min/range or mean/std.
        shift_key, scale_key = (("feature_min", "feature_range") if norm == "minmax"
                                else ("feature_mean", "feature_std"))
        lo = np.array(_json_list(meta, shift_key, path, F, (int, float)), dtype=np.float32)
        rng = np.array(_json_list(meta, scale_key, path, F, (int, float)), dtype=np.float32)
    names = _json_list(meta, "feature_names", path, F, str)
    _json_list(meta, "label_names", path, None, str)

    ref = tensors.pop("attncluster.reference_rows", None)
    if ref is None or ref.shape != (R, F):
        raise ModelError("%s: attncluster.reference_rows missing or not (%d, %d)" % (path, R, F))
    model = AttentionClustering(F, H, K, scale)
    model.layer_norm.eps = eps
    expected = model.state_dict()
    for n in PARAM_NAMES:
        if n in tensors and tuple(tensors[n].shape) != tuple(expected[n].shape):
            raise ModelError("%s: tensor %s has shape %s (expected %s)"
                             % (path, n, list(tensors[n].shape), list(expected[n].shape)))
    try:
        model.load_state_dict({n: torch.from_numpy(t) for n, t in tensors.items()}, strict=True)
    except RuntimeError as e:
        raise ModelError("%s: tensors do not match the model: %s" % (path, e))
    model.eval()

    def normalise(x):
        if norm == "none":
            return np.asarray(x, dtype=np.float32)
        return data.apply_minmax(x, lo, rng)

    return model, torch.from_numpy(ref), meta, names, normalise


def predict_file(model_path, data_path):
    model, ref, meta, names, normalise = load_model(model_path)
    x = normalise(data.load_features_by_name(data_path, names))
    with torch.no_grad():
        logits = model.predict_with_reference(torch.from_numpy(x), ref).numpy()
    return np.argmax(logits, axis=1)  # the first largest logit


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: predict_reference.py MODEL.safetensors DATA.csv\n")
        return 2
    try:
        clusters = predict_file(sys.argv[1], sys.argv[2])
    except (OSError, st.SafetensorsError, ModelError, data.DataError) as e:
        sys.stderr.write("predict_reference.py: %s\n" % e)
        return 1
    out = ["row,cluster"] + ["%d,%d" % (i, c) for i, c in enumerate(clusters)]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
