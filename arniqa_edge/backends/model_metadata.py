"""What an exported encoder says about itself, and the check that it fits the model asked for.

`python -m export.onnx` writes these fields into the ONNX file's metadata_props;
`python -m export.trt` copies them into the engine's JSON sidecar. The runtime
reads them back (no onnx package needed: onnxruntime exposes metadata_props) and
refuses a file made for another model, feature size or preprocessing, because
such a file would run and return plausible but wrong scores.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..errors import WeightsError
from ..models.registry import ModelConfig

FORMAT = "arniqa_edge.onnx.v1"
PREFIX = "arniqa."
PRECISIONS = ("fp32", "fp16", "int8")
#: What a lowered export was made to run fast on: INT8 graphs differ by target (see export.quantize);
#: "any" for FP32/FP16 and for files written before targets existed.
TARGETS = ("any", "tensorrt", "cpu")
#: Graph outputs an export may have; backends read "features".
OUTPUTS = ("features", "score")


@dataclass(frozen=True)
class InputSpec:
    """The tensors the graph takes: both scales, NCHW float32 RGB, normalised with mean/std.

    height/width are None for the whole-image protocol (any size, the half scale
    being (H // 2, W // 2)) and crop_size for the crop protocols.
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    height: int | None = None
    width: int | None = None
    layout: str = "NCHW"
    channels: str = "rgb"
    dtype: str = "float32"

    @property
    def dynamic_size(self) -> bool:
        return self.height is None

    @classmethod
    def for_model(cls, config: ModelConfig, image_size: int | None = None) -> "InputSpec":
        return cls(mean=tuple(config.mean), std=tuple(config.std), height=image_size, width=image_size)


@dataclass(frozen=True)
class ExportedModelInfo:
    model: str
    feature_dim: int
    outputs: tuple[str, ...]
    inputs: InputSpec
    precision: str = "fp32"
    opset: int = 0
    #: [low, high, higher_is_better] of the folded regressor, when a score output exists.
    regressor_scale: tuple[float, float, bool] | None = None
    target: str = "any"

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        unknown = set(self.outputs) - set(OUTPUTS)
        if unknown or not self.outputs:
            raise ValueError(f"outputs must be a non-empty subset of {OUTPUTS}, got {self.outputs}")

    def with_precision(self, precision: str, target: str = "any") -> "ExportedModelInfo":
        return ExportedModelInfo(**{**self.__dict__, "precision": precision, "target": target})

    def to_props(self) -> dict[str, str]:
        """String key/values for ONNX metadata_props (all values JSON or plain text)."""
        props = {
            "format": FORMAT,
            "model": self.model,
            "feature_dim": str(self.feature_dim),
            "outputs": ",".join(self.outputs),
            "input_spec": json.dumps(asdict(self.inputs)),
            "precision": self.precision,
            "opset": str(self.opset),
            "target": self.target,
        }
        if self.regressor_scale is not None:
            props["regressor_scale"] = json.dumps(list(self.regressor_scale))
        return {PREFIX + key: value for key, value in props.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> "ExportedModelInfo":
        ours = {key[len(PREFIX):]: value for key, value in props.items() if key.startswith(PREFIX)}
        if ours.get("format") != FORMAT:
            raise WeightsError(f"{source}: not exported by `python -m export.onnx` (metadata format "
                               f"{ours.get('format')!r}, expected {FORMAT!r}); re-export it")
        try:
            spec = json.loads(ours["input_spec"])
            scale = json.loads(ours["regressor_scale"]) if "regressor_scale" in ours else None
            return cls(
                model=ours["model"],
                feature_dim=int(ours["feature_dim"]),
                outputs=tuple(ours["outputs"].split(",")),
                inputs=InputSpec(**{**spec, "mean": tuple(spec["mean"]), "std": tuple(spec["std"])}),
                precision=ours["precision"],
                opset=int(ours["opset"]),
                regressor_scale=tuple(scale) if scale is not None else None,
                target=ours.get("target", "any"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{source}: damaged arniqa metadata ({exc!r}); re-export it") from None

    def check_fits(self, config: ModelConfig, source: str) -> None:
        """Raise WeightsError unless this export is the encoder of `config` with its preprocessing."""
        if self.model != config.name:
            raise WeightsError(f"{source} is an export of model {self.model!r}, but model {config.name!r} was "
                               f"asked for (pass --model {self.model})")
        if self.feature_dim != config.feature_dim:
            raise WeightsError(f"{source} gives {self.feature_dim} features per scale, {config.name} has "
                               f"{config.feature_dim}")
        if not (_close(self.inputs.mean, config.mean) and _close(self.inputs.std, config.std)):
            raise WeightsError(f"{source} expects inputs normalised with mean {self.inputs.mean} / std "
                               f"{self.inputs.std}, but {config.name} preprocesses with {config.mean} / {config.std}")
        if "features" not in self.outputs:
            raise WeightsError(f"{source} outputs only {', '.join(self.outputs)}; the runtime reads features "
                               "(export with --outputs features or --outputs score,features)")


def _close(a, b, tol: float = 1e-6) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b))
