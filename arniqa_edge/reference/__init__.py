"""Quality against non-aligned references: CVRKD-IQA (AAAI 2022) inference.

No-reference scoring (`arniqa_edge.Scorer`) judges a frame on its own; this
package judges it against known-good frames of other content, e.g. golden frames
of the same camera. Needs torch and timm; importing it does not.
"""

from .config import CVRKDConfig
from .scorer import ReferencePrediction, ReferenceScorer, ReferenceSet
from .weights import FORMAT, load_cvrkd, read_cvrkd_metadata, save_cvrkd

__all__ = ["CVRKDConfig", "FORMAT", "ReferencePrediction", "ReferenceScorer", "ReferenceSet", "load_cvrkd",
           "read_cvrkd_metadata", "save_cvrkd"]
