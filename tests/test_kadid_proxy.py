import csv

import cv2
import numpy as np
import pytest
from conftest import has_torch, pristine_images, shared_labels

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch")


def test_kadid_level_mos_from_the_real_label_file():
    from training.evaluation.kadid_proxy import kadid_level_mos, proxy_distortions

    mos = kadid_level_mos(shared_labels())
    assert len(mos) == 25 * 5
    assert all(1 <= v <= 5 for v in mos.values())
    blur = [mos[(1, level)] for level in range(1, 6)]
    assert blur == sorted(blur, reverse=True), blur  # stronger blur, lower opinion
    # KADID types 06 and 15 have no ARNIQA counterpart: 25 - 2 = 23 (the issue text says 22)
    assert len(proxy_distortions()) == 23


def test_build_writes_labelled_images_and_fit_regressor_reads_them(tmp_path, lite0_imagenet_weights):
    from training.evaluation import fit_regressor
    from training.evaluation.kadid_proxy import build, kadid_level_mos

    labels = shared_labels()
    content = tmp_path / "content"
    content.mkdir()
    for path in pristine_images("train", count=4):
        cv2.imwrite(str(content / f"{path.stem}.png"), cv2.imread(str(path)))
    index = build(
        content,
        tmp_path / "proxy",
        images=4,
        types=["gaublur", "whitenoise"],
        levels=[1, 3, 5],
        short_side=64,
        long_side=64,
        include_pristine=True,
        labels=labels,
    )
    rows = list(csv.DictReader(open(index)))
    assert len(rows) == 4 * (2 * 3 + 1)
    mos = kadid_level_mos(labels)
    for row in rows:
        image = cv2.imread(str(tmp_path / "proxy" / row["image"]))
        assert image.shape == (64, 64, 3)
        if row["type"] == "gaublur":
            assert float(row["score"]) == pytest.approx(mos[(1, int(row["level"]))], abs=1e-4)
    labelled = [r for r in rows if r["score"]]
    scores = tmp_path / "labelled.csv"
    with open(scores, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(labelled[0]))
        writer.writeheader()
        writer.writerows(labelled)
    out = tmp_path / "reg.safetensors"
    code = fit_regressor.main(
        [
            "--weights",
            str(lite0_imagenet_weights),
            "--images",
            str(tmp_path / "proxy"),
            "--scores",
            str(scores),
            "--dataset",
            "kadid10k",
            "--folds",
            "2",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    from arniqa_edge.regressor import LinearRegressor

    reg = LinearRegressor.load(out)
    assert reg.input_dim == 2560 and reg.metadata["model"] == "arniqa-lite0" and reg.metadata["n_images"] == "24"
    assert np.isfinite(reg.weight).all()


def test_unknown_or_unlabelled_type_is_refused(tmp_path):
    from training.evaluation.kadid_proxy import build

    labels = shared_labels()
    with pytest.raises(ValueError, match="no KADID-10k counterpart"):
        build(tmp_path, tmp_path / "o", 1, ["nonlincontrchange"], [1], labels=labels)
    with pytest.raises(ValueError, match="unknown"):
        build(tmp_path, tmp_path / "o", 1, ["sharpen_everything"], [1], labels=labels)
