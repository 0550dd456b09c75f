"""Reading images and normalising arrays to what the preprocessing op takes.

Everything that can go wrong with a user's file ends here as an `InputImageError`
with a message that names the problem: a missing or empty file, a truncated
JPEG/PNG/WebP (OpenCV would decode those silently with grey rows), a corrupt
file, an unsupported dtype or channel count, an image too small or too large.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import InputImageError

#: Smallest side we score: below this the half scale has < 16 px and the encoder
#: sees little more than padding.
MIN_SIDE = 32
#: Largest image we decode by default (a decompression-bomb guard, ~ 100 MP).
MAX_PIXELS = 100_000_000

ImageLike = Any  # str | os.PathLike | np.ndarray | PIL.Image.Image


def read_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file into a packed uint8 (H, W, 3) BGR array."""
    path = Path(path)
    if not path.exists():
        raise InputImageError(f"{path}: no such file")
    if path.is_dir():
        raise InputImageError(f"{path}: is a directory, not an image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_image(data, name=str(path), max_pixels=max_pixels)


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes into a packed uint8 (H, W, 3) BGR array."""
    if len(data) == 0:
        raise InputImageError(f"{name}: empty file (0 bytes)")
    problem = _truncation_problem(data)
    if problem:
        raise InputImageError(f"{name}: {problem}")
    _check_declared_size(data, name, max_pixels)
    buf = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputImageError(f"{name}: not a readable image (corrupt file or unsupported format)")
    return to_bgr_uint8(image, channels="bgr", name=name, max_pixels=max_pixels)[0]


def to_bgr_uint8(
    image: np.ndarray,
    channels: str = "bgr",
    name: str = "<array>",
    max_pixels: int = MAX_PIXELS,
) -> tuple[np.ndarray, str]:
    """Bring an array to packed uint8 (H, W, 3) and say its channel order.

    Grayscale is replicated to three channels, the alpha channel of RGBA/BGRA is
    dropped (quality is judged on the colour planes), 16-bit images are scaled to
    8 bits. Floats are refused: their range (0..1 or 0..255) is ambiguous.
    Returns the array and its channel order, "bgr" or "rgb".
    """
    if channels not in ("bgr", "rgb"):
        raise ValueError(f"channels must be 'bgr' or 'rgb', got {channels!r}")
    if not isinstance(image, np.ndarray):
        raise InputImageError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype == np.uint16:
        # Round to nearest: 65535 -> 255, 257*k -> k.
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InputImageError(
            f"{name}: unsupported dtype {image.dtype}; pass uint8 (or uint16) pixels, "
            "e.g. (img * 255).round().astype(np.uint8) for floats in 0..1")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise InputImageError(
            f"{name}: expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise InputImageError(f"{name}: image too small ({width}x{height}); both sides must be >= {MIN_SIDE} px")
    if height * width > max_pixels:
        raise InputImageError(
            f"{name}: image too large ({width}x{height} = {height * width / 1e6:.0f} MP > "
            f"{max_pixels / 1e6:.0f} MP); downscale it first or raise max_pixels")
    # The preprocessing op takes strided rows but packed pixels.
    if image.strides[2] != 1 or image.strides[1] != 3:
        image = np.ascontiguousarray(image)
    return image, channels


def load_image(image: ImageLike, channels: str = "bgr", max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, str]:
    """Accept a path, a numpy array (BGR unless `channels="rgb"`) or a PIL image."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image, max_pixels=max_pixels), "bgr"
    if isinstance(image, np.ndarray):
        return to_bgr_uint8(image, channels=channels, max_pixels=max_pixels)
    if _is_pil_image(image):
        return _from_pil(image, max_pixels)
    raise InputImageError(f"cannot score an object of type {type(image).__name__}; "
                          "pass a file path, a numpy array or a PIL image")


def describe(image: ImageLike) -> str:
    """A short name of an input for messages and result rows."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    if isinstance(image, np.ndarray):
        return f"<array {'x'.join(map(str, image.shape))} {image.dtype}>"
    return f"<{type(image).__name__}>"


def _is_pil_image(obj: Any) -> bool:
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "mode") and hasattr(obj, "size")


def _from_pil(image: Any, max_pixels: int) -> tuple[np.ndarray, str]:
    if image.mode in ("I;16", "I;16B", "I;16L"):
        return to_bgr_uint8(np.asarray(image).astype(np.uint16), "rgb", max_pixels=max_pixels)
    if image.mode not in ("RGB", "L", "RGBA"):
        image = image.convert("RGB")
    return to_bgr_uint8(np.asarray(image), "rgb", max_pixels=max_pixels)


# -- structural checks of common formats ------------------------------------

def _truncation_problem(data: bytes) -> str | None:
    if data[:2] == b"\xff\xd8":
        return _jpeg_problem(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _png_problem(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        declared = struct.unpack("<I", data[4:8])[0] + 8
        if len(data) < declared:
            return f"truncated WebP file ({len(data)} of {declared} bytes)"
    return None


def _jpeg_problem(data: bytes) -> str | None:
    """Walk the marker segments up to the first scan, then look for the end-of-image marker.

    Inside entropy-coded data every 0xFF byte is stuffed (FF00) or a restart
    marker, so the first FFD9 after the scan header is the real end of image;
    an EXIF thumbnail's own FFD9 sits in an APP segment and is skipped.
    """
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return "corrupt JPEG (bad marker)"
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return "corrupt JPEG (no image data)"
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker == 0xDA:  # start of scan
            if data.find(b"\xff\xd9", pos + 2 + length) < 0:
                return "truncated JPEG (no end-of-image marker)"
            return None
        pos += 2 + length
    return "truncated JPEG (ends before the image data)"


def _png_problem(data: bytes) -> str | None:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        pos += 12 + length
        if kind == b"IEND":
            return None if pos <= len(data) else "truncated PNG (cut in the end chunk)"
    return "truncated PNG (no end chunk)"


def _check_declared_size(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse huge images before decoding them, for formats whose header is cheap to read."""
    size = None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        size = (width, height)
    elif data[:2] == b"\xff\xd8":
        size = _jpeg_size(data)
    if size and size[0] * size[1] > max_pixels:
        raise InputImageError(
            f"{name}: image too large ({size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.0f} MP > "
            f"{max_pixels / 1e6:.0f} MP); downscale it first or raise max_pixels")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        if marker == 0xDA:
            return None
        pos += 2 + length
    return None
