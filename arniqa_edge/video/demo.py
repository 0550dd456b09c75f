"""A sample video to score with nothing to download: a slow pan over a photo, blurred
for a while, then noisy for a while, with sharp stretches in between."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputImageError


@dataclass(frozen=True)
class DemoSegment:
    start: float
    end: float
    distortion: str  #: "none", "blur" or "noise"


SEGMENTS = (
    DemoSegment(0.0, 2.5, "none"),
    DemoSegment(2.5, 4.5, "blur"),
    DemoSegment(4.5, 5.5, "none"),
    DemoSegment(5.5, 7.0, "noise"),
    DemoSegment(7.0, 8.0, "none"),
)


def degraded_intervals(segments: tuple[DemoSegment, ...] = SEGMENTS) -> list[tuple[float, float, str]]:
    """(start, end, distortion) of the stretches degraded on purpose: what the plot and the report mark, to
    compare with the worst segments found."""
    return [(s.start, s.end, s.distortion) for s in segments if s.distortion != "none"]


def find_sample_image() -> Path | None:
    """A photo from the project's pristine set, when this is a checkout next to it."""
    candidates = [Path(os.environ["ARNIQA_SHARED_DATA"])] if "ARNIQA_SHARED_DATA" in os.environ else []
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    for root in candidates:
        photos = sorted((root / "pristine" / "val").glob("*.jpg"))
        if photos:
            return photos[0]
    return None


def synthetic_scene(height: int = 480, width: int = 720, seed: int = 0) -> np.ndarray:
    """Sharp edges, texture and smooth gradients, for when no photo is at hand."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    scene = np.stack([90 + 60 * np.sin(x / 53), 110 + 50 * np.cos(y / 41), 140 + 40 * np.sin((x + y) / 67)], -1)
    scene = scene.astype(np.uint8)
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            cv2.circle(scene, centre, int(rng.integers(8, 60)), colour, -1, cv2.LINE_AA)
        else:
            size = rng.integers(10, 90, 2)
            cv2.rectangle(scene, centre, (centre[0] + int(size[0]), centre[1] + int(size[1])), colour, -1)
    checker = ((x // 6 + y // 6) % 2 * 60).astype(np.uint8)[..., None]
    scene[height // 3 : height // 2, width // 4 : width // 2] += checker[
        height // 3 : height // 2, width // 4 : width // 2
    ]
    return scene


def distort(frame: np.ndarray, distortion: str, rng: np.random.Generator) -> np.ndarray:
    if distortion == "blur":
        return cv2.GaussianBlur(frame, (0, 0), 3.0)
    if distortion == "noise":
        noisy = frame.astype(np.float32) + rng.normal(0.0, 30.0, frame.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8)
    return frame


def make_demo_video(
    path: Path,
    image: Path | None = None,
    size: tuple[int, int] = (320, 240),
    fps: float = 15.0,
    segments: tuple[DemoSegment, ...] = SEGMENTS,
) -> Path:
    """Write the demo video (MJPG in .avi, or mp4v in .mp4) and return its path."""
    if image is not None:
        scene = cv2.imread(str(image))
        if scene is None:
            raise InputImageError(f"{image}: not a readable image")
    else:
        sample = find_sample_image()
        scene = cv2.imread(str(sample)) if sample else synthetic_scene()
    width, height = size
    duration = segments[-1].end
    frames = int(round(duration * fps))
    # The crop window keeps the output's aspect ratio and pans diagonally across the photo.
    crop_h = int(min(scene.shape[0], scene.shape[1] * height / width) * 0.8)
    crop_w = int(crop_h * width / height)
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write a video here")
    rng = np.random.default_rng(0)
    try:
        for index in range(frames):
            t = index / fps
            progress = index / max(1, frames - 1)
            top = int(progress * (scene.shape[0] - crop_h))
            left = int(progress * (scene.shape[1] - crop_w))
            frame = cv2.resize(
                scene[top : top + crop_h, left : left + crop_w], (width, height), interpolation=cv2.INTER_AREA
            )
            writer.write(distort(frame, distortion_at(t, segments), rng))
    finally:
        writer.release()
    return path


def distortion_at(t: float, segments: tuple[DemoSegment, ...] = SEGMENTS) -> str:
    for segment in segments:
        if segment.start <= t < segment.end:
            return segment.distortion
    return "none"
