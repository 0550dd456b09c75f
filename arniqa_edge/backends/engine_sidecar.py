"""The JSON file beside a TensorRT engine: what it was built from, for which GPU, by which TensorRT.

A serialized engine runs only with the TensorRT version that built it, on the GPU
kind it was tuned for, and it carries no record of the model or preprocessing it
expects. `python -m export.trt` writes `<engine>.json`; the runtime checks it
before deserialising, so a mismatch is a clear error instead of a crash or wrong
scores.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import WeightsError
from ..models.registry import ModelConfig
from .model_metadata import ExportedModelInfo

FORMAT = "arniqa_edge.engine.v1"


def sidecar_path(engine: str | Path) -> Path:
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


@dataclass(frozen=True)
class EngineSidecar:
    model: str
    precision: str
    #: "tensorrt" or "tensorrt_rtx": the Python module that built it (and must run it).
    builder: str
    tensorrt_version: str
    #: GPU the engine was built on; None for a TensorRT-RTX build made without a GPU.
    gpu: str | None
    onnx_sha256: str
    #: per input name: {"min": shape, "opt": shape, "max": shape} of the optimization profile.
    input_shapes: dict[str, dict[str, list[int]]]
    #: the ONNX file's own metadata_props (the one scheme of `model_metadata`: an encoder's or a CVRKD
    #: graph's), checked by the runtime against what it is asked to run.
    onnx_metadata: dict[str, str] = field(default_factory=dict)
    dla_core: int | None = None
    format: str = FORMAT

    def write(self, engine: str | Path) -> Path:
        path = sidecar_path(engine)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, engine: str | Path) -> EngineSidecar:
        path = sidecar_path(engine)
        if not path.is_file():
            raise WeightsError(
                f"{path} is missing: an engine is only used with the sidecar that "
                "`python -m export.trt` writes beside it (rebuild the engine)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise WeightsError(f"{path}: not an engine sidecar ({exc})") from None

    def exported_info(self, source: str) -> ExportedModelInfo:
        return ExportedModelInfo.from_props(self.onnx_metadata, source)

    def check(self, config: ModelConfig, builder: str, tensorrt_version: str, gpu: str | None, source: str) -> None:
        """Raise WeightsError unless this engine is the encoder of `config` and fits the TensorRT and GPU at hand."""
        self.exported_info(source).check_fits(config, source)
        self.check_runtime(builder, tensorrt_version, gpu, source)

    def check_runtime(self, builder: str, tensorrt_version: str, gpu: str | None, source: str) -> None:
        """Raise WeightsError unless this engine runs with the TensorRT and on the GPU at hand."""
        if builder != self.builder or tensorrt_version != self.tensorrt_version:
            raise WeightsError(
                f"{source} was built by {self.builder} {self.tensorrt_version}, this runtime has "
                f"{builder} {tensorrt_version}: engines do not move between versions; rebuild it "
                "with python -m export.trt"
            )
        # TensorRT-RTX engines are portable across RTX GPUs (built for them without one); TensorRT's are not.
        if self.builder == "tensorrt" and self.gpu and gpu and gpu != self.gpu:
            raise WeightsError(f"{source} was built for {self.gpu}, this GPU is {gpu}: rebuild it on this machine")
