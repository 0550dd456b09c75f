"""Deprecated name of `arniqa_edge.cvrkd` (scoring against golden frames with CVRKD-IQA).

"reference" also names the oracle implementations (`preprocess/reference.py`), so
the package is named after its method now. This alias keeps
`from arniqa_edge.reference import ReferenceScorer` working for a release.
"""

import warnings

from ..cvrkd import *  # noqa: F401,F403
from ..cvrkd import __all__  # noqa: F401

warnings.warn("arniqa_edge.reference is now arniqa_edge.cvrkd; import from there", DeprecationWarning, stacklevel=2)
