import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from arniqa_edge.models import get_model_config  # noqa: E402
from arniqa_edge.models.encoder import build_encoder  # noqa: E402
from training.pretraining.freezing import early_stages, freeze_early_stages  # noqa: E402
from training.pretraining.lr_schedule import warmup_cosine  # noqa: E402
from training.pretraining.objective import LABEL_CENTRE, QualityObjective  # noqa: E402


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return build_encoder(get_model_config("arniqa-lite0"))


def views(pairs=3, size=64):
    torch.manual_seed(2)
    return torch.randn(2 * pairs, 3, size, size), torch.randn(2 * pairs, 3, size, size)


def test_supervised_loss_uses_only_labelled_pairs_and_both_images(encoder):
    objective = QualityObjective(encoder, contrastive_weight=0.0, supervised_weight=1.0).eval()
    views_a, views_b = views()
    labels = torch.tensor([2.0, float("nan"), 4.0])
    loss, parts = objective(views_a, views_b, labels)
    # the head starts at zero: predictions are LABEL_CENTRE for every image
    expected = ((2.0 - LABEL_CENTRE) ** 2 * 2 + (4.0 - LABEL_CENTRE) ** 2 * 2) / 4
    assert loss.item() == pytest.approx(expected) and set(parts) == {"supervised"}
    loss, _ = objective(views_a, views_b, torch.full((3,), float("nan")))
    assert loss.item() == 0.0
    # the projector gets no gradient when the contrastive loss is off, so it is frozen (DDP needs that)
    assert not any(p.requires_grad for p in encoder.projector.parameters())


def test_joint_loss_is_the_weighted_sum(encoder):
    views_a, views_b = views()
    labels = torch.tensor([2.0, 3.5, 4.0])
    contrastive = QualityObjective(encoder, contrastive_weight=1.0).eval()
    joint = QualityObjective(encoder, contrastive_weight=0.5, supervised_weight=2.0).eval()
    c_loss, _ = contrastive(views_a, views_b, labels)
    j_loss, parts = joint(views_a, views_b, labels)
    assert parts["contrastive"].item() == pytest.approx(c_loss.item(), rel=1e-5)
    assert j_loss.item() == pytest.approx(0.5 * c_loss.item() + 2.0 * parts["supervised"].item(), rel=1e-5)
    with pytest.raises(ValueError):
        QualityObjective(encoder, contrastive_weight=0.0, supervised_weight=0.0)


def test_freezing_keeps_the_stem_and_first_stages_fixed(encoder):
    frozen = freeze_early_stages(encoder, 2)
    assert frozen == early_stages(encoder.backbone, 2) and len(frozen) == 4
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in encoder.backbone.blocks[2].parameters())
    with pytest.raises(ValueError, match="stages"):
        early_stages(encoder.backbone, 99)
    for module in frozen:
        module.requires_grad_(True)


def test_warmup_cosine_schedule():
    assert warmup_cosine(0, 1.0, 100, warmup=10) == pytest.approx(0.1)
    assert warmup_cosine(9, 1.0, 100, warmup=10) == pytest.approx(1.0)
    assert warmup_cosine(10, 1.0, 100, warmup=10) == pytest.approx(1.0)
    assert warmup_cosine(55, 1.0, 100, warmup=10, eta_min=0.0) == pytest.approx(0.5)
    assert warmup_cosine(100, 1.0, 100, warmup=10, eta_min=0.01) == pytest.approx(0.01)
    assert all(warmup_cosine(s, 1.0, 100, 10) >= warmup_cosine(s + 1, 1.0, 100, 10) for s in range(10, 99))
    assert math.isfinite(warmup_cosine(500, 1.0, 100))
