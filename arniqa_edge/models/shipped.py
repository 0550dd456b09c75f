"""Where the weights that ship inside the package live, and how a user's files are read."""

from __future__ import annotations

from pathlib import Path

from ..errors import WeightsError
from ..regressor import LinearRegressor
from .registry import ModelConfig

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


#: Forms a shipped encoder may take, in order of preference. The backend selection finds the
#: other forms beside the first under the same stem (arniqa_edge.backends.selection: e.g.
#: <stem>.int8.onnx made for the CPU, which "auto" prefers there), so a package may ship the
#: torch weights, the ONNX exports, or both.
SHIPPED_ENCODER_SUFFIXES = (".safetensors", ".onnx")


def shipped_weights(config: ModelConfig) -> tuple[Path, Path] | None:
    """(encoder, regressor) files shipped for `config`, or None when none ship."""
    if not config.shipped_weights:
        return None
    candidates = [WEIGHTS_DIR / f"{config.shipped_weights}{suffix}" for suffix in SHIPPED_ENCODER_SUFFIXES]
    encoder = next((path for path in candidates if path.is_file()), None)
    regressor = WEIGHTS_DIR / f"{config.shipped_weights}.regressor.safetensors"
    if encoder is None or not regressor.is_file():
        raise WeightsError(
            f"the package is incomplete: the encoder ({' or '.join(p.name for p in candidates)}) "
            f"or {regressor.name} is missing from {WEIGHTS_DIR}; reinstall arniqa-edge"
        )
    return encoder, regressor


#: Stem of the CVRKD student that ships as the default golden-frame (non-aligned reference) model.
SHIPPED_REFERENCE_STEM = "cvrkd-student"
#: Its forms in order of preference: the exported graphs need no torch; the backend selection
#: still finds the .safetensors beside them (arniqa_edge.cvrkd.engine).
SHIPPED_REFERENCE_SUFFIXES = (".maps.onnx", ".safetensors")


def shipped_reference_model() -> Path | None:
    """The CVRKD student shipped with the package, or None when none ships."""
    candidates = (WEIGHTS_DIR / f"{SHIPPED_REFERENCE_STEM}{suffix}" for suffix in SHIPPED_REFERENCE_SUFFIXES)
    return next((path for path in candidates if path.is_file()), None)


def reference_model_or_shipped(path) -> Path:
    """`path` when given, else the shipped CVRKD student; WeightsError when neither exists."""
    if path is not None:
        return Path(path)
    shipped = shipped_reference_model()
    if shipped is None:
        raise WeightsError(
            "no reference model ships in this installation and none was given: pass --reference-model "
            "PATH, a CVRKD student trained with python -m training.cvrkd.train (or its graphs from "
            "python -m export.cvrkd)"
        )
    return shipped


def missing_weights_message(config: ModelConfig) -> str:
    return (
        f"no trained weights ship for model {config.name!r} in this version of arniqa-edge, and none were given.\n"
        "Pass an encoder and a regressor:\n"
        "  --weights ENCODER.safetensors --regressor REGRESSOR.safetensors\n"
        "    e.g. from python -m training.recipe --config configs/lite0_cpu.yaml (in a checkout), or\n"
        "  --model arniqa-r50 --weights ARNIQA.pth --regressor regressor_kadid10k.pth\n"
        "    the files released with the ARNIQA paper, if you have them.\n"
        "Scores from untrained weights would not measure quality, so none are made up."
    )


def load_regressor(path) -> LinearRegressor:
    """Our .safetensors regressor, or an official `regressor_<dataset>.pth` (its tensors only; no torch needed)."""
    path = Path(path)
    if path.suffix in (".pth", ".pt"):
        from .official import read_official_regressor

        return read_official_regressor(path)
    return LinearRegressor.load(path)
