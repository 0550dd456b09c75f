import math

import pytest

torch = pytest.importorskip("torch")

from training.pretraining.simclr import nt_xent_loss  # noqa: E402


def direct_nt_xent(a, b, temperature):
    """The NT-Xent formula written out term by term."""
    z = [v / v.norm() for v in torch.cat([a, b]).double()]
    n = len(a)
    total = 0.0
    for k in range(2 * n):
        positive = k + n if k < n else k - n
        similarity = [float(z[k] @ z[j]) / temperature for j in range(2 * n)]
        denominator = sum(math.exp(s) for j, s in enumerate(similarity) if j != k)
        total += -math.log(math.exp(similarity[positive]) / denominator)
    return total / (2 * n)


def test_matches_the_direct_formula():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 8, generator=generator), torch.randn(5, 8, generator=generator)
    for temperature in (0.1, 0.5):
        assert nt_xent_loss(a, b, temperature).item() == pytest.approx(direct_nt_xent(a, b, temperature), rel=1e-5)


def test_positives_are_a_i_with_b_i():
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(6, 16, generator=generator)
    b = a + 0.05 * torch.randn(6, 16, generator=generator)  # b[i] is a[i]'s positive
    matched = nt_xent_loss(a, b).item()
    shuffled = nt_xent_loss(a, b[torch.tensor([1, 2, 3, 4, 5, 0])]).item()
    assert matched < 0.5 < shuffled
    assert shuffled - matched > 5


def test_half_scale_of_the_same_image_is_a_negative():
    # 2 images x 2 scales: rows 0, 1 full scale, rows 2, 3 half scale. Making A's own
    # half-scale view identical to its full-scale view must raise the loss.
    generator = torch.Generator().manual_seed(2)
    a = torch.randn(4, 8, generator=generator)
    b = a.clone()
    close_scales = a.clone()
    close_scales[2] = a[0]
    assert nt_xent_loss(close_scales, b).item() > nt_xent_loss(a, b).item()


def test_fp16_inputs_do_not_overflow():
    a = torch.nn.functional.normalize(torch.randn(4, 8), dim=1).half()
    assert torch.isfinite(nt_xent_loss(a, a.clone(), 0.1))


def test_groups_leave_same_degradation_rows_out_of_the_negatives():
    torch.manual_seed(1)
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    # all rows in different groups: the same as no groups
    assert nt_xent_loss(a, b, 0.1, torch.arange(4)).item() == pytest.approx(nt_xent_loss(a, b, 0.1).item())
    # rows 0 and 1 share a degradation: making them identical costs nothing as a negative
    a_close = a.clone()
    a_close[1] = a_close[0]
    grouped = torch.tensor([0, 0, 1, 2])
    masked = nt_xent_loss(a_close, b, 0.1, grouped).item()
    direct = direct_nt_xent_masked(a_close, b, 0.1, grouped)
    assert masked == pytest.approx(direct, rel=1e-5)
    assert masked < nt_xent_loss(a_close, b, 0.1).item()
    with pytest.raises(ValueError, match="groups"):
        nt_xent_loss(a, b, 0.1, torch.arange(3))


def direct_nt_xent_masked(a, b, temperature, groups):
    z = torch.nn.functional.normalize(torch.cat([a, b]), dim=1).double()
    rows = torch.cat([groups, groups])
    n = len(a)
    total = 0.0
    for k in range(2 * n):
        positive = (k + n) % (2 * n)
        numerator = torch.exp(z[k] @ z[positive] / temperature)
        denominator = sum(
            torch.exp(z[k] @ z[j] / temperature)
            for j in range(2 * n)
            if j != k and (j == positive or rows[j] != rows[k])
        )
        total += -torch.log(numerator / denominator).item()
    return total / (2 * n)
