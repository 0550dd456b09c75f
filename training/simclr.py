"""SimCLR for ARNIQA: the NT-Xent loss and the encoder + projector in one module.

ARNIQA's positives are unusual: the positive of a view of image A is the view of a
*different* image B that went through the same degradation at the same scale. Every
other view in the batch is a negative, the other scale of the same image included.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arniqa_edge.models.encoder import ARNIQAEncoder


def nt_xent_loss(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent over 2N embeddings where a[i] and b[i] are the only positive pair.

    For each of the 2N rows z_k of [a; b], with cosine similarities s:
    loss_k = -log( exp(s(z_k, pos_k)/t) / sum_{j != k} exp(s(z_k, z_j)/t) ), averaged.
    Computed in float32 whatever the autocast dtype: logits of 1/t = 10 overflow fp16's exp.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two (N, D) embeddings of equal shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    count = a.shape[0]
    z = F.normalize(torch.cat([a, b]).float(), dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(2 * count, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    positives = torch.cat([torch.arange(count, 2 * count), torch.arange(0, count)]).to(z.device)
    return F.cross_entropy(logits, positives)


class SimCLR(nn.Module):
    """Encoder + projector; forward(views_a, views_b) -> loss, in one encoder pass.

    Both sets of views go through the backbone as one batch (so BatchNorm normalises
    them together and DDP sees a single forward per step).
    """

    def __init__(self, encoder: ARNIQAEncoder, temperature: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.temperature = temperature

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder.project(self.encoder(images))

    def forward(self, views_a: torch.Tensor, views_b: torch.Tensor) -> torch.Tensor:
        embeddings = self.embed(torch.cat([views_a, views_b]))
        a, b = embeddings.split(len(views_a))
        return nt_xent_loss(a, b, self.temperature)
