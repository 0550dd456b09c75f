import csv
import json

import cv2
import numpy as np
import pytest
from conftest import pristine_images, shared_labels
from sklearn.linear_model import Ridge

from training.evaluation.evaluate import main
from training.evaluation.protocols import correlations, evaluate_holdout, evaluate_splits, select_alpha
from training.evaluation.ridge_path import RidgePath
from training.evaluation.splits import content_splits


def test_splits_keep_each_content_on_one_side():
    groups = np.repeat([f"ref{i}" for i in range(30)], 7)
    splits = content_splits(groups, count=10, seed=0)
    assert len(splits) == 10
    for split in splits:
        parts = [set(groups[split.train]), set(groups[split.val]), set(groups[split.test])]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert [len(p) for p in parts] == [21, 3, 6]
        assert sorted(np.concatenate([split.train, split.val, split.test])) == list(range(len(groups)))
    assert len({tuple(s.test) for s in splits}) > 1
    assert all(np.array_equal(a.test, b.test) for a, b in zip(splits, content_splits(groups, count=10, seed=0)))


def test_small_datasets_get_a_content_in_every_part():
    split = content_splits(["a", "b", "c"], count=1)[0]
    assert (len(split.train), len(split.val), len(split.test)) == (1, 1, 1)
    with pytest.raises(ValueError):
        content_splits(["a", "b"], count=1)


@pytest.mark.parametrize("n, d", [(60, 12), (12, 60)])
def test_ridge_path_equals_sklearn(n, d):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, d)), rng.normal(size=n)
    path = RidgePath(x, y)
    for alpha in (1e-3, 0.5, 300.0):
        weight, bias = path.coef(alpha)
        reference = Ridge(alpha=alpha).fit(x, y)
        np.testing.assert_allclose(weight, reference.coef_, atol=1e-9)
        assert bias == pytest.approx(reference.intercept_, abs=1e-9)


def test_correlations():
    values = correlations(np.array([1, 2, 3, 4.0]), np.array([2, 4, 6, 9.0]))
    assert values.srcc == pytest.approx(1.0) and 0.98 < values.plcc < 1.0
    assert np.isnan(correlations(np.ones(4), np.arange(4.0)).srcc)


def synthetic_problem(images=120, views=2, dim=8, contents=20, seed=0):
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=dim)
    scores = rng.uniform(1, 5, size=images)
    features = scores[:, None, None] * direction + rng.normal(scale=0.5, size=(images, views, dim))
    groups = np.arange(images) % contents
    types = np.array(["blur", "noise"])[np.arange(images) % 2]
    return features, scores, groups, types


def test_split_protocol_learns_a_linear_signal():
    features, scores, groups, types = synthetic_problem()
    result = evaluate_splits(features, scores, content_splits(groups, count=4), types, alphas=(1e-2, 1.0, 1e4))
    assert len(result.overall) == 4 and result.alpha in (1e-2, 1.0, 1e4)
    assert result.median.srcc > 0.9 and result.median.plcc > 0.9
    assert set(result.median_by_type) == {"blur", "noise"}


def test_alpha_is_chosen_on_validation_srcc():
    features, scores, groups, _ = synthetic_problem()
    # an absurdly strong penalty flattens predictions and loses to a reasonable one
    assert select_alpha(features, scores, content_splits(groups, count=3), alphas=(1.0, 1e9)) == 1.0


def test_holdout_protocol():
    features, scores, groups, types = synthetic_problem()
    result = evaluate_holdout(
        features[:80], scores[:80], groups[:80], features[80:], scores[80:], types[80:], alphas=(0.1, 10.0)
    )
    assert result.overall.srcc > 0.9 and result.predictions.shape == (40,)
    assert set(result.by_type) == {"blur", "noise"}


def blurred_dataset(tmp_path, contents=6, levels=4):
    """A KADID-layout folder of blurred crops labelled 5 - level, with its label file."""
    folder = tmp_path / "KADID-10k" / "images"
    folder.mkdir(parents=True)
    rows = []
    for c, path in enumerate(pristine_images("val", count=contents)):
        base = cv2.resize(cv2.imread(str(path)), (96, 64), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"I{c + 1:02d}.png"), base)
        for level in range(1, levels + 1):
            name = f"I{c + 1:02d}_01_{level:02d}.png"
            cv2.imwrite(str(folder / name), cv2.GaussianBlur(base, (0, 0), level))
            rows.append([f"KADID-10k/images/{name}", "GBLUR", f"KADID-10k/images/I{c + 1:02d}.png", 5 - level])
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as f:
        csv.writer(f).writerows([["dis_img_path", "dis_type", "ref_img_path", "score"], *rows])
    return labels


def test_dataset_command_with_the_laplacian_baseline(tmp_path, capsys):
    labels = blurred_dataset(tmp_path)
    out = tmp_path / "results"
    code = main(
        [
            "dataset",
            "--name",
            "kadid10k",
            "--root",
            str(tmp_path),
            "--labels",
            str(labels),
            "--baselines",
            "laplacian",
            "--splits",
            "3",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads((out / "kadid10k.json").read_text())
    method = report["methods"]["laplacian"]
    assert len(method["per_split"]) == 3 and method["overall"]["srcc"] > 0.8
    assert "| **overall** |" in (out / "kadid10k.md").read_text()
    assert "laplacian SRCC / PLCC" in capsys.readouterr().out


def test_proxy_command(tmp_path):
    # The command reads the shared KADID-10k labels and photos.
    shared_labels(), pristine_images("train", "*", 3), pristine_images("val", "*", 2)
    out, work = tmp_path / "results", tmp_path / "work"
    args = [
        "proxy",
        "--types",
        "gaublur,whitenoise",
        "--train-images",
        "3",
        "--val-images",
        "2",
        "--baselines",
        "laplacian",
        "--work",
        str(work),
        "-o",
        str(out),
    ]
    assert main(args) == 0
    report = json.loads((out / "kadid_proxy.json").read_text())
    assert set(report["methods"]["laplacian"]["by_type"]) == {"gaublur", "whitenoise"}
    assert report["methods"]["laplacian"]["by_type"]["gaublur"]["srcc"] > 0.5
    index = work / "proxies" / "val" / "scores.csv"
    with open(index) as f:
        assert len(list(csv.DictReader(f))) == 2 * 2 * 5
    # a smaller evaluation reuses the first contents of the built set instead of rebuilding it
    built = index.stat().st_mtime_ns
    assert main([*args[:6], "1", *args[7:]]) == 0
    assert index.stat().st_mtime_ns == built
    report = json.loads((out / "kadid_proxy.json").read_text())
    assert report["val_images"] == 1


def test_proxy_command_on_independent_distortions(tmp_path):
    shared_labels(), pristine_images("train", "*", 2), pristine_images("val", "*", 2)
    out, work = tmp_path / "results", tmp_path / "work"
    args = [
        "proxy",
        "--types",
        "gaublur,whitenoise,jitter",
        "--train-images",
        "2",
        "--val-images",
        "2",
        "--baselines",
        "laplacian",
        "--work",
        str(work),
        "-o",
        str(out),
        "--val-implementation",
        "independent",
    ]
    assert main(args) == 0
    report = json.loads((out / "kadid_proxy_independent.json").read_text())
    # jitter has no independent implementation: it is fitted on, but not tested
    assert report["types"] == ["gaublur", "whitenoise"]
    assert report["methods"]["laplacian"]["by_type"]["gaublur"]["srcc"] > 0.5


@pytest.mark.slow
def test_graph_readouts_of_the_imagenet_encoder(tmp_path):
    pytest.importorskip("onnx")
    shared_labels(), pristine_images("train", "*", 2), pristine_images("val", "*", 2)
    out, work = tmp_path / "results", tmp_path / "work"
    args = [
        "proxy",
        "--types",
        "gaublur,jpeg",
        "--train-images",
        "2",
        "--val-images",
        "2",
        "--baselines",
        "imagenet,multilevel",
        "--work",
        str(work),
        "-o",
        str(out),
    ]
    assert main(args) == 0
    report = json.loads((out / "kadid_proxy.json").read_text())
    assert set(report["methods"]) == {"imagenet", "multilevel"}
    features = sorted(p.name for p in (work / "features").iterdir())
    assert len(features) == 4 and any("stages" in name for name in features)
    shapes = {name: np.load(work / "features" / name).shape for name in features}
    assert {shape[-1] for shape in shapes.values()} == {2560, 2 * 2 * (16 + 24 + 40 + 80 + 112 + 192 + 320)}


def test_missing_weights_is_an_error(tmp_path, capsys):
    assert (
        main(
            [
                "proxy",
                "--weights",
                str(tmp_path / "none.safetensors"),
                "--baselines",
                "",
                "--work",
                str(tmp_path / "work"),
                "-o",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    assert "none.safetensors" in capsys.readouterr().err
