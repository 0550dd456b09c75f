import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from conftest import pristine_images, shared_labels  # noqa: E402


@pytest.fixture
def tiny_content(tmp_path):
    folders = {}
    for split in ("train", "val"):
        folder = tmp_path / "content" / split
        folder.mkdir(parents=True)
        for i, path in enumerate(pristine_images(split, "bsds_*.jpg", 4)):
            image = cv2.resize(cv2.imread(str(path)), (96, 64), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / f"{i}.png"), image)
        folders[split] = folder
    return folders


@pytest.mark.slow
def test_recipe_trains_releases_evaluates_and_ships(tmp_path, tiny_content):
    shared_labels()
    from arniqa_edge import Scorer
    from training import recipe

    out, ship = tmp_path / "run", tmp_path / "package-weights"
    config = {
        "data": {
            "root": str(tiny_content["train"]),
            "crop_size": 32,
            "num_workers": 0,
            "half_scale": "after",
            "single_prob": 0.5,
            "engine": "reference",
            "max_distortions": 1,
        },
        "optim": {
            "batch_size": 2,
            "optimizer": "adamw",
            "schedule": "cosine",
            "supervised_weight": 1.0,
            "mask_same_degradation": True,
        },
        "run": {
            "out": str(out),
            "max_steps": 2,
            "device": "cpu",
            "precision": "fp32",
            "freeze_stages": 2,
            "checkpoint_every": 1,
            "log_every": 1,
            "init": "random",
        },
        "release": {
            "train_content": str(tiny_content["train"]),
            "val_content": str(tiny_content["val"]),
            "train_images": 4,
            "val_images": 3,
            "ship_dir": str(ship),
        },
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert recipe.main(["--config", str(path), "--ship"]) == 0
    release = out / "release"
    names = {"arniqa-lite0.safetensors", "arniqa-lite0.onnx", "arniqa-lite0.regressor.safetensors"}
    assert names <= {p.name for p in release.iterdir()}
    int8 = json.loads((release / "int8.json").read_text())
    shipped = {p.name for p in ship.iterdir()}
    # the CPU INT8 export ships only when it keeps the validation SRCC within tolerance
    assert shipped == names | ({"arniqa-lite0.int8.onnx"} if int8["shipped"] else set())
    assert int8["shipped"] == (int8["srcc_fp32"] - int8["srcc"] <= int8["tolerance"])
    report = json.loads((release / "evaluation.json").read_text())
    method = report["methods"]["arniqa-lite0"]
    assert len(method["by_type"]) == 23 and np.isfinite(method["overall"]["srcc"])
    # the released weights leave out the projector and are fp16; torch and ONNX agree on them
    from safetensors import safe_open

    with safe_open(str(release / "arniqa-lite0.safetensors"), framework="pt") as f:
        assert not any(k.startswith("projector.") for k in f.keys())
        assert f.get_tensor("backbone.conv_stem.weight").dtype == torch.float16
        assert "training.recipe" in f.metadata()["release_command"]
    frame = cv2.imread(str(next(tiny_content["val"].iterdir())))
    scores = {
        backend: Scorer(
            weights=ship / ("arniqa-lite0" + suffix),
            regressor=ship / "arniqa-lite0.regressor.safetensors",
            backend=backend,
            device="cpu",
        ).score(frame)
        for backend, suffix in (("torch", ".safetensors"), ("onnxruntime", ".onnx"))
    }
    assert scores["torch"] == pytest.approx(scores["onnxruntime"], abs=1e-4)
    # a second run finds every stage done and remakes no model file (the report is rewritten)
    stamps = {p.name: p.stat().st_mtime_ns for p in release.iterdir() if p.suffix in (".onnx", ".safetensors")}
    assert recipe.main(["--config", str(path)]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in release.iterdir() if p.name in stamps} == stamps


def test_recipe_takes_pretrains_options_output_verbosity_and_ship(capsys):
    from training import recipe
    from training.pretraining.pretrain import config_from_args

    args = recipe.build_parser().parse_args(["-o", "runs/x", "--max-steps", "3", "--ship", "-q"])
    config = config_from_args(args)
    assert args.ship and args.quiet and (config.run.out, config.run.max_steps) == ("runs/x", 3)
    assert capsys.readouterr().err == ""
    old = recipe.build_parser().parse_args(["--out", "runs/x", "--max-steps", "3", "-q", "--ship"])
    assert capsys.readouterr().err == "warning: --out is deprecated; use -o/--output\n"
    assert config_from_args(old) == config
    assert recipe.build_parser().parse_args([]).log_level == "info"


def test_recipe_help_and_errors(capsys, monkeypatch):
    from training import recipe

    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as exit_:
        recipe.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m training.recipe ")
    for text in ("-o DIR, --output DIR", "--ship", "-q, --quiet", "--log-level", "(default: 20000, or what --config"):
        assert text in out, text
    assert "--out " not in out and "8. ship" in out  # the stages, from the module's docstring
    assert recipe.main(["--set", "optim.nope=1"]) == 2
    assert "optim.nope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        recipe.main(["--max-steps", "3", "--no-such-option"])
    assert exit_.value.code == 2
    assert "python -m training.recipe: error: unrecognized arguments: --no-such-option" in capsys.readouterr().err
