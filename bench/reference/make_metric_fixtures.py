#!/usr/bin/python3
"""Write the clustering-metric fixtures tests/fixtures/metrics/*.txt.

Each file is one case: rows of float32 features with a cluster id and a label
id, the K x C contingency table, and what scikit-learn (1.2) says about them:

    adjusted_rand_score, normalized_mutual_info_score (arithmetic),
    adjusted_mutual_info_score (arithmetic), silhouette_score,
    davies_bouldin_score, calinski_harabasz_score

plus raw accuracy (cluster == label), matched accuracy (the best one-to-one
matching of clusters to labels, scipy's linear_sum_assignment) and purity
(sum over clusters of the largest count in its row of the table, over n).
sklearn is given labels_true = the label ids and labels_pred = the cluster
ids, and the features as float64 copies of the float32 values. Where sklearn
raises (a geometry metric with fewer than 2 clusters, or as many clusters as
rows) the value is nan.

The format, one "key value" pair per line, parsed by tests/test_metrics.c:

    # free text, to the end of the line
    n N   F F   K K   C C          sizes (these four come first)
    xscale S                       a feature is written as S * value
    contingency                    then K lines of C counts
    raw_accuracy V ... calinski_harabasz V    values printed with %.17g
    silhouette_rows R              rows the C library should use (n, or 5000)
    silhouette_tolerance T         0: compare at 1e-9; else an absolute
                                   tolerance (a sampled silhouette compared
                                   with sklearn's exact one)
    rows                           then N lines: F features, cluster, label

Features are float32. With xscale 1 they are written with 9 significant
digits (which float32 reads back exactly); the big case uses xscale 64 and
integers (value = integer / 64, exact in float32) to keep the file small.

    /usr/bin/python3 bench/reference/make_metric_fixtures.py [--out-dir DIR]

Deterministic: rerunning it rewrites byte-identical files.
"""

import argparse
import os
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_mutual_info_score,
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)

sys.dont_write_bytecode = True  # leave no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SILHOUETTE_EXACT_MAX = 5000  # AC_SILHOUETTE_EXACT_MAX


def nan_on_error(f, *args):
    """sklearn raises ValueError for undefined geometry scores; the C library
    gives NaN."""
    try:
        return float(f(*args))
    except ValueError:
        return float("nan")


def write_case(path, comment, x32, clusters, labels, K, C, xscale=1):
    x32 = np.asarray(x32, dtype=np.float32)
    clusters = np.asarray(clusters, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n, F = x32.shape
    assert clusters.min() >= 0 and clusters.max() < K
    assert labels.min() >= 0 and labels.max() < C
    x64 = x32.astype(np.float64)

    table = np.zeros((K, C), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)

    v = {}
    v["raw_accuracy"] = float(np.mean(clusters == labels))
    v["matched_accuracy"] = float(table[rows, cols].sum()) / n
    v["purity"] = float(table.max(axis=1).sum()) / n
    v["ari"] = float(adjusted_rand_score(labels, clusters))
    v["nmi"] = float(normalized_mutual_info_score(labels, clusters))
    v["ami"] = float(adjusted_mutual_info_score(labels, clusters))
    # Always sklearn's exact silhouette; for n > 5000 the C library samples
    # and the fixture says how close it must come.
    v["silhouette"] = nan_on_error(silhouette_score, x64, clusters)
    v["davies_bouldin"] = nan_on_error(davies_bouldin_score, x64, clusters)
    v["calinski_harabasz"] = nan_on_error(calinski_harabasz_score, x64, clusters)
    sampled = n > SILHOUETTE_EXACT_MAX

    with open(path, "w") as f:
        f.write("# %s\n" % comment)
        f.write("n %d\nF %d\nK %d\nC %d\nxscale %d\n" % (n, F, K, C, xscale))
        f.write("contingency\n")
        for k in range(K):
            f.write(" ".join("%d" % c for c in table[k]) + "\n")
        for key in ("raw_accuracy", "matched_accuracy", "purity", "ari", "nmi", "ami",
                    "silhouette", "davies_bouldin", "calinski_harabasz"):
            f.write("%s %s\n" % (key, "%.17g" % v[key]))
        f.write("silhouette_rows %d\n" % (SILHOUETTE_EXACT_MAX if sampled else n))
        f.write("silhouette_tolerance %s\n" % ("0.02" if sampled else "0"))
        f.write("rows\n")
        for i in range(n):
            if xscale == 1:
                feats = " ".join("%.9g" % float(t) for t in x32[i])
            else:
                ints = x32[i].astype(np.float64) * xscale
                assert np.all(ints == np.round(ints))
                feats = " ".join("%d" % int(t) for t in ints)
            f.write("%s %d %d\n" % (feats, clusters[i], labels[i]))


def blobs(rng, centers, sizes, spread):
    """Gaussian blobs around centers, float32; returns (x, blob id)."""
    xs, ids = [], []
    for b, (c, m) in enumerate(zip(centers, sizes)):
        xs.append(np.asarray(c, dtype=np.float64) + spread * rng.standard_normal((m, len(c))))
        ids.append(np.full(m, b))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ids)


def reassign(rng, ids, fraction, K):
    """ids with `fraction` of them replaced by a uniform draw from [0, K)."""
    ids = ids.copy()
    flip = rng.random(len(ids)) < fraction
    ids[flip] = rng.integers(0, K, size=int(flip.sum()))
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests", "fixtures", "metrics"))
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    out = lambda name: os.path.join(args.out_dir, name)  # noqa: E731

    # (a) Iris, min-max scaled in float32 as attncluster does, clustered by
    # k-means: about 89% right once matched, but with cluster ids that are not
    # the label ids (24% raw).
    x, y, _ = data.load_labelled_csv(os.path.join(ROOT, "data", "iris.csv"))
    lo, rg = data.minmax_stats(x)
    xs = data.apply_minmax(x, lo, rg)
    km = KMeans(n_clusters=3, n_init=10, random_state=1).fit_predict(xs.astype(np.float64))
    write_case(out("iris_kmeans.txt"), "Iris, min-max scaled, KMeans(3, n_init=10, random_state=1)",
               xs, km, y, 3, 3)

    # (b) More clusters than labels, and fewer: blobs whose labels merge
    # some of them, clusterings that follow the blobs with some noise.
    rng = np.random.default_rng(20240611)
    centers = [(0, 0, 0), (3, 0, 0), (0, 3, 0), (0, 0, 3), (3, 3, 3)]
    x5, b5 = blobs(rng, centers, [70, 50, 60, 80, 40], 0.8)
    write_case(out("random_k5_c3.txt"), "5 blobs in 3-D, label = blob % 3, cluster = blob with 20% reassigned",
               x5, reassign(rng, b5, 0.2, 5), b5 % 3, 5, 3)
    centers = [(0, 0), (4, 0), (0, 4), (4, 4)]
    x4, b4 = blobs(rng, centers, [80, 70, 76, 75], 1.0)
    write_case(out("random_k2_c4.txt"), "4 blobs in 2-D, label = blob, cluster = blob // 2 with 15% reassigned",
               x4, reassign(rng, b4 // 2, 0.15, 2), b4, 2, 4)

    # (c) Edge cases.
    xe = rng.random((12, 2)).astype(np.float32)
    write_case(out("edge_single_cluster.txt"), "one cluster against 3 labels",
               xe, np.zeros(12, dtype=int), np.arange(12) % 3, 1, 3)
    write_case(out("edge_both_single.txt"), "one cluster, one label",
               xe[:8], np.zeros(8, dtype=int), np.zeros(8, dtype=int), 1, 1)
    write_case(out("edge_singletons.txt"), "every row its own cluster, 3 labels",
               xe[:10], np.arange(10), np.arange(10) % 3, 10, 3)
    xp, bp = blobs(rng, [(0, 0), (2, 0), (0, 2), (2, 2)], [10, 12, 8, 10], 0.7)
    perm = np.array([2, 0, 3, 1])
    write_case(out("edge_permuted.txt"), "the labels with permuted ids [2, 0, 3, 1]",
               xp, perm[bp], bp, 4, 4)
    xu, bu = blobs(rng, [(0, 0, 1), (2, 1, 0), (1, 2, 2)], [20, 25, 15], 0.9)
    cu = np.array([0, 2, 5, 6])[reassign(rng, bu, 0.25, 4)]
    lu = np.array([0, 2, 3])[bu]
    write_case(out("edge_unused_ids.txt"), "K = 7 with ids 1, 3, 4 unused; C = 5 with labels 1, 4 unused",
               xu, cu, lu, 7, 5)
    xi = np.array([[0, 0]] * 3 + [[1, 1]] * 4 + [[0.5, 0]] * 2, dtype=np.float32)
    write_case(out("edge_identical_points.txt"), "3 clusters of identical points: no within-cluster spread",
               xi, [0, 0, 0, 1, 1, 1, 1, 2, 2], [0, 0, 1, 1, 1, 1, 1, 2, 0], 3, 3)

    # (d) More rows than the exact silhouette takes: the C library samples
    # 5000; features are multiples of 1/64 written as integers.
    centers = [(2, 2), (6, 2), (2, 6), (6, 6), (4, 4), (9, 9)]
    xb, bb = blobs(rng, centers, [1300, 1200, 1100, 1250, 1150, 1000], 0.9)
    xb = (np.clip(np.round(xb.astype(np.float64) * 64), 0, 64 * 12) / 64).astype(np.float32)
    write_case(out("big_sampled.txt"), "7000 rows in 2-D, 6 blobs, 10% reassigned; silhouette sampled",
               xb, reassign(rng, bb, 0.1, 6), np.minimum(bb, 3), 6, 4, xscale=64)


if __name__ == "__main__":
    main()
