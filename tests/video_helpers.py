"""Synthetic frames, videos and sources with known quality changes, for the video and camera tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from conftest import gaussian_blur, pristine_images

SIZE = (160, 120)  # width, height


def base_frame(index: int = 0) -> np.ndarray:
    image = cv2.imread(str(pristine_images("val", count=index + 1)[index]))
    return cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)


def moving(frame: np.ndarray, step: int) -> np.ndarray:
    """The same content shifted by `step` pixels: consecutive frames differ, as a live picture does."""
    return np.roll(frame, step, axis=1)


def noisy(frame: np.ndarray, sigma: float = 30.0, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, frame.shape)
    return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def sharp_blurred_sharp(counts=(10, 10, 10), sigma: float = 3.0) -> list[np.ndarray]:
    frame = base_frame()
    frames = []
    for segment, count in enumerate(counts):
        for _ in range(count):
            image = moving(frame, len(frames))
            frames.append(gaussian_blur(image, sigma) if segment == 1 else image)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 0.0):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


class ListCapture:
    """A cv2.VideoCapture stand-in that plays a shared script of frames.

    Reads continue from `script.position`, so a reopened capture resumes where
    the last one failed; positions in `script.fail_at` fail once (a dropped link).
    """

    def __init__(self, script: "Script"):
        self.script = script

    def isOpened(self) -> bool:
        return True

    def read(self):
        script = self.script
        if script.position in script.fail_at:
            script.fail_at.remove(script.position)
            return False, None
        if script.position >= len(script.frames):
            return False, None
        frame = script.frames[script.position]
        script.position += 1
        return True, frame

    def grab(self) -> bool:
        return self.read()[0]

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


class Script:
    def __init__(self, frames: list[np.ndarray], fail_at=(), fail_opens: int = 0):
        self.frames, self.fail_at, self.position = frames, set(fail_at), 0
        self.fail_opens = fail_opens
        self.opens = 0

    def open(self) -> ListCapture:
        from arniqa_edge.sources import VideoSourceError

        self.opens += 1
        if self.fail_opens > 0:
            self.fail_opens -= 1
            raise VideoSourceError("camera unplugged")
        return ListCapture(self)
