"""Which backend runs a model: the one selection policy of both scorers, and the log line of what ran.

`open_model(kind, weights, backend, device, build)`:

- a named backend runs the file named when it reads that kind of file (exactly that
  file), else the form of it lying beside the file under the same stem;
- "auto" tries the registered backends fastest first (`registry.auto_order`: CUDA
  before the CPU, then tensorrt > onnxruntime > torch) and takes the first that runs
  on the device and has a form of the model; each backend's `pick` chooses among its
  forms (onnxruntime on a CPU: a CPU-target INT8 export, else the FP32 one; never a
  GPU precision, which runs slower there than FP32);
- a form found beside the one named must come from the same weights (when both
  record theirs), else it is refused: a stale export would score silently wrong;
- what ran is logged: backend, device, file and precision.

`build(choice)` opens the chosen backend; the caller gives the factory's arguments.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import ArniqaEdgeError, BackendUnavailableError, WeightsError
from .devices import device_kind
from .files import NamedModel, name_model
from .registry import MODEL_KINDS, BackendEntry, auto_order, entries, get_entry, suffixes

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Choice:
    entry: BackendEntry
    path: Path
    #: the device the backend is asked to run on ("cpu", "cuda", "cuda:N")
    device: str


def open_model(kind: str, weights: str | os.PathLike, backend: str, device: str, build: Callable[[Choice], T]) -> T:
    """Open model `weights` of `kind` on `backend` ("auto" or a registered name) and `device`."""
    named = name_model(weights, suffixes(kind))
    _refuse_other_kinds(kind, named)
    if backend != "auto":
        entry = get_entry(kind, backend)
        path = _explicit_file(entry, named)
        return _open(kind, named, Choice(entry, path, device), build, auto=False)
    runs_on = None if device == "auto" else device_kind(device)
    for entry, kind_of_device in auto_order(kind):
        if runs_on not in (None, kind_of_device):
            continue
        path = best_file(entry, named, kind_of_device)
        if path is not None and entry.usable(kind_of_device):
            return _open(kind, named, Choice(entry, path, device if runs_on else kind_of_device), build, auto=True)
    return _fallback(kind, named, device, build)


def best_file(entry: BackendEntry, named: NamedModel, device_kind: str | None, any_form: bool = False) -> Path | None:
    """The file `entry` would run for `named` on a device of this kind: its pick among the forms that exist.

    any_form: when the pick finds none fitting the device (only GPU precisions on a CPU), take any form.
    """
    candidates = []
    if named.file is not None and entry.reads(named.file) and named.file.is_file():
        candidates.append(named.file)
    candidates += [
        path for suffix in entry.suffixes if (path := named.sibling(suffix)).is_file() and path not in candidates
    ]
    if not candidates:
        return None
    chosen = (entry.pick or pick_named_first)(candidates, device_kind, named.file)
    return candidates[0] if chosen is None and any_form else chosen


def pick_named_first(candidates: Sequence[Path], device_kind: str | None, named: Path | None) -> Path | None:
    """The default pick: the file named when it is one of the forms, else the first suffix's form."""
    return named if named in candidates else candidates[0]


def _explicit_file(entry: BackendEntry, named: NamedModel) -> Path:
    if named.file is not None and entry.reads(named.file):
        return named.file  # exactly the file given; the backend says if it is missing
    path = best_file(entry, named, None, any_form=True)
    if path is None:
        raise WeightsError(
            f"backend {entry.name!r} reads {entry.file_hint or ' or '.join(entry.suffixes)}; "
            f"{named.given} is none, and none lies beside it"
        )
    return path


def _open(kind: str, named: NamedModel, choice: Choice, build: Callable[[Choice], T], auto: bool) -> T:
    _check_same_source(kind, named, choice)
    opened = build(choice)
    log.info(
        "%s backend %s: using %s; file %s, %s",
        MODEL_KINDS[kind][0],
        "auto" if auto else choice.entry.name,
        opened.describe(),
        choice.path.name,
        getattr(opened, "precision", "fp32"),
    )
    return opened


def _fallback(kind: str, named: NamedModel, device: str, build: Callable[[Choice], T]) -> T:
    """Nothing fast runs here: a backend with a form of the model either says why not, or runs a slow form."""
    for entry, kind_of_device in auto_order(kind):
        if device != "auto":
            # The device asked for has no backend: one that is installed says why (e.g. no GPU).
            path = best_file(entry, named, None, any_form=True)
            if path is not None and entry.installed():
                return _open(kind, named, Choice(entry, path, device), build, auto=True)
        else:
            # Only forms that are slow here (an FP16 export on a CPU): run one rather than nothing.
            path = best_file(entry, named, kind_of_device, any_form=True)
            if path is not None and entry.usable(kind_of_device):
                return _open(kind, named, Choice(entry, path, kind_of_device), build, auto=True)
    raise _nothing_runs(kind, named, device)


def _nothing_runs(kind: str, named: NamedModel, device: str) -> ArniqaEdgeError:
    title, _ = MODEL_KINDS[kind]
    registered = entries(kind)
    installed = [e for e in registered if e.installed()]
    if not installed:
        return BackendUnavailableError(
            "no inference backend is installed: " + "; ".join(e.install_hint for e in registered if e.install_hint)
        )
    readers = [e for e in registered if named.file is not None and e.reads(named.file)]
    if named.file is not None and not named.file.exists() and all(e in installed for e in readers):
        return WeightsError(f"{title} not found: {named.file}")
    forms = [e.file_hint for e in registered if e.file_hint]
    if named.file is None and not any(best_file(e, named, None, any_form=True) for e in registered):
        return WeightsError(
            f"{title} not found: {named.given} (expected {', '.join(forms)}, their folder or their common stem)"
        )
    missing = "; ".join(f"{e.name} reads {e.file_hint}" if e in installed else e.install_hint for e in registered)
    return BackendUnavailableError(
        f"no inference backend is installed that runs {named.given.name} on device {device!r} (installed: "
        f"{', '.join(e.name for e in installed)}). {missing}"
    )


def _refuse_other_kinds(kind: str, named: NamedModel) -> None:
    """A file of another kind of model (an encoder given as a CVRKD model): say where it goes."""
    if named.file is not None:
        return
    for other, (title, option) in MODEL_KINDS.items():
        if other != kind and any(named.given.name.endswith(suffix) for suffix in suffixes(other)):
            forms = ", ".join(e.file_hint for e in entries(kind) if e.file_hint)
            raise WeightsError(
                f"{named.given} is not a {MODEL_KINDS[kind][0]}: that is read from {forms}; {title}s go to {option}"
            )


def _check_same_source(kind: str, named: NamedModel, choice: Choice) -> None:
    """Refuse a form found beside another one that records other source weights (a stale export)."""
    if named.file is not None:
        others = [named.file] if named.file.is_file() else []
    else:
        others = [
            path for entry in entries(kind) for suffix in entry.suffixes if (path := named.sibling(suffix)).is_file()
        ]
    others = [path for path in others if path != choice.path]
    theirs = _source(choice.entry, choice.path) if others else None
    if theirs is None:
        return
    for other in others:
        owner = next((e for e in entries(kind) if e.reads(other)), None)
        mine = _source(owner, other) if owner is not None else None
        if mine is not None and mine != theirs:
            raise WeightsError(
                f"{choice.path.name} was not exported from {other} (changed since?): export it again from "
                f"{other.name}, or run only the file you name with its --backend ({owner.name} for {other.name})"
            )


def _source(entry: BackendEntry, path: Path) -> str | None:
    if entry.source_sha256 is None:
        return None
    try:
        return entry.source_sha256(path)
    except (OSError, WeightsError):  # unreadable: opening it says why, if it is chosen
        return None
