"""Quality against non-aligned references: CVRKD-IQA (AAAI 2022) inference, and the golden frames it uses.

No-reference scoring (`arniqa_edge.Scorer`) judges a frame on its own; this
package judges it against known-good frames of other content, e.g. golden frames
of the same camera (`golden`). The network runs on the backends of the one
backend layer (`arniqa_edge.backends`): torch (its `.safetensors`, needs torch and
timm), onnxruntime (its two exported graphs) or TensorRT (their engines), chosen
by the same policy as the encoders; importing this package needs no torch.
Training is in `training/cvrkd`, export in `export/cvrkd.py`.
"""

from .config import CVRKDConfig
from .scorer import ReferencePrediction, ReferenceScorer, ReferenceSet
from .weights import FORMAT, load_cvrkd, read_cvrkd_metadata, save_cvrkd

__all__ = [
    "CVRKDConfig",
    "FORMAT",
    "ReferencePrediction",
    "ReferenceScorer",
    "ReferenceSet",
    "load_cvrkd",
    "read_cvrkd_metadata",
    "save_cvrkd",
]
