"""Pack what a GPU training run needs into one folder small enough to carry.

A remote GPU machine gets the repository plus at most 64 MiB of extra files, and
the pristine training photos take 128 MB as stored. Resized so the short side is
at most 384 px (the size of ARNIQA's KADIS-700k training images) and saved as
JPEG q95 they take about 41 MB:

    python -m training.pretraining.carry -o .carry               # or: make carry

writes .carry/pristine384/train/ (all training photos), .carry/pristine384/val/
(the first --val-images validation photos) and .carry/KADID-10k.csv, and prints
the total size. Then, on the GPU machine:

    python -m training.pretraining.pretrain --config configs/pretrain_lite0.yaml \\
        --data .carry/pristine384/train --out .carry/runs/pretrain-lite0 --max-minutes 8.5
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2
from tqdm import tqdm

from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    configure_logging,
    progress_disable,
)

from ..data_root import data_root, list_images
from ..photos import read_bgr, shrink_short_side

CARRY_LIMIT = 64 * 2**20


def shrink(source: Path, target: Path, short_side: int, quality: int) -> None:
    """Area-downscale so the short side is at most `short_side`, save as JPEG."""
    image = shrink_short_side(read_bgr(source), short_side)
    if not cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"{target}: cannot write")


def pack(data: Path, out: Path, val_images: int, short_side: int = 384, quality: int = 95) -> int:
    """Write the carry folder; returns its size in bytes."""
    for split, limit in (("train", None), ("val", val_images)):
        files = list_images(data / "pristine" / split)
        if not files:
            raise ValueError(f"{data / 'pristine' / split}: no images")
        target = out / f"pristine{short_side}" / split
        target.mkdir(parents=True, exist_ok=True)
        for path in tqdm(files[:limit], desc=split, unit="img", disable=progress_disable()):
            shrink(path, target / f"{path.stem}.jpg", short_side, quality)
    shutil.copy2(data / "labels" / "KADID-10k.csv", out / "KADID-10k.csv")
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.pretraining.carry",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--data", type=Path, default=data_root(), help="the shared data folder (environment: ARNIQA_SHARED_DATA)"
    )
    add_output_argument(
        parser, "carry folder (git-ignored)", aliases=("--out",), dest="out", type=Path, default=Path(".carry")
    )
    parser.add_argument("--val-images", type=int, default=20, help="validation photos to include")
    parser.add_argument("--short-side", type=int, default=384, help="photos are shrunk to this short side at most")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality of the shrunk photos")
    add_verbosity_arguments(parser, default="warning")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        size = pack(args.data, args.out, args.val_images, args.short_side, args.quality)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    note = "" if size < CARRY_LIMIT else " — over the 64 MiB a device call carries: use fewer images"
    print(f"wrote {args.out}: {size / 2**20:.1f} MiB{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
