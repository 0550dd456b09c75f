"""Learning rate as a pure function of the step.

`cosine_warm_restarts`: cosine annealing with warm restarts (ARNIQA's schedule), the same curve as ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` (SGDR)
stepped once per optimisation step, but with nothing to save: a resumed run gets its
learning rate from the step count alone.
"""

from __future__ import annotations

import math


def cycle_position(step: int, t0: int, t_mult: int) -> tuple[int, int]:
    """(steps into the current cycle, length of the current cycle)."""
    if t0 < 1 or t_mult < 1:
        raise ValueError(f"t0 and t_mult must be >= 1, got {t0} and {t_mult}")
    length = t0
    while step >= length:
        step -= length
        length *= t_mult
    return step, length


def cosine_warm_restarts(step: int, base_lr: float, t0: int, t_mult: int = 2, eta_min: float = 0.0) -> float:
    into, length = cycle_position(step, t0, t_mult)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * into / length)) / 2


def warmup_cosine(step: int, base_lr: float, total: int, warmup: int = 0, eta_min: float = 0.0) -> float:
    """Linear warm-up from base_lr / warmup over `warmup` steps, then one cosine to eta_min at `total`."""
    if total < 1 or warmup < 0:
        raise ValueError(f"total must be >= 1 and warmup >= 0, got {total} and {warmup}")
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * progress)) / 2
