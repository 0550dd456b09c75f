import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from conftest import SHARED_DATA  # noqa: E402
from cvrkd_fixtures import LABELS, small_content  # noqa: E402

from arniqa_edge.cvrkd.config import CVRKDConfig  # noqa: E402
from training.cvrkd import cache as cache_module  # noqa: E402
from training.cvrkd import train  # noqa: E402
from training.cvrkd.cached import CachedTriplets, predict_cached  # noqa: E402
from training.cvrkd.data import cut, graded_distortions  # noqa: E402
from training.cvrkd.model import build_cvrkd  # noqa: E402

#: 64 px crops: levels of 16, 8, 4, 2 px pooled to a 2 x 2 grid (uniform bins, as 224 px to 7 x 7).
CONFIG = CVRKDConfig(crops=2, crop_size=64, level_channels=8, grid=2, mixer_dim=32, lq_depth=2, diff_depth=3)
TYPES = ["gaublur", "jpeg"]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    """A lite0 encoder file (random weights): caches and networks must share one backbone."""
    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import build_encoder, save_encoder

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("backbone") / "encoder.safetensors"
    save_encoder(build_encoder(get_model_config("arniqa-lite0")), path)
    return path


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    if not LABELS.is_file():
        pytest.skip(f"needs {LABELS}")
    folder = tmp_path_factory.mktemp("cache-content")
    return {"train": small_content(folder / "train", "train", 3), "val": small_content(folder / "val", "val", 2)}


def build(layout, data, out, backbone, **kwargs):
    return cache_module.build(
        layout, data, out, str(backbone), CONFIG, short_side=96, labels_csv=LABELS, types=TYPES, **kwargs
    )


def test_pooled_cache_gives_the_networks_own_scores(content, backbone, tmp_path):
    folder = build("eval", content["val"], tmp_path / "eval", backbone)
    cache = cache_module.PoolCache(folder)
    assert cache.lq.shape == (2, 10, 2, 24 + 40 + 112 + 320, 2, 2) and cache.lq.dtype == np.float16
    net = build_cvrkd(CONFIG, str(backbone)).eval()
    predictions, labels, types = predict_cached(net, cache, "fr")
    assert len(predictions) == 20 and set(types) == set(TYPES)
    # the same images through the network's pixel path (backbone, 1x1 conv, then pool)
    from training.cvrkd.data import evaluation_batches, evaluation_items, load_content

    images = load_content(content["val"], 96)
    items = evaluation_items(2, graded_distortions(LABELS, TYPES))
    with torch.inference_mode():
        direct = torch.cat([net(b["lq"], b["fr"]).score for b in evaluation_batches(images, items, 2, 64, 8)])
    # conv(pool(x)) == pool(conv(x)); float16 storage of the pooled levels is the only difference
    assert np.abs(predictions - direct.numpy()).max() < 1e-3
    assert labels == pytest.approx([item.distortion.mos for item in items])


def test_train_cache_resumes_and_refuses_other_settings(content, backbone, tmp_path):
    out = tmp_path / "train"
    folder = build("train", content["train"], out, backbone, positions=3, distortions_per_image=2, images=2)
    first = cache_module.PoolCache(folder)
    lq = np.array(first.lq)
    # an interrupted build: pretend only the first image was done, then run the same command
    (out / "progress.json").write_text(json.dumps({"done": 1}))
    with pytest.raises(ValueError, match="incomplete"):
        cache_module.PoolCache(folder)
    build("train", content["train"], out, backbone, positions=3, distortions_per_image=2, images=2)
    assert np.array_equal(np.array(cache_module.PoolCache(folder).lq), lq)
    with pytest.raises(ValueError, match="other settings"):
        build("train", content["train"], out, backbone, positions=4, distortions_per_image=2, images=2)
    triplets = CachedTriplets(cache_module.PoolCache(folder), crops=2, length=5)
    sample = triplets[0]
    assert sample["lq"].shape == sample["fr"].shape == sample["nar"].shape == (2, 496, 2, 2)
    assert 1 <= sample["score"].item() <= 5


def test_cached_training_runs_resumes_and_evaluates(content, backbone, tmp_path):
    cache_train = build("train", content["train"], tmp_path / "ct", backbone, positions=3, distortions_per_image=2)
    cache_val = build("eval", content["val"], tmp_path / "cv", backbone)
    arch = [
        "--crops",
        "2",
        "--crop-size",
        "64",
        "--level-channels",
        "8",
        "--mixer-dim",
        "32",
        "--lq-depth",
        "2",
        "--diff-depth",
        "3",
    ]
    common = [
        "--cache",
        str(cache_train),
        "--val-cache",
        str(cache_val),
        "--batch-size",
        "2",
        "--log-every",
        "1",
        "--device",
        "cpu",
        "--checkpoint-every",
        "1",
    ]
    # grid 2 is not a command-line option: the architecture of CONFIG must match the cache
    assert train.main(["teacher", *arch, *common, "--steps", "3", "-o", str(tmp_path / "t")]) == 2
    net = build_cvrkd(CONFIG, str(backbone))
    from arniqa_edge.cvrkd.weights import save_cvrkd

    teacher_file = save_cvrkd(net, tmp_path / "teacher.safetensors", "teacher")
    out = tmp_path / "student"
    student = ["student", "--teacher", str(teacher_file), *common, "--steps", "4", "-o", str(out)]
    # a chunk: stops after its first step (--max-minutes 0), keeps a checkpoint, and resumes from it
    assert train.main([*student, "--max-minutes", "0"]) == 0
    assert (out / "last.pt").exists() and not (out / "eval.json").exists()
    assert train.main(student) == 0
    assert not (out / "last.pt").exists()
    rows = (out / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3", "4"]
    results = json.loads((out / "eval.json").read_text())
    assert set(results) == {"fr", "nar"} and all(np.isfinite(r["srcc"]) for r in results.values())
    # the evaluation command gives the same numbers from the cache, and refuses a cache of other items
    from training.cvrkd import evaluate

    table = tmp_path / "table.md"
    base = [
        "--content",
        str(content["val"]),
        "--images",
        "2",
        "--short-side",
        "96",
        "--types",
        ",".join(TYPES),
        "--labels",
        str(LABELS),
        str(out / train.MODEL_FILE),
        "-o",
        str(table),
    ]
    assert evaluate.main([*base, "--cache", str(cache_val)]) == 0
    rows = {r["reference"]: r for r in json.loads(table.with_suffix(".json").read_text())["rows"]}
    assert rows["nar"]["srcc"] == pytest.approx(results["nar"]["srcc"])
    with pytest.raises(SystemExit, match="not the eval cache"):
        evaluate.main([*base, "--cache", str(cache_train)])


def test_cut_takes_the_cached_positions():
    image = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    crops = cut(image, [(0, 0), (2, 4)], 4)
    assert np.array_equal(crops[1], image[2:6, 4:8])
    assert SHARED_DATA.name == "data"
