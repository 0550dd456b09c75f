import cv2
import numpy as np
import pytest

from arniqa_edge.errors import InputImageError
from arniqa_edge.imageio import MIN_SIDE, decode_image, load_image, read_image, to_bgr_uint8


def _encode(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (0, 0), 2)
    return image


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".bmp", ".tiff"])
def test_reads_common_formats(tmp_path, photo, ext):
    path = tmp_path / f"img{ext}"
    path.write_bytes(_encode(ext, photo))
    image = read_image(path)
    assert image.shape == photo.shape and image.dtype == np.uint8
    if ext in (".png", ".bmp", ".tiff"):
        np.testing.assert_array_equal(image, photo)


def test_missing_empty_directory(tmp_path):
    with pytest.raises(InputImageError, match="no such file"):
        read_image(tmp_path / "nope.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InputImageError, match="empty file"):
        read_image(tmp_path / "empty.jpg")
    with pytest.raises(InputImageError, match="directory"):
        read_image(tmp_path)


@pytest.mark.parametrize(
    "ext,cut,message",
    [
        (".jpg", 0.6, "truncated JPEG"),
        (".jpg", 0.01, "truncated JPEG"),
        (".png", 0.6, "truncated PNG"),
        (".webp", 0.6, "truncated WebP"),
    ],
)
def test_truncated_files_are_refused(photo, ext, cut, message):
    data = _encode(ext, photo)
    with pytest.raises(InputImageError, match=message):
        decode_image(data[: max(4, int(len(data) * cut))], name="x")


def test_jpeg_with_exif_thumbnail_cut_after_thumbnail(photo):
    """An EXIF thumbnail carries its own end marker: the check must not be fooled by it."""
    thumb = _encode(".jpg", photo[:32, :32])
    app1 = b"Exif\x00\x00" + thumb
    main = _encode(".jpg", photo)
    segment = b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1
    full = main[:2] + segment + main[2:]
    assert decode_image(full).shape == photo.shape
    with pytest.raises(InputImageError, match="truncated JPEG"):
        decode_image(full[: len(full) - len(main) // 2])


def test_corrupt_bytes(photo):
    with pytest.raises(InputImageError, match="not a readable image"):
        decode_image(b"this is not an image at all" * 10)
    data = bytearray(_encode(".png", photo))
    data[40:200] = bytes(160)  # zeroed IDAT payload: zlib/CRC failure
    with pytest.raises(InputImageError):
        decode_image(bytes(data))


def test_grayscale_rgba_16bit(tmp_path, photo):
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    image = decode_image(_encode(".png", gray))
    assert image.shape == photo.shape and (image[..., 0] == gray).all() and (image[..., 2] == gray).all()
    rgba = np.dstack([photo, np.full(photo.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(decode_image(_encode(".png", rgba)), photo)
    deep = photo.astype(np.uint16) * 257
    np.testing.assert_array_equal(decode_image(_encode(".png", deep)), photo)


def test_tiny_and_huge(photo):
    with pytest.raises(InputImageError, match="too small"):
        decode_image(_encode(".png", photo[: MIN_SIDE - 1]))
    with pytest.raises(InputImageError, match="too large"):
        decode_image(_encode(".png", photo), max_pixels=1000)
    with pytest.raises(InputImageError, match="too large"):
        decode_image(_encode(".jpg", photo), max_pixels=1000)


def test_arrays(photo):
    image, channels = to_bgr_uint8(photo, "rgb")
    assert channels == "rgb" and image is photo
    strided = np.zeros((96, 128 * 2, 3), np.uint8)[:, ::2]
    packed, _ = to_bgr_uint8(strided)
    assert packed.strides[1] == 3
    with pytest.raises(InputImageError, match="dtype float32"):
        to_bgr_uint8(photo.astype(np.float32))
    with pytest.raises(InputImageError, match="shape"):
        to_bgr_uint8(photo[..., :2])
    with pytest.raises(ValueError, match="channels"):
        to_bgr_uint8(photo, "bgra")


def test_pil_input(photo):
    from PIL import Image

    rgb = photo[..., ::-1].copy()
    image, channels = load_image(Image.fromarray(rgb))
    assert channels == "rgb"
    np.testing.assert_array_equal(image, rgb)
    with pytest.raises(InputImageError, match="type int"):
        load_image(3)


# -- damage the decoder reports (libjpeg's "Corrupt JPEG data") -----------------


def _damaged_jpeg(photo: np.ndarray) -> bytes:
    """A real JPEG whose entropy-coded data is overwritten with noise from 40% to 70% of the scan: the
    structure (markers, end of image) is intact, so it decodes, with garbage rows."""
    data = bytearray(_encode(".jpg", photo))
    scan = data.find(b"\xff\xda")
    start, end = scan + 20 + int((len(data) - scan) * 0.4), scan + int((len(data) - scan) * 0.7)
    data[start:end] = np.random.default_rng(1).integers(0, 255, end - start, dtype=np.uint8).tobytes()  # no 0xFF
    return bytes(data)


@pytest.fixture
def large_photo():
    rng = np.random.default_rng(0)
    return cv2.GaussianBlur(rng.integers(0, 256, (321, 481, 3), dtype=np.uint8), (0, 0), 1.5)


def test_damaged_jpeg_is_flagged(tmp_path, large_photo, capfd):
    from arniqa_edge.errors import ImageDataWarning
    from arniqa_edge.imageio import read_image_and_warnings

    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(_damaged_jpeg(large_photo))
    image, notes = read_image_and_warnings(damaged)
    assert image.shape == large_photo.shape
    assert len(notes) == 1 and notes[0].startswith(f"{damaged}: damaged JPEG data (libjpeg: Corrupt JPEG data")
    assert "its score may be wrong" in notes[0]
    assert "Corrupt JPEG data" not in capfd.readouterr().err  # libjpeg's own unlabelled line is taken in
    with pytest.warns(ImageDataWarning, match="damaged JPEG data"):
        read_image(damaged)
    with pytest.warns(ImageDataWarning, match="<bytes>: damaged JPEG data"):
        decode_image(damaged.read_bytes())
    clean = tmp_path / "clean.jpg"
    clean.write_bytes(_encode(".jpg", large_photo))
    assert read_image_and_warnings(clean)[1] == []


def test_other_native_stderr_output_is_passed_on(capfd):
    import os

    from arniqa_edge.imageio import _jpeg_damage, _native_stderr_captured

    with _native_stderr_captured() as said:
        os.write(2, b"some other library: hello\nCorrupt JPEG data: premature end of data segment\n")
    assert _jpeg_damage(said[0], "x.jpg") == [
        "x.jpg: damaged JPEG data (libjpeg: Corrupt JPEG data: premature end of data segment): part of the image "
        "is garbage, so its score may be wrong"
    ]
    assert capfd.readouterr().err == "some other library: hello\n"


# -- the declared size is checked before decoding, in every format --------------


def _tiff_declaring(photo, size, **options):
    """A real TIFF of `photo` whose first page's ImageWidth and ImageLength say `size`."""
    import io
    import struct

    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, photo, **options)
    data = bytearray(buffer.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tiff:
        for tag, value in zip(("ImageWidth", "ImageLength"), size):
            entry = tiff.pages[0].tags[tag]
            struct.pack_into(
                tiff.byteorder + {3: "H", 4: "I", 16: "Q"}[int(entry.dtype)], data, entry.valueoffset, value
            )
    return bytes(data)


def _webp_declaring(photo, size, lossless):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "WEBP", lossless=lossless)
    data = bytearray(buffer.getvalue())
    width, height = size
    if lossless:
        assert data[12:16] == b"VP8L"
        data[21:25] = ((width - 1) | (height - 1) << 14 | (data[24] >> 4) << 28).to_bytes(4, "little")
    else:
        assert data[12:16] == b"VP8 "
        data[26:30] = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return bytes(data)


def _webp_extended_declaring(photo, size):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.dstack([photo, photo[..., :1]]), "RGBA").save(
        buffer, "WEBP", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"
    )
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"VP8X"
    data[24:27], data[27:30] = (size[0] - 1).to_bytes(3, "little"), (size[1] - 1).to_bytes(3, "little")
    return bytes(data)


def _bmp_declaring(photo, size):
    data = bytearray(_encode(".bmp", photo))
    data[18:26] = np.array(size, "<i4").tobytes()
    return bytes(data)


def _gif_declaring(photo, size):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    data[6:10] = np.array(size, "<u2").tobytes()  # logical screen
    descriptor = data.find(b"\x2c", 13 + 3 * 256)  # image descriptor after the global colour table
    data[descriptor + 5 : descriptor + 9] = np.array(size, "<u2").tobytes()
    return bytes(data)


HUGE = (30000, 30000)
DECLARING = {
    "tiff": lambda photo: _tiff_declaring(photo, HUGE),
    "tiff big-endian": lambda photo: _tiff_declaring(photo, HUGE, byteorder=">"),
    "bigtiff": lambda photo: _tiff_declaring(photo, HUGE, bigtiff=True),
    "tiff deflate": lambda photo: _tiff_declaring(photo, HUGE, compression="zlib"),
    "webp lossy": lambda photo: _webp_declaring(photo, (16000, 16000), lossless=False),
    "webp lossless": lambda photo: _webp_declaring(photo, (16000, 16000), lossless=True),
    "webp extended": lambda photo: _webp_extended_declaring(photo, HUGE),
    "bmp": lambda photo: _bmp_declaring(photo, HUGE),
    "gif": lambda photo: _gif_declaring(photo, (12000, 10000)),
    "gif past pillow's limit": lambda photo: _gif_declaring(photo, (20000, 20000)),
}


@pytest.mark.parametrize("kind", list(DECLARING))
def test_declared_size_is_refused_before_decoding(photo, kind, monkeypatch):
    data = DECLARING[kind](photo)

    def must_not_decode(*args, **kwargs):
        raise AssertionError("decoded an image that declares more than max_pixels")

    monkeypatch.setattr("arniqa_edge.imageio.cv2.imdecode", must_not_decode)
    with pytest.raises(InputImageError, match="too large"):
        decode_image(data, name="x")


@pytest.mark.parametrize("ext", [".webp", ".bmp", ".tiff", ".jp2", ".ppm", ".avif"])
def test_declared_size_of_every_format_matches_the_decoded_one(photo, ext):
    from arniqa_edge.imageio import declared_size

    data = _encode(ext, photo)
    assert declared_size(data) == (photo.shape[1], photo.shape[0])
    with pytest.raises(InputImageError, match=r"too large \(128x96"):
        decode_image(data, max_pixels=128 * 96 - 1)


def test_lazy_pil_image_is_size_checked_before_it_is_decoded(tmp_path, photo):
    from PIL import Image

    path = tmp_path / "cut.png"
    path.write_bytes(_encode(".png", photo)[:200])  # decoding it would fail: it is cut short
    with Image.open(path) as lazy:
        with pytest.raises(InputImageError, match="too large"):
            load_image(lazy, max_pixels=1000)
