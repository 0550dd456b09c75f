"""What an exported model says about itself: one metadata scheme for every export, and the encoder's fields.

Every ONNX file the export tools write carries `arniqa.*` keys in its
metadata_props: `arniqa.format` (FORMAT), `arniqa.kind` (what it is: "encoder",
from `python -m export.onnx`, or "cvrkd", a graph of `python -m export.cvrkd`),
`arniqa.precision`, `arniqa.target` and, where known, `arniqa.weights_sha256` (of
the weights file it was exported from: "auto" refuses an export lying beside
other weights). Each kind adds its own fields (`ExportedModelInfo` here, the
CVRKD `GraphInfo` in arniqa_edge.cvrkd.graphs). `python -m export.trt` copies them
into the engine's JSON sidecar. The runtime reads them back (`onnx_props`, no onnx
package needed) and refuses a file made for another kind, model, feature size or
preprocessing, because such a file would run and return plausible but wrong scores.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..errors import WeightsError
from ..models.registry import ModelConfig

FORMAT = "arniqa_edge.onnx.v1"
PREFIX = "arniqa."
#: kind -> (what it is, the tool that writes it, the option that takes it)
KINDS = {
    "encoder": ("a no-reference encoder", "python -m export.onnx", "--weights"),
    "cvrkd": ("a CVRKD graph", "python -m export.cvrkd", "--reference-model"),
}
#: Key prefixes of files written before the scheme was one, and the kind they are.
LEGACY_PREFIXES = {"cvrkd_": "cvrkd"}
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
    def for_model(cls, config: ModelConfig, image_size: int | None = None) -> InputSpec:
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
    #: sha256 of the weights file it was exported from (None: not recorded)
    weights_sha256: str | None = None

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        unknown = set(self.outputs) - set(OUTPUTS)
        if unknown or not self.outputs:
            raise ValueError(f"outputs must be a non-empty subset of {OUTPUTS}, got {self.outputs}")

    def with_precision(self, precision: str, target: str = "any") -> ExportedModelInfo:
        return ExportedModelInfo(**{**self.__dict__, "precision": precision, "target": target})

    def to_props(self) -> dict[str, str]:
        """String key/values for ONNX metadata_props (all values JSON or plain text)."""
        fields = {
            "model": self.model,
            "feature_dim": str(self.feature_dim),
            "outputs": ",".join(self.outputs),
            "input_spec": json.dumps(asdict(self.inputs)),
            "precision": self.precision,
            "opset": str(self.opset),
            "target": self.target,
        }
        if self.regressor_scale is not None:
            fields["regressor_scale"] = json.dumps(list(self.regressor_scale))
        if self.weights_sha256 is not None:
            fields["weights_sha256"] = self.weights_sha256
        return export_props("encoder", fields)

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> ExportedModelInfo:
        ours = export_fields(props, source, "encoder")
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
                weights_sha256=ours.get("weights_sha256"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{source}: damaged arniqa metadata ({exc!r}); re-export it") from None

    def check_fits(self, config: ModelConfig, source: str) -> None:
        """Raise WeightsError unless this export is the encoder of `config` with its preprocessing."""
        if self.model != config.name:
            raise WeightsError(
                f"{source} is an export of model {self.model!r}, but model {config.name!r} was "
                f"asked for (pass --model {self.model})"
            )
        if self.feature_dim != config.feature_dim:
            raise WeightsError(
                f"{source} gives {self.feature_dim} features per scale, {config.name} has {config.feature_dim}"
            )
        if not (_close(self.inputs.mean, config.mean) and _close(self.inputs.std, config.std)):
            raise WeightsError(
                f"{source} expects inputs normalised with mean {self.inputs.mean} / std "
                f"{self.inputs.std}, but {config.name} preprocesses with {config.mean} / {config.std}"
            )
        if "features" not in self.outputs:
            raise WeightsError(
                f"{source} outputs only {', '.join(self.outputs)}; the runtime reads features "
                "(export with --outputs features or --outputs score,features)"
            )


def export_props(kind: str, fields: dict[str, str]) -> dict[str, str]:
    """The metadata_props of an export of `kind` with its own `fields`."""
    return {PREFIX + key: value for key, value in {"format": FORMAT, "kind": kind, **fields}.items()}


def read_fields(props: dict[str, str]) -> dict[str, str]:
    """The scheme's fields of a file's metadata (prefix removed; files of older schemes translated)."""
    ours = {key[len(PREFIX) :]: value for key, value in props.items() if key.startswith(PREFIX)}
    if not ours:
        for prefix, kind in LEGACY_PREFIXES.items():
            legacy = {key[len(prefix) :]: value for key, value in props.items() if key.startswith(prefix)}
            if legacy:
                return {"format": FORMAT, "kind": kind, **legacy}
    # Encoders exported before kinds existed carry no kind.
    return {"kind": "encoder", **ours} if ours else {}


def export_fields(props: dict[str, str], source: str, kind: str) -> dict[str, str]:
    """The fields of an export of `kind`; WeightsError naming what the file is when it is not one."""
    fields = read_fields(props)
    title, tool, _ = KINDS[kind]
    if fields.get("format") != FORMAT:
        raise WeightsError(
            f"{source}: not exported by `{tool}` (metadata format {fields.get('format')!r}, "
            f"expected {FORMAT!r}); re-export it"
        )
    found = fields["kind"]
    if found != kind:
        found_title, found_tool, option = KINDS.get(found, (f"an export of kind {found!r}", "?", "?"))
        raise WeightsError(f"{source} is {found_title} from {found_tool}, not {title}: pass it to {option}")
    return fields


def recorded_weights_sha256(props: dict[str, str]) -> str | None:
    """The sha256 of the weights file an export was made from, when its metadata records it."""
    return read_fields(props).get("weights_sha256")


def _close(a, b, tol: float = 1e-6) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b))
