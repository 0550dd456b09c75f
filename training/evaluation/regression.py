"""Fit the quality regressor: ridge on frozen features, alpha chosen without peeking.

The regularisation strength is the grid value with the best cross-validated SRCC
(the criterion of the paper's grid search), by grouped k-fold when images come
with content groups, so no reference content is both fitted and validated on;
each image is its own group otherwise. Every view of an image (five_crop) carries
the image's label. The final fit on all the data is scikit-learn's Ridge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import Ridge

from .protocols import cross_validated_alpha
from .ridge_path import DEFAULT_ALPHAS


@dataclass(frozen=True)
class RidgeFit:
    weight: np.ndarray
    bias: float
    alpha: float
    cv_srcc: float


def fit_ridge(features: np.ndarray, scores: np.ndarray, groups=None, folds: int = 5, alphas=DEFAULT_ALPHAS) -> RidgeFit:
    """features: (N, D) or (N, views, D) for N labelled images."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 2:
        features = features[:, None, :]
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < 2 * folds:
        raise ValueError(f"need at least {2 * folds} labelled images to fit and validate, got {len(scores)}")
    groups = np.arange(len(scores)) if groups is None else np.asarray(groups)
    alpha, cv_srcc = cross_validated_alpha(features, scores, groups, folds, alphas)
    views = features.shape[1]
    model = Ridge(alpha=alpha).fit(features.reshape(-1, features.shape[-1]), np.repeat(scores, views))
    return RidgeFit(model.coef_.astype(np.float32), float(model.intercept_), alpha, cv_srcc)
