"""CSV loading, min-max normalisation and the training-data hash, shared by
the reference scripts. Everything numeric is float32, as in attncluster."""

import csv

import numpy as np

SPECIES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]


class DataError(ValueError):
    pass


def _read_rows(path):
    with open(path, newline="") as f:
        rows = [[c.strip(" \t\r") for c in r] for r in csv.reader(f)]
    while rows and all(c == "" for c in rows[-1]):  # blank lines at the end
        rows.pop()
    if not rows:
        raise DataError("%s: empty file" % path)
    return rows[0], rows[1:]


def _number(text, path, line, col):
    try:
        v = float(text)
    except ValueError:
        raise DataError("%s:%d: column %s: %r is not a number" % (path, line, col, text))
    # float -> float32: correctly rounded for the short decimals of a CSV, as
    # strtof reads them in attncluster.
    v32 = np.float32(v)
    if not np.isfinite(v32):
        raise DataError("%s:%d: column %s: %r is not a finite float32" % (path, line, col, text))
    return v32


def load_labelled_csv(path):
    """The chapter's format: a header, then rows of F features and a species.
    Returns (x float32 (N, F), y int32 (N), feature_names)."""
    header, rows = _read_rows(path)
    F = len(header) - 1
    if F < 1:
        raise DataError("%s:1: the header needs at least 2 fields" % path)
    x = np.empty((len(rows), F), dtype=np.float32)
    y = np.empty(len(rows), dtype=np.int32)
    for i, r in enumerate(rows):
        line = i + 2
        if len(r) != F + 1:
            raise DataError("%s:%d: %d fields (expected %d)" % (path, line, len(r), F + 1))
        for j in range(F):
            x[i, j] = _number(r[j], path, line, header[j])
        if r[F] not in SPECIES:
            raise DataError("%s:%d: unknown species %r" % (path, line, r[F]))
        y[i] = SPECIES.index(r[F])
    return x, y, header[:F]


def load_features_by_name(path, names):
    """The columns called `names` (in that order) of a CSV with a header, as
    float32 (N, len(names)). Other columns are ignored."""
    header, rows = _read_rows(path)
    cols = []
    for n in names:
        if n not in header:
            raise DataError("%s:1: no column named %r (the model's features are %s)"
                            % (path, n, ", ".join(names)))
        cols.append(header.index(n))
    x = np.empty((len(rows), len(names)), dtype=np.float32)
    for i, r in enumerate(rows):
        line = i + 2
        if len(r) != len(header):
            raise DataError("%s:%d: %d fields (expected %d, as in the header)"
                            % (path, line, len(r), len(header)))
        for j, c in enumerate(cols):
            x[i, j] = _number(r[c], path, line, header[c])
    return x


def minmax_stats(x):
    """Per-column float32 min and range (max - min) over all rows."""
    lo = x.min(axis=0).astype(np.float32)
    hi = x.max(axis=0).astype(np.float32)
    return lo, (hi - lo).astype(np.float32)


def apply_minmax(x, lo, rng):
    """x' = (x - lo) / rng in float32; a column with range 0 maps to 0."""
    x = np.asarray(x, dtype=np.float32)
    lo = np.asarray(lo, dtype=np.float32)
    rng = np.asarray(rng, dtype=np.float32)
    safe = np.where(rng > 0, rng, np.float32(1)).astype(np.float32)
    out = ((x - lo) / safe).astype(np.float32)
    return np.where(rng > 0, out, np.float32(0)).astype(np.float32)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def data_hash(x, y):
    """training.data_hash: FNV-1a 64 over the normalised float32 rows
    (row-major, little-endian) followed by the int32 little-endian labels."""
    blob = np.ascontiguousarray(x, dtype="<f4").tobytes()
    blob += np.ascontiguousarray(y, dtype="<i4").tobytes()
    return "fnv1a64:%016x" % fnv1a64(blob)
