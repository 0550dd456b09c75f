"""Reading our safetensors files: the one place that opens them and checks what they are.

Every file arniqa-edge writes (encoder weights, regressors, CVRKD networks) is a
safetensors file whose metadata names its `format`; a file of another kind, or
one that is not safetensors at all, is a `WeightsError` that says which.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import WeightsError


def read_safetensors(
    path: str | os.PathLike, what: str, format: str | None = None, framework: str = "numpy", tensors: bool = True
) -> tuple[dict[str, str], dict[str, Any]]:
    """(metadata, tensors by name) of `path`, a `what` file ("regressor", "CVRKD weights", ...).

    format: the `format` metadata it must carry (None: any). framework: "numpy" or "pt"
    (torch tensors). tensors=False reads the metadata alone.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what} file not found: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework=framework) as f:
            metadata = dict(f.metadata() or {})
            values = {name: f.get_tensor(name) for name in f.keys()} if tensors else {}
    except Exception as exc:  # safetensors raises its own error types on damaged files
        raise WeightsError(f"{path}: not a {what} file: it does not read as safetensors ({exc})") from None
    if format is not None and metadata.get("format") != format:
        raise WeightsError(
            f"{path}: not an arniqa_edge {what} file (format {metadata.get('format')!r}, expected {format!r})"
        )
    return metadata, values
