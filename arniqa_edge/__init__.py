"""arniqa-edge: no-reference image quality assessment (ARNIQA) for cameras and video.

    >>> from arniqa_edge import Scorer
    >>> Scorer(weights="enc.safetensors", regressor="reg.safetensors").score("photo.jpg")
    0.73

Research code written against pyiqa (`pyiqa.create_metric("arniqa")(x)`) uses
`create_metric` instead (arniqa_edge.metric):

    >>> metric = arniqa_edge.create_metric("arniqa-lite0", device="cuda")
    >>> metric(x)   # x: (N, 3, H, W) RGB in [0, 1] -> (N,) scores in [0, 1], higher is better

Importing this package needs numpy and OpenCV only; torch is imported by the
torch backend when it is used.
"""

from ._version import __version__
from .errors import ArniqaEdgeError, BackendUnavailableError, InputImageError, WeightsError
from .features import PROTOCOLS, FeatureExtractor
from .metric import ArniqaMetric, create_metric
from .models import get_model_config, list_models
from .scorer import Prediction, Scorer

__all__ = [
    "ArniqaEdgeError",
    "ArniqaMetric",
    "BackendUnavailableError",
    "FeatureExtractor",
    "InputImageError",
    "PROTOCOLS",
    "Prediction",
    "Scorer",
    "WeightsError",
    "__version__",
    "create_metric",
    "get_model_config",
    "list_models",
]
