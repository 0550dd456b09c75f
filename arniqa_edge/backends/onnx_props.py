"""The metadata_props of an ONNX file, read without onnx or onnxruntime.

Choosing among the exports of a model (`selection`) reads what each file says it
is (precision, target, source weights) before any session exists, and also where
onnxruntime is not installed. An ONNX file is a protobuf `ModelProto`: the
metadata are its field 14, entries of (key = field 1, value = field 2); every
other field, the graph included, is skipped by its length, so a 100 MB model
costs one pass over a memory map.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from ..errors import WeightsError

_METADATA_PROPS = 14
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


def read_onnx_metadata(path: str | os.PathLike) -> dict[str, str]:
    """{key: value} of the file's metadata_props; WeightsError when it is not an ONNX (protobuf) file."""
    path = Path(path)
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            props, problem = _read(data)
    except FileNotFoundError:
        raise WeightsError(f"ONNX file not found: {path}") from None
    except (ValueError, OSError) as exc:  # mmap of an empty file: ValueError
        props, problem = None, str(exc)
    if problem is not None:
        raise WeightsError(f"{path}: not an ONNX file ({problem})")
    return props


def _read(data: mmap.mmap) -> tuple[dict[str, str] | None, str | None]:
    """(props, None), or (None, what is wrong); no view of `data` outlives the call, so the map can close."""
    view = memoryview(data)
    try:
        return dict(_entries(view)), None
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        view.release()


def _entries(data: memoryview):
    for field, value in _fields(data):
        if field == _METADATA_PROPS:
            entry = dict(_fields(value))
            yield bytes(entry.get(1, b"")).decode(), bytes(entry.get(2, b"")).decode()


def _fields(data: memoryview):
    """(field number, bytes) of every length-delimited field of one message; other wire types are skipped."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ValueError("field number 0")
        if wire == _VARINT:
            _, position = _varint(data, position)
        elif wire == _FIXED64:
            position += 8
        elif wire == _FIXED32:
            position += 4
        elif wire == _LENGTH:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise ValueError("truncated field")
            yield field, data[position : position + length]
            position += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    if position != len(data):
        raise ValueError("truncated message")


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
