"""Compression: JPEG (libjpeg on the CPU, nvJPEG on CUDA) and JPEG 2000 (OpenJPEG, host only).

JPEG 2000 has no GPU codec here, so it runs on a pool of host threads (OpenJPEG
releases the GIL while it codes). `jpeg2000` returns a `PendingImages` at once; the
engine starts it before the other types of its round and takes its images out of
the rounds until it is done, so the CPU codes while the other images go on (on the
GPU, or on the other cores). Only the copy to the host waits for the device.
"""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor

import torch
import torchvision.io

from ... import reference
from ...images import to_uint8
from ..steps import StepGroup, apply_per_value


def jpeg(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return apply_per_value(images, group, _jpeg_round_trip)


def _jpeg_round_trip(images: torch.Tensor, quality: float) -> torch.Tensor:
    with warnings.catch_warnings():  # torchvision.io's codecs are deprecated in favour of torchcodec
        warnings.simplefilter("ignore", DeprecationWarning)
        encoded = torchvision.io.encode_jpeg(list(to_uint8(images)), quality=int(quality))
        decoded = torchvision.io.decode_jpeg([data.cpu() for data in encoded], device=images.device)
    return torch.stack(decoded).to(torch.float32) / 255


class PendingImages:
    """A sub-batch being processed on host threads; `result()` waits for it."""

    def __init__(self, futures: list[Future], device: torch.device):
        self._futures = futures
        self._device = device

    def done(self) -> bool:
        return all(future.done() for future in self._futures)

    def result(self) -> torch.Tensor:
        images = torch.stack([future.result() for future in self._futures])
        return images.to(self._device, non_blocking=True)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _host_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="degradation-jpeg2000")
        return _pool


def jpeg2000(images: torch.Tensor, group: StepGroup) -> PendingImages:
    host = images.cpu()
    pool = _host_pool()
    futures = [
        pool.submit(reference.jpeg2000, image, ratio, rng)
        for image, ratio, rng in zip(host, group.values, group.generators)
    ]
    return PendingImages(futures, images.device)
