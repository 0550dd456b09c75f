"""The KADID proxy: human-anchored quality labels for synthetic distortions, built offline.

KADID-10k applies 25 distortion types at 5 levels to 81 reference images; the mean
opinion score of a (type, level) over the references explains 89% of the variance
of all its scores. So one ARNIQA distortion at one level, applied to held-out
pristine content and labelled with KADID's mean MOS for that (type, level), is a
proxy for human judgement that needs no KADID images (23 of ARNIQA's types have
a KADID counterpart).

    python -m training.evaluation.kadid_proxy build --content ../shared/data/pristine/val --images 20 -o proxy-val

Content is taken at KADID-10k's scale (short side <= 384 px, long side <= 512 px),
at which its opinion scores were given, and scored whole, as the runtime scores a
frame. The build writes the distorted images as PNG and `scores.csv` (image, score, group, type,
level), the format `python -m training.evaluation.fit_regressor` reads. Rows are flushed as
they are written, so an interrupted build keeps what it made.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    configure_logging,
    progress_disable,
)

from ..data_root import labels_file, list_images
from ..degradation.images import to_bgr_uint8
from ..degradation.reference import apply_distortion
from ..degradation.registry import DISTORTIONS, DistortionSpec, get_spec
from ..photos import read_bgr, shrink_short_side

DEFAULT_LABELS = labels_file("KADID-10k.csv")
_KADID_NAME = re.compile(r"I(\d+)_(\d+)_(\d+)\.\w+$")


def kadid_level_mos(labels_csv: str | Path = DEFAULT_LABELS) -> dict[tuple[int, int], float]:
    """Mean MOS of every KADID (type id, level) over the reference images."""
    sums: dict[tuple[int, int], list[float]] = defaultdict(list)
    with open(labels_csv, newline="") as f:
        for row in csv.DictReader(f):
            match = _KADID_NAME.search(row["dis_img_path"])
            if not match:
                raise ValueError(f"{labels_csv}: unexpected KADID image name {row['dis_img_path']!r}")
            sums[(int(match.group(2)), int(match.group(3)))].append(float(row["score"]))
    return {key: float(np.mean(values)) for key, values in sums.items()}


class ProxyLabels:
    """KADID-proxy label of a degradation: the mean MOS of its (type, level), when it has one.

    Only one-step sequences of a type with a KADID counterpart are labelled; anything
    else (pristine, composed, `nonlincontrchange`) gets NaN, i.e. "no human anchor".
    """

    def __init__(self, labels_csv: str | Path = DEFAULT_LABELS):
        self.mos = kadid_level_mos(labels_csv)

    def label(self, sequence) -> float:
        if len(sequence) != 1:
            return float("nan")
        step = sequence.steps[0]
        kadid_id = get_spec(step.name).kadid_id
        return float("nan") if kadid_id is None else self.mos[(kadid_id, step.level)]


def proxy_distortions() -> list[DistortionSpec]:
    """ARNIQA's distortion types that have a KADID-10k counterpart."""
    return [spec for spec in DISTORTIONS.values() if spec.kadid_id is not None]


#: KADID-10k's images are 512x384: its opinion scores describe distortions at that scale.
KADID_SHORT_SIDE, KADID_LONG_SIDE = 384, 512
#: the smallest content side every proxy distortion accepts (noneccpatch needs 48 px).
MIN_CONTENT_SIDE = 48


def prepare_content(path: Path, short_side: int = KADID_SHORT_SIDE, long_side: int = KADID_LONG_SIDE) -> np.ndarray:
    """Read an image as RGB at a KADID-like scale: short side area-downscaled to at most
    `short_side`, long side center-cropped to at most `long_side` (never upscaled)."""
    if long_side < short_side:
        raise ValueError(f"long_side ({long_side}) must be >= short_side ({short_side})")
    image = shrink_short_side(read_bgr(path), short_side)
    height, width = image.shape[:2]
    if min(height, width) < MIN_CONTENT_SIDE:
        raise ValueError(f"{path}: {width}x{height} is smaller than {MIN_CONTENT_SIDE} px")
    limits = (short_side, long_side) if height <= width else (long_side, short_side)
    crop_h, crop_w = min(height, limits[0]), min(width, limits[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return np.ascontiguousarray(image[top : top + crop_h, left : left + crop_w, ::-1])


def default_types(implementation: str = "project") -> list[str]:
    """Every type a proxy of `implementation` can hold."""
    if implementation == "independent":
        from .external_distortions import EXTERNAL

        return list(EXTERNAL)
    return [spec.name for spec in proxy_distortions()]


#: Implementations a proxy can be built with: this project's degradation model, or the
#: independent OpenCV/numpy versions of `training.evaluation.external_distortions` (11 types).
IMPLEMENTATIONS = ("project", "independent")


def distorter(implementation: str):
    """(uint8 RGB image, type name, level, generator) -> uint8 RGB, for `implementation`."""
    if implementation == "independent":
        from .external_distortions import apply_external

        return apply_external
    if implementation != "project":
        raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}, got {implementation!r}")
    import torch

    def apply(rgb: np.ndarray, name: str, level: int, rng: np.random.Generator) -> np.ndarray:
        tensor = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
        return to_bgr_uint8(apply_distortion(tensor, name, level, rng))[:, :, ::-1]

    return apply


def build(
    content: Path,
    out: Path,
    images: int,
    types: list[str],
    levels: list[int],
    short_side: int = KADID_SHORT_SIDE,
    long_side: int = KADID_LONG_SIDE,
    include_pristine: bool = False,
    seed: int = 0,
    labels: Path = DEFAULT_LABELS,
    implementation: str = "project",
) -> Path:
    mos = kadid_level_mos(labels)
    specs = [get_spec(name) for name in types]
    for spec in specs:
        if spec.kadid_id is None:
            raise ValueError(f"{spec.name} has no KADID-10k counterpart, so no proxy label")
    distort = distorter(implementation)
    files = list_images(content)[:images]
    if not files:
        raise ValueError(f"{content}: no images")
    out.mkdir(parents=True, exist_ok=True)
    index = out / "scores.csv"
    total = len(files) * (len(specs) * len(levels) + int(include_pristine))
    with (
        open(index, "w", newline="") as f,
        tqdm(total=total, desc="kadid proxy", unit="img", disable=progress_disable()) as bar,
    ):
        writer = csv.writer(f)
        writer.writerow(["image", "score", "group", "type", "level"])
        for content_index, path in enumerate(files):
            rgb = prepare_content(path, short_side, long_side)
            if include_pristine:
                name = f"{path.stem}__pristine.png"
                cv2.imwrite(str(out / name), rgb[:, :, ::-1])
                writer.writerow([name, "", path.stem, "pristine", 0])
                bar.update()
            for spec in specs:
                for level in levels:
                    rng = np.random.default_rng([seed, content_index, spec.kadid_id, level])
                    distorted = distort(rgb, spec.name, level, rng)
                    name = f"{path.stem}__{spec.name}_{level}.png"
                    cv2.imwrite(str(out / name), np.ascontiguousarray(distorted[:, :, ::-1]))
                    writer.writerow([name, f"{mos[(spec.kadid_id, level)]:.4f}", path.stem, spec.name, level])
                    bar.update()
            f.flush()
    return index


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.kadid_proxy",
        description=__doc__.split("\n\n")[0],
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser(
        "build",
        help="distort pristine content and label it with KADID's mean MOS",
        description="Distort pristine content and label it with KADID's mean MOS.",
        formatter_class=HelpFormatter,
    )
    b.add_argument("--content", type=Path, required=True, help="folder of pristine images")
    add_output_argument(
        b, "output folder (PNG images + scores.csv)", required=True, aliases=("--out",), dest="out", type=Path
    )
    b.add_argument("--images", type=int, default=20, help="number of content images (sorted by name)")
    b.add_argument(
        "--types",
        help="comma-separated distortion names (default: the 23 with a KADID counterpart, "
        "or the 11 independent ones with --implementation independent)",
    )
    b.add_argument("--levels", default="1,2,3,4,5", help="comma-separated levels (default: all five)")
    b.add_argument(
        "--short-side",
        type=int,
        default=KADID_SHORT_SIDE,
        help="content short side at most this (area downscale; default: %(default)s, KADID's scale)",
    )
    b.add_argument(
        "--long-side",
        type=int,
        default=KADID_LONG_SIDE,
        help="content long side center-cropped to at most this (default: %(default)s)",
    )
    b.add_argument("--include-pristine", action="store_true", help="also write the undistorted crop (unlabelled)")
    b.add_argument(
        "--implementation",
        choices=IMPLEMENTATIONS,
        default="project",
        help="distortion code: this project's degradation model, or independent OpenCV/numpy "
        "versions of 11 types (default: %(default)s)",
    )
    b.add_argument("--seed", type=int, default=0, help="seed of the distortions' random parameters")
    b.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="KADID-10k.csv")
    add_verbosity_arguments(b, default="warning")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        types = args.types.split(",") if args.types else default_types(args.implementation)
        index = build(
            args.content,
            args.out,
            args.images,
            types,
            [int(v) for v in args.levels.split(",")],
            args.short_side,
            args.long_side,
            args.include_pristine,
            args.seed,
            args.labels,
            args.implementation,
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
