"""Pretraining configuration: dataclass defaults < YAML/JSON file < command line.

Every field has ARNIQA's value as its default where the paper has one. A file gives
any subset of the sections below; ``--set section.field=value`` overrides a single
field from the command line, and the common fields have their own flags in
`training.pretraining.pretrain`. The resolved configuration is written next to the checkpoints.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data_root import pristine_dir


@dataclass
class DataConfig:
    #: folder of pristine images (searched recursively); default: the shared data's (training.data_root).
    root: str = field(default_factory=lambda: str(pristine_dir("train")))
    #: side of the square training crops, at both scales.
    crop_size: int = 224
    #: decode every image once and keep it (and its half scale) in memory; DataLoader
    #: workers share the arrays through fork.
    preload: bool = False
    num_workers: int = 4
    #: degradation model (ARNIQA: at most 4 groups, 5 levels, 5% pristine).
    max_distortions: int = 4
    num_levels: int = 5
    pristine_prob: float = 0.05
    #: degradation engine: "auto" (batched when installed), "batched" or "reference".
    engine: str = "auto"
    #: "before": ARNIQA's views (half scale cut from the downscaled pristine image, then
    #: degraded); "after": degrade a 2S x 2S region, then take its center (full scale)
    #: and its 2x downscale (half scale), as the runtime sees a degraded frame.
    half_scale: str = "before"
    #: area-downscale images whose short side is longer (0 = keep); 384 is the scale of
    #: KADID-10k's 512x384 images, at which its opinion scores were given.
    max_short_side: int = 0
    #: probability that a pair gets one distortion of a type with a KADID counterpart,
    #: type and level uniform (labelled by the KADID proxy), instead of ARNIQA's composed
    #: sequence (unlabelled).
    single_prob: float = 0.0


@dataclass
class OptimConfig:
    #: pairs per optimisation step and per process; the loss sees 4x as many views.
    batch_size: int = 16
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    temperature: float = 0.1
    #: cosine annealing with warm restarts: the first cycle lasts `t0_steps`, each next
    #: one `t_mult` times longer. 0 = max_steps / 7, so three cycles (1 + 2 + 4) end
    #: together with the run and the final weights are taken at the lowest lr.
    t0_steps: int = 0
    t_mult: int = 2
    eta_min: float = 1e-6
    #: gradient-norm clipping (0 = off); SGD at ARNIQA's lr does not need it.
    clip_grad_norm: float = 0.0
    #: "sgd" (ARNIQA) or "adamw".
    optimizer: str = "sgd"
    #: "warm_restarts" (ARNIQA's SGDR, see t0_steps) or "cosine": linear warm-up over
    #: warmup_steps, then one cosine decay to eta_min at max_steps.
    schedule: str = "warm_restarts"
    warmup_steps: int = 0
    #: loss = contrastive_weight * NT-Xent + supervised_weight * MSE(head, KADID-proxy label).
    contrastive_weight: float = 1.0
    supervised_weight: float = 0.0
    #: leave rows of other pairs with the very same degradation out of NT-Xent's negatives.
    mask_same_degradation: bool = False
    #: learning rate of the quality head, as a multiple of lr.
    head_lr_scale: float = 10.0


@dataclass
class RunConfig:
    model: str = "arniqa-lite0"
    #: encoder start: "imagenet", "random" or the path of a .safetensors encoder.
    init: str = "imagenet"
    out: str = "runs/pretrain"
    max_steps: int = 20000
    seed: int = 0
    #: "auto" = cuda when available, else cpu.
    device: str = "auto"
    #: "bf16", "fp16" or "fp32"; mixed precision is only used on CUDA.
    precision: str = "bf16"
    channels_last: bool = True
    #: keep the stem and the first `freeze_stages` block stages at their initial
    #: weights (no gradient, BatchNorm statistics frozen); 0 trains everything.
    freeze_stages: int = 0
    #: CPU threads of torch (0 = torch's default).
    threads: int = 0
    #: compile the encoder with torch.compile (CUDA only; first steps are slow).
    compile: bool = False
    checkpoint_every: int = 500
    #: also keep the encoder of every `snapshot_every`-th step as encoder-step<N>.safetensors
    #: (0 = off), to follow the quality of the features along a run.
    snapshot_every: int = 0
    log_every: int = 10
    #: wall-clock budget of this invocation in minutes (0 = none): on expiry the run
    #: checkpoints and exits cleanly, to be resumed by running the same command again.
    max_minutes: float = 0.0


@dataclass
class ReleaseConfig:
    """What `python -m training.recipe` does after training (pretraining ignores it)."""

    #: KADID proxies (see training.evaluation.kadid_proxy): the regressor is fitted on the train
    #: one, the val one (content never trained on) reports the numbers.
    train_content: str = field(default_factory=lambda: str(pristine_dir("train")))
    val_content: str = field(default_factory=lambda: str(pristine_dir("val")))
    train_images: int = 60
    val_images: int = 60
    #: dtype the encoder's weights ship in ("fp16" halves the file; the ONNX is exported
    #: from the rounded weights, so both forms compute the same features).
    weights_dtype: str = "fp16"
    #: package folder the release is copied to by --ship.
    ship_dir: str = "arniqa_edge/weights"
    #: also make the INT8 export for CPUs (shipped only within INT8_SRCC_TOLERANCE of FP32's SRCC).
    int8: bool = True


@dataclass
class PretrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    release: ReleaseConfig = field(default_factory=ReleaseConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """ValueError for values no run can use (checked before any work starts)."""
        choices = {
            "data.half_scale": (self.data.half_scale, ("before", "after")),
            "data.engine": (self.data.engine, ("auto", "batched", "reference")),
            "optim.optimizer": (self.optim.optimizer, ("sgd", "adamw")),
            "optim.schedule": (self.optim.schedule, ("warm_restarts", "cosine")),
            "run.precision": (self.run.precision, ("bf16", "fp16", "fp32")),
            "release.weights_dtype": (self.release.weights_dtype, ("fp16", "fp32")),
        }
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")
        if not 0.0 <= self.data.single_prob <= 1.0:
            raise ValueError(f"data.single_prob must be in [0, 1], got {self.data.single_prob}")
        if self.optim.supervised_weight > 0 and self.data.single_prob == 0:
            raise ValueError("optim.supervised_weight > 0 needs labelled pairs: set data.single_prob > 0")
        if (
            self.optim.contrastive_weight < 0
            or self.optim.supervised_weight < 0
            or self.optim.contrastive_weight + self.optim.supervised_weight == 0
        ):
            raise ValueError("optim.contrastive_weight and optim.supervised_weight must be >= 0, not both 0")
        if self.run.freeze_stages < 0:
            raise ValueError(f"run.freeze_stages must be >= 0, got {self.run.freeze_stages}")

    @property
    def t0_steps(self) -> int:
        return self.optim.t0_steps or max(1, self.run.max_steps // 7)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> PretrainConfig:
    """Defaults, then the file at `path` (YAML or JSON), then `overrides` ({"optim.lr": 0.01})."""
    config = PretrainConfig()
    if path is not None:
        apply_mapping(config, read_config_file(Path(path)))
    for key, value in (overrides or {}).items():
        set_field(config, key, value)
    config.validate()
    return config


def read_config_file(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The sections of a YAML/JSON config file; a top-level `base: other.yaml` (relative to
    the file) is read first and overridden field by field, so a variant states only what differs."""
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = (path.parent / base).resolve()
    if base_path in _seen:
        raise ValueError(f"{path}: config bases form a cycle through {base_path}")
    merged = read_config_file(base_path, (*_seen, path.resolve()))
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ValueError(f"config section {section!r} must be a mapping, got {values!r}")
        merged.setdefault(section, {}).update(values)
    return merged


def apply_mapping(config: PretrainConfig, data: dict[str, Any]) -> None:
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ValueError(f"config section {section!r} must be a mapping, got {values!r}")
        for name, value in values.items():
            set_field(config, f"{section}.{name}", value)


def set_field(config: PretrainConfig, key: str, value: Any) -> None:
    """Set "section.field" to `value`, converting strings from the command line to the field's type."""
    section_name, _, name = key.partition(".")
    section = getattr(config, section_name) if section_name in _sections() else None
    if section is None or name not in _fields(type(section)):
        raise ValueError(f"unknown config key {key!r}; known: {', '.join(known_keys())}")
    setattr(section, name, _convert(value, _fields(type(section))[name], key))


def parse_override(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"override {text!r} is not of the form section.field=value")
    return key.strip(), value.strip()


def known_keys() -> list[str]:
    return [f"{s}.{f}" for s, cls in _sections().items() for f in _fields(cls)]


def _sections() -> dict[str, type]:
    return _fields(PretrainConfig)


def _fields(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _convert(value: Any, kind: type, key: str) -> Any:
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(value)
                return value.lower() in {"true", "1", "yes"}
            return bool(value)
        if kind is int:
            number = float(value)  # accepts "2e4" from the command line
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"config key {key!r} expects {kind.__name__}, got {value!r}") from None
