"""The CVRKD-IQA network (needs torch and timm).

    LQ crops, HQ crops (B, P, 3, S, S)
      -> frozen backbone, four levels          (B*P, C_l, S/r_l, S/r_l) each
      -> per level: 1x1 conv + adaptive pool    (B*P, level_channels, grid, grid)
      -> crops and levels stacked on channels   (B, P * level_channels * L, grid, grid)
      -> MLP-Mixer on the LQ maps        \\
      -> MLP-Mixer on the HQ - LQ maps    >  concatenated -> regressor -> score
                                         /
The FR teacher sees the pixel-aligned pristine image as HQ, the NAR student an
image of other content; the student learns to reproduce the teacher's
difference-encoder blocks (`CVRKDOutput.diff_blocks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import CVRKDConfig


class MultiLevelBackbone(nn.Module):
    """A timm backbone returning the feature maps of `levels`; frozen and always in eval mode."""

    def __init__(self, architecture: str, levels: tuple[int, ...]):
        super().__init__()
        import timm

        self.body = timm.create_model(architecture, pretrained=False, features_only=True, out_indices=levels)
        self.channels: list[int] = list(self.body.feature_info.channels())
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> MultiLevelBackbone:
        # Frozen means frozen: batch-norm statistics stay those of the initialisation too.
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.body(x)


class LevelProjection(nn.Module):
    """One level's feature map -> `channels` x grid x grid: a 1x1 conv, then adaptive average pooling."""

    def __init__(self, in_channels: int, channels: int, grid: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, kernel_size=1)
        self.pool = nn.AdaptiveAvgPool2d(grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, expansion: int = 4):
        super().__init__(nn.Linear(dim, dim * expansion), nn.GELU(), nn.Linear(dim * expansion, dim))


class MixerBlock(nn.Module):
    """Pre-norm residual token mixing (across the grid cells), then channel mixing."""

    def __init__(self, tokens: int, dim: int):
        super().__init__()
        self.token_norm = nn.LayerNorm(dim)
        self.token_mlp = FeedForward(tokens)
        self.channel_norm = nn.LayerNorm(dim)
        self.channel_mlp = FeedForward(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_mlp(self.token_norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.channel_norm(x))


class MixerEncoder(nn.Module):
    """(B, C, grid, grid) maps -> (B, dim) code, plus every block's (B, grid**2, dim) output."""

    def __init__(self, in_channels: int, tokens: int, dim: int, depth: int):
        super().__init__()
        self.embed = nn.Linear(in_channels, dim)
        self.blocks = nn.ModuleList(MixerBlock(tokens, dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, maps: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.embed(maps.flatten(2).transpose(1, 2))  # one token per grid cell
        inner = []
        for block in self.blocks:
            x = block(x)
            inner.append(x)
        return self.norm(x).mean(dim=1), inner


class QualityHead(nn.Sequential):
    """Concatenated LQ and difference codes -> one score in label units.

    The paper's head declares a PReLU between its two linear layers but skips it in
    `forward`, which collapses to one linear map; this one applies it.
    """

    def __init__(self, in_dim: int, hidden: int):
        super().__init__(nn.Linear(in_dim, hidden), nn.PReLU(), nn.Linear(hidden, 1))


@dataclass
class CVRKDOutput:
    score: torch.Tensor  #: (B,) predicted quality, in label units
    diff_blocks: list[torch.Tensor]  #: difference encoder's block outputs (distillation targets)
    lq_blocks: list[torch.Tensor]  #: LQ encoder's block outputs


class CVRKDNet(nn.Module):
    def __init__(self, config: CVRKDConfig):
        super().__init__()
        self.config = config
        self.backbone = MultiLevelBackbone(config.backbone, config.levels)
        self.projections = nn.ModuleList(
            LevelProjection(channels, config.level_channels, config.grid) for channels in self.backbone.channels
        )
        tokens = config.grid * config.grid
        self.lq_encoder = MixerEncoder(config.mixer_input_dim, tokens, config.mixer_dim, config.lq_depth)
        self.diff_encoder = MixerEncoder(config.mixer_input_dim, tokens, config.mixer_dim, config.diff_depth)
        self.head = QualityHead(2 * config.mixer_dim, config.mixer_dim)
        self._init_trainable(scale=0.1)

    def _init_trainable(self, scale: float) -> None:
        # As the paper: Kaiming-normal weights scaled by 0.1, zero biases, so the residual
        # mixers start close to identity and the score close to constant.
        for module in [*self.projections, self.lq_encoder, self.diff_encoder, self.head]:
            for layer in module.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(layer.weight)
                    layer.weight.data.mul_(scale)
                    nn.init.zeros_(layer.bias)
        # Unlike the paper, start the score mid-range rather than at 0: the L1 loss then
        # spends its first steps on ranking instead of on finding the label offset.
        nn.init.constant_(self.head[-1].bias, (self.config.score_low + self.config.score_high) / 2)

    def level_maps(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, P, 3, S, S) normalised crops -> (B, P * level_channels * L, grid, grid) stacked maps."""
        self._check_crops(crops)
        return self.stacked_maps(crops.flatten(0, 1))

    def stacked_maps(self, flat_crops: torch.Tensor) -> torch.Tensor:
        """`level_maps` of (B * P, 3, S, S) crops, the P crops of each image consecutive."""
        return self.project_levels(self.backbone(flat_crops))

    def project_levels(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """Backbone levels of (B * P) crops -> (B, P * level_channels * L, grid, grid) stacked maps.

        Levels already average-pooled to the grid give the same maps: a 1x1 convolution
        commutes with average pooling (training caches pooled levels for that reason).
        """
        config = self.config
        # A reshape to a constant shape, not an unflatten by the batch: exported graphs keep static dims.
        per_image = (-1, config.crops * config.level_channels, config.grid, config.grid)
        return torch.cat([project(level).reshape(per_image) for project, level in zip(self.projections, levels)], dim=1)

    def score_maps(self, lq_maps: torch.Tensor, hq_maps: torch.Tensor) -> CVRKDOutput:
        """Scores from the stacked maps of `level_maps` (HQ maps may be cached, e.g. golden frames)."""
        lq_code, lq_blocks = self.lq_encoder(lq_maps)
        diff_code, diff_blocks = self.diff_encoder(hq_maps - lq_maps)
        score = self.head(torch.cat([lq_code, diff_code], dim=1)).squeeze(1)
        return CVRKDOutput(score, diff_blocks, lq_blocks)

    def forward(self, lq_crops: torch.Tensor, hq_crops: torch.Tensor) -> CVRKDOutput:
        if lq_crops.shape != hq_crops.shape:
            raise ValueError(f"LQ and HQ crops differ in shape: {tuple(lq_crops.shape)} vs {tuple(hq_crops.shape)}")
        # One backbone call for both sides.
        maps = self.level_maps(torch.cat([lq_crops, hq_crops]))
        lq_maps, hq_maps = maps.chunk(2)
        return self.score_maps(lq_maps, hq_maps)

    def _check_crops(self, crops: torch.Tensor) -> None:
        if crops.ndim != 5 or crops.shape[1] != self.config.crops or crops.shape[2] != 3:
            raise ValueError(f"expected crops of shape (B, {self.config.crops}, 3, S, S), got {tuple(crops.shape)}")
