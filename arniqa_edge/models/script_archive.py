"""Read the tensors of a TorchScript archive without running anything from it.

`torch.jit.load` compiles and runs the TorchScript code stored in the file, and
`torch.load(weights_only=True)` refuses TorchScript archives. But the archive
is a zip whose `data.pkl` pickles the module tree: objects of `__torch__.*`
classes whose state dicts hold tensors rebuilt by
`torch._utils._rebuild_tensor_v2` from raw storages under `data/`. This reader
unpickles `data.pkl` with an allow-list, as `torch.load(weights_only=True)`
does for ordinary checkpoints: `__torch__` classes become inert `ScriptObject`
records, tensors become numpy arrays read from their storages (bounds
checked), and any other global, so any code, is refused. numpy only: no torch
needed.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

#: torch storage classes -> numpy dtypes of their raw little-endian bytes.
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class ArchiveError(ValueError):
    """The file is not a TorchScript archive this reader can read, or it asks for something not allowed."""


class ScriptObject:
    """A `__torch__` object of the archive: an inert record of its pickled state (subclassed per class name)."""

    class_name = ""
    state: dict = {}

    def __init__(self, *args) -> None:
        self.state = {}

    def __setstate__(self, state) -> None:
        self.state = state if isinstance(state, dict) else {"state": state}


def read_script_tensors(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of the module tree, by dotted attribute name (e.g. "0.weight" in a Sequential)."""
    try:
        with zipfile.ZipFile(path) as archive:
            root = _pickle_root(archive)
            unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(f"{root}data.pkl")), archive, root)
            obj = unpickler.load()
    except ArchiveError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile and pickle raise many types on damaged files
        raise ArchiveError(f"not a readable TorchScript archive ({type(exc).__name__}: {exc})") from None
    tensors: dict[str, np.ndarray] = {}
    _collect(obj, "", tensors, depth=0)
    return tensors


def _pickle_root(archive: zipfile.ZipFile) -> str:
    """The archive's top folder: it holds data.pkl (the module tree) and code/ (never read here)."""
    names = archive.namelist()
    roots = [name[: -len("data.pkl")] for name in names if name.endswith("/data.pkl") and name.count("/") == 1]
    if len(roots) != 1 or not any(name.startswith(f"{roots[0]}code/") for name in names):
        raise ArchiveError("not a TorchScript archive (no <name>/data.pkl with <name>/code/ beside it)")
    return roots[0]


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds tensors and inert module records; refuses every other global."""

    def __init__(self, data: io.BytesIO, archive: zipfile.ZipFile, root: str):
        super().__init__(data)
        self._archive, self._root = archive, root
        self._storages: dict[str, np.ndarray] = {}
        self._byteorder = "<"
        if f"{root}byteorder" in archive.namelist():
            self._byteorder = ">" if archive.read(f"{root}byteorder").strip() == b"big" else "<"

    def find_class(self, module: str, name: str):
        if module.startswith("__torch__"):
            return type(name, (ScriptObject,), {"class_name": f"{module}.{name}"})
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return lambda data, requires_grad, hooks: data
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        if module == "torch" and name in STORAGE_DTYPES:
            return name
        raise ArchiveError(
            f"refused to load {module}.{name}: only tensors and module records are read from TorchScript archives"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and pid[1] in STORAGE_DTYPES):
            raise ArchiveError(f"unexpected persistent id {pid!r}")
        _, kind, key, _location, numel = pid
        if key not in self._storages:
            dtype = np.dtype(STORAGE_DTYPES[kind]).newbyteorder(self._byteorder)
            info = self._archive.getinfo(f"{self._root}data/{key}")
            if not isinstance(numel, int) or info.file_size != numel * dtype.itemsize:
                raise ArchiveError(f"storage {key}: {info.file_size} bytes for {numel} {kind} values")
            self._storages[key] = np.frombuffer(self._archive.read(info), dtype=dtype).astype(dtype.newbyteorder("="))
        return self._storages[key]


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None) -> np.ndarray:
    """The tensor `storage[offset:]` viewed with `size` and `stride` (in elements), bounds checked, copied."""
    if not isinstance(storage, np.ndarray):
        raise ArchiveError("tensor without a storage")
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in (*size, *stride, offset)):
        raise ArchiveError(f"bad tensor layout: size {size}, stride {stride}, offset {offset}")
    if 0 in size:
        return np.zeros(size, storage.dtype)
    last = offset + sum((n - 1) * step for n, step in zip(size, stride))
    if last >= storage.size:
        raise ArchiveError(f"tensor of size {size} reaches past its storage of {storage.size} values")
    strides = tuple(step * storage.itemsize for step in stride)
    return np.lib.stride_tricks.as_strided(storage[offset:], size, strides).copy()


def _collect(obj, prefix: str, out: dict[str, np.ndarray], depth: int) -> None:
    if depth > 64:
        raise ArchiveError("module tree too deep")
    if isinstance(obj, np.ndarray):
        out[prefix] = obj
    elif isinstance(obj, ScriptObject):
        _collect(obj.state, prefix, out, depth + 1)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(key, str):
                _collect(value, f"{prefix}.{key}" if prefix else key, out, depth + 1)
