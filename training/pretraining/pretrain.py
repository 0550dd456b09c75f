"""ARNIQA pretraining: SimCLR on pairs of different images under the same degradation.

    python -m training.pretraining.pretrain --model arniqa-lite0 --data ../shared/data/pristine/train \\
        -o runs/lite0 --batch-size 128 --max-steps 6000 --max-minutes 9

    torchrun --nproc-per-node 4 -m training.pretraining.pretrain --config configs/pretrain_lite0.yaml

Each step: the DataLoader decodes and crops pairs of different pristine images (A, B)
at full and half scale; the training device draws one degradation sequence per pair
and applies it to all four crops; the encoder + projector embed them and NT-Xent
pulls A's view towards B's view of the same degradation and scale.

Running the same command again resumes from <output>/last.pt: that is how a run is
split into chunks with --max-minutes (it checkpoints and exits cleanly on expiry).
<output>/encoder.safetensors holds the encoder of the latest exit, with the command,
step and configuration in its metadata; <output>/log.csv the loss and throughput.
Settings come from the defaults, then the --config file, then --set, then the flags.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import shlex
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    configure_logging,
    progress_disable,
)
from arniqa_edge.models import get_model_config
from arniqa_edge.models.encoder import ARNIQAEncoder, build_encoder, load_encoder, save_encoder

from ..degradation.sampler import CompositionSampler, MixtureSampler, SingleDistortionSampler
from ..evaluation.kadid_proxy import ProxyLabels, proxy_distortions
from . import checkpoint
from .config import PretrainConfig, load_config, parse_override
from .freezing import freeze_early_stages
from .lr_schedule import cosine_warm_restarts, warmup_cosine
from .objective import QualityObjective
from .pairs import PairDataset, PairSampler, pretraining_images
from .synthesis import PairSynthesizer

log = logging.getLogger(__name__)

#: command-line flag (its dest) -> config key; `--set section.field=value` reaches the others.
#: "out" is -o/--output (the former --out still works, deprecated).
FLAGS = {
    "model": "run.model",
    "init": "run.init",
    "out": "run.out",
    "data": "data.root",
    "device": "run.device",
    "precision": "run.precision",
    "batch_size": "optim.batch_size",
    "lr": "optim.lr",
    "max_steps": "run.max_steps",
    "max_minutes": "run.max_minutes",
    "crop_size": "data.crop_size",
    "workers": "data.num_workers",
    "seed": "run.seed",
    "engine": "data.engine",
    "checkpoint_every": "run.checkpoint_every",
    "threads": "run.threads",
}
#: keys that may change between the chunks of one run.
RESUMABLE_CHANGES = {
    "run.max_minutes",
    "run.max_steps",
    "run.checkpoint_every",
    "run.log_every",
    "data.num_workers",
    "data.preload",
    "data.root",
    "run.out",
    "run.device",
    "run.compile",
    "run.threads",
    "run.snapshot_every",
}
ENCODER_FILE = "encoder.safetensors"


@dataclass(frozen=True)
class Process:
    """Where this process stands in a (possibly single-process) torchrun job."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start_process(device: str) -> Process:
    """Join the torchrun job described by the environment, if any (NCCL on CUDA, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Process()
    process = Process(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world_size)
    backend = "nccl" if resolve_device(device, process).type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return process


def resolve_device(name: str, process: Process) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        return torch.device("cuda", process.local_rank)
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for float32 (mixed precision is CUDA-only here)."""
    choices = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
    if precision not in choices:
        raise ValueError(f"precision must be one of {', '.join(choices)}, got {precision!r}")
    return choices[precision] if device.type == "cuda" else None


def initial_encoder(config: PretrainConfig) -> tuple[ARNIQAEncoder, str]:
    model_config = get_model_config(config.run.model)
    if config.run.init == "imagenet":
        from .init_weights import initial_encoder as imagenet_encoder

        return imagenet_encoder(config.run.model, config.run.seed)
    if config.run.init == "random":
        torch.manual_seed(config.run.seed)
        return build_encoder(model_config), "random"
    return load_encoder(model_config, config.run.init).train(), config.run.init


def build_loader(
    config: PretrainConfig, dataset: PairDataset, process: Process, start_step: int, device: torch.device
) -> DataLoader:
    global_batch = config.optim.batch_size * process.world_size
    sampler = PairSampler(
        len(dataset),
        seed=config.run.seed,
        rank=process.rank,
        world_size=process.world_size,
        start=start_step * global_batch,
    )
    workers = config.data.num_workers
    return DataLoader(
        dataset,
        batch_size=config.optim.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )


class TrainLog:
    """CSV log (appended across resumed chunks), plus TensorBoard when it is installed."""

    COLUMNS = ("step", "lr", "loss", "contrastive", "supervised", "images_per_s", "elapsed_s")

    def __init__(self, out: Path):
        path = out / "log.csv"
        is_new = not path.exists()
        self._file = open(path, "a", newline="")
        self._csv = csv.writer(self._file)
        if is_new:
            self._csv.writerow(self.COLUMNS)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self._tensorboard = None
        else:
            self._tensorboard = SummaryWriter(str(out / "tensorboard"))

    def write(
        self, step: int, lr: float, loss: float, parts: dict[str, float], images_per_s: float, elapsed: float
    ) -> None:
        part_cells = [f"{parts[name]:.5f}" if name in parts else "" for name in ("contrastive", "supervised")]
        self._csv.writerow([step, f"{lr:.6g}", f"{loss:.5f}", *part_cells, f"{images_per_s:.1f}", f"{elapsed:.1f}"])
        self._file.flush()
        if self._tensorboard is not None:
            for name, value in (("loss", loss), ("lr", lr), ("images_per_s", images_per_s), *parts.items()):
                self._tensorboard.add_scalar(name, value, step)

    def close(self) -> None:
        self._file.close()
        if self._tensorboard is not None:
            self._tensorboard.close()


def check_resumed_config(saved: dict, current: dict) -> None:
    for section, values in saved.items():
        if section == "release":  # what happens after training does not change a run
            continue
        for name, value in values.items():
            key = f"{section}.{name}"
            if key not in RESUMABLE_CHANGES and current.get(section, {}).get(name) != value:
                log.warning(
                    "resuming with %s = %r, the checkpoint was made with %r", key, current[section][name], value
                )


def any_rank(flag: bool, process: Process, device: torch.device) -> bool:
    """True on every rank when `flag` is true on one of them (so all ranks stop together)."""
    if not process.distributed:
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def optimization_step(
    loss: torch.Tensor,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    clip_grad_norm: float,
) -> None:
    """Backward and update; with fp16 the scaler unscales before clipping and skips steps with inf grads."""
    optimizer.zero_grad(set_to_none=True)
    (scaler.scale(loss) if scaler is not None else loss).backward()
    if scaler is not None:
        scaler.unscale_(optimizer)
    if clip_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()


def check_replicas_agree(model: torch.nn.Module, device: torch.device) -> None:
    """Raise if the ranks' parameters differ: DDP keeps them bit-identical, so any difference is a bug."""
    checksum = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1).to(device)
    low, high = checksum.clone(), checksum.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    if low.item() != high.item():
        raise RuntimeError(f"model replicas diverged: parameter checksums range {low.item()!r}..{high.item()!r}")


def build_optimizer(config: PretrainConfig, model: QualityObjective) -> torch.optim.Optimizer:
    """SGD or AdamW over the trainable parameters; the quality head at lr * head_lr_scale."""
    head = [p for p in model.head.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": body, "lr_scale": 1.0}, {"params": head, "lr_scale": config.optim.head_lr_scale}]
    if config.optim.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    return torch.optim.SGD(
        groups, lr=config.optim.lr, momentum=config.optim.momentum, weight_decay=config.optim.weight_decay
    )


def learning_rate(config: PretrainConfig, step: int) -> float:
    optim = config.optim
    if optim.schedule == "cosine":
        return warmup_cosine(step, optim.lr, config.run.max_steps, optim.warmup_steps, optim.eta_min)
    return cosine_warm_restarts(step, optim.lr, config.t0_steps, optim.t_mult, optim.eta_min)


def build_synthesizer(config: PretrainConfig, model_config, process: Process) -> PairSynthesizer:
    """ARNIQA's composed sequences, mixed with labelled single KADID-type distortions when asked."""
    data = config.data
    sampler = CompositionSampler(data.max_distortions, data.num_levels, data.pristine_prob)
    labels = None
    if data.single_prob > 0:
        singles = SingleDistortionSampler([spec.name for spec in proxy_distortions()], data.num_levels)
        sampler = MixtureSampler(singles, sampler, data.single_prob)
        labels = ProxyLabels()
    return PairSynthesizer(
        sampler,
        model_config.mean,
        model_config.std,
        seed=config.run.seed,
        rank=process.rank,
        engine=data.engine,
        half_scale=data.half_scale,
        labels=labels,
    )


def train(config: PretrainConfig, command: str) -> Path | None:
    """Run (or resume) pretraining; returns the encoder file written by the main process."""
    started = time.monotonic()
    process = start_process(config.run.device)
    device = resolve_device(config.run.device, process)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    if config.run.threads > 0:
        torch.set_num_threads(config.run.threads)
    out = Path(config.run.out)
    if process.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

    model_config = get_model_config(config.run.model)
    encoder, init_source = initial_encoder(config)
    memory_format = torch.channels_last if config.run.channels_last else torch.contiguous_format
    frozen = freeze_early_stages(encoder, config.run.freeze_stages)
    model = QualityObjective(
        encoder,
        config.optim.temperature,
        config.optim.contrastive_weight,
        config.optim.supervised_weight,
        config.optim.mask_same_degradation,
    )
    model = model.to(device, memory_format=memory_format)
    optimizer = build_optimizer(config, model)
    amp_dtype = autocast_dtype(config.run.precision, device)
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None

    step = 0
    last = out / checkpoint.LAST
    if last.exists():
        state = checkpoint.load_checkpoint(last)
        check_resumed_config(state["config"], config.to_dict())
        step = checkpoint.restore(state, model=model, optimizer=optimizer, scaler=scaler)
        init_source = state["config"]["run"]["init"]
        if process.is_main:
            log.info("resuming %s at step %d", last, step)
        del state

    trained = model
    if process.distributed:
        trained = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if config.run.compile and device.type == "cuda":
        trained = torch.compile(trained)

    dataset = PairDataset(
        pretraining_images(config.data.root),
        config.data.crop_size,
        preload=config.data.preload,
        half_scale=config.data.half_scale,
        max_short_side=config.data.max_short_side,
    )
    loader = build_loader(config, dataset, process, step, device)
    synthesizer = build_synthesizer(config, model_config, process)

    train_log = TrainLog(out) if process.is_main else None
    bar = tqdm(
        total=config.run.max_steps,
        initial=step,
        unit="step",
        desc="pretrain",
        disable=progress_disable() if process.is_main else True,  # None: only on a terminal; True: --quiet
        dynamic_ncols=True,
    )
    deadline = started + 60 * config.run.max_minutes if config.run.max_minutes > 0 else None
    views_per_step = 4 * config.optim.batch_size * process.world_size
    window_start, window_steps = time.monotonic(), 0
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else nullcontext()
    model.train()
    for module in frozen:
        module.eval()  # frozen BatchNorm keeps its statistics
    loader_iter = iter(loader)
    while step < config.run.max_steps:
        crops = {name: tensor.to(device, non_blocking=True) for name, tensor in next(loader_iter).items()}
        with torch.no_grad():
            batch = synthesizer(crops, step)
        views_a = batch.views_a.contiguous(memory_format=memory_format)
        views_b = batch.views_b.contiguous(memory_format=memory_format)
        lr = learning_rate(config, step)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)

        with autocast:
            loss, parts = trained(views_a, views_b, batch.labels, batch.groups)
        optimization_step(loss, model, optimizer, scaler, config.optim.clip_grad_norm)
        step += 1
        window_steps += 1
        bar.update()

        at_log_step = step % config.run.log_every == 0 or step == config.run.max_steps
        if at_log_step:
            value = loss.item()  # the only per-interval host sync
            if not math.isfinite(value):
                raise FloatingPointError(f"loss is {value} at step {step}")
            now = time.monotonic()
            images_per_s = views_per_step * window_steps / max(now - window_start, 1e-9)
            window_start, window_steps = now, 0
            part_values = {name: part.item() for name, part in parts.items()}
            bar.set_postfix(
                loss=f"{value:.4f}",
                **{k: f"{v:.3f}" for k, v in part_values.items()},
                img_s=f"{images_per_s:.0f}",
                lr=f"{lr:.2e}",
            )
            if train_log is not None:
                train_log.write(step, lr, value, part_values, images_per_s, now - started)
        out_of_time = at_log_step and any_rank(deadline is not None and time.monotonic() > deadline, process, device)
        if process.is_main and (step % config.run.checkpoint_every == 0 or out_of_time or step == config.run.max_steps):
            checkpoint.save_checkpoint(
                last, model=model, optimizer=optimizer, scaler=scaler, step=step, config=config.to_dict()
            )
        if process.is_main and config.run.snapshot_every and step % config.run.snapshot_every == 0:
            save_encoder(
                model.encoder,
                out / f"encoder-step{step}.safetensors",
                command=command,
                init=init_source,
                step=str(step),
                complete="false",
                config=json.dumps(config.to_dict()),
            )
        if out_of_time:
            break
    bar.close()

    encoder_path = None
    if process.is_main:
        train_log.close()
        encoder_path = out / ENCODER_FILE
        save_encoder(
            model.encoder,
            encoder_path,
            command=command,
            init=init_source,
            step=str(step),
            complete=str(step >= config.run.max_steps).lower(),
            config=json.dumps(config.to_dict()),
        )
        if step < config.run.max_steps:
            print(f"stopped at step {step}/{config.run.max_steps} (time budget); run the same command to resume")
        else:
            print(f"finished {step} steps: {encoder_path}")
    if process.distributed:
        check_replicas_agree(model, device)
        dist.barrier()
        dist.destroy_process_group()
    return encoder_path


def build_parser(
    prog: str = "python -m training.pretraining.pretrain", description: str | None = None, epilog: str | None = None
) -> argparse.ArgumentParser:
    """The pretraining command line (also the training part of `training.recipe`'s)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description or __doc__.split("\n\n")[0],
        epilog=epilog or __doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="YAML or JSON file with sections data, optim, run (default: none)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override any config field; repeatable (default: none)",
    )
    defaults = PretrainConfig().to_dict()
    for flag, key in FLAGS.items():
        section, field = key.split(".")
        default = str(defaults[section][field]).replace("%", "%%")  # help strings are %-formatted
        text = f"sets {key} (default: {default}, or what --config and --set say)"
        if flag == "out":
            text = "the run's folder (last.pt, encoder.safetensors, log.csv); " + text
            add_output_argument(parser, text, aliases=("--out",), dest=flag, metavar="DIR")
        else:
            parser.add_argument("--" + flag.replace("_", "-"), dest=flag, metavar=flag.upper(), help=text)
    parser.add_argument("--preload", action="store_const", const="true", help="sets data.preload")
    add_verbosity_arguments(parser)
    return parser


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    """The configuration that parsed arguments ask for; ValueError or OSError when it cannot be read or used."""
    overrides = dict(parse_override(text) for text in args.set)
    overrides.update({key: getattr(args, flag) for flag, key in FLAGS.items() if getattr(args, flag) is not None})
    if args.preload:
        overrides["data.preload"] = args.preload
    return load_config(args.config, overrides)


def parse_args(argv: list[str] | None) -> PretrainConfig:
    return config_from_args(build_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(arguments)
    configure_logging(args)
    try:
        config = config_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "-m", "training.pretraining.pretrain", *arguments])
    train(config, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
