"""Model configurations (torch-free) and, in `encoder`, their torch modules."""

from .registry import (
    DEFAULT_MODEL,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ModelConfig,
    get_model_config,
    list_models,
    register_model,
)

__all__ = [
    "DEFAULT_MODEL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ModelConfig",
    "get_model_config",
    "list_models",
    "register_model",
]
