"""Writes tests/fixtures/pca/: principal components computed by numpy, for
tests/test_plot.c to compare ac_pca against.

    /usr/bin/python3 bench/reference/make_pca_fixtures.py   (from the repository root)

For each data set NAME: NAME.txt holds a line "explained E1 E2" (the share
of the total variance of the first two components) and one line "P1 P2" per
row (the centred row projected on them). The data are read as float32, as
attncluster reads them; the rest is float64: the covariance with n - 1,
numpy.linalg.eigh, components in decreasing order of variance, each signed
so that its largest-magnitude entry is positive (the first of equals), as
ac_pca documents. random40.csv (300 rows, 40 columns of a decaying spectrum,
seed 7) is written here too, so that the test sees a case with F well above
the subspace block.
"""
import csv
import os

import numpy as np

OUT = "tests/fixtures/pca"


def read_features(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    body = rows[1:]
    numeric = []
    for j in range(len(body[0])):
        try:
            [float(r[j]) for r in body]
            numeric.append(j)
        except ValueError:
            pass
    return np.array([[float(r[j]) for j in numeric] for r in body], dtype=np.float32)


def components(x32):
    x = x32.astype(np.float64)
    centred = x - x.mean(axis=0)
    cov = centred.T @ centred / (x.shape[0] - 1)
    w, v = np.linalg.eigh(cov)
    order = np.argsort(-w)
    w, v = w[order], v[:, order]
    for j in range(v.shape[1]):
        big = v[np.argmax(np.abs(v[:, j]) > np.abs(v[:, j]).max() - 1e-12), j]
        if big < 0:
            v[:, j] = -v[:, j]
    return w[:2] / w.sum(), centred @ v[:, :2]


def write(name, x32):
    explained, proj = components(x32)
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("explained %.17g %.17g\n" % tuple(explained))
        for p in proj:
            f.write("%.17g %.17g\n" % tuple(p))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    n, F = 300, 40
    scales = 3.0 * 0.8 ** np.arange(F)
    basis, _ = np.linalg.qr(rng.standard_normal((F, F)))
    data = (rng.standard_normal((n, F)) * scales) @ basis.T + rng.standard_normal(F)
    with open(os.path.join(OUT, "random40.csv"), "w") as f:
        f.write(",".join("x%d" % (j + 1) for j in range(F)) + "\n")
        for row in data:
            f.write(",".join("%.6f" % v for v in row) + "\n")
    write("iris", read_features("data/iris.csv"))
    write("wine", read_features("data/wine.csv"))
    write("random40", read_features(os.path.join(OUT, "random40.csv")))


if __name__ == "__main__":
    main()
