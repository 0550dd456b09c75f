"""How far FP16 and INT8 exports move the scores: agreement with FP32 on distorted images.

    python -m export.accuracy --regressor reg.safetensors --images proxy-val/ --scores proxy-val/scores.csv \\
        lite0.onnx lite0-fp16.onnx lite0-int8.onnx -o benchmarks/results/precision-accuracy

Every ONNX file is run with the onnxruntime CPU backend through the full Scorer
path (preprocessing, both scales, regressor). Per precision: SRCC of its scores
with the FP32 scores, the largest and mean |score - FP32 score| (scores in
[0, 1]), and SRCC with the labels next to FP32's; the goal is that the label
SRCC moves by at most GOALS[precision].
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from scipy.stats import spearmanr

from arniqa_edge import Scorer
from arniqa_edge.cli_conventions import HelpFormatter, add_output_argument, add_verbosity_arguments, configure_logging
from arniqa_edge.errors import ArniqaEdgeError

from .metadata import read_info

#: Largest allowed change of SRCC with the labels, relative to FP32.
GOALS = {"fp32": 0.0, "fp16": 0.002, "int8": 0.01}


def score_images(onnx_path: Path, regressor: Path, images: list[Path]) -> np.ndarray:
    info = read_info(onnx.load(str(onnx_path), load_external_data=False), str(onnx_path))
    scorer = Scorer(info.model, weights=onnx_path, regressor=regressor, backend="onnxruntime", device="cpu")
    return np.array(scorer.score_batch(images))


def agreement(scores: dict[str, np.ndarray], labels: np.ndarray) -> list[dict]:
    """One row per precision, relative to the "fp32" entry."""
    reference = scores["fp32"]
    label_srcc_fp32 = spearmanr(reference, labels).statistic
    rows = []
    for precision, values in scores.items():
        drift = np.abs(values - reference)
        label_srcc = spearmanr(values, labels).statistic
        rows.append(
            {
                "precision": precision,
                "srcc_vs_fp32": float(spearmanr(values, reference).statistic),
                "max_score_drift": float(drift.max()),
                "mean_score_drift": float(drift.mean()),
                "srcc_vs_labels": float(label_srcc),
                "srcc_change": float(label_srcc - label_srcc_fp32),
                "goal": GOALS[precision],
                "meets_goal": bool(abs(label_srcc - label_srcc_fp32) <= GOALS[precision]),
            }
        )
    return rows


def markdown(rows: list[dict], context: dict) -> str:
    lines = [
        "# Score agreement of FP16 and INT8 exports with FP32",
        "",
        f"{context['images']} distorted images ({context['image_set']}); model {context['model']}, "
        f"regressor {context['regressor']}; onnxruntime {context['onnxruntime']} CPU.",
        "",
        "| precision | SRCC vs FP32 | max score drift | mean score drift | SRCC vs labels | change | goal | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['precision']} | {r['srcc_vs_fp32']:.5f} | {r['max_score_drift']:.5f} | "
            f"{r['mean_score_drift']:.5f} | {r['srcc_vs_labels']:.4f} | {r['srcc_change']:+.4f} | "
            f"{r['goal']} | {'yes' if r['meets_goal'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m export.accuracy",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("onnx", type=Path, nargs="+", help="exports of one model; one must be fp32")
    parser.add_argument("--regressor", type=Path, required=True, help="the regressor the scores go through")
    parser.add_argument("--images", type=Path, required=True, help="folder the 'image' column is relative to")
    parser.add_argument("--scores", type=Path, required=True, help="CSV with columns image,score")
    add_output_argument(parser, "output stem (.json and .md are added)", required=True, type=Path)
    add_verbosity_arguments(parser, default="warning")
    return parser


def main(argv=None) -> int:
    import csv

    import onnxruntime

    args = build_parser().parse_args(argv)
    configure_logging(args)
    with open(args.scores, newline="") as f:
        rows = list(csv.DictReader(f))
    images = [args.images / r["image"] for r in rows]
    labels = np.array([float(r["score"]) for r in rows])
    try:
        infos = {path: read_info(onnx.load(str(path), load_external_data=False), str(path)) for path in args.onnx}
        if "fp32" not in {info.precision for info in infos.values()}:
            raise ValueError("one of the files must be the fp32 export")
        scores = {info.precision: score_images(path, args.regressor, images) for path, info in infos.items()}
    except (ArniqaEdgeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = agreement(scores, labels)
    context = {
        "model": next(iter(infos.values())).model,
        "regressor": args.regressor.name,
        "images": len(images),
        "image_set": str(args.scores.parent.name),
        "onnxruntime": onnxruntime.__version__,
        "files": {info.precision: path.name for path, info in infos.items()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps({**context, "rows": table}, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(markdown(table, context))
    print(markdown(table, context))
    return 0 if all(r["meets_goal"] for r in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
