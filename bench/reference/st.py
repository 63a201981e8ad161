"""Read and write safetensors files with only the standard library and numpy.

The subset attncluster uses (docs/model-format.md):

    8 bytes   N, the header length, unsigned 64-bit little-endian
    N bytes   a JSON object, UTF-8, padded with spaces to a multiple of 8
    rest      the tensor data, little-endian float32, packed from offset 0

The header maps each tensor name to {"dtype": "F32", "shape": [...],
"data_offsets": [begin, end]} and may hold "__metadata__", an object of
string to string. Writing packs the tensors in the order of their sorted
names (byte order) with no gaps.

    save(path, {"name": array, ...}, metadata={"key": "value"})
    tensors, metadata = load(path)      # metadata is None without __metadata__
"""

import json
import struct

import numpy as np

__all__ = ["SafetensorsError", "save", "dumps", "load", "loads"]

_F32 = np.dtype("<f4")


class SafetensorsError(ValueError):
    """A file that is not a well-formed F32 safetensors file."""


def _byte_key(name):
    # Python orders str by code point, which is also UTF-8 byte order; encode
    # anyway so the rule reads as the format states it.
    return name.encode("utf-8")


def dumps(tensors, metadata=None):
    """Return the bytes of a safetensors file holding `tensors` (a dict of
    name -> array-like, stored as float32) and `metadata` (str -> str)."""
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError("metadata must be a dict of str to str")
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("metadata must map str to str (%r: %r)" % (k, v))
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name in sorted(tensors, key=_byte_key):
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError("bad tensor name %r" % (name,))
        arr = np.asarray(tensors[name])
        if arr.dtype != np.float32:
            if not np.can_cast(arr.dtype, np.float32, casting="same_kind"):
                raise TypeError("tensor %s: dtype %s cannot be stored as F32" % (name, arr.dtype))
            arr = arr.astype(np.float32)
        data = np.ascontiguousarray(arr, dtype=_F32).tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": [int(d) for d in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path, tensors, metadata=None):
    """Write `tensors` and `metadata` to `path` as safetensors."""
    data = dumps(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)


def loads(blob, source="<bytes>"):
    """Parse the bytes of a safetensors file. Returns (tensors, metadata):
    a dict of name -> float32 numpy array (in file order) and the
    __metadata__ dict, or None when the file has none."""

    def bad(msg):
        raise SafetensorsError("%s: %s" % (source, msg))

    if len(blob) < 8:
        bad("%d bytes is too short for a safetensors file (expected at least 8)" % len(blob))
    (n,) = struct.unpack_from("<Q", blob, 0)
    if n > len(blob) - 8:
        bad("header length %d runs past the end of the file (%d bytes)" % (n, len(blob)))
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        bad("the header is not UTF-8 JSON (%s)" % e)
    if not isinstance(header, dict):
        bad("the header is not a JSON object")
    data = memoryview(blob)[8 + n :]

    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            bad("__metadata__ is not an object of string to string")

    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            bad("tensor %s: entry is not an object" % name)
        dtype = info.get("dtype")
        if dtype != "F32":
            bad("tensor %s: dtype %r (expected F32)" % (name, dtype))
        shape = info.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            bad("tensor %s: shape %r is not a list of non-negative integers" % (name, shape))
        offs = info.get("data_offsets")
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
        ):
            bad("tensor %s: data_offsets %r is not [begin, end]" % (name, offs))
        begin, end = offs
        if not 0 <= begin <= end <= len(data):
            bad("tensor %s: data_offsets [%d, %d] outside the %d data bytes"
                % (name, begin, end, len(data)))
        count = 1
        for d in shape:
            count *= d
        if end - begin != 4 * count:
            bad("tensor %s: %d bytes for shape %s (expected %d)"
                % (name, end - begin, shape, 4 * count))
        entries.append((begin, end, name, shape))

    # The tensors must tile the data exactly: no gaps, no overlap, nothing after.
    pos = 0
    for begin, end, name, _ in sorted(entries):
        if begin != pos:
            bad("tensor %s begins at byte %d (expected %d: no gaps or overlaps)"
                % (name, begin, pos))
        pos = end
    if pos != len(data):
        bad("%d data bytes but the tensors end at %d" % (len(data), pos))

    tensors = {}
    for begin, end, name, shape in entries:
        arr = np.frombuffer(data[begin:end], dtype=_F32).astype(np.float32)
        tensors[name] = arr.reshape(shape)
    return tensors, metadata


def load(path):
    """Read a safetensors file: (tensors, metadata) as loads() returns."""
    with open(path, "rb") as f:
        blob = f.read()
    return loads(blob, source=path)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: st.py FILE.safetensors   (lists the tensors and metadata)")
    try:
        ts, md = load(sys.argv[1])
    except (OSError, SafetensorsError) as e:
        sys.exit(str(e))
    for k, v in sorted((md or {}).items()):
        print("meta %s = %s" % (k, v))
    for k, v in ts.items():
        print("%s %s" % (k, list(v.shape)))
