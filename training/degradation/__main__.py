"""Command line: draw the distortions of the degradation model on an image.

python -m training.degradation gallery IMAGE -o grid.png
python -m training.degradation sample IMAGE -n 8 -o samples.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from .gallery import distortion_gallery, sample_gallery
from .images import load_image


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.degradation",
        description="Draw ARNIQA's distortions (24 types x 5 levels) on an image.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    gallery = commands.add_parser(
        "gallery",
        help="grid of every type (rows) at every level (columns)",
        description="Grid of every distortion type (rows) at levels 1..5 (columns), next to the original, "
        "on a central crop of IMAGE.",
    )
    gallery.add_argument("image", type=Path, help="input image (any format OpenCV reads)")
    gallery.add_argument("-o", "--output", type=Path, required=True, help="output image (.png, .jpg, ...)")
    gallery.add_argument("--tile", type=int, default=160, help="side of each tile in px (default: 160)")
    gallery.add_argument("--seed", type=int, default=0, help="seed of the random distortions (default: 0)")

    sample = commands.add_parser(
        "sample",
        help="composed random degradations, each labelled with its steps",
        description="Composed degradations drawn as in ARNIQA's training (1..max-distortions groups, "
        "half-Gaussian levels), applied to a central crop of IMAGE.",
    )
    sample.add_argument("image", type=Path, help="input image (any format OpenCV reads)")
    sample.add_argument("-o", "--output", type=Path, required=True, help="output image (.png, .jpg, ...)")
    sample.add_argument("-n", "--count", type=int, default=8, help="number of samples (default: 8)")
    sample.add_argument("--tile", type=int, default=224, help="side of each tile in px (default: 224)")
    sample.add_argument("--columns", type=int, default=4, help="tiles per row (default: 4)")
    sample.add_argument("--max-distortions", type=int, default=4, help="steps per sample at most, 1..7 (default: 4)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the sampler (default: 0)")
    return parser


def _write_params(path: Path) -> list[int]:
    if path.suffix.lower() in (".jpg", ".jpeg"):
        return [cv2.IMWRITE_JPEG_QUALITY, 90]  # keeps noise visible at a fraction of the PNG size
    return []


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        image = load_image(args.image)
        if args.command == "gallery":
            grid = distortion_gallery(image, tile=args.tile, seed=args.seed)
        else:
            grid = sample_gallery(
                image,
                count=args.count,
                tile=args.tile,
                columns=args.columns,
                seed=args.seed,
                max_distortions=args.max_distortions,
            )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.output), grid, _write_params(args.output)):
        print(f"error: cannot write {args.output}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({grid.shape[1]}x{grid.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
