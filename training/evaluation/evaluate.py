"""Evaluate frozen representations + ridge regressors, as ARNIQA does.

    python -m training.evaluation.evaluate proxy --weights trained=runs/lite0/encoder.safetensors
    python -m training.evaluation.evaluate dataset --name kadid10k --root /data/KADID-10k --weights enc.safetensors

`proxy`: the KADID proxy benchmark (see training.evaluation.kadid_proxy). Train content x 23
KADID-mapped types x 5 levels fits the regressor; held-out (val) content, distorted
the same way, tests it. Prints SRCC/PLCC per distortion type and overall. The proxy
sets are built once under <work>/proxies/ (`--work runs/lite0-cpu` reuses those of a
`training.recipe` run); whole-image features come from ONNX exports run with
onnxruntime and are cached under <work>/features/.
`dataset`: a labelled IQA dataset the user owns; 10 random 70/10/20 splits by
reference content, alpha by median validation SRCC, median test SRCC/PLCC.

Methods compared side by side: every --weights ([NAME=]PATH to an encoder), plus the
baselines: `imagenet` (the ImageNet-initialised lite0 encoder read out as ARNIQA
does, i.e. no ARNIQA training), `multilevel` (the same frozen encoder read out as the
channel mean and std of every block stage at both scales) and `laplacian` (variance
of the Laplacian, no learning at all).
Results go to <out>/<benchmark>.json and .md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
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

from ..data_root import pristine_dir
from .baselines import laplacian_features
from .kadid_proxy import IMPLEMENTATIONS, default_types, proxy_distortions
from .kadid_proxy import build as build_proxy
from .protocols import HoldoutResult, SplitsResult, evaluate_holdout, evaluate_splits
from .splits import NUM_SPLITS, content_splits

BASELINES = ("imagenet", "multilevel", "laplacian")

#: (image paths, name of the set for caching) -> (N, views, D) features
Featurizer = Callable[[list[Path], str], np.ndarray]


def encoder_featurizer(model: str, weights: Path, device: str, protocol: str, batch_size: int = 16) -> Featurizer:
    """Features through the runtime's FeatureExtractor (torch): any protocol, five_crop included."""
    from arniqa_edge.features import FeatureExtractor
    from arniqa_edge.models import get_model_config

    extractor = FeatureExtractor(
        get_model_config(model), weights, backend="torch", device=device, protocol=protocol, batch_size=batch_size
    )

    def featurize(paths: list[Path], name: str = "") -> np.ndarray:
        out = []
        for start in tqdm(
            range(0, len(paths), batch_size),
            desc=f"features {weights.name}",
            unit="batch",
            disable=progress_disable(),
            leave=False,
        ):
            out.extend(extractor.embed_batch(paths[start : start + batch_size]))
        return np.stack(out)

    return featurize


def graph_featurizer(model: str, weights: Path, work: Path, readout: str = "pooled") -> Featurizer:
    """Whole-image features through an ONNX export of the encoder (onnxruntime), cached under `work`.

    readout "pooled": ARNIQA's (the runtime's) features; "stages": `StageStatistics`.
    An .onnx file is used as it is.
    """
    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import load_encoder
    from export.graph import PairEncoder

    from .graph_features import GraphFeaturizer, StageStatistics, export_readout, weights_tag

    config = get_model_config(model)
    if weights.suffix == ".onnx":
        graph = weights
    else:
        graph = work / "onnx" / f"{weights.stem}-{readout}-{weights_tag(weights)}.onnx"
        if not graph.exists():
            backbone = load_encoder(config, weights).backbone
            export_readout(PairEncoder(backbone) if readout == "pooled" else StageStatistics(backbone), graph)
    return GraphFeaturizer(graph, config, cache=work / "features")


def laplacian_featurizer(paths: list[Path], name: str = "") -> np.ndarray:
    return np.stack([laplacian_features(_read(path))[None] for path in paths])


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: cannot read image")
    return image


def imagenet_weights(model: str, work: Path) -> Path:
    """The ImageNet-initialised encoder of `model` as a weights file (written once)."""
    from arniqa_edge.models.encoder import save_encoder

    from ..pretraining.init_weights import initial_encoder

    path = work / f"{model}-imagenet.safetensors"
    if not path.exists():
        encoder, source = initial_encoder(model, seed=0)
        work.mkdir(parents=True, exist_ok=True)
        save_encoder(encoder, path, init=source)
    return path


def parse_weights(values: list[str]) -> dict[str, Path]:
    """[NAME=]PATH entries -> {name: path}; the file stem names unnamed ones."""
    named = {}
    for value in values:
        name, sep, path = value.partition("=")
        name, path = (name, Path(path)) if sep else (Path(value).stem, Path(value))
        if not path.is_file():
            raise FileNotFoundError(f"weights file not found: {path}")
        named[name] = path
    return named


def featurizers(args) -> dict[str, Featurizer]:
    """Method name -> featurizer: the baselines asked for, then every --weights entry.

    The whole-image protocol runs exported graphs on onnxruntime; five_crop runs torch.
    """

    def encoder(path: Path, readout: str = "pooled") -> Featurizer:
        if args.protocol == "whole":
            return graph_featurizer(args.model, path, args.work, readout)
        if readout != "pooled":
            raise ValueError("the multilevel baseline is computed on whole images only (--protocol whole)")
        return encoder_featurizer(args.model, path, args.device, args.protocol)

    methods: dict[str, Featurizer] = {}
    for name in args.baselines:
        if name == "laplacian":
            methods[name] = laplacian_featurizer
        else:
            readout = "stages" if name == "multilevel" else "pooled"
            methods[name] = encoder(imagenet_weights(args.model, args.work), readout)
    for name, path in parse_weights(args.weights).items():
        methods[name] = encoder(path)
    if not methods:
        raise ValueError("nothing to evaluate: give --weights and/or --baselines")
    return methods


# --- KADID proxy ---------------------------------------------------------------------


def proxy_set(
    content: Path, folder: Path, images: int, types: list[str], seed: int, implementation: str = "project"
) -> list[dict]:
    """The rows of the first `images` contents of a proxy set, built unless `folder` holds them.

    A folder built for more contents serves fewer (its first ones, in build order), so
    a quick evaluation can reuse the set of a larger one.
    """

    def first_contents(rows: list[dict]) -> list[dict]:
        kept = list(dict.fromkeys(r["group"] for r in rows))[:images]
        return [r for r in rows if r["group"] in set(kept) and r["type"] in set(types)]

    def is_complete(rows: list[dict]) -> bool:
        return len(rows) == images * len(types) * 5 and {r["type"] for r in rows} == set(types)

    index = folder / "scores.csv"
    if not index.exists() or not is_complete(first_contents(_read_rows(index))):
        build_proxy(content, folder, images, types, [1, 2, 3, 4, 5], seed=seed, implementation=implementation)
    rows = first_contents(_read_rows(index))
    if not is_complete(rows):
        raise ValueError(
            f"{content}: has fewer than {images} images ({len(rows)} proxy rows, expected {images * len(types) * 5})"
        )
    for row in rows:
        row["path"] = folder / row["image"]
    return rows


def _read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_proxy(args) -> dict:
    methods = featurizers(args)  # first: a bad weights path fails before the proxy sets are built
    train = proxy_set(args.train_content, args.work / "proxies" / "train", args.train_images, args.types, seed=0)
    if args.val_implementation == "independent":
        types = [t for t in args.types if t in default_types("independent")]
        val = proxy_set(
            args.val_content,
            args.work / "proxies" / "val-independent",
            args.val_images,
            types,
            seed=1,
            implementation="independent",
        )
    else:
        val = proxy_set(args.val_content, args.work / "proxies" / "val", args.val_images, args.types, seed=1)
    results = {}
    for name, featurize in methods.items():
        result = evaluate_holdout(
            featurize([r["path"] for r in train], "train"),
            np.array([float(r["score"]) for r in train]),
            np.array([r["group"] for r in train]),
            featurize([r["path"] for r in val], "val"),
            np.array([float(r["score"]) for r in val]),
            np.array([r["type"] for r in val]),
        )
        results[name] = holdout_summary(result)
    return {
        "benchmark": "kadid_proxy" if args.val_implementation == "project" else "kadid_proxy_independent",
        "train_images": args.train_images,
        "val_images": args.val_images,
        "val_implementation": args.val_implementation,
        "types": sorted({r["type"] for r in val}),
        "protocol": args.protocol,
        "methods": results,
    }


def holdout_summary(result: HoldoutResult) -> dict:
    return {
        "alpha": result.alpha,
        "cv_srcc": result.cv_srcc,
        "overall": asdict(result.overall),
        "by_type": {t: asdict(c) for t, c in result.by_type.items()},
    }


# --- labelled datasets ---------------------------------------------------------------


def run_dataset(args) -> dict:
    from ..datasets import load_dataset

    dataset = load_dataset(args.name, args.root, args.labels)
    labels = dataset.labels
    splits = content_splits(labels.groups, count=args.splits, seed=args.seed)
    types = labels.types if labels.spec.synthetic else None
    results = {}
    for name, featurize in featurizers(args).items():
        result = evaluate_splits(featurize(list(dataset.images), args.name), labels.scores, splits, types)
        results[name] = splits_summary(result)
    return {
        "benchmark": args.name,
        "images": len(dataset),
        "splits": args.splits,
        "protocol": args.protocol,
        "methods": results,
    }


def splits_summary(result: SplitsResult) -> dict:
    return {
        "alpha": result.alpha,
        "overall": asdict(result.median),
        "by_type": {t: asdict(c) for t, c in result.median_by_type.items()},
        "per_split": [asdict(c) for c in result.overall],
    }


# --- reporting -----------------------------------------------------------------------


def markdown_table(report: dict) -> str:
    """Rows: distortion types then overall; columns: SRCC / PLCC of each method."""
    methods = report["methods"]
    types = sorted({t for m in methods.values() for t in m["by_type"]})
    header = "| type | " + " | ".join(f"{name} SRCC / PLCC" for name in methods) + " |"
    lines = [header, "|" + " --- |" * (len(methods) + 1)]

    def cells(get) -> str:
        return " | ".join(_pair(get(m)) for m in methods.values())

    for t in types:
        lines.append(f"| {t} | " + cells(lambda m: m["by_type"].get(t)) + " |")
    lines.append("| **overall** | " + cells(lambda m: m["overall"]) + " |")
    lines.append("| alpha | " + " | ".join(f"{m['alpha']:.3g}" for m in methods.values()) + " |")
    return "\n".join(lines) + "\n"


def _pair(value: dict | None) -> str:
    if value is None:
        return "-"
    return f"{value['srcc']:.3f} / {value['plcc']:.3f}"


def write_report(report: dict, out: Path, stem: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    title = f"# {report['benchmark']}: SRCC / PLCC ({report['protocol']} protocol)\n\n"
    md_path.write_text(title + markdown_table(report))
    return json_path, md_path


# --- command line --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.evaluate",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--weights",
        nargs="*",
        default=[],
        metavar="[NAME=]PATH",
        help="encoder weights to evaluate (default: none, the baselines only)",
    )
    common.add_argument(
        "--baselines",
        type=lambda s: [b for b in s.split(",") if b],
        default=list(BASELINES),
        help=f"comma-separated, from {', '.join(BASELINES)} (default: all; '' for none)",
    )
    common.add_argument("--model", default="arniqa-lite0", help="model of the --weights")
    common.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    common.add_argument(
        "--protocol",
        default="whole",
        choices=("whole", "five_crop"),
        help="views per image (five_crop: the paper's, needs images >= 448 px)",
    )
    common.add_argument(
        "--work", type=Path, default=Path("runs/eval/cache"), help="folder for built proxy sets and baseline weights"
    )
    add_output_argument(
        common,
        "folder for the JSON/markdown results",
        aliases=("--out",),
        dest="out",
        type=Path,
        default=Path("runs/eval"),
    )
    add_verbosity_arguments(common, default="warning")
    sub = parser.add_subparsers(dest="benchmark", required=True)
    proxy = sub.add_parser("proxy", parents=[common], help="the KADID proxy benchmark", formatter_class=HelpFormatter)
    proxy.add_argument("--train-images", type=int, default=20, help="train content images")
    proxy.add_argument("--val-images", type=int, default=20, help="held-out content images")
    proxy.add_argument(
        "--types",
        type=lambda s: s.split(","),
        default=[spec.name for spec in proxy_distortions()],
        help="comma-separated distortion names (default: the 23 with a KADID counterpart)",
    )
    proxy.add_argument(
        "--val-implementation",
        choices=IMPLEMENTATIONS,
        default="project",
        help="distortions of the test set: this project's degradation model, or independent "
        "OpenCV/numpy versions of 11 KADID types (the regressor is always fitted on the "
        "project's)",
    )
    proxy.add_argument(
        "--train-content",
        type=Path,
        default=pristine_dir("train"),
        help="pristine photos the regressor's proxy is built from",
    )
    proxy.add_argument(
        "--val-content",
        type=Path,
        default=pristine_dir("val"),
        help="held-out pristine photos the test proxy is built from",
    )
    dataset = sub.add_parser(
        "dataset", parents=[common], help="a labelled IQA dataset, 10 splits by content", formatter_class=HelpFormatter
    )
    dataset.add_argument("--name", required=True, help="kadid10k, live, csiq, tid2013, koniq10k, clive, spaq")
    dataset.add_argument("--root", type=Path, required=True, help="folder with the dataset's images")
    dataset.add_argument("--labels", type=Path, help="label CSV (default: the project's label file)")
    dataset.add_argument("--splits", type=int, default=NUM_SPLITS, help="random splits by reference content")
    dataset.add_argument("--seed", type=int, default=0, help="seed of the splits")
    return parser


def parse_args(argv):
    return build_parser().parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    configure_logging(args)
    try:
        report = run_proxy(args) if args.benchmark == "proxy" else run_dataset(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stem = report["benchmark"] if args.benchmark == "proxy" else args.name
    json_path, md_path = write_report(report, args.out, stem)
    print(markdown_table(report))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
