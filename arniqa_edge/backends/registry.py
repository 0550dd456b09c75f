"""The backend registry: what each backend reads, where it runs, whether it can run here, and how to open it.

One registration per backend and kind of model:

    register_backend("onnxruntime", suffixes=(".onnx",), devices=("cuda", "cpu"), probe=usable,
                     factory="arniqa_edge.backends.onnxruntime_backend:OnnxRuntimeBackend")

- kind: "encoder" (no-reference scoring, `Backend`) or "cvrkd" (scoring against golden
  frames, `arniqa_edge.cvrkd.engine.CVRKDEngine`); the factory builds one of those from
  (config, path, device, num_threads) for an encoder, (path, device, num_threads) for CVRKD.
- suffixes: the files it reads, preferred first; `files.name_model` strips the longest to
  find the stem that a model's other forms share.
- devices: the device kinds it runs on ("cuda", "cpu"); probe(device kind) says whether it
  can run on one here (installed, GPU present), cheaply: it is asked before any file is opened.
- factory: the class or function, or "module:attribute" so that registering imports nothing.

Optional: `pick` chooses among the files found for a device (default: the file named, else
the first suffix's), `source_sha256` reads which weights a file was made from (forms found
beside each other must agree), install_hint and file_hint say what is missing.

The order in which "auto" tries them (`auto_order`) is by device, CUDA first, then by
registration order (`rank`): tensorrt > onnxruntime > torch on CUDA, onnxruntime > torch on
the CPU. The built-in registrations are in `builtin`; `selection` applies the policy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailableError
from .devices import DEVICE_KINDS

#: kind -> what it is called in messages and the option that takes its files
MODEL_KINDS = {"encoder": ("no-reference encoder", "--weights"), "cvrkd": ("CVRKD model", "--reference-model")}


@dataclass(frozen=True)
class BackendEntry:
    name: str
    kind: str
    suffixes: tuple[str, ...]
    devices: tuple[str, ...]
    probe: Callable[[str], bool]
    factory: Any
    rank: int
    install_hint: str = ""
    file_hint: str = ""
    pick: Callable[[Sequence[Path], str, Path | None], Path | None] | None = None
    source_sha256: Callable[[Path], str | None] | None = None
    #: extra keywords for the factory, e.g. the runtime a generic factory opens
    options: dict = field(default_factory=dict)

    def reads(self, path: Path) -> bool:
        return any(path.name.endswith(suffix) for suffix in self.suffixes)

    def usable(self, device_kind: str) -> bool:
        return device_kind in self.devices and bool(self.probe(device_kind))

    def installed(self) -> bool:
        """Whether it runs on any of its devices here."""
        return any(self.usable(kind) for kind in self.devices)

    def build(self, *args, **kwargs):
        """Open the backend with the factory's arguments; a runtime that cannot be imported says what to install."""
        try:
            factory = self.factory
            if isinstance(factory, str):
                module, _, attribute = factory.partition(":")
                factory = getattr(importlib.import_module(module), attribute)
            return factory(*args, **self.options, **kwargs)
        except ImportError as exc:
            raise BackendUnavailableError(
                f"{self.install_hint or f'backend {self.name!r} is not installed'} ({exc})"
            ) from None


_ENTRIES: dict[tuple[str, str], BackendEntry] = {}


def register_backend(
    name: str,
    suffixes: Sequence[str],
    devices: Sequence[str],
    probe: Callable[[str], bool],
    factory: Any,
    *,
    kind: str = "encoder",
    rank: int | None = None,
    **optional,
) -> BackendEntry:
    """Register (or replace) backend `name` for models of `kind`; see the module's docstring for the fields."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    unknown = set(devices) - set(DEVICE_KINDS)
    if unknown or not devices:
        raise ValueError(f"devices must be a non-empty subset of {DEVICE_KINDS}, got {devices}")
    previous = _ENTRIES.get((kind, name))
    if rank is None:
        rank = previous.rank if previous else 1 + max((e.rank for e in _ENTRIES.values()), default=0)
    entry = BackendEntry(name, kind, tuple(suffixes), tuple(devices), probe, factory, rank, **optional)
    _ENTRIES[(kind, name)] = entry
    return entry


def unregister_backend(name: str, kind: str = "encoder") -> None:
    _ENTRIES.pop((kind, name), None)


def entries(kind: str) -> list[BackendEntry]:
    """The backends of `kind`, fastest first."""
    return sorted((e for e in _ENTRIES.values() if e.kind == kind), key=lambda e: e.rank)


def backend_names() -> tuple[str, ...]:
    """ "auto" and every registered backend name (what --backend takes)."""
    names = dict.fromkeys(e.name for e in sorted(_ENTRIES.values(), key=lambda e: e.rank))
    return ("auto", *names)


def get_entry(kind: str, name: str) -> BackendEntry:
    try:
        return _ENTRIES[(kind, name)]
    except KeyError:
        title = MODEL_KINDS[kind][0]
        known = ", ".join(e.name for e in entries(kind))
        raise BackendUnavailableError(f"unknown backend {name!r} for a {title}; choose from auto, {known}") from None


def auto_order(kind: str) -> list[tuple[BackendEntry, str]]:
    """(backend, device kind) pairs in the order "auto" tries them: CUDA first, then by rank."""
    return [(entry, device) for device in DEVICE_KINDS for entry in entries(kind) if device in entry.devices]


def suffixes(kind: str) -> list[str]:
    """Every file suffix a backend of `kind` reads."""
    return [suffix for entry in entries(kind) for suffix in entry.suffixes]
