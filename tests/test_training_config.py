import pytest

torch = pytest.importorskip("torch")

from training.pretraining.config import load_config  # noqa: E402
from training.pretraining.lr_schedule import cosine_warm_restarts  # noqa: E402


def test_defaults_are_arniqas_recipe():
    config = load_config()
    assert (config.optim.lr, config.optim.momentum, config.optim.weight_decay) == (1e-3, 0.9, 1e-4)
    assert (config.optim.temperature, config.optim.t_mult) == (0.1, 2)
    assert (config.data.max_distortions, config.data.num_levels, config.data.pristine_prob) == (4, 5, 0.05)
    assert config.data.crop_size == 224


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 0.01\n  batch_size: 64\nrun:\n  precision: fp16\n")
    config = load_config(path, {"optim.batch_size": "32", "data.preload": "true", "run.max_steps": "2e4"})
    assert config.optim.lr == 0.01
    assert config.optim.batch_size == 32
    assert config.data.preload is True
    assert config.run.max_steps == 20000
    assert config.run.precision == "fp16"


def test_json_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"data": {"crop_size": 96}}')
    assert load_config(path).data.crop_size == 96


@pytest.mark.parametrize(
    "key, value", [("optim.nope", "1"), ("nope.lr", "1"), ("optim.batch_size", "1.5"), ("data.preload", "maybe")]
)
def test_bad_overrides_are_named(key, value):
    with pytest.raises(ValueError, match=key.split(".")[0]):
        load_config(overrides={key: value})


def test_lr_follows_torch_warm_restarts():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=5, T_mult=2, eta_min=1e-6)
    for step in range(40):
        assert cosine_warm_restarts(step, 1e-3, 5, 2, 1e-6) == pytest.approx(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()


def test_a_variant_states_only_what_differs_from_its_base(tmp_path):
    (tmp_path / "base.yaml").write_text("optim:\n  lr: 0.01\n  batch_size: 64\nrun:\n  max_steps: 10\n")
    (tmp_path / "variant.yaml").write_text("base: base.yaml\noptim:\n  lr: 0.5\n")
    config = load_config(tmp_path / "variant.yaml")
    assert (config.optim.lr, config.optim.batch_size, config.run.max_steps) == (0.5, 64, 10)
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ValueError, match="cycle"):
        load_config(tmp_path / "loop.yaml")


def test_shipped_recipe_and_its_ablations_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "configs"
    shipped = load_config(root / "lite0_cpu.yaml")
    assert shipped.optim.supervised_weight > 0 and shipped.optim.contrastive_weight > 0
    ablations = {p.stem: load_config(p) for p in (root / "ablations").glob("*.yaml")}
    assert {"joint", "contrastive", "supervised", "views_before"} <= set(ablations)
    assert ablations["contrastive"].optim.supervised_weight == 0
    assert ablations["supervised"].optim.contrastive_weight == 0
    assert len({c.run.max_steps for c in ablations.values()}) == 1  # equal budgets


def test_values_no_run_can_use_are_refused_up_front():
    with pytest.raises(ValueError, match="half_scale"):
        load_config(None, {"data.half_scale": "sideways"})
    with pytest.raises(ValueError, match="single_prob"):
        load_config(None, {"optim.supervised_weight": "1.0"})
    with pytest.raises(ValueError, match="optimizer"):
        load_config(None, {"optim.optimizer": "lbfgs"})
