"""The training objective: ARNIQA's contrastive loss, plus an optional quality regression.

`QualityObjective` wraps the encoder (+ its SimCLR projector) and a linear quality
head. One backbone pass embeds every view of a `training.pretraining.synthesis.SynthesizedBatch`;
then

- contrastive (ARNIQA): NT-Xent where the positive of A's view is B's view under the
  same degradation at the same scale (`training.pretraining.simclr.nt_xent_loss`);
- supervised (optional): the head reads what the runtime's regressor reads, the
  L2-normalised pooled features of the full and the half scale concatenated, and is
  fitted by MSE to the pair's KADID-proxy label (mean MOS of its distortion type and
  level); pairs without a label add nothing.

loss = contrastive_weight * contrastive + supervised_weight * supervised. With
supervised_weight = 0 this is exactly ARNIQA's pretraining. The head is training-only
(the shipped regressor is a ridge fitted afterwards on whole images); it lives here,
not in the encoder's weights file.
"""

from __future__ import annotations

import torch
from torch import nn

from arniqa_edge.models.encoder import ARNIQAEncoder

from .simclr import nt_xent_loss

#: KADID MOS run from 1 to 5; the head predicts (MOS - centre) so that it starts near its mean.
LABEL_CENTRE = 3.0


class QualityObjective(nn.Module):
    def __init__(
        self,
        encoder: ARNIQAEncoder,
        temperature: float = 0.1,
        contrastive_weight: float = 1.0,
        supervised_weight: float = 0.0,
        mask_same_degradation: bool = False,
    ):
        super().__init__()
        if contrastive_weight < 0 or supervised_weight < 0 or contrastive_weight + supervised_weight == 0:
            raise ValueError(
                "loss weights must be >= 0 and not both 0, got "
                f"contrastive {contrastive_weight}, supervised {supervised_weight}"
            )
        self.encoder = encoder
        self.temperature = temperature
        self.contrastive_weight = contrastive_weight
        self.supervised_weight = supervised_weight
        self.mask_same_degradation = mask_same_degradation
        self.head = nn.Linear(encoder.config.regressor_input_dim, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        # A loss that is off leaves its module without gradients; DDP wants those frozen.
        self.head.requires_grad_(supervised_weight > 0)
        encoder.projector.requires_grad_(contrastive_weight > 0)

    def predict(self, features_full: torch.Tensor, features_half: torch.Tensor) -> torch.Tensor:
        """Head output in label units (MOS) from the two scales' normalised features."""
        return self.head(torch.cat([features_full, features_half], dim=1)).squeeze(1) + LABEL_CENTRE

    def forward(
        self, views_a: torch.Tensor, views_b: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Views as in `SynthesizedBatch` ((2B, 3, S, S): full-scale rows, then half-scale rows).

        Returns the total loss and its parts (detached).
        """
        pairs = len(labels)
        features = self.encoder(torch.cat([views_a, views_b]))
        total = features.new_zeros(())
        parts: dict[str, torch.Tensor] = {}
        if self.contrastive_weight > 0:
            a, b = self.encoder.project(features).split(len(views_a))
            contrastive = nt_xent_loss(a, b, self.temperature, groups if self.mask_same_degradation else None)
            total = total + self.contrastive_weight * contrastive
            parts["contrastive"] = contrastive.detach()
        if self.supervised_weight > 0:
            a_full, a_half, b_full, b_half = features.float().split(pairs)
            predictions = torch.cat([self.predict(a_full, a_half), self.predict(b_full, b_half)])
            targets = torch.cat([labels, labels]).float()
            known = torch.isfinite(targets)
            errors = (predictions - torch.where(known, targets, predictions.detach())) ** 2
            supervised = errors.sum() / known.sum().clamp(min=1)
            total = total + self.supervised_weight * supervised
            parts["supervised"] = supervised.detach()
        return total, parts
