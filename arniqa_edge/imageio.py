"""Reading images and normalising arrays to what the preprocessing op takes.

Everything that can go wrong with a user's file ends here as an `InputImageError`
with a message that names the problem: a missing or empty file, a truncated
JPEG/PNG/WebP (OpenCV would decode those silently with grey rows), a corrupt
file, an unsupported dtype or channel count, an image too small or too large.
The size is read from the file's header and checked before anything is decoded,
in every format accepted (a 3 MB TIFF can declare 30000x30000 pixels).

Damage that a decoder reports but decodes through (libjpeg's "Corrupt JPEG
data" warnings: some rows are garbage) is not an error; it is an
`ImageDataWarning`, returned by `read_image_and_warnings` and issued with
`warnings.warn` by the other readers.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ImageDataWarning, InputImageError
from .memory import allocation_failures_as

#: Smallest side we score: below this the half scale has < 16 px and the encoder
#: sees little more than padding.
MIN_SIDE = 32
#: Largest image we decode by default (a decompression-bomb guard, ~ 100 MP).
MAX_PIXELS = 100_000_000

ImageLike = Any  # str | os.PathLike | np.ndarray | PIL.Image.Image

#: File names taken as images when a folder is listed (what the reader decodes); other files are ignored.
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".bmp",
        ".dib",
        ".webp",
        ".tif",
        ".tiff",
        ".jp2",
        ".gif",
        ".avif",
        ".pbm",
        ".pgm",
        ".ppm",
        ".pnm",
        ".pxm",
        ".sr",
        ".ras",
        ".exr",
        ".hdr",
        ".pic",
    }
)


def read_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file into a packed uint8 (H, W, 3) BGR array (damage the decoder reports: a warning)."""
    image, notes = read_image_and_warnings(path, max_pixels)
    _warn(notes)
    return image


def read_image_and_warnings(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, list[str]]:
    """`read_image`, with the damage the decoder reported returned as messages instead of issued as warnings."""
    path = Path(path)
    if not path.exists():
        raise InputImageError(f"{path}: no such file")
    if path.is_dir():
        raise InputImageError(f"{path}: is a directory, not an image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _decode(data, str(path), max_pixels)


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes into a packed uint8 (H, W, 3) BGR array (damage the decoder reports: a warning)."""
    image, notes = _decode(data, name, max_pixels)
    _warn(notes)
    return image


def _decode(data: bytes, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    if len(data) == 0:
        raise InputImageError(f"{name}: empty file (0 bytes)")
    problem = _truncation_problem(data)
    if problem:
        raise InputImageError(f"{name}: {problem}")
    _check_declared_size(data, name, max_pixels)
    buf = np.frombuffer(data, dtype=np.uint8)
    with allocation_failures_as("decoding it", name):
        if data[:2] == b"\xff\xd8":
            with _native_stderr_captured() as said:
                image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            notes = _jpeg_damage(said[0], name)
        else:
            image, notes = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED), []
        if image is None:
            raise InputImageError(f"{name}: not a readable image (corrupt file or unsupported format)")
        return to_bgr_uint8(image, channels="bgr", name=name, max_pixels=max_pixels)[0], notes


def _warn(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(note, ImageDataWarning, stacklevel=3)


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
            "e.g. (img * 255).round().astype(np.uint8) for floats in 0..1"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise InputImageError(
            f"{name}: expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {image.shape}"
        )
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise InputImageError(f"{name}: image too small ({width}x{height}); both sides must be >= {MIN_SIDE} px")
    _check_pixels(name, width, height, max_pixels)
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
    raise InputImageError(
        f"cannot score an object of type {type(image).__name__}; pass a file path, a numpy array or a PIL image"
    )


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
    # An image from Image.open is decoded lazily, by np.asarray: check its size first.
    width, height = image.size
    _check_pixels(f"<PIL {image.format or 'image'}>", width, height, max_pixels)
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
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == 0xDA:  # start of scan
            if data.find(b"\xff\xd9", pos + 2 + length) < 0:
                return "truncated JPEG (no end-of-image marker)"
            return None
        pos += 2 + length
    return "truncated JPEG (ends before the image data)"


def _png_problem(data: bytes) -> str | None:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        pos += 12 + length
        if kind == b"IEND":
            return None if pos <= len(data) else "truncated PNG (cut in the end chunk)"
    return "truncated PNG (no end chunk)"


def _check_declared_size(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse huge images before decoding them: every accepted format declares its size in its header."""
    try:
        size = declared_size(data)
    except InputImageError as exc:
        raise InputImageError(f"{name}: {exc}") from None
    if size is None:
        raise InputImageError(
            f"{name}: not a readable image (unsupported format, or a header too damaged to "
            "tell its size; JPEG, PNG, WebP, TIFF, BMP, GIF, JPEG 2000, AVIF, PNM, ... are read)"
        )
    _check_pixels(name, *size, max_pixels)


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise InputImageError(
            f"{name}: image too large ({width}x{height} = {width * height / 1e6:.0f} MP > "
            f"{max_pixels / 1e6:.0f} MP); downscale it first or raise max_pixels"
        )


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) that the file's header declares, read without decoding; None if it cannot tell."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            size = struct.unpack(">II", data[16:24]) if data[12:16] == b"IHDR" else None
        elif data[:2] == b"\xff\xd8":
            size = _jpeg_size(data)
        elif data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            size = _tiff_size(data)
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            size = _webp_size(data)
        elif data[:2] == b"BM":
            size = _bmp_size(data)
        else:
            size = _size_from_pil(data)
    except InputImageError:
        raise
    except (struct.error, IndexError, ValueError):
        return None
    if size is None or min(size) <= 0:
        return None
    return size


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker == 0xDA:
            return None
        pos += 2 + length
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first IFD, the page OpenCV decodes; BigTIFF too."""
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack(order + "H", data[2:4])[0] == 43
    count_format, entry_size, value_at = ("Q", 20, 12) if big else ("H", 12, 8)
    ifd = struct.unpack(order + ("Q" if big else "I"), data[8:16] if big else data[4:8])[0]
    (entries,) = struct.unpack_from(order + count_format, data, ifd)
    first = ifd + (8 if big else 2)
    found = {}
    for index in range(entries):
        entry = first + index * entry_size
        tag, kind = struct.unpack_from(order + "HH", data, entry)
        if tag in (256, 257):
            value_format = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if value_format is None:
                return None
            found[tag] = struct.unpack_from(order + value_format, data, entry + value_at)[0]
    return (found[256], found[257]) if len(found) == 2 else None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: canvas size, 24 bits each, minus one
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14 bits each, minus one
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: 14 bits each after the start code
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height)  # negative height: rows stored top-down


def _size_from_pil(data: bytes) -> tuple[int, int] | None:
    """Other formats (GIF, JPEG 2000, AVIF, PNM, Sun raster, ...): Pillow's header parsers, nothing decoded."""
    try:
        from PIL import Image
    except ImportError:
        return None
    with warnings.catch_warnings():
        # Pillow's own decompression-bomb guard: we apply max_pixels ourselves, with the size it read
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.size
        except Image.DecompressionBombError:
            raise InputImageError(
                f"image too large (over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} MP, Pillow's limit "
                "for reading the size of this format)"
            ) from None
        except Exception:  # noqa: BLE001 - Pillow raises many types for files it cannot parse
            return None


# -- damage reported while decoding -------------------------------------------

#: Beginnings of libjpeg's warnings about damaged data (JWRN_*): it decodes on, with garbage where the data was bad.
_JPEG_DAMAGE = (
    "Corrupt JPEG data",
    "Premature end of JPEG file",
    "Invalid SOS parameters",
    "Inconsistent progression sequence",
)
_STDERR_LOCK = threading.Lock()


@contextmanager
def _native_stderr_captured():
    """Collect what native code writes to file descriptor 2 meanwhile (libjpeg prints its warnings there).

    Yields a list that holds the text once the block has ended. Python's own
    sys.stderr is flushed first, and what other threads write meanwhile is
    passed on by the caller, so nothing is lost.
    """
    said: list[str] = []
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to take over (a daemon): decode without listening
            said.append("")
            yield said
            return
        try:  # the redirection inside: whatever interrupts the block (Ctrl-C), stderr is given back
            os.dup2(sink.fileno(), 2)
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said.append(sink.read().decode("utf-8", "replace"))


def _jpeg_damage(text: str, name: str) -> list[str]:
    """libjpeg's damage warnings in `text` as messages; the other lines go on to stderr unchanged."""
    notes, others = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith(_JPEG_DAMAGE):
            notes.append(
                f"{name}: damaged JPEG data (libjpeg: {line.strip()}): part of the image is garbage, "
                "so its score may be wrong"
            )
        else:
            others.append(line)
    if others:
        os.write(2, "".join(others).encode())
    return notes
