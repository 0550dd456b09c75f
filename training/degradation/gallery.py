"""Contact sheets of distortions: one per type and level, and one of composed samples.

Tiles are BGR uint8 numpy arrays (OpenCV's layout), labelled with OpenCV text.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .images import center_crop, to_bgr_uint8
from .reference import apply_distortion, apply_sequence
from .registry import DISTORTIONS, NUM_LEVELS
from .sampler import CompositionSampler

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BACKGROUND = 255
_INK = (0, 0, 0)
_GAP = 4


def _text_panel(lines: list[str], height: int, width: int, scale: float = 0.5) -> np.ndarray:
    """White panel with `lines` of black text, left-aligned, vertically centred."""
    panel = np.full((height, width, 3), _BACKGROUND, np.uint8)
    line_height = int(22 * scale / 0.5)
    top = (height - line_height * len(lines)) // 2 + int(line_height * 0.75)
    for i, line in enumerate(lines):
        cv2.putText(panel, line, (4, top + i * line_height), _FONT, scale, _INK, 1, cv2.LINE_AA)
    return panel


def _pad(tile: np.ndarray, right: int = _GAP, bottom: int = _GAP) -> np.ndarray:
    return cv2.copyMakeBorder(tile, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=(_BACKGROUND,) * 3)


def distortion_gallery(image: torch.Tensor, tile: int = 160, seed: int = 0) -> np.ndarray:
    """Rows: the 24 types; columns: the original, then levels 1..5 of a central crop."""
    crop = center_crop(image, tile)
    label_width, header_height = 190, 28
    header = [_text_panel([""], header_height, label_width), _text_panel(["original"], header_height, tile)]
    header += [_text_panel([f"level {level}"], header_height, tile) for level in range(1, NUM_LEVELS + 1)]
    rows = [np.hstack([_pad(panel, bottom=0) for panel in header])]
    for row, (name, spec) in enumerate(DISTORTIONS.items()):
        kadid = f"KADID {spec.kadid_id:02d}" if spec.kadid_id else "no KADID type"
        cells = [_text_panel([name, spec.title, kadid], tile, label_width), to_bgr_uint8(crop)]
        for level in range(1, NUM_LEVELS + 1):
            rng = np.random.default_rng([seed, row, level])
            cells.append(to_bgr_uint8(apply_distortion(crop, name, level, rng)))
        rows.append(np.hstack([_pad(cell) for cell in cells]))
    return np.vstack(rows)


def sample_gallery(
    image: torch.Tensor, count: int = 8, tile: int = 224, columns: int = 4, seed: int = 0, max_distortions: int = 4
) -> np.ndarray:
    """`count` composed degradations of a central crop, each captioned with its steps."""
    crop = center_crop(image, tile)
    sampler = CompositionSampler(max_distortions=max_distortions, pristine_prob=0.0)
    rng = np.random.default_rng(seed)
    cells = []
    for _ in range(count):
        sequence = sampler.generate_parameters(rng)
        caption = _text_panel([str(step) for step in sequence], 18 * max_distortions + 8, tile, scale=0.45)
        cells.append(_pad(np.vstack([to_bgr_uint8(apply_sequence(crop, sequence)), caption])))
    blank = np.full_like(cells[0], _BACKGROUND)
    cells += [blank] * (-len(cells) % columns)
    return np.vstack([np.hstack(cells[i : i + columns]) for i in range(0, len(cells), columns)])
