import numpy as np
import pytest
from conftest import SHARED_DATA, has_torch

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch")
LABELS = SHARED_DATA / "labels" / "KADID-10k.csv"


def flat_content(values=(20, 120, 230), size=96):
    """Constant-colour images: a crop's value says which content it came from."""
    return [np.full((size, size, 3), value, dtype=np.uint8) for value in values]


def identity_like():
    from training.cvrkd.data import GradedDistortion

    # brighten at level 1 barely moves mid-grey values; enough to test the plumbing.
    return [GradedDistortion("brighten", 16, 1, 4.2)]


def test_graded_distortions_carry_kadid_mean_opinions():
    from training.cvrkd.data import graded_distortions
    from training.evaluation.kadid_proxy import kadid_level_mos

    if not LABELS.is_file():
        pytest.skip(f"needs {LABELS}")
    graded = graded_distortions(LABELS)
    assert len(graded) == 23 * 5
    mos = kadid_level_mos(LABELS)
    assert all(d.mos == mos[(d.kadid_id, d.level)] for d in graded)
    blur = graded_distortions(LABELS, ["gaublur"])
    assert [d.level for d in blur] == [1, 2, 3, 4, 5] and blur[0].mos > blur[-1].mos
    with pytest.raises(ValueError, match="nonlincontrchange"):
        graded_distortions(LABELS, ["nonlincontrchange"])


def test_triplets_pair_aligned_and_other_content_references():
    from training.cvrkd.data import TripletDataset

    values = (20, 120, 230)
    dataset = TripletDataset(flat_content(values), identity_like(), crops=3, crop_size=32, length=12, seed=1)
    assert len(dataset) == 12
    for index in range(len(dataset)):
        item = dataset[index]
        assert item["lq"].shape == item["fr"].shape == item["nar"].shape == (3, 32, 32, 3)
        assert item["score"].item() == pytest.approx(4.2)
        fr, nar = int(item["fr"][0, 0, 0, 0]), int(item["nar"][0, 0, 0, 0])
        assert fr in values and nar in values and fr != nar  # the NAR reference always shows other content
        assert (item["fr"] == fr).all() and (item["nar"] == nar).all()


def test_normalisation_on_the_device_matches_inference():
    import torch

    from arniqa_edge.cvrkd.crops import normalize_crops
    from training.cvrkd.data import normalize_on_device

    crops = np.random.default_rng(0).integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    expected = np.stack([normalize_crops(image) for image in crops])
    torch.testing.assert_close(normalize_on_device(torch.from_numpy(crops)), torch.from_numpy(expected))


def test_triplets_are_reproducible_per_seed_and_index():
    import torch

    from training.cvrkd.data import TripletDataset

    content = [np.random.default_rng(i).integers(0, 256, (80, 80, 3), dtype=np.uint8) for i in range(3)]
    dataset = TripletDataset(content, identity_like(), crops=2, crop_size=32, length=4, seed=0)
    first, again = dataset[2], dataset[2]
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not torch.equal(first["lq"], dataset[3]["lq"])
    reseeded = TripletDataset(content, identity_like(), crops=2, crop_size=32, length=4, seed=1)
    assert not torch.equal(first["lq"], reseeded[2]["lq"])


def test_triplets_refuse_content_smaller_than_a_crop():
    from training.cvrkd.data import TripletDataset

    with pytest.raises(ValueError, match="at least 64 px"):
        TripletDataset(flat_content(size=48), identity_like(), crops=2, crop_size=64, length=1)
    with pytest.raises(ValueError, match="at least 2 content"):
        TripletDataset(flat_content(values=(1,)), identity_like(), crops=2, crop_size=32, length=1)


def test_evaluation_batches_use_the_inference_grid_and_cyclic_references():
    import torch

    from arniqa_edge.cvrkd.crops import grid_crops
    from training.cvrkd.data import evaluation_batches, evaluation_items

    content = flat_content()
    items = evaluation_items(len(content), identity_like())
    assert [(item.content, item.reference) for item in items] == [(0, 1), (1, 2), (2, 0)]
    batches = list(evaluation_batches(content, items, crops=2, crop_size=32, batch_size=2))
    assert [len(b["score"]) for b in batches] == [2, 1]
    torch.testing.assert_close(batches[0]["nar"][0], torch.from_numpy(grid_crops(content[1], 32, 2)))
    again = list(evaluation_batches(content, items, crops=2, crop_size=32, batch_size=2))
    assert torch.equal(batches[1]["lq"], again[1]["lq"])


def test_crop_grid_follows_the_aspect_ratio_and_covers_the_frame():
    from arniqa_edge.cvrkd.crops import fit_short_side, grid_origins, grid_shape

    assert grid_shape(720, 1280, 10) == (2, 5)
    assert grid_shape(1280, 720, 10) == (5, 2)
    assert grid_shape(500, 500, 4) == (2, 2)
    origins = grid_origins(720, 1280, 224, 10)
    assert origins[0] == (0, 0) and origins[-1] == (720 - 224, 1280 - 224) and len(set(origins)) == 10
    small = fit_short_side(np.zeros((100, 150, 3), np.uint8), 224)
    assert small.shape == (224, 336, 3)
    with pytest.raises(ValueError, match="does not fit"):
        grid_origins(100, 300, 224, 2)


def test_content_is_read_whole_as_rgb_and_only_downscaled():
    import cv2
    from conftest import pristine_images

    from training.cvrkd.data import load_content

    files = pristine_images("val", count=2)  # BSDS: 481 x 321
    folder = files[0].parent
    kept = load_content(folder, short_side=384, limit=2)
    assert len(kept) == 2
    np.testing.assert_array_equal(kept[0], cv2.imread(str(files[0]))[:, :, ::-1])
    assert min(load_content(folder, short_side=160, limit=2)[1].shape[:2]) == 160
