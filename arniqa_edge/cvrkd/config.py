"""Architecture of a CVRKD-IQA network, stored as JSON in the metadata of its weights file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from ..errors import WeightsError
from ..score_scale import ScoreScale


@dataclass(frozen=True)
class CVRKDConfig:
    """Shape of the network; teacher and student share it (distillation matches their layers).

    backbone: timm architecture of the frozen multi-level feature extractor.
    levels: timm feature indices taken from the backbone (lite0: strides 4, 8, 16, 32,
        as ResNet-50's layer1..layer4 in the paper).
    crops: crops per image; their level maps are stacked along channels, so the count
        is part of the architecture (the paper's self_patch_num = 10).
    crop_size: side of a square crop in pixels (the paper: 224).
    level_channels: output channels of each level's 1x1 projection (the paper: 64).
    grid: side of the adaptive average pool of every level; grid**2 mixer tokens.
    mixer_dim: token width inside the MLP-Mixer encoders (the paper: 4 * 64).
    lq_depth, diff_depth: Mixer blocks of the LQ and the HQ-LQ difference encoders.
    score_low, score_high: range of the training labels (KADID MOS: 1..5).
    """

    backbone: str = "efficientnet_lite0"
    levels: tuple[int, ...] = (1, 2, 3, 4)
    crops: int = 10
    crop_size: int = 224
    level_channels: int = 64
    grid: int = 7
    mixer_dim: int = 256
    lq_depth: int = 9
    diff_depth: int = 18
    score_low: float = 1.0
    score_high: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(int(v) for v in self.levels))
        for name in ("crops", "crop_size", "level_channels", "grid", "mixer_dim", "lq_depth", "diff_depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not self.levels:
            raise ValueError("levels must name at least one backbone stage")
        if not self.score_high > self.score_low:
            raise ValueError(f"score range must have high > low, got ({self.score_low}, {self.score_high})")

    @property
    def scale(self) -> ScoreScale:
        """The training labels' range, which maps raw scores to [0, 1] (higher is better)."""
        return ScoreScale(self.score_low, self.score_high)

    @property
    def mixer_input_dim(self) -> int:
        """Channels of one token: every crop's projected map at every level, stacked."""
        return self.crops * self.level_channels * len(self.levels)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CVRKDConfig:
        try:
            values = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise WeightsError(f"unreadable CVRKD configuration ({exc})") from None
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise WeightsError(
                f"CVRKD configuration has unknown keys {sorted(unknown)}; was it written by a newer arniqa-edge?"
            )
        return cls(**values)
