"""Random geometric parameters of the distortions, drawn from a numpy Generator.

The reference draws these first, in the order of these functions' docs, before any
per-pixel noise; an engine that replays a step with the same generator gets the same
angles, shifts and patch positions and can draw its noise however it likes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NONECC_PATCH_SIZE = 16
NONECC_MAX_OFFSET = 16  # patches land within +-NONECC_MAX_OFFSET/2 px of where they came from
COLOR_BLOCK_SIZE = 32


def draw_motion_angle(rng: np.random.Generator) -> int:
    """Motion direction in whole degrees, uniform over 0..180 (as ARNIQA draws it)."""
    return int(rng.integers(0, 181))


def draw_shift(rng: np.random.Generator, amount: float) -> tuple[int, int]:
    """A (down, right) shift of about `amount` px in a uniformly random first-quadrant direction.

    One ``rng.random(2)`` draw, normalised to unit length, scaled and rounded.
    """
    direction = rng.random(2)
    norm = float(np.hypot(*direction))
    if norm == 0:  # probability ~0, but keep the shift defined
        direction, norm = np.array([1.0, 0.0]), 1.0
    rows, cols = np.rint(direction / norm * amount).astype(int)
    return int(rows), int(cols)


@dataclass(frozen=True)
class PatchMoves:
    """Top-left corners of patches copied from (src_row, src_col) to (dst_row, dst_col)."""

    src_rows: np.ndarray
    src_cols: np.ndarray
    dst_rows: np.ndarray
    dst_cols: np.ndarray


def draw_patch_moves(rng: np.random.Generator, height: int, width: int, count: int) -> PatchMoves:
    """Sources kept NONECC_MAX_OFFSET px inside the image, each moved by up to +-8 px.

    One ``rng.random((count, 4))`` draw; its columns are source column, source row,
    column offset and row offset (ARNIQA's per-patch order).
    """
    size, margin = NONECC_PATCH_SIZE, NONECC_MAX_OFFSET
    uniform = rng.random((count, 4))
    src_cols = np.rint(uniform[:, 0] * (width - size - 2 * margin)).astype(int) + margin
    src_rows = np.rint(uniform[:, 1] * (height - size - 2 * margin)).astype(int) + margin
    dst_cols = np.rint((uniform[:, 2] - 0.5) * margin + src_cols).astype(int)
    dst_rows = np.rint((uniform[:, 3] - 0.5) * margin + src_rows).astype(int)
    return PatchMoves(src_rows, src_cols, dst_rows, dst_cols)


@dataclass(frozen=True)
class ColorBlocks:
    """Top-left corners and RGB colours in [0, 1) of flat COLOR_BLOCK_SIZE squares."""

    rows: np.ndarray
    cols: np.ndarray
    colors: np.ndarray  # (count, 3)


def draw_color_blocks(rng: np.random.Generator, height: int, width: int, count: int) -> ColorBlocks:
    """Uniform colours and uniform positions fully inside the image.

    One ``rng.random((count, 5))`` draw; its columns are R, G, B, row and column.
    """
    uniform = rng.random((count, 5))
    rows = np.floor(uniform[:, 3] * (height - COLOR_BLOCK_SIZE)).astype(int)
    cols = np.floor(uniform[:, 4] * (width - COLOR_BLOCK_SIZE)).astype(int)
    return ColorBlocks(rows, cols, uniform[:, :3].copy())
