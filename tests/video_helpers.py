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

    def __init__(self, script: Script):
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


def damage_frames(path: Path, frames, out: Path | None = None) -> Path:
    """Zero the JPEG data of `frames` (0-based) in an MJPG .avi: those frames no longer decode, the rest do."""
    import re
    import struct

    data = bytearray(path.read_bytes())
    movi = data.index(b"movi")  # frame chunks ('00dc' + size + JPEG) follow the 'movi' list tag
    chunks = [m.start() for m in re.finditer(b"00dc", data) if m.start() > movi]
    for frame in frames:
        start = chunks[frame]
        size = struct.unpack("<I", data[start + 4 : start + 8])[0]
        data[start + 8 : start + 8 + size] = bytes(size)
    out = out or path
    out.write_bytes(bytes(data))
    return out


class ServedDirectory:
    """Serves a directory over HTTP on 127.0.0.1 from a thread: `with ServedDirectory(dir) as base_url:`."""

    def __init__(self, directory: Path):
        import functools
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
        self._server.daemon_threads = True

    def __enter__(self) -> str:
        import threading

        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"127.0.0.1:{self._server.server_port}"

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def write_mkv(path: Path, frames: list[np.ndarray], times_ms: list[int], duration_ms: float | None = None) -> Path:
    """A Matroska file of MJPEG frames shown at `times_ms`: real per-frame presentation timestamps, so a
    variable frame rate (OpenCV's VideoWriter only writes constant rates). Minimal, in one cluster."""
    import struct

    def element(element_id: int, payload: bytes) -> bytes:
        return (
            element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
            + b"\x01"
            + len(payload).to_bytes(7, "big")
            + payload
        )  # the size as an 8-byte EBML integer

    def uint(element_id: int, value: int) -> bytes:
        return element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))

    header = element(
        0x1A45DFA3,
        uint(0x4286, 1)
        + uint(0x42F7, 1)
        + uint(0x42F2, 4)
        + uint(0x42F3, 8)
        + element(0x4282, b"matroska")
        + uint(0x4287, 4)
        + uint(0x4285, 2),
    )
    info = uint(0x2AD7B1, 1_000_000)  # timestamps in ms
    if duration_ms is not None:
        info += element(0x4489, struct.pack(">d", duration_ms))
    height, width = frames[0].shape[:2]
    track = element(
        0xAE,
        uint(0xD7, 1)
        + uint(0x73C5, 1)
        + uint(0x83, 1)
        + element(0x86, b"V_MJPEG")
        + element(0xE0, uint(0xB0, width) + uint(0xBA, height)),
    )
    blocks = b"".join(
        element(0xA3, b"\x81" + struct.pack(">hB", t, 0x80) + cv2.imencode(".jpg", frame)[1].tobytes())
        for frame, t in zip(frames, times_ms)
    )
    segment = element(0x1549A966, info) + element(0x1654AE6B, track) + element(0x1F43B675, uint(0xE7, 0) + blocks)
    path.write_bytes(header + element(0x18538067, segment))
    return path
