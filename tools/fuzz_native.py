"""Fuzz the native extension arniqa_edge._C: every call must succeed or raise, never crash.

README: from the repository root, `.venv/bin/python tools/fuzz_native.py --cases 100000 --seed 1`
feeds the preprocessing op and every distortion kernel random shapes (0, 1, huge extents of
empty arrays), dtypes, memory layouts (Fortran order, steps, negative strides, misaligned,
broadcast), read-only arrays, torch CPU tensors, stand-ins that are not arrays and bad
keyword values, and prints per function how many calls ran, succeeded and raised.

Each call is judged against the function's documented contract (`contract_problems`):
a call that breaks it must raise a Python exception, one that keeps it must succeed, and
a successful call's outputs must be fully written and in range (`result_failures`).
Calls run in a child process, so a segfault, abort or hang is reported with the call that
caused it; the printed `Case(...)` is a reproducer for `--replay`. tests/test_native_fuzz.py
runs a bounded version.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import math
import multiprocessing
import signal
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

nan, inf = math.nan, math.inf  # so that a Case's repr evaluates
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
MAX_VALUES = 1 << 22  # the most values an array built here may hold (empty ones may declare more)

# --- What a call is made of ---------------------------------------------------------------


@dataclass(frozen=True)
class Array:
    """How to build one array argument (built in the child process).

    values: "unit" (uniform in [0, 1]), "wild" (unit with NaN, infinities and out-of-range
        values mixed in), "bytes" (0..255), or explicit values tiled to the shape.
    layout: "c", "f", "transposed", "strided" (every other element of the last axis),
        "reversed" (negative stride on axis 0), "padded" (a crop of a wider array: row
        padding), "misaligned" (one byte off its item size), "broadcast" (stride 0).
    kind: "numpy", "readonly", "memoryview", "torch" (CPU tensor), "torch_grad" (one that
        requires grad, which DLPack cannot export), or a stand-in that is not an array:
        "none", "list", "scalar", "bytes", "cai:<defect>", "dlpack:<defect>".
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    values: str | tuple = "unit"
    seed: int = 0
    layout: str = "c"
    kind: str = "numpy"


@dataclass(frozen=True)
class Case:
    """One call: function is "preprocess", "preprocess_cuda" or "distort.<kernel>"."""

    function: str
    args: tuple
    kwargs: dict


# --- Building the arguments (child process) -----------------------------------------------


def contents(spec: Array) -> np.ndarray:
    """The array's values, C order."""
    size = math.prod(spec.shape)
    rng = np.random.default_rng(spec.seed)
    if spec.values in ("unit", "wild"):
        flat = rng.uniform(0.0, 1.0, size)
        if spec.values == "wild":
            odd = rng.random(size) < 0.2
            flat[odd] = rng.choice([nan, inf, -inf, -3.0, 7.0, 1e30, -0.0], int(odd.sum()))
    elif spec.values == "bytes":
        flat = rng.integers(0, 256, size)
    else:
        flat = np.resize(np.array(spec.values), size)
    with np.errstate(all="ignore"):  # NaN or out-of-range values cast to an integer dtype
        return flat.astype(np.dtype(spec.dtype)).reshape(spec.shape)


def laid_out(values: np.ndarray, layout: str) -> np.ndarray:
    """A fresh writable array holding `values` with the memory layout `layout`."""
    if values.ndim == 0 or layout == "c":
        return values.copy()
    if layout == "f":
        return np.asfortranarray(values)
    if layout == "transposed":
        return np.ascontiguousarray(values.T).T
    if layout == "reversed":
        return values[::-1].copy()[::-1]
    if layout == "strided":
        if values.size == 0:  # nothing to step over; a doubled declared size may be too big for numpy
            return values.copy()
        wide = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), values.dtype)
        wide[..., ::2] = values
        return wide[..., ::2]
    if layout == "padded":
        if values.size == 0:  # no rows to pad, and padding an empty axis could take terabytes
            return values.copy()
        axis = 1 if values.ndim > 1 else 0
        wide = np.zeros(values.shape[:axis] + (values.shape[axis] + 2,) + values.shape[axis + 1 :], values.dtype)
        crop = wide[:, : values.shape[1]] if axis == 1 else wide[: values.shape[0]]
        crop[...] = values
        return crop
    if layout == "misaligned":
        raw = np.zeros(values.nbytes + values.itemsize + 1, np.uint8)
        shifted = raw[1 : 1 + values.nbytes].view(values.dtype).reshape(values.shape)
        shifted[...] = values
        return shifted
    if layout == "broadcast":
        if values.size == 0:
            return values
        return np.broadcast_to(values.reshape(-1)[:1].reshape((1,) * values.ndim), values.shape)
    raise ValueError(f"unknown layout {layout!r}")


def build(value: Any) -> Any:
    """The object passed for `value`: Arrays are built, anything else is passed as is."""
    if not isinstance(value, Array):
        return value
    if value.kind == "none":
        return None
    if value.kind.startswith("dlpack:"):
        return FakeDLPack(value.kind.removeprefix("dlpack:"))
    array = laid_out(contents(value), value.layout)
    if value.kind.startswith("cai:"):
        return FakeCudaArray(value.kind.removeprefix("cai:"), array)
    if value.kind == "readonly":
        array.flags.writeable = False
    elif value.kind == "memoryview":
        return memoryview(array)
    elif value.kind == "list":  # an empty (2**40, 0) array would be 2**40 empty lists
        return array.tolist() if math.prod(filter(None, array.shape)) <= MAX_VALUES else []
    elif value.kind == "scalar":
        return array.reshape(-1)[0] if array.size else array.dtype.type(0)
    elif value.kind == "bytes":
        return array.tobytes()
    elif value.kind in ("torch", "torch_grad"):
        return torch_tensor(array, requires_grad=value.kind == "torch_grad")
    return array


def torch_tensor(array: np.ndarray, requires_grad: bool) -> Any:
    """A CPU tensor of the array (numpy's own when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return array

    if array.dtype.byteorder == ">" or any(stride < 0 for stride in array.strides):
        array = np.array(array, dtype=array.dtype.newbyteorder("="))  # torch has neither
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # from_numpy warns about read-only (broadcast) arrays
        tensor = torch.from_numpy(array)
    if requires_grad and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


class FakeCudaArray:
    """A __cuda_array_interface__ with one defect: never a usable CUDA array, so every call
    that gets one must raise, with or without a GPU (no kernel may see its pointer)."""

    DEFECTS = (
        "no_typestr",
        "bad_typestr",
        "huge_itemsize",
        "data_not_tuple",
        "empty_data",
        "masked",
        "shape_text",
        "negative_extent",
        "misaligned",
        "not_a_dict",
        "raises",
    )

    def __init__(self, defect: str, like: np.ndarray):
        self.defect = defect
        self.shape = like.shape

    @property
    def __cuda_array_interface__(self) -> Any:
        interface = {
            "version": 3,
            "typestr": "<f4",
            "data": (256, False),
            "shape": self.shape,
            "strides": None,
            "stream": None,
        }
        defect = self.defect
        if defect == "no_typestr":
            del interface["typestr"]
        elif defect == "bad_typestr":
            interface["typestr"] = "<fz"
        elif defect == "huge_itemsize":
            interface["typestr"] = "<f99999999999999999999"
        elif defect == "data_not_tuple":
            interface["data"] = 256
        elif defect == "empty_data":
            interface["data"] = ()
        elif defect == "masked":
            interface["mask"] = (0, False)
        elif defect == "shape_text":
            interface["shape"] = "shape"
        elif defect == "negative_extent":
            interface["shape"] = (-1,) + tuple(self.shape[1:])
        elif defect == "misaligned":
            interface["data"] = (258, False)
        elif defect == "not_a_dict":
            return 42
        elif defect == "raises":
            raise RuntimeError("no interface today")
        return interface


_WRONG_CAPSULE_NAME = b"used_dltensor"


class FakeDLPack:
    """An object whose __dlpack__ / __dlpack_device__ misbehave in one way."""

    DEFECTS = ("not_capsule", "wrong_capsule_name", "device_text", "device_empty", "cuda_not_capsule", "raises")

    def __init__(self, defect: str):
        self.defect = defect

    def __dlpack_device__(self) -> Any:
        return {"device_text": ("cpu", 0), "device_empty": (), "cuda_not_capsule": (2, 0)}.get(self.defect, (1, 0))

    def __dlpack__(self, stream: Any = None) -> Any:
        if self.defect == "raises":
            raise BufferError("cannot export")
        if self.defect == "wrong_capsule_name":
            new_capsule = ctypes.pythonapi.PyCapsule_New
            new_capsule.restype = ctypes.py_object
            new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
            return new_capsule(id(self), _WRONG_CAPSULE_NAME, None)
        return 42


# --- The contract: what each function accepts ----------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the binding can see of an array argument."""

    dtype: str  # numpy's name; "big-endian" or "other" when the binding cannot read it
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # bytes
    contiguous: bool  # C order; size-1 extents and empty arrays as numpy decides
    writable: bool
    aligned: bool
    address: int


def facts(obj: Any) -> Facts | None:
    """The Facts of a host array (buffer protocol or torch CPU tensor); None for anything else."""
    if type(obj).__module__ == "torch" and type(obj).__name__ == "Tensor":
        if obj.requires_grad:
            return None  # __dlpack__ refuses it
        item = obj.element_size()
        return Facts(
            str(obj.dtype).removeprefix("torch."),
            tuple(obj.shape),
            tuple(s * item for s in obj.stride()),
            obj.is_contiguous(),
            True,
            obj.data_ptr() % item == 0,
            obj.data_ptr(),
        )
    if not isinstance(obj, (np.ndarray, np.generic, memoryview, bytes)):
        return None
    view = memoryview(obj)
    try:
        dtype = np.dtype(view.format)
        name = "big-endian" if dtype.byteorder == ">" else dtype.name
    except TypeError:
        name = "other"
    address = np.asarray(view).__array_interface__["data"][0]
    return Facts(
        name,
        tuple(view.shape),
        tuple(view.strides),
        view.c_contiguous,
        not view.readonly,
        address % view.itemsize == 0,
        address,
    )


def c_int(low: int = INT_MIN, high: int = INT_MAX) -> Callable[[Any], bool]:
    return lambda value: type(value) is int and low <= value <= high


def is_uint64(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**64


def choice(*names: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in names


def finite_triple(nonzero: bool) -> Callable[[Any], bool]:
    def valid(value: Any) -> bool:
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            return False
        if not all(type(x) in (int, float) for x in value):
            return False
        try:
            numbers = [float(x) for x in value]
        except OverflowError:
            return False
        return all(math.isfinite(x) and (x != 0.0 or not nonzero) for x in numbers)

    return valid


def call_problems(args: tuple, kwargs: dict, positional: int, required: dict, optional: dict) -> list[str]:
    """Arity and keyword problems, then the keyword values' problems."""
    problems = []
    if len(args) != positional:
        problems.append(f"takes {positional} arrays, got {len(args)}")
    problems += [f"missing keyword {name}" for name in required if name not in kwargs]
    problems += [f"unknown keyword {name}" for name in kwargs if name not in required and name not in optional]
    valid = {**required, **optional}
    problems += [f"bad {name}={value!r}" for name, value in kwargs.items() if name in valid and not valid[name](value)]
    return problems


def array_problems(
    name: str, f: Facts | None, dtype: str, shape: tuple | None = None, ndim: int | None = None, writable: bool = False
) -> list[str]:
    if f is None:
        return [f"{name} is not an array"]
    problems = []
    if f.dtype != dtype:
        problems.append(f"{name} is {f.dtype}, not {dtype}")
    if shape is not None and f.shape != shape:
        problems.append(f"{name} has shape {f.shape}, not {shape}")
    if ndim is not None and len(f.shape) != ndim:
        problems.append(f"{name} has {len(f.shape)} dimensions, not {ndim}")
    if not f.contiguous:
        problems.append(f"{name} is not C-contiguous")
    if not f.aligned:
        problems.append(f"{name} is misaligned")
    if writable and not f.writable:
        problems.append(f"{name} is read-only")
    return problems


# Preprocessing -----------------------------------------------------------------------------

CROP_MODES = ("whole", "center", "five")
PREPROCESS_OPTIONS = {
    "crop": choice(*CROP_MODES),
    "crop_size": c_int(),
    "mean": finite_triple(nonzero=False),
    "std": finite_triple(nonzero=True),
    "channels": choice("bgr", "rgb"),
    "dtype": choice("float32", "float16"),
}


def output_shapes(height: int, width: int, crop: str, crop_size: int) -> tuple[tuple, tuple] | None:
    """The (full, half) output shapes, None when the crop does not fit the half scale."""
    half = (height // 2, width // 2)
    if crop == "whole":
        return (1, 3, height, width), (1, 3) + half
    if not 1 <= crop_size <= min(half):
        return None
    count = 5 if crop == "five" else 1
    return (count, 3, crop_size, crop_size), (count, 3, crop_size, crop_size)


def frame_problems(f: Facts | None) -> list[str]:
    if f is None:
        return ["frame is not an array"]
    if f.dtype != "uint8" or len(f.shape) != 3 or f.shape[2] != 3:
        return [f"frame is {f.dtype} {f.shape}, not uint8 (H, W, 3)"]
    height, width = f.shape[:2]
    if not 2 <= height <= INT_MAX // 4 or not 2 <= width <= INT_MAX // 4:
        return [f"frame is {height}x{width}"]
    if f.strides[2] != 1 or f.strides[1] != 3:
        return [f"frame pixels are not packed: strides {f.strides}"]
    if f.strides[0] < 3 * width:
        return [f"frame rows overlap: strides {f.strides}"]
    return []


def preprocess_problems(function: str, args: tuple, kwargs: dict) -> list[str]:
    optional = {"num_threads": c_int(0)} if function == "preprocess" else {"stream": is_uint64}
    problems = call_problems(args, kwargs, 3, PREPROCESS_OPTIONS, optional)
    if problems:
        return problems
    frame, out_full, out_half = map(facts, args)
    problems = frame_problems(frame)
    if problems:
        return problems
    shapes = output_shapes(*frame.shape[:2], kwargs["crop"], kwargs["crop_size"])
    if shapes is None:
        return [f"crop_size {kwargs['crop_size']} does not fit a {frame.shape[:2]} frame"]
    problems = array_problems("out_full", out_full, kwargs["dtype"], shapes[0], writable=True)
    problems += array_problems("out_half", out_half, kwargs["dtype"], shapes[1], writable=True)
    if function == "preprocess_cuda":
        problems.append("preprocess_cuda writes CUDA arrays; these are host arrays")
    return problems


# Distortion kernels ------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """A kernel of _C.distort: positional arrays images, *outputs, *params.

    params: (name, dtype, trailing dims) with shape (N, *trailing); a dim "capacity" is
        read off the first array that has it (its second extent), "odd" is the array's
        own second extent, which must be odd, "channels" is the images'.
    result: the array holding the result, which must be finite for images in [0, 1] and
        sane parameters (`sane_parameters`).
    clamped: whether it must then also be in [0, 1].
    """

    params: tuple = ()
    outputs: tuple = ()
    options: dict = field(default_factory=dict)
    rgb: bool = False
    result: str = "images"
    clamped: bool = True

    @property
    def arrays(self) -> tuple[str, ...]:
        return ("images",) + self.outputs + tuple(name for name, _, _ in self.params)


SEEDS = ("seeds", "int64", ())
COUNTS = ("counts", "int32", ())
COLORS = ("colors", "float32", ("capacity", "channels"))
NOISE_KINDS = ("additive", "multiplicative", "ycbcr")
KERNELS = {
    "tone_curve": Kernel(params=(("knots", "float32", (4,)), ("coefficients", "float32", (4, 4)))),
    "saturate_hsv": Kernel(params=(("factors", "float32", ()),), rgb=True),
    "separable_filter": Kernel(params=(("taps", "float32", ("odd",)),), outputs=("scratch",), clamped=False),
    "sparse_filter": Kernel(
        params=(("taps", "float32", ("capacity", 3)), COUNTS), outputs=("out",), result="out", clamped=False
    ),
    "rgb_to_lab": Kernel(rgb=True, clamped=False),
    "lab_to_rgb": Kernel(rgb=True),
    "quantize": Kernel(params=(("levels", "int32", ()),)),
    "gaussian_noise": Kernel(
        params=(SEEDS, ("variances", "float32", ())), options={"kind": choice(*NOISE_KINDS)}, rgb=True
    ),
    "impulse_noise": Kernel(params=(SEEDS, ("densities", "float32", ())), rgb=True),
    "jitter": Kernel(
        params=(SEEDS, ("stds", "float32", ())), outputs=("out",), options={"rounds": c_int(0)}, result="out"
    ),
    "copy_patches": Kernel(params=(("boxes", "int32", ("capacity", 4)), COUNTS), options={"size": c_int(1, 32)}),
    "fill_blocks": Kernel(params=(("boxes", "int32", ("capacity", 2)), COUNTS, COLORS), options={"size": c_int(1)}),
}
KERNEL_OPTIONS = {"stream": is_uint64, "num_threads": c_int(0)}


def kernel_problems(name: str, args: tuple, kwargs: dict) -> list[str]:
    kernel = KERNELS[name]
    problems = call_problems(args, kwargs, len(kernel.arrays), kernel.options, KERNEL_OPTIONS)
    if problems:
        return problems
    arrays = dict(zip(kernel.arrays, map(facts, args)))
    images = arrays["images"]
    problems = array_problems("images", images, "float32", ndim=4, writable=True)
    if problems:
        return problems
    samples, channels = images.shape[:2]
    if kernel.rgb and channels != 3:
        problems.append(f"images have {channels} channels, not 3")
    for output in kernel.outputs:
        problems += array_problems(output, arrays[output], "float32", images.shape, writable=True)
        shared = arrays[output] is not None and arrays[output].address == images.address
        if shared and 0 not in images.shape:  # empty torch tensors all sit at address 0
            problems.append(f"{output} is the images buffer")
    dims: dict[str, int] = {"channels": channels}
    for param, dtype, trailing in kernel.params:
        f = arrays[param]
        if f is None:
            problems.append(f"{param} is not an array")
            continue
        if "capacity" in trailing and "capacity" not in dims:
            dims["capacity"] = f.shape[1] if len(f.shape) == 3 else -1
        if "odd" in trailing:
            dims["odd"] = f.shape[1] if len(f.shape) == 2 and f.shape[1] % 2 == 1 else -1
        shape = (samples,) + tuple(dims[d] if isinstance(d, str) else d for d in trailing)
        problems += array_problems(param, f, dtype, shape)
    return problems


def contract_problems(case: Case, args: tuple, kwargs: dict) -> list[str]:
    """Why the call breaks its function's contract; empty when it must succeed."""
    if case.function in SELF_TESTS:
        return []
    if case.function.startswith("distort."):
        return kernel_problems(case.function.removeprefix("distort."), args, kwargs)
    return preprocess_problems(case.function, args, kwargs)


# --- What a successful call must leave ------------------------------------------------------


def as_numpy(obj: Any) -> np.ndarray | None:
    if type(obj).__module__ == "torch":
        return obj.detach().numpy()
    if isinstance(obj, (np.ndarray, memoryview)):
        return np.asarray(obj)
    return None


def snapshot(args: tuple) -> list[np.ndarray | None]:
    return [None if (array := as_numpy(arg)) is None else array.copy() for arg in args]


def bounded(values: np.ndarray, limit: float = 1e3) -> bool:
    return bool(np.isfinite(values).all() and (np.abs(values) <= limit).all())


def in_unit_range(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all())


def sane_parameters(name: str, before: dict[str, np.ndarray]) -> bool:
    """Whether the result's range is known: images in [0, 1], parameters in their domain."""
    if not in_unit_range(before["images"]):
        return False
    if name == "sparse_filter":  # any offset is fine (the border is replicated); weights must be sane
        return bounded(before["taps"][..., 2])
    if name == "quantize":
        return bool(((before["levels"] >= 1) & (before["levels"] <= 2**20)).all())
    if name == "gaussian_noise" and not (before["variances"] >= 0).all():
        return False
    if name == "fill_blocks" and not in_unit_range(before["colors"]):
        return False
    return all(bounded(before[param]) for param, dtype, _ in KERNELS[name].params if dtype == "float32")


def kernel_failures(name: str, args: tuple, before: list) -> list[str]:
    kernel = KERNELS[name]
    arrays = dict(zip(kernel.arrays, args))
    saved = dict(zip(kernel.arrays, before))
    failures = [
        f"{param} changed"
        for param, _, _ in kernel.params
        if as_numpy(arrays[param]).tobytes() != saved[param].tobytes()
    ]
    result = as_numpy(arrays[kernel.result])
    if result.size and sane_parameters(name, saved):
        if not np.isfinite(result).all():
            failures.append(f"{kernel.result} has non-finite values")
        elif kernel.clamped and not in_unit_range(result):
            failures.append(f"{kernel.result} is outside [0, 1]: {result.min()}..{result.max()}")
    return failures


def preprocess_failures(args: tuple, kwargs: dict, before: list) -> list[str]:
    frame, out_full, out_half = args
    failures = [] if as_numpy(frame).tobytes() == before[0].tobytes() else ["frame changed"]
    moderate = max(map(abs, kwargs["mean"])) <= 100 and all(1e-2 <= abs(s) <= 1e4 for s in kwargs["std"])
    for name, out in (("out_full", out_full), ("out_half", out_half)):
        if moderate and not np.isfinite(as_numpy(out)).all():
            failures.append(f"{name} has non-finite values (not fully written?)")
    return failures


def result_failures(case: Case, args: tuple, kwargs: dict, before: list) -> list[str]:
    if case.function in SELF_TESTS:
        return []
    if case.function.startswith("distort."):
        return kernel_failures(case.function.removeprefix("distort."), args, before)
    return preprocess_failures(args, kwargs, before)


# --- Running one call (child process) -------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a call did; `problems` are the contract's reasons for it to raise."""

    problems: tuple = ()
    raised: str | None = None  # exception type name
    message: str = ""
    failures: tuple = ()  # wrong results of a successful call
    fuzzer_error: str | None = None  # the harness could not build or judge the call


def _crash() -> None:
    ctypes.string_at(0)  # reads address 0: SIGSEGV


SELF_TESTS = {"selftest.segfault": _crash, "selftest.hang": lambda: time.sleep(3600)}


def resolve(function: str) -> Callable:
    if function in SELF_TESTS:
        return SELF_TESTS[function]
    from arniqa_edge import _C

    target: Any = _C
    for part in function.split("."):
        target = getattr(target, part)
    return target


def run_case(case: Case) -> Outcome:
    try:
        args = tuple(map(build, case.args))
        kwargs = {name: build(value) for name, value in case.kwargs.items()}
        problems = tuple(contract_problems(case, args, kwargs))
        before = snapshot(args)
    except Exception as error:  # noqa: BLE001 - a bug of this harness, reported as such
        return Outcome(fuzzer_error=f"building the call: {error!r}")
    try:
        resolve(case.function)(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - any Python exception is a clean refusal
        return Outcome(problems, raised=type(error).__name__, message=str(error)[:300])
    try:
        return Outcome(problems, failures=tuple(result_failures(case, args, kwargs, before)))
    except Exception as error:  # noqa: BLE001
        return Outcome(problems, fuzzer_error=f"checking the result: {error!r}")


def verdict(outcome: Outcome) -> str | None:
    """What is wrong with an outcome; None when the call behaved."""
    if outcome.fuzzer_error:
        return f"fuzzer error: {outcome.fuzzer_error}"
    if outcome.raised == "SystemError":  # a C API call failed without setting an exception
        return f"SystemError: {outcome.message}"
    if outcome.raised and not outcome.problems:
        return f"rejected a valid call: {outcome.raised}: {outcome.message}"
    if not outcome.raised and outcome.problems:
        return f"accepted a bad call ({'; '.join(outcome.problems)})"
    if outcome.failures:
        return f"wrong result: {'; '.join(outcome.failures)}"
    return None


def _serve(connection: Any, preload: tuple[str, ...]) -> None:
    """The child process: runs each Case it receives, answers with its Outcome."""
    warnings.simplefilter("ignore")
    for module in ("arniqa_edge._C", *preload):  # imported before the first case's timer runs
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    connection.send("ready")
    try:
        while (case := connection.recv()) is not None:
            connection.send(asdict(run_case(case)))  # plain data: the parent may know this module by another name
    except EOFError:  # the parent is gone
        pass


class Sandbox:
    """Runs calls in a child process, restarted after a crash or a hang.

    preload: modules the child imports before its first call (torch takes seconds).
    """

    def __init__(self, timeout: float = 10.0, preload: tuple[str, ...] = ("torch",)):
        self.timeout = timeout
        self.preload = preload
        self.process: Any = None
        self.connection: Any = None
        self.starts = 0

    def run(self, case: Case) -> Outcome | str:
        """The call's Outcome, or a sentence saying how the child died."""
        if self.process is None:
            self._start()
        try:
            self.connection.send(case)
        except OSError:  # the child is gone already: killed from outside
            self._stop()
            return "crash: the process was gone before the call"
        if not self.connection.poll(self.timeout):
            self._stop()
            return f"hang: no answer in {self.timeout:.0f} s"
        try:
            return Outcome(**self.connection.recv())
        except EOFError:
            self.process.join()
            code = self.process.exitcode
            self.process = None
            return f"crash: the process died with {_exit_text(code)}"

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, self.preload), daemon=True)
        self.process.start()
        child.close()
        self.starts += 1
        if not self.connection.poll(300) or self.connection.recv() != "ready":
            raise RuntimeError("the fuzzing worker did not start")

    def _stop(self) -> None:
        self.process.kill()
        self.process.join()
        self.process = None

    def close(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):  # the child may be gone
            self.connection.send(None)
        self.process.join(10)
        if self.process.exitcode is None:
            self._stop()
        self.process = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit status {code}"


# --- Generating calls (hypothesis) -----------------------------------------------------------

FLOAT_SPECIALS = (nan, inf, -inf, 1e30, -1e30, 3.4e38, -0.0, 1e-45)
DTYPES = ("uint8", "float32", "float64", "int16", "int32", "int64", "bool", "float16", ">f4")
LAYOUTS = ("f", "transposed", "strided", "reversed", "padded", "misaligned", "broadcast")
KINDS = (
    "readonly",
    "memoryview",
    "torch",
    "torch_grad",
    "none",
    "list",
    "scalar",
    "bytes",
    *(f"cai:{defect}" for defect in FakeCudaArray.DEFECTS),
    *(f"dlpack:{defect}" for defect in FakeDLPack.DEFECTS),
)
BAD_INTS = (-1, INT_MIN, 2**31, 2**64, 1.5, nan, None, "2")


def floats(low: float, high: float) -> st.SearchStrategy:
    """Short tuples of floats in [low, high]; in half of them, NaN, infinities and extremes mixed in."""
    sane = st.floats(low, high, width=32)
    return st.one_of(
        st.lists(sane, min_size=1, max_size=6),
        st.lists(st.one_of(sane, sane, st.sampled_from(FLOAT_SPECIALS)), min_size=1, max_size=6),
    ).map(tuple)


def ints(low: int, high: int, extremes: tuple = (INT_MAX, INT_MIN)) -> st.SearchStrategy:
    element = st.one_of(st.integers(low, high), st.integers(low, high), st.sampled_from(extremes))
    return st.lists(element, min_size=1, max_size=6).map(tuple)


IMAGE_VALUES = st.one_of(
    st.sampled_from(("unit", "unit", "unit", "wild")), st.sampled_from(((0.0,), (1.0,))), floats(-1.0, 2.0)
)

# Empty batches whose other extents are huge: nothing to do, and no size may overflow. (Not
# larger: numpy refuses empty arrays whose declared size overflows, and mutations grow it.)
HUGE_EMPTY_BATCHES = (
    (0, 3, 2**20, 2**21),
    (2, 3, 2**40, 0),
    (3, 3, 0, 2**40),
    (1, 3, 2**31, 0),
    (2, 1, 0, 2**31 + 1),
    (0, 5, 2**21, 2**20),
)


@st.composite
def batch_shapes(draw: Callable, rgb: bool) -> tuple[int, int, int, int]:
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([s for s in HUGE_EMPTY_BATCHES if s[1] == 3 or not rgb]))
    channels = 3 if rgb else draw(st.integers(0, 5))
    return draw(st.integers(0, 4)), channels, draw(st.integers(0, 33)), draw(st.integers(0, 33))


def kernel_parameters(name: str, samples: int, channels: int, height: int, draw: Callable) -> tuple[list, dict]:
    """Valid-shaped parameter arrays (values anywhere) and keyword options of kernel `name`."""
    seeds = Array((samples,), "int64", draw(ints(-(2**63), 2**63 - 1, extremes=(0, -1))))
    if name == "tone_curve":
        return [Array((samples, 4), values=draw(floats(0, 1))), Array((samples, 4, 4), values=draw(floats(-4, 4)))], {}
    if name == "saturate_hsv":
        return [Array((samples,), values=draw(floats(-2, 3)))], {}
    if name == "separable_filter":
        size = 2 * draw(st.integers(0, 36)) + 1
        taps = draw(st.one_of(floats(-1, 1), st.sampled_from([(0.0, 0.0, 1.0, 0.0, 0.0), (0.0,)])))
        return [Array((samples, size), values=taps)], {}
    if name == "sparse_filter":
        capacity = draw(st.integers(0, 6))
        reach = 2 * height + 2
        offsets = st.one_of(st.integers(-reach, reach).map(float), st.sampled_from((nan, inf, -inf, 3e9, -3e9, 1e30)))
        taps = draw(st.lists(st.tuples(offsets, offsets, st.floats(-1, 1, width=32)), min_size=1, max_size=4))
        return [
            Array((samples, capacity, 3), values=sum(taps, ())),
            Array((samples,), "int32", draw(ints(-2, capacity + 2))),
        ], {}
    if name == "quantize":
        return [Array((samples,), "int32", draw(ints(0, 300)))], {}
    if name == "gaussian_noise":
        variances = Array((samples,), values=draw(floats(-0.125, 0.5)))
        return [seeds, variances], {"kind": draw(st.sampled_from(NOISE_KINDS))}
    if name == "impulse_noise":
        return [seeds, Array((samples,), values=draw(floats(-0.5, 1.5)))], {}
    if name == "jitter":
        return [seeds, Array((samples,), values=draw(floats(0, 4)))], {"rounds": draw(st.integers(0, 4))}
    if name in ("rgb_to_lab", "lab_to_rgb"):
        return [], {}
    capacity = draw(st.integers(0, 6))
    counts = Array((samples,), "int32", draw(ints(-2, capacity + 2)))
    corners = ints(-3, 36, extremes=(INT_MAX, INT_MIN, INT_MAX - 31, -31))
    if name == "copy_patches":
        return [Array((samples, capacity, 4), "int32", draw(corners)), counts], {"size": draw(st.integers(1, 32))}
    assert name == "fill_blocks"
    colors = Array((samples, capacity, channels), values=draw(floats(0, 1)))
    size = draw(st.one_of(st.integers(1, 40), st.just(INT_MAX)))
    return [Array((samples, capacity, 2), "int32", draw(corners)), counts, colors], {"size": size}


@st.composite
def common_options(draw: Callable, names: tuple[str, ...]) -> dict:
    """Optional keywords, valid values, sometimes given."""
    values = {"num_threads": st.sampled_from((0, 1, 2, 3, 64, INT_MAX)), "stream": st.sampled_from((0, 1, 2**64 - 1))}
    return {name: draw(values[name]) for name in names if draw(st.booleans())}


@st.composite
def kernel_cases(draw: Callable, name: str) -> Case:
    kernel = KERNELS[name]
    shape = draw(batch_shapes(kernel.rgb))
    images = Array(shape, values=draw(IMAGE_VALUES), seed=draw(st.integers(0, 2**16)))
    outputs = [Array(shape, values=(nan,)) for _ in kernel.outputs]
    params, options = kernel_parameters(name, shape[0], shape[1], shape[2], draw)
    options.update(draw(common_options(("stream", "num_threads"))))
    case = Case(f"distort.{name}", (images, *outputs, *params), options)
    bad_options = {
        "kind": ("gaussian", "", None, 3),
        "rounds": BAD_INTS,
        "stream": (-1, 2**64, 1.5, None),
        "num_threads": BAD_INTS,
        "size": (0, 33, -1, INT_MAX, 2**31) if name == "copy_patches" else BAD_INTS,
    }
    applicable = {key: values for key, values in bad_options.items() if key in kernel.options or key in KERNEL_OPTIONS}
    return draw(mutated(in_container(case, draw), applicable))


@st.composite
def preprocess_cases(draw: Callable, function: str) -> Case:
    if draw(st.integers(0, 9)) == 0:  # too small, or too large but empty
        height, width = draw(st.sampled_from(((2**40, 0), (0, 2**40), (1, 1), (1, 9), (9, 0))))
    else:
        height, width = draw(st.integers(2, 40)), draw(st.integers(2, 40))
    frame = Array(
        (height, width, 3),
        "uint8",
        "bytes",
        draw(st.integers(0, 2**16)),
        layout=draw(st.sampled_from(("c", "c", "padded", "misaligned"))),
    )
    fitting = st.integers(1, max(1, min(height, width) // 2))
    options = {
        "crop": draw(st.sampled_from(CROP_MODES)),
        "crop_size": draw(st.one_of(fitting, fitting, st.integers(1, 24))),
        "mean": tuple(draw(st.lists(st.floats(-1, 1), min_size=3, max_size=3))),
        "std": tuple(draw(st.lists(st.one_of(st.floats(0.05, 2), st.floats(-2, -0.05)), min_size=3, max_size=3))),
        "channels": draw(st.sampled_from(("bgr", "rgb"))),
        "dtype": draw(st.sampled_from(("float32", "float16"))),
    }
    shapes = output_shapes(height, width, options["crop"], options["crop_size"]) or ((1, 3, 2, 2), (1, 3, 1, 1))
    outputs = [Array(shape, options["dtype"], (nan,)) for shape in shapes]
    options.update(draw(common_options(("num_threads",) if function == "preprocess" else ("stream",))))
    triples = (
        (nan, 0.0, 0.0),
        (inf, 1.0, 1.0),
        (0.0, 0.0, 0.0),
        (1.0, 2.0),
        (1.0, 2.0, 3.0, 4.0),
        None,
        "abc",
        (1.0, "a", 2.0),
        (10**400, 1.0, 1.0),
    )
    bad_options = {
        "crop": ("", "Center", "whole ", None, 3),
        "crop_size": (0, -1, INT_MAX, 2**31, 1.5, None),
        "mean": triples,
        "std": triples,
        "channels": ("BGR", "", None),
        "dtype": ("float64", "half", None),
        "num_threads" if function == "preprocess" else "stream": BAD_INTS,
    }
    return draw(mutated(in_container(Case(function, (frame, *outputs), options), draw), bad_options))


def in_container(case: Case, draw: Callable) -> Case:
    """The case with all its arrays numpy arrays (mostly), torch tensors or memoryviews."""
    kind = draw(st.sampled_from(("numpy", "numpy", "numpy", "torch", "memoryview")))
    return replace(case, args=tuple(replace(a, kind=kind) if isinstance(a, Array) else a for a in case.args))


@st.composite
def mutated(draw: Callable, case: Case, bad_options: dict) -> Case:
    """The case after 0 to 3 changes that may break its contract."""
    for _ in range(draw(st.sampled_from((0, 0, 0, 1, 1, 2, 3)))):
        what = draw(st.sampled_from(("array", "array", "array", "option", "arity")))
        if what == "array" and case.args:
            index = draw(st.integers(0, len(case.args) - 1))
            args = list(case.args)
            args[index] = draw(mutated_array(args[index]))
            case = replace(case, args=tuple(args))
        elif what == "option":
            name = draw(st.sampled_from(sorted(bad_options) + ["(missing)", "(unknown)"]))
            kwargs = dict(case.kwargs)
            if name == "(missing)" and kwargs:
                del kwargs[draw(st.sampled_from(sorted(kwargs)))]
            elif name == "(unknown)":
                kwargs["colour"] = 1
            elif name in bad_options:
                kwargs[name] = draw(st.sampled_from(bad_options[name]))
            case = replace(case, kwargs=kwargs)
        elif what == "arity":  # one array too many or too few
            args = case.args + (Array((1,)),) if draw(st.booleans()) else case.args[:-1]
            case = replace(case, args=args)
    return case


@st.composite
def mutated_array(draw: Callable, array: Array) -> Array:
    how = draw(st.sampled_from(("dtype", "shape", "layout", "layout", "kind", "kind")))
    if how == "dtype":
        return replace(array, dtype=draw(st.sampled_from(DTYPES)))
    if how == "layout":
        return replace(array, layout=draw(st.sampled_from(LAYOUTS)))
    if how == "kind":
        return replace(array, kind=draw(st.sampled_from(KINDS)))
    shape = array.shape
    change = draw(st.sampled_from(("drop", "append", "extent")))
    if change == "drop" or not shape:
        shape = shape[:-1] if shape else (1,)
    elif change == "append":
        shape = shape + (draw(st.integers(1, 2)),)
    else:
        index = draw(st.integers(0, len(shape) - 1))
        shape = shape[:index] + (draw(st.integers(0, 5)),) + shape[index + 1 :]
    if math.prod(shape) > MAX_VALUES:  # an empty array with huge extents lost its 0: keep it empty
        shape = shape[:-1] + (0,)
    return replace(array, shape=shape)


FUNCTIONS = ("preprocess", "preprocess_cuda", *(f"distort.{name}" for name in KERNELS))


def cases_of(function: str) -> st.SearchStrategy:
    if function.startswith("distort."):
        return kernel_cases(function.removeprefix("distort."))
    return preprocess_cases(function)


# --- The run ---------------------------------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    succeeded: int = 0
    raised: Counter = field(default_factory=Counter)
    messages: Counter = field(default_factory=Counter)  # "Type: message" of the exceptions
    failures: list = field(default_factory=list)  # (Case, what went wrong)

    def add(self, case: Case, result: Outcome | str) -> None:
        self.cases += 1
        if isinstance(result, str):
            self.failures.append((case, result))
            return
        if result.raised:
            self.raised[result.raised] += 1
            self.messages[f"{result.raised}: {result.message[:100]}"] += 1
        elif not result.fuzzer_error:
            self.succeeded += 1
        if (wrong := verdict(result)) is not None:
            self.failures.append((case, wrong))


def generate(strategy: st.SearchStrategy, count: int, seed: int, consume: Callable[[Case], None]) -> None:
    """Feed `count` cases drawn from `strategy` to `consume`, in chunks so that
    hypothesis's record of what it generated stays small."""
    chunk = 500
    for first in range(0, count, chunk):

        @hypothesis_seed(seed * 1_000_003 + first)
        @settings(
            max_examples=min(chunk, count - first),
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
        )
        @given(strategy)
        def feed(case: Case) -> None:
            consume(case)

        feed()


def fuzz(
    cases_per_function: int,
    seed: int,
    functions: tuple[str, ...] = FUNCTIONS,
    sandbox: Sandbox | None = None,
    progress: Callable[[str, Tally, float], None] | None = None,
) -> dict[str, Tally]:
    """Run `cases_per_function` generated calls of each function in `sandbox` (a new one by default)."""
    with contextlib.nullcontext(sandbox) if sandbox else Sandbox() as box:
        tallies = {}
        for function in functions:
            tally = tallies[function] = Tally()
            started = time.monotonic()
            generate(
                cases_of(function), cases_per_function, seed, lambda case, tally=tally: tally.add(case, box.run(case))
            )
            if progress:
                progress(function, tally, time.monotonic() - started)
        return tallies


def replay(text: str, timeout: float = 10.0) -> Outcome | str:
    """Run a Case given by its repr, isolated."""
    case = eval(text, {**globals(), "nan": nan, "inf": inf})  # noqa: S307 - the user's own reproducer
    with Sandbox(timeout) as sandbox:
        return sandbox.run(case)


def _row(function: str, tally: Tally, seconds: float) -> str:
    raised = ", ".join(f"{name} {count}" for name, count in tally.raised.most_common()) or "-"
    return (
        f"{function:28} {tally.cases:8} {tally.succeeded:9} {sum(tally.raised.values()):7} "
        f"{len(tally.failures):8} {seconds:7.1f}s  {raised}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="calls in all, split evenly across the functions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--functions", default=",".join(FUNCTIONS), help="comma-separated, from: " + ", ".join(FUNCTIONS)
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds one call may take before it is a hang")
    parser.add_argument("--replay", metavar="CASE", help="run one printed Case(...) and show its outcome")
    parser.add_argument(
        "--messages",
        type=int,
        default=0,
        metavar="K",
        help="also print each function's K most frequent exception messages",
    )
    args = parser.parse_args(argv)
    if args.replay:
        result = replay(args.replay, args.timeout)
        print(result if isinstance(result, str) else f"{result}\nverdict: {verdict(result) or 'fine'}")
        return 0 if not isinstance(result, str) and verdict(result) is None else 1
    functions = tuple(args.functions.split(","))
    unknown = set(functions) - set(FUNCTIONS)
    if unknown:
        parser.error(f"unknown functions: {', '.join(sorted(unknown))}")
    per_function = max(1, args.cases // len(functions))
    print(f"{'function':28} {'cases':>8} {'succeeded':>9} {'raised':>7} {'failures':>8} {'time':>8}  raised by type")
    started = time.monotonic()
    tallies = fuzz(
        per_function,
        args.seed,
        functions,
        Sandbox(args.timeout),
        progress=lambda f, t, s: print(_row(f, t, s), flush=True),
    )
    total = Tally()
    for tally in tallies.values():
        total.cases += tally.cases
        total.succeeded += tally.succeeded
        total.raised += tally.raised
        total.failures += tally.failures
    print(_row("total", total, time.monotonic() - started))
    for function, tally in tallies.items() if args.messages else ():
        print(f"\n{function}:")
        for message, count in tally.messages.most_common(args.messages):
            print(f"  {count:6}  {message}")
    for case, what in total.failures:
        print(f"\nFAIL {what}\n  {case!r}")
    return 1 if total.failures else 0


if __name__ == "__main__":
    sys.exit(main())
