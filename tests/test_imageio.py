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


@pytest.mark.parametrize("ext,cut,message", [
    (".jpg", 0.6, "truncated JPEG"),
    (".jpg", 0.01, "truncated JPEG"),
    (".png", 0.6, "truncated PNG"),
    (".webp", 0.6, "truncated WebP"),
])
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
