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
from ..safetensors_files import read_safetensors
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
    metadata = {
        "format": FORMAT,
        "config": net.config.to_json(),
        "role": role,
        "dtype": "float16" if half else "float32",
        **{key: str(value) for key, value in provenance.items()},
    }
    save_file(state, str(path), metadata=metadata)
    return path


def _stored(tensor, half: bool):
    tensor = tensor.detach().cpu()
    if half and tensor.is_floating_point():
        tensor = tensor.half()
    return tensor.contiguous()


def read_cvrkd_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a CVRKD weights file, checked, without reading the tensors."""
    return _read(path, tensors=False)[0]


def load_cvrkd(path: str | os.PathLike):
    """Build the network its metadata describes and load its weights; returns (net in eval mode, metadata)."""
    from .network import CVRKDNet

    metadata, state = _read(path, tensors=True)
    net = CVRKDNet(CVRKDConfig.from_json(metadata.get("config")))
    # load_state_dict copies into the float32 parameters, so float16 files load as they are.
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise WeightsError(
            f"{path}: does not fit its own configuration ({len(missing)} missing tensors, "
            f"e.g. {missing[:3]}; {len(unexpected)} unexpected, e.g. {unexpected[:3]})"
        )
    return net.eval(), metadata


def _read(path: str | os.PathLike, tensors: bool) -> tuple[dict[str, str], dict]:
    metadata, state = read_safetensors(
        path, "CVRKD weights", FORMAT, framework="pt" if tensors else "numpy", tensors=tensors
    )
    if metadata.get("role") not in ROLES:
        raise WeightsError(f"{path}: unknown CVRKD role {metadata.get('role')!r}, expected one of {ROLES}")
    return metadata, state
