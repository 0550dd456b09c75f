"""Model registry: what each model is, without importing torch.

A `ModelConfig` names the encoder architecture, its feature size and the
preprocessing the encoder was trained with. Torch modules are built from it by
`arniqa_edge.models.encoder.build_encoder` (torch only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelConfig:
    name: str
    #: timm architecture name of the encoder backbone (classifier removed).
    architecture: str
    #: size of the pooled backbone features (one scale).
    feature_dim: int
    #: SimCLR projector: feature_dim -> hidden -> embedding (training only).
    projector_hidden_dim: int
    embedding_dim: int
    #: crop size of training and of the five_crop protocol.
    crop_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    description: str = ""
    #: file stems under arniqa_edge/weights/ when trained weights ship with the package.
    shipped_weights: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def regressor_input_dim(self) -> int:
        """Features of the full and the half scale, concatenated."""
        return 2 * self.feature_dim


_REGISTRY: dict[str, ModelConfig] = {}


def register_model(config: ModelConfig) -> ModelConfig:
    if config.name in _REGISTRY:
        raise ValueError(f"model {config.name!r} is already registered")
    _REGISTRY[config.name] = config
    return config


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def get_model_config(name: str) -> ModelConfig:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None


register_model(
    ModelConfig(
        name="arniqa-r50",
        architecture="resnet50",
        feature_dim=2048,
        projector_hidden_dim=2048,
        embedding_dim=128,
        description="The paper's encoder: torchvision-layout ResNet-50 without fc (loads the official ARNIQA.pth).",
        tags=("paper",),
    )
)

register_model(
    ModelConfig(
        name="arniqa-lite0",
        architecture="efficientnet_lite0",
        feature_dim=1280,
        projector_hidden_dim=1280,
        embedding_dim=128,
        description="Edge default: EfficientNet-Lite0 encoder (4.7M params, ReLU6, no squeeze-excite), "
        "trained by configs/lite0_cpu.yaml (docs/model_card_lite0.md).",
        #: arniqa_edge/weights/arniqa-lite0.{safetensors,onnx,int8.onnx,regressor.safetensors}
        shipped_weights="arniqa-lite0",
        tags=("edge", "default"),
    )
)

DEFAULT_MODEL = "arniqa-lite0"
