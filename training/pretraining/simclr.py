"""SimCLR for ARNIQA: the NT-Xent loss.

ARNIQA's positives are unusual: the positive of a view of image A is the view of a
*different* image B that went through the same degradation at the same scale. Every
other view in the batch is a negative, the other scale of the same image included.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent_loss(
    a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1, groups: torch.Tensor | None = None
) -> torch.Tensor:
    """NT-Xent over 2N embeddings where a[i] and b[i] are the only positive pair.

    For each of the 2N rows z_k of [a; b], with cosine similarities s:
    loss_k = -log( exp(s(z_k, pos_k)/t) / sum_{j != k} exp(s(z_k, z_j)/t) ), averaged.
    With `groups` ((N,) ids of a's rows, shared by b's rows), rows of the same group
    other than the positive are left out of the sum: they went through the same
    degradation, so they are not negatives (ARNIQA's composed sequences almost never
    repeat within a batch; single KADID-type distortions often do).
    Computed in float32 whatever the autocast dtype: logits of 1/t = 10 overflow fp16's exp.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two (N, D) embeddings of equal shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    count = a.shape[0]
    z = F.normalize(torch.cat([a, b]).float(), dim=1)
    logits = z @ z.T / temperature
    positives = torch.cat([torch.arange(count, 2 * count), torch.arange(0, count)]).to(z.device)
    excluded = torch.eye(2 * count, dtype=torch.bool, device=z.device)
    if groups is not None:
        if groups.shape != (count,):
            raise ValueError(f"groups must have shape ({count},), got {tuple(groups.shape)}")
        rows = torch.cat([groups, groups])
        excluded |= rows[:, None] == rows[None, :]
        excluded[torch.arange(2 * count, device=z.device), positives] = False
    logits = logits.masked_fill(excluded, float("-inf"))
    return F.cross_entropy(logits, positives)
