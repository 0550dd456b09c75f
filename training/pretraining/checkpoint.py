"""Resumable pretraining checkpoints.

One file holds everything a run needs to continue: model, optimizer and grad-scaler
state, the step, and the configuration it was started with. The learning rate, the
pair stream and the degradation sequences are all keyed by (seed, step) (see
`training.pretraining.lr_schedule`, `training.pretraining.pairs.PairSampler`,
`training.pretraining.synthesis`), so the step restores the state of every
sampler. Files are written to a temporary name and renamed, so a run killed while
saving leaves the previous checkpoint intact; they are read with ``weights_only=True`` (no arbitrary unpickling).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

FORMAT = "arniqa_edge.pretrain_checkpoint.v1"
LAST = "last.pt"


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    step: int,
    config: dict[str, Any],
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "config": config,
        "torch_rng": torch.get_rng_state(),
    }
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a pretraining checkpoint of this project")
    return state


def restore(
    state: dict[str, Any],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
) -> int:
    """Load a checkpoint's states into the live objects; returns the step to continue from."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"])
