"""A classic no-training quality feature: the variance of the Laplacian.

Blur lowers it, noise raises it: the simplest sharpness/noise measure, and a floor
that a learned representation has to beat. As ARNIQA's features, it is taken at full
and half scale; the ridge regressor on top learns its sign and scale.
"""

from __future__ import annotations

import cv2
import numpy as np


def laplacian_variance(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray, cv2.CV_64F, ksize=3).var())


def laplacian_features(image_bgr: np.ndarray) -> np.ndarray:
    """(2,) log variance of the Laplacian of the grey image at full and half scale."""
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64) / 255
    half = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return np.log(np.array([laplacian_variance(gray), laplacian_variance(half)]) + 1e-12)
