"""`create_metric`: ARNIQA as a metric object, in the shape of pyiqa's, over `Scorer`.

Research code that scores images with ARNIQA through pyiqa changes its import and its
`create_metric` call; the rest reads the same::

    # pyiqa                                       # arniqa-edge
    import pyiqa                                  import arniqa_edge
    metric = pyiqa.create_metric(                 metric = arniqa_edge.create_metric(
        "arniqa", device="cuda")                      "arniqa-lite0", device="cuda")
    scores = metric(x)                            scores = metric(x)
    #  x: (N, 3, H, W) float tensor, RGB in [0, 1]; the same x works in both
    score = metric("photo.jpg")                   score = metric("photo.jpg")
    metric.lower_better  # False                  metric.lower_better  # False
                                                  metric.score_range   # (0.0, 1.0)

What `metric(...)` takes:

* float tensors or arrays, ``(N, 3, H, W)`` or ``(3, H, W)``, RGB in [0, 1] (pyiqa's
  layout; ``(N, 1, H, W)`` grey works too). A torch ``uint8`` tensor of the same
  layout (``torchvision.io.read_image``) is taken as 0..255.
* a path, or a list of paths;
* ``uint8`` numpy images ``(H, W, 3)`` in OpenCV's BGR order (``cv2.imread``), or a
  batch of them ``(N, H, W, 3)``; ``channels="rgb"`` in the call for RGB arrays;
* PIL images, and lists that mix any of the above (one image per element).

It returns one score per image, in [0, 1], higher is better, shape ``(N,)``: a
float32 torch tensor on the input's device when the input is a tensor (or a list
of tensors), a float64 numpy array otherwise (``.item()`` gives the float of one
image). pyiqa returns ``(N, 1)``: ``scores[:, None]`` if code depends on that.

Float input is rounded to uint8. `Scorer` (and the C++/CUDA preprocessing, the
image and video tools, the camera loop) works on 8-bit frames, so a float image
``x`` is scored as ``round(clip(x, 0, 1) * 255)``, rounding half to even: the
frame the runtime would see for the same picture. A float image made from a
uint8 one (``u8 / 255``) therefore gets exactly the score `Scorer.score` gives
the uint8 image, and values between two 8-bit levels move by at most half a
level (0.5/255). Values slightly outside [0, 1] (a resampling overshoot) are
clipped; below -0.1 or above 1.1 the input is refused as not in [0, 1] (a 0..255
image? a [-1, 1] one?), as are NaN and infinite values.

Not differentiable: scores are computed by the runtime's backends (onnxruntime,
TensorRT or torch without gradients) from the 8-bit frames, so there is no
``as_loss``. Torch is imported only by the caller: this module never imports
it, and numpy input or paths score without torch installed.

The scores are those of this package's models and preprocessing (see `Scorer`),
not pyiqa's numbers: pyiqa's "arniqa" is the paper's ResNet-50 with a KonIQ
regressor, which runs here as ``create_metric("arniqa-r50", weights="ARNIQA.pth",
regressor="regressor_koniq10k.pth")`` with the released files.

Weights: by default the model's shipped weights (`arniqa_edge.models.shipped`);
when none ship, a `WeightsError` says so and what to pass instead
(``weights=`` an encoder file, ``regressor=`` a regressor file, both or neither).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .errors import InputImageError
from .imageio import ImageLike, describe
from .models.registry import DEFAULT_MODEL
from .scorer import Scorer

#: Float input outside [-FLOAT_TOLERANCE, 1 + FLOAT_TOLERANCE] is refused; inside, it is clipped to [0, 1].
FLOAT_TOLERANCE = 0.1


def create_metric(
    model: str = DEFAULT_MODEL, device: Any = "auto", *, weights=None, regressor=None, **options
) -> ArniqaMetric:
    """A callable ARNIQA metric, like ``pyiqa.create_metric("arniqa")`` (see the module's docstring).

    Args:
        model: registry name (`arniqa_edge.list_models()`), default "arniqa-lite0".
        device: "auto", "cpu", "cuda", "cuda:N", None (= "auto") or a ``torch.device``.
        weights, regressor: encoder and regressor files (both, or neither for the shipped model).
        **options: the other arguments of `Scorer`: backend, protocol, batch_size, num_threads,
            max_pixels, max_batch_pixels, memory_budget.
    """
    if "as_loss" in options:
        raise TypeError(
            "create_metric() has no as_loss: the scores are computed from 8-bit frames by "
            "inference backends and carry no gradient; use pyiqa's differentiable metrics for a loss"
        )
    device = "auto" if device is None else str(device)  # str(torch.device("cuda", 0)) == "cuda:0"
    return ArniqaMetric(Scorer(model, weights=weights, regressor=regressor, device=device, **options))


class ArniqaMetric:
    """No-reference quality metric: ``metric(images)`` -> one score in [0, 1] per image, higher is better."""

    #: pyiqa's attributes: higher scores mean better quality, and every score lies in [0, 1].
    lower_better: bool = False
    score_range: tuple[float, float] = (0.0, 1.0)

    def __init__(self, scorer: Scorer):
        self.scorer = scorer

    @property
    def metric_name(self) -> str:
        return self.scorer.config.name

    @property
    def device(self) -> str:
        """Where the encoder runs ("cpu" or "cuda:N")."""
        return self.scorer.backend.device

    def __call__(self, images: Any, channels: str = "bgr") -> Any:
        """Scores of `images` (see the module's docstring for what is accepted).

        channels: byte order of uint8 numpy images ("bgr", OpenCV's, or "rgb"); float and
            tensor input is always RGB, files are decoded by the package.
        """
        if channels not in ("bgr", "rgb"):
            raise ValueError(f"channels must be 'bgr' or 'rgb', got {channels!r}")
        torch_device = _torch_output_device(images)
        entries = list(_entries(images, channels))
        names = [name for name, _ in entries]
        frames = (make() for _, make in entries)  # converted one at a time, as the scorer reaches them
        scores = np.array([p.score for p in self.scorer.predict_batch(frames, channels, names)], dtype=np.float64)
        if torch_device is None:
            return scores
        import torch  # already imported by the caller: the input holds tensors

        return torch.as_tensor(scores, dtype=torch.float32, device=torch_device)

    def __repr__(self) -> str:
        return f"ArniqaMetric({self.scorer!r}, lower_better={self.lower_better}, score_range={self.score_range})"


# -- input handling ---------------------------------------------------------------

Entry = tuple[str, Callable[[], ImageLike]]


def _torch():
    """The torch module if the process has imported it (never imports it): tensors cannot exist otherwise."""
    return sys.modules.get("torch")


def _is_tensor(obj: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(obj, torch.Tensor)


def _torch_output_device(images: Any):
    """The device of the torch output, or None for a numpy output."""
    if _is_tensor(images):
        return images.device
    if isinstance(images, (list, tuple)) and images and all(_is_tensor(image) for image in images):
        return images[0].device
    return None


def _entries(images: Any, channels: str) -> Iterator[Entry]:
    """(name, make the scorer's input) per image; a list gives its elements' images in order."""
    if isinstance(images, (list, tuple)):
        for index, image in enumerate(images):
            yield from _entries_of_one(image, channels, f"[{index}]")
    else:
        yield from _entries_of_one(images, channels, "")


def _entries_of_one(image: Any, channels: str, where: str) -> Iterator[Entry]:
    if isinstance(image, (str, os.PathLike)):
        yield str(image), lambda: image
    elif _is_tensor(image):
        yield from _batch_entries(image, tuple(image.shape), where or "<tensor>", channels, _tensor_frame)
    elif isinstance(image, np.ndarray) and np.issubdtype(image.dtype, np.floating):
        yield from _batch_entries(image, image.shape, where or "<array>", channels, _float_array_frame)
    elif isinstance(image, np.ndarray) and image.ndim == 4:  # (N, H, W, C) integer frames
        for index in range(image.shape[0]):
            yield f"{where or '<array>'}[{index}] {describe(image[index])}", (lambda frame=image[index]: frame)
    elif isinstance(image, (list, tuple)):
        raise InputImageError(f"{where}: nested lists are not accepted; pass a flat list of images or a batch")
    else:  # uint8/uint16 numpy image, PIL image, or something the scorer refuses with a clear message
        yield (f"{where} {describe(image)}" if where else describe(image)), lambda: image


def _batch_entries(batch, shape: tuple, where: str, channels: str, convert) -> Iterator[Entry]:
    """(N, C, H, W) or (C, H, W) float/tensor input: one entry per image, converted when scored."""
    if len(shape) == 3:
        yield f"{where} {_shape(shape)}", lambda: convert(batch, f"{where} {_shape(shape)}", channels)
        return
    if len(shape) != 4:
        raise InputImageError(
            f"{where}: expected an (N, 3, H, W) or (3, H, W) RGB image batch, got shape {_shape(shape)}"
        )
    for index in range(shape[0]):
        name = f"{where}[{index}] of {_shape(shape)}"
        yield name, (lambda index=index, name=name: convert(batch[index], name, channels))


def _shape(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


def _check_layout(shape: tuple, name: str) -> None:
    if shape[0] not in (1, 3):
        hint = (
            ": for an (H, W, C) image pass image.transpose(2, 0, 1) (numpy) or image.permute(2, 0, 1) (torch)"
            if shape[-1] in (1, 3)
            else ""
        )
        raise InputImageError(
            f"{name}: float and tensor images are (3, H, W) RGB (or (1, H, W) grey) in "
            f"[0, 1], got {_shape(shape)}{hint}"
        )


def _check_range(low: float, high: float, name: str) -> None:
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InputImageError(f"{name}: holds NaN or infinite values")
    if low < -FLOAT_TOLERANCE or high > 1.0 + FLOAT_TOLERANCE:
        raise InputImageError(
            f"{name}: float images must be in [0, 1], got values in [{low:.4g}, {high:.4g}] (a 0..255 image: "
            "divide it by 255; a [-1, 1] one: (x + 1) / 2)"
        )


def _hwc(planes: np.ndarray, channels: str) -> np.ndarray:
    """(C, H, W) uint8 RGB planes -> a packed (H, W, C) frame in `channels` order ((H, W) for grey)."""
    if planes.shape[0] == 1:
        return np.ascontiguousarray(planes[0])
    if channels == "bgr":
        planes = planes[::-1]
    return np.ascontiguousarray(planes.transpose(1, 2, 0))


def _float_array_frame(image: np.ndarray, name: str, channels: str) -> np.ndarray:
    """One (C, H, W) float image in [0, 1] -> the uint8 frame the runtime would see (rounded, see above)."""
    _check_layout(image.shape, name)
    with np.errstate(invalid="ignore"):
        low, high = float(np.min(image)), float(np.max(image))
    _check_range(low, high, name)
    scaled = np.clip(image.astype(np.float32, copy=False), 0.0, 1.0) * np.float32(255.0)
    return _hwc(np.rint(scaled, out=scaled).astype(np.uint8), channels)


def _tensor_frame(image, name: str, channels: str) -> np.ndarray:
    """One (C, H, W) torch tensor (float in [0, 1], or uint8) -> the uint8 frame (quantised on its device)."""
    _check_layout(tuple(image.shape), name)
    image = image.detach()
    torch = _torch()
    if image.dtype == torch.uint8:
        planes = image
    elif image.is_floating_point():
        image = image.float()
        low, high = (float(v) for v in torch.aminmax(image))
        _check_range(low, high, name)
        # The same float32 arithmetic as the numpy path, so both give the same frame.
        planes = image.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    else:
        raise InputImageError(
            f"{name}: unsupported tensor dtype {image.dtype}; pass float images in [0, 1] or uint8 ones"
        )
    return _hwc(planes.cpu().numpy(), channels)


__all__ = ["ArniqaMetric", "FLOAT_TOLERANCE", "create_metric"]
