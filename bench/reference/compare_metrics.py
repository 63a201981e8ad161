"""Prints attncluster's metrics for a run next to scikit-learn's for the same assignment.

    /usr/bin/python3 bench/reference/compare_metrics.py [attncluster train options...]

Runs `build/attncluster train --json --assignments TMP ...`, reads the clusters it wrote and
the data it trained on (min-max scaled, as the run scaled it), and computes every metric with
sklearn.metrics (Debian's python3-sklearn). Never needed to build or test.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402


def main(argv):
    data_path = "data/iris.csv"
    if "--data" in argv:
        data_path = argv[argv.index("--data") + 1]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "assignments.csv")
        run = subprocess.run(["build/attncluster", "train", "--json", "--quiet",
                              "--assignments", out] + argv,
                             check=True, capture_output=True, text=True)
        ours = json.loads(run.stdout)["metrics"]
        with open(out) as f:
            rows = list(csv.DictReader(f))
    clusters = np.array([int(r["cluster"]) for r in rows])
    names = [r["label"] for r in rows]
    ids = {n: i for i, n in enumerate(dict.fromkeys(names))}
    labels = np.array([ids[n] for n in names])
    features = json.loads(run.stdout)["data"]["features"]
    x_raw = data.load_features_by_name(data_path, features)
    lo, rng = data.minmax_stats(x_raw)
    x = data.apply_minmax(x_raw, lo, rng).astype(np.float64)

    table = metrics.cluster.contingency_matrix(labels, clusters)
    r, c = linear_sum_assignment(-table)
    theirs = {
        "raw_accuracy": float(np.mean(clusters == labels)),
        "matched_accuracy": float(table[r, c].sum() / len(labels)),
        "ari": metrics.adjusted_rand_score(labels, clusters),
        "nmi": metrics.normalized_mutual_info_score(labels, clusters),
        "ami": metrics.adjusted_mutual_info_score(labels, clusters),
        "purity": float(table.max(axis=0).sum() / len(labels)),
        "silhouette": metrics.silhouette_score(x, clusters),
        "davies_bouldin": metrics.davies_bouldin_score(x, clusters),
        "calinski_harabasz": metrics.calinski_harabasz_score(x, clusters),
    }
    print("%-20s %14s %14s %10s" % ("metric", "attncluster", "scikit-learn", "|diff|"))
    for k, v in theirs.items():
        print("%-20s %14.9f %14.9f %10.2g" % (k, ours[k], v, abs(ours[k] - v)))


if __name__ == "__main__":
    main(sys.argv[1:])
