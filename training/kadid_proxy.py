"""The KADID proxy: human-anchored quality labels for synthetic distortions, built offline.

KADID-10k applies 25 distortion types at 5 levels to 81 reference images; the mean
opinion score of a (type, level) over the references explains 89% of the variance
of all its scores. So one ARNIQA distortion at one level, applied to held-out
pristine content and labelled with KADID's mean MOS for that (type, level), is a
proxy for human judgement that needs no KADID images (23 of ARNIQA's types have
a KADID counterpart).

    python -m training.kadid_proxy build --content ../shared/data/pristine/val --images 20 --out proxy-val

writes the distorted images as PNG and `scores.csv` (image, score, group, type,
level), the format `python -m training.fit_regressor` reads. Rows are flushed as
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

from .degradation.images import to_bgr_uint8
from .degradation.reference import apply_distortion
from .degradation.registry import DISTORTIONS, DistortionSpec, get_spec
from .photos import read_bgr, shrink_short_side

DEFAULT_LABELS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "labels" / "KADID-10k.csv"
_KADID_NAME = re.compile(r"I(\d+)_(\d+)_(\d+)\.\w+$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


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


def proxy_distortions() -> list[DistortionSpec]:
    """ARNIQA's distortion types that have a KADID-10k counterpart."""
    return [spec for spec in DISTORTIONS.values() if spec.kadid_id is not None]


def prepare_content(path: Path, size: int) -> np.ndarray:
    """Read an image as RGB, scale its short side to `size` (area filter) and center-crop a square."""
    image = shrink_short_side(read_bgr(path), size)
    height, width = image.shape[:2]
    top, left = (height - size) // 2, (width - size) // 2
    if top < 0 or left < 0:
        raise ValueError(f"{path}: smaller than {size} px")
    return np.ascontiguousarray(image[top:top + size, left:left + size, ::-1])


def build(content: Path, out: Path, images: int, types: list[str], levels: list[int], size: int = 256,
          include_pristine: bool = False, seed: int = 0, labels: Path = DEFAULT_LABELS) -> Path:
    import torch

    mos = kadid_level_mos(labels)
    specs = [get_spec(name) for name in types]
    for spec in specs:
        if spec.kadid_id is None:
            raise ValueError(f"{spec.name} has no KADID-10k counterpart, so no proxy label")
    files = sorted(p for p in content.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:images]
    if not files:
        raise ValueError(f"{content}: no images")
    out.mkdir(parents=True, exist_ok=True)
    index = out / "scores.csv"
    total = len(files) * (len(specs) * len(levels) + int(include_pristine))
    with open(index, "w", newline="") as f, tqdm(total=total, desc="kadid proxy", unit="img", disable=None) as bar:
        writer = csv.writer(f)
        writer.writerow(["image", "score", "group", "type", "level"])
        for content_index, path in enumerate(files):
            rgb = prepare_content(path, size)
            tensor = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
            if include_pristine:
                name = f"{path.stem}__pristine.png"
                cv2.imwrite(str(out / name), rgb[:, :, ::-1])
                writer.writerow([name, "", path.stem, "pristine", 0])
                bar.update()
            for spec in specs:
                for level in levels:
                    rng = np.random.default_rng([seed, content_index, spec.kadid_id, level])
                    distorted = apply_distortion(tensor, spec.name, level, rng)
                    name = f"{path.stem}__{spec.name}_{level}.png"
                    cv2.imwrite(str(out / name), to_bgr_uint8(distorted))
                    writer.writerow([name, f"{mos[(spec.kadid_id, level)]:.4f}", path.stem, spec.name, level])
                    bar.update()
            f.flush()
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.kadid_proxy", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="distort pristine content and label it with KADID's mean MOS")
    b.add_argument("--content", type=Path, required=True, help="folder of pristine images")
    b.add_argument("--out", type=Path, required=True, help="output folder (PNG images + scores.csv)")
    b.add_argument("--images", type=int, default=20, help="number of content images (sorted by name)")
    b.add_argument("--types", default=",".join(s.name for s in proxy_distortions()),
                   help="comma-separated distortion names (default: the 23 with a KADID counterpart)")
    b.add_argument("--levels", default="1,2,3,4,5", help="comma-separated levels (default: all five)")
    b.add_argument("--size", type=int, default=256, help="side of the square content crop (default: 256)")
    b.add_argument("--include-pristine", action="store_true", help="also write the undistorted crop (unlabelled)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="KADID-10k.csv")
    args = parser.parse_args(argv)
    try:
        index = build(args.content, args.out, args.images, args.types.split(","),
                      [int(v) for v in args.levels.split(",")], args.size, args.include_pristine, args.seed,
                      args.labels)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
