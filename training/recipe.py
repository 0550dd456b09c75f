"""One command from the ImageNet initialisation to the files a model ships with.

    python -m training.recipe --config configs/lite0_cpu.yaml            # train (resumable), then release
    python -m training.recipe --config configs/lite0_cpu.yaml --ship     # ... and copy into the package
    python -m training.recipe --config configs/lite0_cpu.yaml --max-minutes 120   # a chunk; rerun to resume

Stages, each skipped when its output is already there for the current weights:

1. train     `training.pretraining.pretrain` with the config, resumed from <out>/last.pt.
2. weights   the encoder without its training-only projector, in release.weights_dtype
             -> <out>/release/<model>.safetensors
3. onnx      its ONNX export (fp32, both scales, checked against torch) beside it.
4. proxies   KADID proxies at KADID's scale (`training.evaluation.kadid_proxy`): release.train_images
             photos of the train content fit the regressor, release.val_images photos of
             the validation content (never trained on) test it.
5. regressor ridge on the whole-image features (full + half scale) of the train proxy,
             alpha by grouped cross-validation -> <model>.regressor.safetensors
6. evaluate  SRCC/PLCC overall and per distortion type on the val proxy
             -> <out>/release/evaluation.{json,md}
7. int8      (release.int8) the INT8 export for CPUs (`export.quantize --target cpu`),
             calibrated on train photos and their distortions; kept only when its
             val-proxy SRCC (same regressor) is within INT8_SRCC_TOLERANCE of FP32's.
8. ship      (--ship) copy the files into release.ship_dir, where the package looks
             for its default model.

Features are computed with onnxruntime from the exported graph: what the runtime runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from arniqa_edge.cli_conventions import configure_logging

from .data_root import from_checkout
from .pretraining.config import PretrainConfig

log = logging.getLogger(__name__)

RELEASE_DIR = "release"
MANIFEST = "manifest.json"
#: Largest loss of validation SRCC an INT8 export may cost to ship.
INT8_SRCC_TOLERANCE = 0.01
#: Calibration set of the INT8 export: train photos, each also with this many random distortions.
INT8_CALIBRATION_PHOTOS, INT8_DISTORTIONS_PER_PHOTO = 32, 2


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Release:
    """The files of one release under <out>/release, and what they were made from."""

    def __init__(self, config: PretrainConfig):
        self.config = config
        self.model = config.run.model
        self.folder = Path(config.run.out) / RELEASE_DIR
        self.trained = Path(config.run.out) / "encoder.safetensors"
        self.weights = self.folder / f"{self.model}.safetensors"
        self.onnx = self.folder / f"{self.model}.onnx"
        self.regressor = self.folder / f"{self.model}.regressor.safetensors"
        self.int8 = self.folder / f"{self.model}.int8.onnx"
        self.evaluation = self.folder / "evaluation.json"
        self.proxies = Path(config.run.out) / "proxies"
        self._manifest_path = self.folder / MANIFEST
        self.manifest = json.loads(self._manifest_path.read_text()) if self._manifest_path.exists() else {}

    def done(self, stage: str, source: str) -> bool:
        """Stage `stage` has run on input `source` (a hash) and its outputs exist."""
        return self.manifest.get(stage) == source

    def mark(self, stage: str, source: str) -> None:
        self.manifest[stage] = source
        self.folder.mkdir(parents=True, exist_ok=True)
        self._manifest_path.write_text(json.dumps(self.manifest, indent=2) + "\n")


def release_weights(release: Release, command: str) -> str:
    """The trained encoder without the projector, rounded to the release dtype; returns its hash."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    source = file_sha256(release.trained)
    if release.done("weights", source) and release.weights.exists():
        return file_sha256(release.weights)
    dtype = torch.float16 if release.config.release.weights_dtype == "fp16" else torch.float32
    with safe_open(str(release.trained), framework="pt") as f:
        metadata = dict(f.metadata() or {})
        tensors = {k: f.get_tensor(k) for k in f.keys() if not k.startswith("projector.")}
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    metadata.update(release_command=command, trained_sha256=source, weights_dtype=str(dtype).removeprefix("torch."))
    release.folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(release.weights), metadata=metadata)
    release.mark("weights", source)
    return file_sha256(release.weights)


def release_onnx(release: Release, weights_hash: str) -> None:
    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import load_encoder
    from export.graph import export_module
    from export.images import default_images, model_inputs
    from export.onnx import check_frames, compare_with_torch, export_onnx

    if release.done("onnx", weights_hash) and release.onnx.exists():
        return
    config = get_model_config(release.model)
    export_onnx(config, release.weights, release.onnx)
    full, half = model_inputs(check_frames(default_images(), None), config, None)
    diffs = compare_with_torch(
        release.onnx, export_module(load_encoder(config, release.weights).backbone, ("features",), None), full, half
    )
    if max(diffs.values()) > 1e-4:
        raise RuntimeError(f"{release.onnx}: differs from torch by {diffs}")
    log.info("exported %s (max |onnx - torch| %.2e)", release.onnx, max(diffs.values()))
    release.mark("onnx", weights_hash)


def proxy_rows(release: Release) -> tuple[list[dict], list[dict]]:
    from .evaluation.evaluate import proxy_set
    from .evaluation.kadid_proxy import proxy_distortions

    settings = release.config.release
    types = [spec.name for spec in proxy_distortions()]
    train = proxy_set(Path(settings.train_content), release.proxies / "train", settings.train_images, types, seed=0)
    val = proxy_set(Path(settings.val_content), release.proxies / "val", settings.val_images, types, seed=1)
    return train, val


def proxy_features(
    release: Release, rows: list[dict], name: str, weights_hash: str, graph: Path | None = None
) -> np.ndarray:
    """(N, 1, 2F) whole-image features of a proxy set from an ONNX export (default: the FP32 one), cached."""
    from arniqa_edge.features import FeatureExtractor
    from arniqa_edge.models import get_model_config

    from .evaluation.fit_regressor import extract_features

    graph = graph or release.onnx
    variant = "" if graph == release.onnx else f"-{graph.stem.split('.')[-1]}"
    cache = release.folder / f"features-{name}{variant}-{weights_hash[:12]}.npy"
    if cache.exists():
        features = np.load(cache)
        if len(features) == len(rows):
            return features
    extractor = FeatureExtractor(
        get_model_config(release.model), graph, backend="onnxruntime", device="cpu", batch_size=8
    )
    features = extract_features(extractor, [row["path"] for row in rows], desc=f"features {name}")[:, None, :]
    np.save(cache, features)
    return features


def release_regressor(release: Release, train: list[dict], weights_hash: str, command: str) -> None:
    from arniqa_edge.regressor import DATASET_SCALES, LinearRegressor

    from .evaluation.regression import fit_ridge

    settings = release.config.release
    source = f"{weights_hash}:{len(train)}"
    if release.done("regressor", source) and release.regressor.exists():
        return
    features = proxy_features(release, train, "train", weights_hash)
    fit = fit_ridge(features, np.array([float(r["score"]) for r in train]), groups=[r["group"] for r in train])
    regressor = LinearRegressor(
        fit.weight,
        fit.bias,
        DATASET_SCALES["kadid10k"],
        {
            "model": release.model,
            "alpha": f"{fit.alpha:.6g}",
            "cv_srcc": f"{fit.cv_srcc:.4f}",
            "n_images": str(len(train)),
            "protocol": "whole",
            "labels": f"KADID proxy of {settings.train_images} photos of {from_checkout(settings.train_content)}",
            "release_command": command,
        },
    )
    regressor.save(release.regressor)
    log.info(
        "fitted %s: %d images, alpha %.4g, cross-validated SRCC %.4f",
        release.regressor,
        len(train),
        fit.alpha,
        fit.cv_srcc,
    )
    release.mark("regressor", source)


def release_evaluation(release: Release, val: list[dict], weights_hash: str) -> dict:
    from arniqa_edge.regressor import LinearRegressor

    from .evaluation.evaluate import holdout_summary, write_report
    from .evaluation.protocols import HoldoutResult, correlations, correlations_by_type

    regressor = LinearRegressor.load(release.regressor)
    features = proxy_features(release, val, "val", weights_hash)[:, 0, :]
    predictions = regressor.predict_raw(features).astype(np.float64)
    scores = np.array([float(r["score"]) for r in val])
    types = np.array([r["type"] for r in val])
    overall, by_type = correlations(predictions, scores), correlations_by_type(predictions, scores, types)
    summary = holdout_summary(
        HoldoutResult(
            float(regressor.metadata["alpha"]), float(regressor.metadata["cv_srcc"]), overall, by_type, predictions
        )
    )
    report = {
        "benchmark": "kadid_proxy",
        "protocol": "whole",
        "train_images": release.config.release.train_images,
        "val_images": release.config.release.val_images,
        "methods": {release.model: summary},
    }
    write_report(report, release.folder, "evaluation")
    return report


def release_int8(release: Release, val: list[dict], weights_hash: str, fp32_srcc: float) -> dict:
    """The CPU INT8 export and its validation SRCC; the file is removed unless it is within tolerance."""
    from arniqa_edge.models import get_model_config
    from arniqa_edge.regressor import LinearRegressor
    from export.calibration import CalibrationReader, degraded_frames
    from export.images import list_images
    from export.quantize import to_int8

    from .evaluation.protocols import correlations

    if not (release.done("int8", weights_hash) and release.int8.exists()):
        photos = list_images(Path(release.config.release.train_content), INT8_CALIBRATION_PHOTOS)
        frames = degraded_frames(photos, INT8_DISTORTIONS_PER_PHOTO, 320, 240, seed=0)
        to_int8(release.onnx, release.int8, CalibrationReader(frames, get_model_config(release.model)), target="cpu")
        release.mark("int8", weights_hash)
    regressor = LinearRegressor.load(release.regressor)
    features = proxy_features(release, val, "val", weights_hash, graph=release.int8)[:, 0, :]
    srcc = correlations(regressor.predict_raw(features), np.array([float(r["score"]) for r in val])).srcc
    kept = fp32_srcc - srcc <= INT8_SRCC_TOLERANCE
    if not kept:
        log.warning(
            "INT8 export costs %.4f SRCC (%.4f vs %.4f), more than %.2f: not shipped",
            fp32_srcc - srcc,
            srcc,
            fp32_srcc,
            INT8_SRCC_TOLERANCE,
        )
    return {
        "srcc": srcc,
        "srcc_fp32": fp32_srcc,
        "tolerance": INT8_SRCC_TOLERANCE,
        "shipped": kept,
        "calibration": f"{INT8_CALIBRATION_PHOTOS} train photos + {INT8_DISTORTIONS_PER_PHOTO} distortions each",
    }


def ship(release: Release, with_int8: bool) -> list[Path]:
    target = Path(release.config.release.ship_dir)
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in (release.weights, release.onnx, release.regressor, *([release.int8] if with_int8 else [])):
        shutil.copyfile(path, target / path.name)
        (target / path.name).chmod(0o644)  # safetensors writes 0600; installed files are read by every user
        copied.append(target / path.name)
    stale = target / release.int8.name
    if not with_int8 and stale.exists():
        stale.unlink()  # an INT8 file of an earlier release no longer fits this one's regressor
    return copied


def training_complete(encoder: Path, max_steps: int) -> bool:
    """The run's encoder file exists and was written at its last step."""
    from safetensors import safe_open

    if not encoder.exists():
        return False
    with safe_open(str(encoder), framework="numpy") as f:
        metadata = f.metadata() or {}
    return metadata.get("complete") == "true" and metadata.get("step") == str(max_steps)


def run(config: PretrainConfig, command: str, ship_files: bool) -> int:
    from .pretraining.pretrain import train

    started = time.monotonic()
    release = Release(config)
    if not training_complete(release.trained, config.run.max_steps):
        train(config, command)
        if not training_complete(release.trained, config.run.max_steps):
            print("training stopped before max_steps (time budget): run the same command to resume")
            return 0
    weights_hash = release_weights(release, command)
    release_onnx(release, weights_hash)
    train_rows, val_rows = proxy_rows(release)
    release_regressor(release, train_rows, weights_hash, command)
    report = release_evaluation(release, val_rows, weights_hash)
    overall = report["methods"][release.model]["overall"]
    print(
        f"validation proxy ({len(val_rows)} images of unseen content): SRCC {overall['srcc']:.4f}, "
        f"PLCC {overall['plcc']:.4f}  ->  {release.folder / 'evaluation.md'}"
    )
    int8 = release_int8(release, val_rows, weights_hash, overall["srcc"]) if config.release.int8 else None
    if int8 is not None:
        (release.folder / "int8.json").write_text(json.dumps(int8, indent=2) + "\n")
        print(
            f"INT8 (CPU) export: SRCC {int8['srcc']:.4f} vs FP32 {int8['srcc_fp32']:.4f}: "
            + ("shipped" if int8["shipped"] else "not shipped")
        )
    if ship_files:
        for path in ship(release, with_int8=bool(int8 and int8["shipped"])):
            print(f"shipped {path}")
    print(f"release stages took {(time.monotonic() - started) / 60:.1f} min in this invocation")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """pretrain's command line (the training options, -o/--output, -q/--log-level) and --ship."""
    from .pretraining.pretrain import build_parser as build_training_parser

    parser = build_training_parser(
        prog="python -m training.recipe", description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1]
    )
    parser.add_argument("--ship", action="store_true", help="copy the release into release.ship_dir at the end")
    return parser


def main(argv: list[str] | None = None) -> int:
    from .pretraining.pretrain import config_from_args

    arguments = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(arguments)
    configure_logging(args)
    try:
        config = config_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "-m", "training.recipe", *arguments])
    return run(config, command, args.ship)


if __name__ == "__main__":
    raise SystemExit(main())
