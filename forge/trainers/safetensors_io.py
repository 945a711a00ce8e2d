"""Reading and writing safetensors files with the standard library and torch.

The format (https://github.com/huggingface/safetensors): an unsigned 64-bit
little-endian header length N, then N bytes of JSON

    {"NAME": {"dtype": "F32", "shape": [r, c], "data_offsets": [begin, end]},
     "__metadata__": {"key": "value"}}

then the tensor data, each tensor's bytes at [begin, end) relative to the
start of the data, row-major, little-endian, contiguous and without gaps.

Only the dtypes a Llama checkpoint or a LoRA adapter uses are supported:
F32, F16 and BF16. No safetensors package is needed.
"""

import json
import os
import struct
import sys

import torch

# Safetensors dtype names and the torch dtypes they map to.
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2}

# A header larger than this is certainly not a model's (guards a garbage file).
MAX_HEADER = 100 * 1024 * 1024

if sys.byteorder != "little":  # pragma: no cover - every platform we run on
    raise ImportError("safetensors_io assumes a little-endian machine")


class SafetensorsError(Exception):
    """A file that is not valid safetensors, or a tensor it cannot hold."""


def read_header(path):
    """Return (header, data_start) of the safetensors file at path.

    header maps each tensor's name to its entry (dtype, shape, data_offsets);
    the "__metadata__" entry, if any, is left out. data_start is the file
    offset of the data section. Offsets are checked against the file size,
    and each dtype and shape against the byte count.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise SafetensorsError(f"{path}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        if n > MAX_HEADER or 8 + n > size:
            raise SafetensorsError(f"{path}: bad header length {n}")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SafetensorsError(f"{path}: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    header.pop("__metadata__", None)
    data_start = 8 + n
    for name, entry in header.items():
        check_entry(path, name, entry, size - data_start)
    return header, data_start


def check_entry(path, name, entry, data_len):
    """Raise SafetensorsError unless entry describes a readable tensor."""
    if not isinstance(entry, dict):
        raise SafetensorsError(f"{path}: {name}: entry is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPES:
        raise SafetensorsError(f"{path}: {name}: unsupported dtype {dtype!r} (want F32, F16 or BF16)")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise SafetensorsError(f"{path}: {name}: bad shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)):
        raise SafetensorsError(f"{path}: {name}: bad data_offsets {offsets!r}")
    begin, end = offsets
    count = 1
    for d in shape:
        count *= d
    if not 0 <= begin <= end <= data_len or end - begin != count * DTYPE_SIZES[dtype]:
        raise SafetensorsError(
            f"{path}: {name}: data_offsets {offsets} do not fit shape {shape} {dtype} "
            f"in {data_len} data bytes")


def load(path, names=None):
    """Load tensors from the safetensors file at path into a dict of CPU tensors.

    names, when given, limits the tensors read (each must be present).
    Tensors keep their stored dtype.
    """
    header, data_start = read_header(path)
    wanted = header.keys() if names is None else names
    out = {}
    with open(path, "rb") as f:
        for name in wanted:
            if name not in header:
                raise SafetensorsError(f"{path}: no tensor {name}")
            entry = header[name]
            begin, end = entry["data_offsets"]
            f.seek(data_start + begin)
            buf = bytearray(f.read(end - begin))
            dtype = DTYPES[entry["dtype"]]
            if len(buf) == 0:
                t = torch.empty(0, dtype=dtype)
            else:
                t = torch.frombuffer(buf, dtype=dtype)
            out[name] = t.reshape(entry["shape"])
    return out


def tensor_bytes(t):
    """The little-endian row-major bytes of tensor t (F32, F16 or BF16)."""
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the same 16 bits as int16.
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save(tensors, path, metadata=None, dtype=None):
    """Write tensors (a dict name -> tensor) to path in safetensors format.

    dtype, when given (e.g. torch.float32), converts every tensor first.
    Tensors are written in name order; the header is padded with spaces to
    a multiple of 8 bytes, as the reference writer does. The file is
    written to a temporary name and renamed into place.
    """
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if dtype is not None:
            t = t.to(dtype)
        if t.dtype not in DTYPE_NAMES:
            raise SafetensorsError(f"{name}: cannot write dtype {t.dtype}")
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)
