"""Ridge regression for many regularisation strengths from one decomposition.

ARNIQA grid-searches 100 alphas on each of 10 splits; refitting sklearn's Ridge for
every (split, alpha) is 1,000 solves on 2F-dimensional features. Ridge with an
intercept is least squares on centred data plus alpha * I, so one eigendecomposition
of the centred Gram matrix (D x D, or the N x N kernel when N < D) gives the
solution for every alpha by rescaling the eigenvalues. Same coefficients as
``sklearn.linear_model.Ridge(alpha)`` (to float64 rounding).
"""

from __future__ import annotations

import numpy as np

#: ARNIQA's grid: 10^-3 .. 10^3 in 100 log steps.
DEFAULT_ALPHAS = tuple(np.logspace(-3, 3, 100))


class RidgePath:
    def __init__(self, features: np.ndarray, targets: np.ndarray):
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(targets, dtype=np.float64)
        if x.ndim != 2 or len(x) != len(y):
            raise ValueError(f"features {x.shape} and targets {y.shape} do not match")
        self.x_mean = x.mean(axis=0)
        self.y_mean = y.mean()
        centred = x - self.x_mean
        y_centred = y - self.y_mean
        self._primal = x.shape[0] >= x.shape[1]
        if self._primal:  # w = V (S + a)^-1 V^T X^T y with X^T X = V S V^T
            self._eigenvalues, self._basis = np.linalg.eigh(centred.T @ centred)
            self._projection = self._basis.T @ (centred.T @ y_centred)
        else:  # w = X^T U (S + a)^-1 U^T y with X X^T = U S U^T
            self._eigenvalues, self._basis = np.linalg.eigh(centred @ centred.T)
            self._projection = self._basis.T @ y_centred
            self._centred = centred
        self._eigenvalues = np.clip(self._eigenvalues, 0.0, None)  # round-off can make them slightly negative

    def coef(self, alpha: float) -> tuple[np.ndarray, float]:
        """(weight, intercept) of the ridge fit with strength `alpha`."""
        scaled = self._basis @ (self._projection / (self._eigenvalues + alpha))
        weight = scaled if self._primal else self._centred.T @ scaled
        return weight, float(self.y_mean - self.x_mean @ weight)

    def predict(self, features: np.ndarray, alpha: float) -> np.ndarray:
        weight, bias = self.coef(alpha)
        return np.asarray(features, dtype=np.float64) @ weight + bias
