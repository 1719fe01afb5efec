"""Reading inswapper's emap, the graph's last initializer, straight from the ONNX protobuf bytes.

onnxruntime does not expose initializer values, and the `onnx` package is only a test
dependency here; the protobuf wire format is simple enough to walk for one tensor. The file
is memory-mapped and every other field is skipped by its length, so the 550 MB model costs
a few milliseconds and no copy.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from collections.abc import Iterator

import numpy as np

MODEL_GRAPH = 7  # ModelProto.graph
GRAPH_INITIALIZER = 5  # GraphProto.initializer
TENSOR_DIMS, TENSOR_DATA_TYPE, TENSOR_FLOAT_DATA, TENSOR_RAW_DATA = 1, 2, 4, 9
TENSOR_DATA_LOCATION = 14  # 1 = EXTERNAL
FLOAT = 1  # TensorProto.DataType.FLOAT
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def read_varint(buffer: mmap.mmap | bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buffer[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(buffer: mmap.mmap | bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, a, b) of each field in buffer[start:end].

    For varints `a` is the value; for everything else buffer[a:b] holds the field's bytes.
    """
    pos = start
    while pos < end:
        key, pos = read_varint(buffer, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = read_varint(buffer, pos)
            yield number, wire, value, pos
            continue
        if wire == LENGTH_DELIMITED:
            size, pos = read_varint(buffer, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {pos}")
        yield number, wire, pos, pos + size
        pos += size


def last_field(buffer: mmap.mmap | bytes, start: int, end: int, number: int) -> tuple[int, int]:
    """The byte span of the last occurrence of field `number`."""
    found = None
    for field, _, a, b in fields(buffer, start, end):
        if field == number:
            found = (a, b)
    if found is None:
        raise ValueError(f"field {number} not found")
    return found


def tensor(buffer: mmap.mmap | bytes, start: int, end: int) -> np.ndarray:
    """A float32 TensorProto as an array (dims packed or not; raw_data or float_data)."""
    dims: list[int] = []
    data_type, raw, floats = None, None, []
    for field, wire, a, b in fields(buffer, start, end):
        if field == TENSOR_DIMS and wire == VARINT:
            dims.append(a)
        elif field == TENSOR_DIMS:
            pos = a
            while pos < b:
                dim, pos = read_varint(buffer, pos)
                dims.append(dim)
        elif field == TENSOR_DATA_TYPE:
            data_type = a
        elif field == TENSOR_RAW_DATA:
            raw = buffer[a:b]
        elif field == TENSOR_FLOAT_DATA:
            floats.append(np.frombuffer(buffer[a:b], "<f4"))
        elif field == TENSOR_DATA_LOCATION and a == 1:
            raise ValueError("the tensor's data is stored outside the .onnx file")
    if data_type != FLOAT:
        raise ValueError(f"expected a float32 tensor, found ONNX data type {data_type}")
    values = np.frombuffer(raw, "<f4") if raw is not None else np.concatenate(floats or [np.empty(0, "<f4")])
    return values.astype(np.float32).reshape(dims)


def read_last_initializer(path: str | Path) -> np.ndarray:
    """The last initializer of the ONNX model at `path`, as a float32 array."""
    if Path(path).stat().st_size == 0:
        raise ValueError(f"{path} is empty")
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
        try:
            graph = last_field(buffer, 0, len(buffer), MODEL_GRAPH)
            initializer = last_field(buffer, *graph, GRAPH_INITIALIZER)
        except ValueError as exc:
            raise ValueError(f"{path} has no graph initializers: is it an ONNX model?") from exc
        return tensor(buffer, *initializer)
