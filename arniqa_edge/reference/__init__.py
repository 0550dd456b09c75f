"""Quality against non-aligned references: CVRKD-IQA (AAAI 2022) inference.

No-reference scoring (`arniqa_edge.Scorer`) judges a frame on its own; this
package judges it against known-good frames of other content, e.g. golden frames
of the same camera. The network runs on torch (its `.safetensors`, needs torch
and timm) or on onnxruntime (its two exported graphs, no torch); importing this
package needs neither.
"""

from .config import CVRKDConfig
from .engine import REFERENCE_BACKENDS
from .scorer import ReferencePrediction, ReferenceScorer, ReferenceSet
from .weights import FORMAT, load_cvrkd, read_cvrkd_metadata, save_cvrkd

__all__ = ["CVRKDConfig", "FORMAT", "REFERENCE_BACKENDS", "ReferencePrediction", "ReferenceScorer", "ReferenceSet",
           "load_cvrkd", "read_cvrkd_metadata", "save_cvrkd"]
