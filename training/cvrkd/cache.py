"""Cache the frozen backbone's work once, so CVRKD trains on two CPU cores.

    python -m training.cvrkd.cache train --data ../shared/data/pristine/train \\
        --init arniqa_edge/weights/arniqa-lite0.safetensors -o runs/cvrkd/cache-train
    python -m training.cvrkd.cache eval --data ../shared/data/pristine/val --images 30 \\
        --init arniqa_edge/weights/arniqa-lite0.safetensors -o runs/cvrkd/cache-val

Everything before CVRKD's first trainable layer is fixed: the backbone is frozen and
each level's map goes through a 1x1 convolution and then an average pool to a
grid x grid map. A 1x1 convolution is the same linear map at every pixel, so it
commutes with the average pool: conv(pool(x)) == pool(conv(x)) exactly. So the cache
holds every crop's backbone levels *already pooled* to the grid (lite0 at 224 px:
496 channels x 7 x 7 per crop, 48 KB in float16, instead of 290 KB of full maps), and
training runs only the projections, the mixers and the head.

Two layouts:
- `train`: per content image, `--positions` random crop positions; the pristine
  image and `--distortions` randomly drawn graded distortions of it (the LQ images,
  labelled with KADID's mean MOS) are cached at those same positions, so a sample
  takes an aligned FR reference for free and a non-aligned reference from another
  content's pristine crops. Unlike the paper, which draws fresh crops and
  distortions every step, training then draws from this fixed pool: a sample
  picks `crops` of the `positions` per image at random.
- `eval`: the deterministic grid of inference, every graded distortion of every
  content (the KADID proxy), for fast, exact evaluation of many networks.

Arrays are float16 .npy files, memory-mapped; content images are processed in order
and `progress.json` counts the finished ones, so an interrupted build resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    configure_logging,
    progress_disable,
)
from arniqa_edge.cvrkd.config import CVRKDConfig
from arniqa_edge.cvrkd.crops import grid_origins, normalize_crops
from arniqa_edge.errors import ArniqaEdgeError

from ..evaluation.kadid_proxy import DEFAULT_LABELS
from .data import (
    EvalItem,
    GradedDistortion,
    cut,
    distort,
    graded_distortions,
    item_rng,
    load_content,
    random_origins,
)
from .model import build_cvrkd

log = logging.getLogger(__name__)

LAYOUTS = ("train", "eval")
META_FILE = "meta.json"
PROGRESS_FILE = "progress.json"


@dataclass(frozen=True)
class CacheSpec:
    """What a cache holds; a resumed build must be asked for exactly the same."""

    layout: str
    backbone: str
    levels: tuple[int, ...]
    crop_size: int
    grid: int
    crops: int  #: crops per image the network stacks (CVRKDConfig.crops)
    positions: int  #: cached crop positions per image (train: >= crops; eval: = crops)
    distortions: int  #: LQ images per content (eval: every graded distortion)
    images: int
    short_side: int
    seed: int
    init: str
    init_sha256: str
    data: str

    @property
    def channels(self) -> list[int]:
        return list(_backbone_channels(self.backbone, self.levels))


def _backbone_channels(architecture: str, levels: tuple[int, ...]) -> list[int]:
    import timm

    body = timm.create_model(architecture, pretrained=False, features_only=True, out_indices=levels)
    return list(body.feature_info.channels())


def file_sha256(path: str | Path) -> str:
    if path in ("imagenet", "random"):
        return str(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PooledLevels:
    """The frozen backbone of a CVRKD network: crops -> levels pooled to the grid, stacked on channels."""

    def __init__(self, config: CVRKDConfig, init: str, batch_size: int = 32):
        self.net = build_cvrkd(config, init).eval()
        self.grid = config.grid
        self.batch_size = batch_size

    @torch.inference_mode()
    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """uint8 (P, S, S, 3) RGB crops -> float16 (P, sum(C_l), grid, grid)."""
        out = []
        for start in range(0, len(crops), self.batch_size):
            batch = torch.from_numpy(normalize_crops(crops[start : start + self.batch_size]))
            levels = self.net.backbone(batch.contiguous(memory_format=torch.channels_last))
            out.append(torch.cat([F.adaptive_avg_pool2d(level, self.grid) for level in levels], dim=1))
        return torch.cat(out).to(torch.float16).numpy()


class PoolCache:
    """An opened cache folder: its spec, arrays (memory-mapped) and labels."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        meta_path = self.folder / META_FILE
        if not meta_path.exists():
            raise FileNotFoundError(
                f"{self.folder}: not a CVRKD cache (no {META_FILE}); build it with python -m training.cvrkd.cache"
            )
        meta = json.loads(meta_path.read_text())
        meta["levels"] = tuple(meta["levels"])
        self.spec = CacheSpec(**meta)
        done = json.loads((self.folder / PROGRESS_FILE).read_text())["done"]
        if done < self.spec.images:
            raise ValueError(
                f"{self.folder}: incomplete cache ({done} of {self.spec.images} images); "
                "run the same cache command again to finish it"
            )
        self.pristine = np.load(self.folder / "pristine.npy", mmap_mode="r")
        self.lq = np.load(self.folder / "lq.npy", mmap_mode="r")
        self.distortion_ids = np.load(self.folder / "distortion_ids.npy")
        self.graded = [GradedDistortion(**d) for d in json.loads((self.folder / "distortions.json").read_text())]
        #: (images, distortions) KADID-proxy label of every LQ image
        self.labels = np.array([[self.graded[i].mos for i in row] for row in self.distortion_ids], dtype=np.float32)

    def check_fits(self, config: CVRKDConfig) -> None:
        spec = self.spec
        wanted = (config.backbone, tuple(config.levels), config.crop_size, config.grid)
        have = (spec.backbone, spec.levels, spec.crop_size, spec.grid)
        if wanted != have:
            raise ValueError(
                f"{self.folder}: cached for backbone/levels/crop size/grid {have}, the network needs {wanted}"
            )
        if spec.positions < config.crops:
            raise ValueError(
                f"{self.folder}: {spec.positions} positions per image, the network stacks {config.crops} crops"
            )


def _open_arrays(folder: Path, spec: CacheSpec, resume: bool) -> dict[str, np.ndarray]:
    feature_shape = (spec.positions, sum(spec.channels), spec.grid, spec.grid)
    shapes = {"pristine": (spec.images, *feature_shape), "lq": (spec.images, spec.distortions, *feature_shape)}
    mode = "r+" if resume else "w+"
    arrays = {
        name: np.lib.format.open_memmap(
            folder / f"{name}.npy", mode=mode, dtype=np.float16, shape=None if resume else shape
        )
        for name, shape in shapes.items()
    }
    ids_path = folder / "distortion_ids.npy"
    arrays["distortion_ids"] = (
        np.load(ids_path) if resume else np.full((spec.images, spec.distortions), -1, dtype=np.int16)
    )
    return arrays


def build(
    layout: str,
    data: Path,
    out: Path,
    init: str,
    config: CVRKDConfig,
    images: int | None = None,
    positions: int = 12,
    distortions_per_image: int = 8,
    short_side: int = 384,
    seed: int = 0,
    labels_csv: Path = DEFAULT_LABELS,
    types: list[str] | None = None,
) -> Path:
    """Build (or resume) a cache in `out`; returns the folder."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    graded = graded_distortions(labels_csv, types)
    content = load_content(data, short_side, images)
    if layout == "eval":
        positions, distortions_per_image = config.crops, len(graded)
    elif positions < config.crops:
        raise ValueError(f"--positions ({positions}) must be at least the network's crops ({config.crops})")
    spec = CacheSpec(
        layout,
        config.backbone,
        tuple(config.levels),
        config.crop_size,
        config.grid,
        config.crops,
        positions,
        distortions_per_image,
        len(content),
        short_side,
        seed,
        str(init),
        file_sha256(init),
        str(data),
    )
    out.mkdir(parents=True, exist_ok=True)
    meta_path, progress_path = out / META_FILE, out / PROGRESS_FILE
    resume = meta_path.exists()
    if resume:
        saved = json.loads(meta_path.read_text())
        if saved != json.loads(json.dumps(asdict(spec))):
            raise ValueError(f"{out} holds a cache built with other settings; choose another -o/--output or delete it")
    else:
        meta_path.write_text(json.dumps(asdict(spec), indent=2) + "\n")
        (out / "distortions.json").write_text(json.dumps([asdict(d) for d in graded]) + "\n")
        progress_path.write_text(json.dumps({"done": 0}))
    arrays = _open_arrays(out, spec, resume)
    done = json.loads(progress_path.read_text())["done"]
    encode = PooledLevels(config, init)
    size = config.crop_size
    with tqdm(
        total=len(content), initial=done, desc=f"cvrkd cache ({layout})", unit="img", disable=progress_disable()
    ) as bar:
        for index in range(done, len(content)):
            pristine = content[index]
            if min(pristine.shape[:2]) < size:
                raise ValueError(f"content image {index} of {data} is smaller than a {size} px crop")
            rng = np.random.default_rng([seed, index])
            if layout == "eval":
                origins = grid_origins(*pristine.shape[:2], size, positions)
                chosen = list(graded)
            else:
                origins = random_origins(*pristine.shape[:2], size, positions, rng)
                chosen = [graded[int(i)] for i in rng.integers(len(graded), size=distortions_per_image)]
            arrays["pristine"][index] = encode(cut(pristine, origins, size))
            for k, distortion in enumerate(chosen):
                distortion_rng = item_rng(EvalItem(index, index, distortion), seed) if layout == "eval" else rng
                arrays["lq"][index, k] = encode(cut(distort(pristine, distortion, distortion_rng), origins, size))
                arrays["distortion_ids"][index, k] = graded.index(distortion)
            for name in ("pristine", "lq"):
                arrays[name].flush()
            np.save(out / "distortion_ids.npy", arrays["distortion_ids"])
            progress_path.write_text(json.dumps({"done": index + 1}))
            bar.update()
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.cvrkd.cache",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "layout",
        choices=LAYOUTS,
        help="train: random positions and distortions; eval: inference's grid, every graded distortion",
    )
    parser.add_argument("--data", type=Path, required=True, help="folder of pristine images")
    add_output_argument(
        parser, "cache folder (resumed when it exists)", required=True, aliases=("--out",), dest="out", type=Path
    )
    parser.add_argument(
        "--init",
        required=True,
        help="frozen backbone: an ARNIQA encoder .safetensors (e.g. the shipped "
        "arniqa_edge/weights/arniqa-lite0.safetensors), or imagenet",
    )
    parser.add_argument("--images", type=int, help="the first N images of --data (default: all)")
    parser.add_argument(
        "--positions", type=int, default=12, help="train: crop positions cached per image (default: %(default)s)"
    )
    parser.add_argument(
        "--distortions", type=int, default=8, help="train: distorted versions cached per image (default: %(default)s)"
    )
    parser.add_argument(
        "--short-side",
        type=int,
        default=384,
        help="downscale images whose short side is longer (default: %(default)s, as KADID-10k)",
    )
    parser.add_argument("--types", help="comma-separated distortions (default: the 23 with a KADID label)")
    parser.add_argument(
        "--crops", type=int, default=CVRKDConfig.crops, help="crops the network stacks (default: %(default)s)"
    )
    parser.add_argument("--crop-size", type=int, default=CVRKDConfig.crop_size, help="side of a crop in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the positions and distortions")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="KADID-10k.csv")
    add_verbosity_arguments(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        config = CVRKDConfig(crops=args.crops, crop_size=args.crop_size)
        folder = build(
            args.layout,
            args.data,
            args.out,
            args.init,
            config,
            args.images,
            args.positions,
            args.distortions,
            args.short_side,
            args.seed,
            args.labels,
            args.types.split(",") if args.types else None,
        )
    except (ValueError, OSError, ArniqaEdgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cache = PoolCache(folder)
    size = sum(path.stat().st_size for path in folder.iterdir())
    print(
        f"wrote {folder}: {cache.spec.images} images x ({cache.spec.distortions} distorted + pristine) x "
        f"{cache.spec.positions} crops, {size / 2**30:.2f} GiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
