"""Train/val/test splits by content, as in ARNIQA's evaluation protocol.

Synthetic datasets distort a few reference images many ways; a split that put a
reference's distortions on both sides would measure memorised content. So the
*groups* (reference contents) are split 70/10/20, and every image follows its group.
Authentic datasets pass one group per image, which makes this a plain random split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: ARNIQA's proportions and number of random splits.
FRACTIONS = (0.7, 0.1, 0.2)
NUM_SPLITS = 10


@dataclass(frozen=True)
class Split:
    """Image indices of each part."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def content_split(groups: Sequence, rng: np.random.Generator, fractions: Sequence[float] = FRACTIONS) -> Split:
    groups = np.asarray(groups)
    unique = rng.permutation(np.unique(groups))
    if len(unique) < 3:
        raise ValueError(f"need at least 3 contents to split into train/val/test, got {len(unique)}")
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    # at least one content in each part, the rest by rounding
    n_train = max(1, min(len(unique) - 2, round(fractions[0] * len(unique))))
    n_val = max(1, min(len(unique) - n_train - 1, round(fractions[1] * len(unique))))
    parts = np.split(unique, [n_train, n_train + n_val])
    return Split(*(np.flatnonzero(np.isin(groups, part)) for part in parts))


def content_splits(
    groups: Sequence, count: int = NUM_SPLITS, seed: int = 0, fractions: Sequence[float] = FRACTIONS
) -> list[Split]:
    """`count` independent random splits; split i depends only on (seed, i)."""
    return [content_split(groups, np.random.default_rng([seed, i]), fractions) for i in range(count)]
