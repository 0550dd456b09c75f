"""arniqa-edge: no-reference image quality assessment (ARNIQA) for cameras and video.

    >>> from arniqa_edge import Scorer
    >>> Scorer(weights="enc.safetensors", regressor="reg.safetensors").score("photo.jpg")
    0.73

Importing this package needs numpy and OpenCV only; torch is imported by the
torch backend when it is used.
"""

from .errors import ArniqaEdgeError, BackendUnavailableError, InputImageError, WeightsError
from .models import get_model_config, list_models
from .features import PROTOCOLS, FeatureExtractor
from .scorer import Prediction, Scorer

__version__ = "0.1.0"

__all__ = [
    "ArniqaEdgeError", "BackendUnavailableError", "FeatureExtractor", "InputImageError", "PROTOCOLS", "Prediction",
    "Scorer", "WeightsError", "__version__", "get_model_config", "list_models",
]
