"""The torch modules that become ONNX graphs: both scales in, features and/or score out.

One graph runs the encoder on the full and the half scale (the weights are
shared, so they are stored once), L2-normalises each and concatenates them: the
same (N, 2F) features `Backend.encode_pair` returns. `PairScorer` also folds the
ridge regressor and its map to [0, 1] into one linear layer and a clip, so a
serving stack needs nothing but the graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arniqa_edge.regressor import LinearRegressor


class PairEncoder(nn.Module):
    """(full, half) normalised NCHW images -> (N, 2F) features: [f(full), f(half)]."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, full: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.normalize(self.backbone(full), dim=1), F.normalize(self.backbone(half), dim=1)], dim=1)


def folded_score_layer(regressor: LinearRegressor) -> nn.Linear:
    """One Linear computing the unclipped [0, 1] score: ScoreScale's affine map folded into the regressor."""
    scale = regressor.scale
    gain = 1.0 / (scale.high - scale.low)
    offset = -scale.low * gain
    if not scale.higher_is_better:
        gain, offset = -gain, 1.0 - offset
    weight = torch.from_numpy(regressor.weight.astype("float64")) * gain
    bias = regressor.bias * gain + offset
    layer = nn.Linear(regressor.input_dim, 1)
    with torch.no_grad():
        layer.weight.copy_(weight.view(1, -1).float())
        layer.bias.fill_(bias)
    return layer


class PairScorer(nn.Module):
    """(full, half) -> score (N, 1) in [0, 1], higher is better; optionally the features too."""

    def __init__(self, backbone: nn.Module, regressor: LinearRegressor, with_features: bool = False):
        super().__init__()
        self.encoder = PairEncoder(backbone)
        self.score = folded_score_layer(regressor)
        self.with_features = with_features

    def forward(self, full: torch.Tensor, half: torch.Tensor):
        features = self.encoder(full, half)
        score = self.score(features).clamp(0.0, 1.0)
        return (score, features) if self.with_features else score


def export_module(backbone: nn.Module, outputs: tuple[str, ...], regressor: LinearRegressor | None) -> nn.Module:
    """The module whose graph has exactly `outputs` (in that order: score before features)."""
    if outputs == ("features",):
        return PairEncoder(backbone).eval()
    if regressor is None:
        raise ValueError("a score output needs a regressor (--regressor)")
    if outputs == ("score",):
        return PairScorer(backbone, regressor).eval()
    if outputs == ("score", "features"):
        return PairScorer(backbone, regressor, with_features=True).eval()
    raise ValueError(f"unsupported outputs {outputs}; use features, score, or score,features")
