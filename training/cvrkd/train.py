"""Train CVRKD-IQA: the FR teacher, then the NAR student with or without distillation.

    python -m training.cvrkd.train teacher --cache runs/cvrkd/cache-train -o runs/cvrkd/teacher \\
        --val-cache runs/cvrkd/cache-val
    python -m training.cvrkd.train teacher --data ../shared/data/pristine/train -o runs/cvrkd/teacher
    python -m training.cvrkd.train student --teacher runs/cvrkd/teacher/model.safetensors \\
        --data ../shared/data/pristine/train -o runs/cvrkd/student
    python -m training.cvrkd.train student --no-distill --teacher runs/cvrkd/teacher/model.safetensors \\
        --data ../shared/data/pristine/train -o runs/cvrkd/student-nodistill

The teacher learns quality from (LQ, aligned pristine) pairs; the student from
(LQ, pristine of other content), with loss = L1(score) + w * sum of MSEs between
its difference-encoder blocks and the frozen teacher's on the aligned pair. The
student always takes the teacher's architecture, so that `--no-distill` (the
ablation) differs from the distilled student in the loss alone.

A run is one pass over `--steps` x `--batch-size` random triplets: drawn from a
pooled-levels cache (`--cache`, see training.cvrkd.cache: the frozen backbone's work
done once, so a run fits two CPU cores) or made from the photos at every step
(`--data`, `data.TripletDataset`: the paper's fresh crops, for a GPU). It writes
<out>/model.safetensors (configuration and provenance in the metadata), <out>/log.csv,
and with `--val`/`--val-cache` <out>/eval.json. <out>/last.pt is saved every
`--checkpoint-every` steps and when `--max-minutes` runs out; the same command then
resumes from it.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shlex
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from arniqa_edge.backends.torch_backend import resolve_torch_device
from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    configure_logging,
    progress_disable,
)
from arniqa_edge.cvrkd.config import CVRKDConfig
from arniqa_edge.cvrkd.weights import load_cvrkd, save_cvrkd
from arniqa_edge.errors import ArniqaEdgeError

from ..evaluation.kadid_proxy import DEFAULT_LABELS
from .cache import PoolCache, file_sha256
from .cached import CachedTriplets, cached_forward, evaluate_cached
from .data import TripletDataset, evaluation_items, graded_distortions, load_content, normalize_on_device
from .evaluate import evaluate_network
from .model import build_cvrkd, distillation_loss, score_loss

log = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"
CHECKPOINT_FILE = "last.pt"
LOG_COLUMNS = ["step", "loss", "score_loss", "distill_loss", "lr", "seconds"]
#: CVRKDConfig fields a teacher's command line may set.
ARCHITECTURE_FLAGS = ("crops", "crop_size", "level_channels", "mixer_dim", "lq_depth", "diff_depth")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.cvrkd.train",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "role",
        choices=["teacher", "student"],
        help="teacher: FR, with the aligned pristine reference; student: NAR, with references of other content",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--cache", type=Path, help="a train cache of python -m training.cvrkd.cache (fast)")
    source.add_argument("--data", type=Path, help="folder of pristine training images (backbone every step)")
    add_output_argument(
        parser, "output folder (a run in it is resumed)", required=True, aliases=("--out",), dest="out", type=Path
    )
    parser.add_argument(
        "--teacher",
        type=Path,
        help="student: the trained teacher's model.safetensors (default: none; a student needs it)",
    )
    parser.add_argument("--no-distill", action="store_true", help="student: score loss only (the ablation)")
    parser.add_argument("--distill-weight", type=float, default=1.0, help="weight of the distillation loss")
    parser.add_argument(
        "--distill-layers", type=int, help="last difference-encoder blocks distilled (default: all, as the paper)"
    )

    arch = parser.add_argument_group("network (architecture: teacher only; a student takes its teacher's)")
    defaults = CVRKDConfig()
    for field in ARCHITECTURE_FLAGS:
        arch.add_argument(
            f"--{field.replace('_', '-')}", type=int, help=f"CVRKDConfig.{field} (default: {getattr(defaults, field)})"
        )
    arch.add_argument(
        "--init",
        help="frozen backbone: imagenet, random (tests), or an ARNIQA encoder .safetensors of the "
        "same architecture, e.g. the shipped arniqa-lite0 (default: the cache's with --cache, "
        "else imagenet)",
    )

    data = parser.add_argument_group("data")
    data.add_argument("--images", type=int, help="use the first N images of --data (default: all)")
    data.add_argument(
        "--short-side",
        type=int,
        default=384,
        help="downscale images whose short side is longer (default: %(default)s, as KADID-10k)",
    )
    data.add_argument("--types", help="comma-separated distortions (default: the 23 with a KADID label)")
    data.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="KADID-10k.csv")
    data.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default: 0)")
    data.add_argument("--val", type=Path, help="held-out pristine folder: evaluate on its KADID proxy at the end")
    data.add_argument("--val-images", type=int, default=20, help="--val: content images of the proxy")
    data.add_argument("--val-cache", type=Path, help="an eval cache: evaluate on it at the end (fast)")

    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--steps", type=int, default=2000, help="optimizer steps of the whole run")
    optim.add_argument("--batch-size", type=int, default=16, help="triplets per step")
    optim.add_argument("--lr", type=float, default=1e-4, help="peak learning rate, cosine decay to 0")
    optim.add_argument("--weight-decay", type=float, default=5e-4, help="Adam weight decay (the paper's)")
    optim.add_argument("--max-minutes", type=float, help="stop early (and save) after this long (default: no limit)")
    optim.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    optim.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA)")
    optim.add_argument(
        "--save-fp16",
        action="store_true",
        help="store the weights as float16 (half the file; default config: 38 MB instead of 77)",
    )
    optim.add_argument("--seed", type=int, default=0, help="seed of the initialisation and the sampling")
    optim.add_argument("--log-every", type=int, default=20, help="steps between rows of log.csv")
    optim.add_argument("--checkpoint-every", type=int, default=200, help="steps between resumable checkpoints")
    add_verbosity_arguments(parser)
    return parser


def resolve_networks(args, device: torch.device):
    """(network to train, frozen teacher or None) for the role the arguments ask for."""
    teacher = None
    architecture = {field: getattr(args, field) for field in ARCHITECTURE_FLAGS if getattr(args, field) is not None}
    if args.role == "teacher":
        if args.teacher or args.no_distill:
            raise ValueError("--teacher and --no-distill are student options")
        config = CVRKDConfig(**architecture)
    else:
        if args.teacher is None:
            raise ValueError("a student needs --teacher (its architecture, and the distillation targets)")
        if architecture:
            flags = ", ".join(f"--{field.replace('_', '-')}" for field in architecture)
            raise ValueError(f"a student takes its teacher's architecture; drop {flags}")
        teacher, metadata = load_cvrkd(args.teacher)
        if metadata["role"] != "teacher":
            raise ValueError(f"{args.teacher} is a {metadata['role']}, not a teacher")
        config = teacher.config
        teacher = teacher.to(device).requires_grad_(False)
        if args.no_distill:
            teacher = None
    # Seeded here, after any teacher is built, so the initialisation depends on the seed alone.
    torch.manual_seed(args.seed)
    net = build_cvrkd(config, args.init).to(device)
    return net, teacher


def losses(
    forward, net, teacher, batch: dict[str, torch.Tensor], reference: str, layers: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(score loss, distillation loss) of one batch; without a teacher the second is 0."""
    output = forward(net, batch["lq"], batch[reference])
    if teacher is None:
        return score_loss(output, batch["score"]), torch.zeros((), device=batch["lq"].device)
    with torch.no_grad():
        target = forward(teacher, batch["lq"], batch["fr"])  # the teacher always sees the aligned reference
    return score_loss(output, batch["score"]), distillation_loss(output, target, layers)


def _pixel_forward(net, lq, hq):
    return net(lq, hq)


def training_data(args, config) -> tuple[Dataset, object, object]:
    """(dataset, forward function, batch preparation) for a cache or for photos."""
    length = args.steps * args.batch_size
    if args.cache is not None:
        cache = PoolCache(args.cache)
        cache.check_fits(config)
        if cache.spec.init_sha256 != file_sha256(args.init):
            raise ValueError(f"{args.cache} was cached with backbone {cache.spec.init}, not {args.init}")
        return CachedTriplets(cache, config.crops, length, args.seed), cached_forward, lambda batch: batch
    distortions = graded_distortions(args.labels, args.types.split(",") if args.types else None)
    content = load_content(args.data, args.short_side, args.images)
    dataset = TripletDataset(content, distortions, config.crops, config.crop_size, length=length, seed=args.seed)

    def prepare(batch):
        batch.update({key: normalize_on_device(batch[key]) for key in ("lq", "fr", "nar")})
        return batch

    return dataset, _pixel_forward, prepare


def train(args, command: str = "") -> Path:
    device = torch.device(resolve_torch_device(args.device))
    if args.init is None:  # a cached run's backbone is the one the cache was made with
        args.init = PoolCache(args.cache).spec.init if args.cache is not None else "imagenet"
    net, teacher = resolve_networks(args, device)
    config = net.config
    layers = args.distill_layers or config.diff_depth
    dataset, forward, prepare = training_data(args, config)
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if args.bf16 and device.type == "cuda" else nullcontext()
    reference = "fr" if args.role == "teacher" else "nar"

    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint, step = args.out / CHECKPOINT_FILE, 0
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if state["command_args"] != _resumable_args(args):
            raise ValueError(f"{checkpoint} was made by another command; use another -o/--output or delete it")
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = int(state["step"])
        log.info("resuming %s at step %d", checkpoint, step)
    # Sample i is a pure function of (seed, i): a resumed run continues the same stream.
    remaining = Subset(dataset, range(step * args.batch_size, len(dataset)))
    loader = DataLoader(
        remaining,
        batch_size=args.batch_size,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=args.workers > 0,
    )
    started = time.monotonic()
    log_path = args.out / "log.csv"
    is_new_log = not log_path.exists() or step == 0
    with (
        open(log_path, "w" if is_new_log else "a", newline="") as log_file,
        tqdm(total=args.steps, initial=step, desc=f"cvrkd {args.role}", unit="step", disable=progress_disable()) as bar,
    ):
        writer = csv.DictWriter(log_file, fieldnames=LOG_COLUMNS)
        if is_new_log:
            writer.writeheader()
        net.train()
        stopped = False
        for batch in loader:
            step += 1
            batch = prepare({key: value.to(device, non_blocking=True) for key, value in batch.items()})
            with autocast:
                scored, distilled = losses(forward, net, teacher, batch, reference, layers)
                loss = scored + args.distill_weight * distilled
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update()
            minutes = (time.monotonic() - started) / 60
            stopped = args.max_minutes is not None and minutes >= args.max_minutes
            if step % args.log_every == 0 or step == args.steps or stopped:
                writer.writerow(
                    {
                        "step": step,
                        "loss": f"{loss.item():.5f}",
                        "score_loss": f"{scored.item():.5f}",
                        "distill_loss": f"{distilled.item():.5f}",
                        "lr": f"{schedule.get_last_lr()[0]:.3g}",
                        "seconds": f"{minutes * 60:.1f}",
                    }
                )
                log_file.flush()
                bar.set_postfix(
                    loss=f"{loss.item():.4f}", score=f"{scored.item():.4f}", distill=f"{distilled.item():.4f}"
                )
            if step % args.checkpoint_every == 0 or stopped:
                _save_checkpoint(checkpoint, args, net, optimizer, schedule, step)
            if stopped:
                break
    if step < args.steps:
        print(f"stopped at step {step}/{args.steps} (--max-minutes); run the same command to resume")
    else:
        checkpoint.unlink(missing_ok=True)
    path = save_cvrkd(
        net,
        args.out / MODEL_FILE,
        args.role,
        half=args.save_fp16,
        steps=step,
        complete=str(step >= args.steps).lower(),
        distilled=teacher is not None,
        teacher=args.teacher or "",
        init=args.init,
        seed=args.seed,
        data=args.cache or args.data,
        command=command,
    )
    results = None
    if step >= args.steps and args.val_cache is not None:
        results = evaluate_cached(net, PoolCache(args.val_cache))
    elif step >= args.steps and args.val is not None:
        distortions = graded_distortions(args.labels, args.types.split(",") if args.types else None)
        val = load_content(args.val, args.short_side, args.val_images)
        results = evaluate_network(net, val, evaluation_items(len(val), distortions), args.batch_size, device)
    if results is not None:
        (args.out / "eval.json").write_text(
            json.dumps({reference: vars(result) for reference, result in results.items()}, indent=2) + "\n"
        )
    return path


def _resumable_args(args) -> dict:
    """The arguments a resumed run must share with the run it continues."""
    skip = {
        "max_minutes",
        "log_every",
        "checkpoint_every",
        "workers",
        "device",
        "val",
        "val_images",
        "val_cache",
        "quiet",
        "log_level",
    }
    return {key: str(value) for key, value in sorted(vars(args).items()) if key not in skip}


def _save_checkpoint(path: Path, args, net, optimizer, schedule, step: int) -> None:
    state = {
        "net": net.state_dict(),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "step": step,
        "command_args": _resumable_args(args),
    }
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    temporary.replace(path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    configure_logging(args, fmt="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        path = train(args, command=shlex.join(["python", "-m", "training.cvrkd.train", *argv]))
    except (ValueError, OSError, ArniqaEdgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
