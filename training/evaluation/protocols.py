"""Evaluation protocols of a frozen representation + ridge regressor.

- `evaluate_splits`: ARNIQA's protocol on a labelled dataset. Alpha is the grid value
  with the best median SRCC on the validation parts of the splits; then, per split,
  the regressor is fitted on the train part and tested on the test part. Reported:
  median SRCC and PLCC over the splits, overall and per distortion type.
- `evaluate_holdout`: one fixed train set and test set (the KADID proxy: train
  content vs. held-out content); alpha by grouped k-fold cross-validation on train.

Features come as (N, V, D): N images, V views per image (1 for the whole image, 5
for the paper's five crops). Every view of an image carries its label when fitting;
an image's prediction is the mean over its views.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sklearn.model_selection import GroupKFold

from .ridge_path import DEFAULT_ALPHAS, RidgePath
from .splits import Split


@dataclass(frozen=True)
class Correlations:
    srcc: float
    plcc: float


def correlations(pred: np.ndarray, target: np.ndarray) -> Correlations:
    """SRCC and PLCC; NaN where either side is constant (no ranking to compare)."""
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if len(pred) < 2 or np.ptp(pred) == 0 or np.ptp(target) == 0:
        return Correlations(float("nan"), float("nan"))
    return Correlations(float(stats.spearmanr(pred, target)[0]), float(stats.pearsonr(pred, target)[0]))


def correlations_by_type(pred: np.ndarray, target: np.ndarray, types: np.ndarray) -> dict[str, Correlations]:
    return {str(t): correlations(pred[types == t], target[types == t]) for t in sorted(set(types.tolist()))}


def _rows(features: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The (len(indices) * V, D) rows of the views of images `indices`."""
    return features[indices].reshape(-1, features.shape[-1])


def _fit(features: np.ndarray, scores: np.ndarray, indices: np.ndarray) -> RidgePath:
    views = features.shape[1]
    return RidgePath(_rows(features, indices), np.repeat(scores[indices], views))


def _predict(path: RidgePath, features: np.ndarray, indices: np.ndarray, alpha: float) -> np.ndarray:
    return path.predict(_rows(features, indices), alpha).reshape(len(indices), -1).mean(axis=1)


def _check(features: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if features.ndim != 3 or len(features) != len(scores):
        raise ValueError(f"expected (N, views, D) features for N scores, got {features.shape} and {scores.shape}")
    return features, scores


def select_alpha(
    features: np.ndarray,
    scores: np.ndarray,
    splits: Sequence[Split],
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    paths: Sequence[RidgePath] | None = None,
) -> float:
    """The alpha with the highest median validation SRCC over the splits.

    `paths` are the ridge fits of the splits' train parts, when the caller has them already.
    """
    features, scores = _check(features, scores)
    paths = paths or [_fit(features, scores, split.train) for split in splits]
    val_srcc = np.array(
        [
            [correlations(_predict(path, features, split.val, alpha), scores[split.val]).srcc for alpha in alphas]
            for path, split in zip(paths, splits)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: constant predictions
        median = np.nanmedian(val_srcc, axis=0)
    return float(alphas[int(np.nanargmax(median))])


@dataclass
class SplitsResult:
    alpha: float
    #: per split, the test correlations overall and per type.
    overall: list[Correlations] = field(default_factory=list)
    by_type: dict[str, list[Correlations]] = field(default_factory=dict)

    @staticmethod
    def _median(values: list[Correlations]) -> Correlations:
        return Correlations(
            float(np.nanmedian([v.srcc for v in values])), float(np.nanmedian([v.plcc for v in values]))
        )

    @property
    def median(self) -> Correlations:
        return self._median(self.overall)

    @property
    def median_by_type(self) -> dict[str, Correlations]:
        return {t: self._median(values) for t, values in self.by_type.items()}


def evaluate_splits(
    features: np.ndarray,
    scores: np.ndarray,
    splits: Sequence[Split],
    types: np.ndarray | None = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
) -> SplitsResult:
    features, scores = _check(features, scores)
    paths = [_fit(features, scores, split.train) for split in splits]  # one decomposition per split
    result = SplitsResult(alpha=select_alpha(features, scores, splits, alphas, paths))
    for path, split in zip(paths, splits):
        pred = _predict(path, features, split.test, result.alpha)
        result.overall.append(correlations(pred, scores[split.test]))
        if types is not None:
            for name, value in correlations_by_type(pred, scores[split.test], np.asarray(types)[split.test]).items():
                result.by_type.setdefault(name, []).append(value)
    return result


@dataclass(frozen=True)
class HoldoutResult:
    alpha: float
    cv_srcc: float
    overall: Correlations
    by_type: dict[str, Correlations]
    predictions: np.ndarray


def cross_validated_alpha(
    features: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    folds: int = 5,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
) -> tuple[float, float]:
    """(alpha, its SRCC) by grouped k-fold: no content is fitted and validated on at once."""
    features, scores = _check(features, scores)
    folds = min(folds, len(np.unique(groups)))
    if folds < 2:
        raise ValueError("need at least 2 contents to cross-validate alpha")
    pred = np.empty((len(alphas), len(scores)))
    for train, val in GroupKFold(n_splits=folds).split(scores, scores, groups):
        path = _fit(features, scores, train)
        for j, alpha in enumerate(alphas):
            pred[j, val] = _predict(path, features, val, alpha)
    srcc = np.array([correlations(p, scores).srcc for p in pred])
    best = int(np.nanargmax(srcc))
    return float(alphas[best]), float(srcc[best])


def evaluate_holdout(
    train_features: np.ndarray,
    train_scores: np.ndarray,
    train_groups: np.ndarray,
    test_features: np.ndarray,
    test_scores: np.ndarray,
    test_types: np.ndarray,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    folds: int = 5,
) -> HoldoutResult:
    train_features, train_scores = _check(train_features, train_scores)
    test_features, test_scores = _check(test_features, test_scores)
    alpha, cv_srcc = cross_validated_alpha(train_features, train_scores, np.asarray(train_groups), folds, alphas)
    path = _fit(train_features, train_scores, np.arange(len(train_scores)))
    pred = _predict(path, test_features, np.arange(len(test_scores)), alpha)
    return HoldoutResult(
        alpha,
        cv_srcc,
        correlations(pred, test_scores),
        correlations_by_type(pred, test_scores, np.asarray(test_types)),
        pred,
    )
