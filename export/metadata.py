"""Read and write the arniqa metadata_props of an ONNX file (see arniqa_edge.backends.model_metadata)."""

from __future__ import annotations

import onnx

from arniqa_edge.backends.model_metadata import PREFIX, ExportedModelInfo


def read_info(model: onnx.ModelProto, source: str = "model") -> ExportedModelInfo:
    return ExportedModelInfo.from_props({p.key: p.value for p in model.metadata_props}, source)


def stamp(model: onnx.ModelProto, info: ExportedModelInfo) -> onnx.ModelProto:
    """Replace the model's arniqa.* metadata with `info` (other keys are kept)."""
    kept = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in [*kept, *info.to_props().items()]:
        model.metadata_props.add(key=key, value=value)
    return model
