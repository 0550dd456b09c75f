"""CVRKD weights files: safetensors, with the architecture and provenance in the metadata.

Metadata keys: `format` (FORMAT), `config` (CVRKDConfig as JSON), `role` ("teacher":
FR, trained with the aligned reference; "student": NAR, trained with references of
other content), and free-form provenance (command, steps, distilled, ...).
The frozen backbone is saved too, so inference needs no ImageNet weights.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import WeightsError
from .config import CVRKDConfig

FORMAT = "arniqa_edge.cvrkd.v1"
ROLES = ("teacher", "student")


def save_cvrkd(net, path: str | os.PathLike, role: str, half: bool = False, **provenance: object) -> Path:
    """Write `net`'s weights; `half` stores floating-point tensors as float16 (half the size,
    loaded back into float32 by `load_cvrkd`)."""
    from safetensors.torch import save_file

    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: _stored(tensor, half) for name, tensor in net.state_dict().items()}
    metadata = {"format": FORMAT, "config": net.config.to_json(), "role": role,
                "dtype": "float16" if half else "float32",
                **{key: str(value) for key, value in provenance.items()}}
    save_file(state, str(path), metadata=metadata)
    return path


def _stored(tensor, half: bool):
    tensor = tensor.detach().cpu()
    if half and tensor.is_floating_point():
        tensor = tensor.half()
    return tensor.contiguous()


def read_cvrkd_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a CVRKD weights file, checked, without reading the tensors."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"CVRKD weights file not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = dict(f.metadata() or {})
    except Exception as exc:
        raise WeightsError(f"{path}: not a safetensors weights file ({exc})") from None
    if metadata.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a CVRKD weights file (format {metadata.get('format')!r}, "
                           f"expected {FORMAT!r})")
    if metadata.get("role") not in ROLES:
        raise WeightsError(f"{path}: unknown CVRKD role {metadata.get('role')!r}, expected one of {ROLES}")
    return metadata


def load_cvrkd(path: str | os.PathLike):
    """Build the network its metadata describes and load its weights; returns (net in eval mode, metadata)."""
    from safetensors.torch import load_file

    from .network import CVRKDNet

    metadata = read_cvrkd_metadata(path)
    net = CVRKDNet(CVRKDConfig.from_json(metadata.get("config")))
    # load_state_dict copies into the float32 parameters, so float16 files load as they are.
    missing, unexpected = net.load_state_dict(load_file(str(path)), strict=False)
    if missing or unexpected:
        raise WeightsError(f"{path}: does not fit its own configuration ({len(missing)} missing tensors, "
                           f"e.g. {missing[:3]}; {len(unexpected)} unexpected, e.g. {unexpected[:3]})")
    return net.eval(), metadata
