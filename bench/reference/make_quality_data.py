"""Writes the data sets of `make bench-quality`: data/wine.csv, data/breast_cancer.csv,
data/stretched.csv.

    /usr/bin/python3 bench/reference/make_quality_data.py

Deterministic: rerunning it rewrites byte-identical files.

- wine.csv, breast_cancer.csv: the UCI Wine and Breast Cancer Wisconsin (Diagnostic) data sets
  as Debian's python3-sklearn (1.2.1) ships them (sklearn/datasets/data/wine_data.csv and
  breast_cancer.csv). The numbers are copied as they are written there (no reformatting), and
  checked against sklearn.datasets.load_wine / load_breast_cancer. Header: sklearn's
  feature_names with every run of characters other than letters and digits turned into "_"
  ("mean radius" -> mean_radius, "od280/od315_of_diluted_wines" ->
  od280_od315_of_diluted_wines), then `class`, the target by name (wine: class_0, class_1,
  class_2; breast cancer: malignant, benign), so that attncluster's default "the last column,
  when it is not numeric, is the label" applies.
- stretched.csv: four Gaussian clusters in 3 dimensions, each with a strongly anisotropic
  covariance (one long axis, two short ones, 2 to 7 times shorter) under its own random rotation,
  partially overlapping; 600 rows (180, 160, 140, 120) in a seeded random order, columns x1,
  x2, x3 (4 decimals) and `cluster` (A, B, C, D), the component each row was drawn from.
  Spherical methods (k-means) do poorly on it; a full-covariance Gaussian mixture does well.

Needs Debian's python3-sklearn and python3-numpy; never needed to build or test.
"""
import csv
import os
import re

import numpy as np
import sklearn
from sklearn import datasets

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SKDATA = os.path.join(os.path.dirname(datasets.__file__), "data")

STRETCHED_SEED = 1
STRETCHED_SIZES = [180, 160, 140, 120]
STRETCHED_NAMES = ["A", "B", "C", "D"]
STRETCHED_MEANS = np.array([[0.0, 0.0, 0.0],
                            [2.2, 1.0, 0.5],
                            [-0.5, 2.6, -0.8],
                            [2.0, -1.6, 1.2]])
# standard deviations along each cluster's own axes (before its rotation)
STRETCHED_SCALES = np.array([[2.0, 0.5, 0.3],
                             [1.8, 0.6, 0.4],
                             [2.2, 0.4, 0.4],
                             [1.5, 0.7, 0.3]])


def safe_name(name):
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def write_csv(path, header, rows):
    # "\n" line endings, no quoting needed: no field holds a comma, quote or space
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)
    print("wrote %s (%d rows)" % (os.path.relpath(path, ROOT), len(rows)))


def copy_sklearn(raw_name, bunch, out_name):
    with open(os.path.join(SKDATA, raw_name), newline="") as f:
        lines = list(csv.reader(f))
    n, nf = int(lines[0][0]), int(lines[0][1])
    target_names = lines[0][2:]
    assert list(target_names) == list(bunch.target_names), (target_names, bunch.target_names)
    body = lines[1:]
    assert len(body) == n == bunch.data.shape[0] and nf == bunch.data.shape[1]
    header = [safe_name(s) for s in bunch.feature_names]
    assert len(set(header)) == len(header)
    rows = []
    for i, r in enumerate(body):
        assert len(r) == nf + 1
        feats = r[:nf]
        # the text we copy is exactly what sklearn loads
        assert np.array_equal(np.array([float(v) for v in feats]), bunch.data[i]), i
        t = int(r[nf])
        assert t == bunch.target[i]
        rows.append(feats + [target_names[t]])
    write_csv(os.path.join(ROOT, "data", out_name), header + ["class"], rows)


def random_rotation(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def make_stretched():
    rng = np.random.default_rng(STRETCHED_SEED)
    xs, ys = [], []
    for k, n in enumerate(STRETCHED_SIZES):
        rot = random_rotation(rng, 3)
        z = rng.standard_normal((n, 3)) * STRETCHED_SCALES[k]
        xs.append(z @ rot.T + STRETCHED_MEANS[k])
        ys += [STRETCHED_NAMES[k]] * n
    x = np.vstack(xs)
    order = rng.permutation(len(ys))
    rows = [["%.4f" % v for v in x[i]] + [ys[i]] for i in order]
    write_csv(os.path.join(ROOT, "data", "stretched.csv"), ["x1", "x2", "x3", "cluster"], rows)


def main():
    print("sklearn %s, numpy %s" % (sklearn.__version__, np.__version__))
    copy_sklearn("wine_data.csv", datasets.load_wine(), "wine.csv")
    copy_sklearn("breast_cancer.csv", datasets.load_breast_cancer(), "breast_cancer.csv")
    make_stretched()


if __name__ == "__main__":
    main()
