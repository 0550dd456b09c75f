"""Model registry, encoders, ImageNet init and the readers of the paper's released files."""

import numpy as np
import pytest
from conftest import has_torch

from arniqa_edge.models import get_model_config, list_models

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


def test_registry():
    assert list_models() == ["arniqa-lite0", "arniqa-r50"]
    r50, lite0 = get_model_config("arniqa-r50"), get_model_config("arniqa-lite0")
    assert (r50.feature_dim, r50.regressor_input_dim, r50.embedding_dim) == (2048, 4096, 128)
    assert (lite0.feature_dim, lite0.regressor_input_dim) == (1280, 2560)
    with pytest.raises(ValueError, match="unknown model"):
        get_model_config("resnet18")


@pytest.mark.parametrize("name", ["arniqa-lite0", "arniqa-r50"])
def test_encoder_shapes_and_norm(name):
    import torch

    from arniqa_edge.models.encoder import build_encoder

    config = get_model_config(name)
    encoder = build_encoder(config).eval()
    with torch.no_grad():
        f = encoder(torch.randn(2, 3, 96, 128))
        g = encoder.project(f)
    assert f.shape == (2, config.feature_dim) and g.shape == (2, config.embedding_dim)
    np.testing.assert_allclose(f.norm(dim=1).numpy(), 1, rtol=1e-5)
    np.testing.assert_allclose(g.norm(dim=1).numpy(), 1, rtol=1e-5)


def test_lite0_imagenet_init_classifies_a_cat():
    import timm
    import torch
    import torch.nn.functional as F
    from skimage import data

    from training.pretraining.imagenet_init import lite0_imagenet_state_dict

    model = timm.create_model("efficientnet_lite0", pretrained=False)
    model.load_state_dict(lite0_imagenet_state_dict(with_classifier=True))
    x = torch.from_numpy(data.chelsea()).permute(2, 0, 1).float()[None] / 255
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    x = (x - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    with torch.no_grad():
        top = model.eval()(x).argmax(1).item()
    assert top == 285, f"expected ImageNet class 285 (Egyptian cat), got {top}"


def test_our_weights_round_trip_and_model_check(tmp_path):
    import torch

    from arniqa_edge.errors import WeightsError
    from arniqa_edge.models.encoder import build_encoder, load_encoder, save_encoder

    config = get_model_config("arniqa-lite0")
    torch.manual_seed(0)
    encoder = build_encoder(config).eval()
    path = tmp_path / "enc.safetensors"
    save_encoder(encoder, path)
    loaded = load_encoder(config, path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), encoder(x))
    with pytest.raises(WeightsError, match="model 'arniqa-lite0'"):
        load_encoder(get_model_config("arniqa-r50"), path)
    with pytest.raises(WeightsError, match="not found"):
        load_encoder(config, tmp_path / "none.safetensors")


def _paper_resnet_wrapper():
    """The layout of the paper's ResNet wrapper: resnet50 children without fc + projector."""
    import torch
    import torchvision
    from torch import nn

    class PaperResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(*list(torchvision.models.resnet50(weights=None).children())[:-1])
            self.projector = nn.Sequential(nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 128))

        def forward(self, x):
            f = torch.nn.functional.normalize(self.model(x).flatten(1), dim=1)
            return f, torch.nn.functional.normalize(self.projector(f), dim=1)

    return PaperResNet()


def test_official_encoder_file_loads_with_identical_outputs(tmp_path):
    import torch

    from arniqa_edge.models.encoder import load_encoder

    torch.manual_seed(1)
    paper = _paper_resnet_wrapper().eval()
    for module in paper.modules():  # non-trivial batch-norm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "ARNIQA.pth"
    torch.save(paper.state_dict(), path)
    ours = load_encoder(get_model_config("arniqa-r50"), path)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        f_paper, g_paper = paper(x)
        f_ours = ours(x)
        torch.testing.assert_close(f_ours, f_paper, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(ours.project(f_ours), g_paper, atol=1e-5, rtol=1e-4)


def test_official_encoder_file_errors(tmp_path):
    import torch

    from arniqa_edge.errors import WeightsError
    from arniqa_edge.models.encoder import load_encoder

    path = tmp_path / "ARNIQA.pth"
    torch.save({"model.0.weight": torch.zeros(64, 3, 7, 7), "head.weight": torch.zeros(1)}, path)
    with pytest.raises(WeightsError, match="unexpected tensor 'head.weight'"):
        load_encoder(get_model_config("arniqa-r50"), path)
    with pytest.raises(WeightsError, match="use --model arniqa-r50"):
        load_encoder(get_model_config("arniqa-lite0"), path)
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(WeightsError, match="cannot read"):
        load_encoder(get_model_config("arniqa-r50"), tmp_path / "junk.pth")


def test_official_regressor_torchscript(tmp_path):
    import warnings

    import torch

    from arniqa_edge.errors import WeightsError
    from arniqa_edge.models.shipped import load_regressor

    torch.manual_seed(2)
    linear = torch.nn.Linear(4096, 1)
    path = tmp_path / "regressor_live.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(linear), str(path))
    reg = load_regressor(path)
    assert reg.metadata["dataset"] == "live" and not reg.scale.higher_is_better
    x = torch.randn(3, 4096)
    with torch.no_grad():
        expected = linear(x).squeeze(1).numpy()
    np.testing.assert_allclose(reg.predict_raw(x.numpy()), expected, rtol=1e-5, atol=1e-4)
    # DMOS 1..100 -> higher is better in [0, 1]
    np.testing.assert_allclose(reg.scale.to_unit(np.array([1.0, 100.0])), [1.0, 0.0])

    other = tmp_path / "regressor_mystery.pth"
    other.write_bytes(path.read_bytes())
    with pytest.raises(WeightsError, match="cannot tell the regressor's dataset"):
        load_regressor(other)
    mlp = tmp_path / "regressor_kadid10k.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4096, 8), torch.nn.Linear(8, 1))), str(mlp))
    with pytest.raises(WeightsError, match="single linear layer"):
        load_regressor(mlp)
