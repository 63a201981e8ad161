"""Writes tests/fixtures/kmeans/*.txt: data sets with scikit-learn's k-means inertia.

    /usr/bin/python3 bench/reference/make_kmeans_fixtures.py

Each file: "n N", "F F", "K K", "inertia X" (sklearn KMeans(n_clusters=K, n_init=100,
random_state=0) on the float32 features, in float64), then "rows" and N lines of F features.
Needs Debian's python3-sklearn; never needed to build or test.
"""
import numpy as np
import sklearn
from sklearn import datasets
from sklearn.cluster import KMeans


def minmax(x):
    x = x.astype(np.float32)
    lo = x.min(0)
    rg = x.max(0) - lo
    rg[rg == 0] = 1
    return ((x - lo) / rg).astype(np.float32)


def zscore(x):
    x = x.astype(np.float32)
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32)


def main():
    blobs, _ = datasets.make_blobs(n_samples=500, centers=5, n_features=3, cluster_std=0.6,
                                   random_state=3)
    cases = [("iris_minmax", minmax(datasets.load_iris().data), 3),
             ("wine_zscore", zscore(datasets.load_wine().data), 3),
             ("breast_cancer_minmax", minmax(datasets.load_breast_cancer().data), 2),
             ("blobs5", blobs.astype(np.float32), 5)]
    for name, x, K in cases:
        km = KMeans(n_clusters=K, n_init=100, random_state=0).fit(x.astype(np.float64))
        with open("tests/fixtures/kmeans/%s.txt" % name, "w") as f:
            f.write("# written by bench/reference/make_kmeans_fixtures.py: sklearn %s "
                    "KMeans(n_clusters=%d, n_init=100, random_state=0)\n" % (sklearn.__version__, K))
            f.write("n %d\nF %d\nK %d\ninertia %.17g\nrows\n" % (x.shape[0], x.shape[1], K,
                                                                 km.inertia_))
            for r in x:
                f.write(" ".join("%.9g" % v for v in r) + "\n")
        print(name, km.inertia_)


if __name__ == "__main__":
    main()
