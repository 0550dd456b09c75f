import numpy as np
import pytest

torch = pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from training.degradation.sampler import CompositionSampler, DistortionSequence  # noqa: E402
from training.pretraining.pairs import VIEWS, PairDataset, PairKey, PairSampler, decode, random_crop  # noqa: E402
from training.pretraining.synthesis import PairSynthesizer, reference_engine  # noqa: E402


def take(iterator, count):
    return [next(iterator) for _ in range(count)]


def test_sampler_pairs_different_images_and_visits_all_as_a():
    keys = take(iter(PairSampler(7, seed=3)), 7)
    assert sorted(k.a for k in keys) == list(range(7))
    assert all(k.a != k.b and 0 <= k.b < 7 for k in keys)


def test_sampler_stream_is_shared_out_among_ranks_and_resumable():
    single = take(iter(PairSampler(5, seed=1)), 24)
    rank0 = take(iter(PairSampler(5, seed=1, rank=0, world_size=2)), 12)
    rank1 = take(iter(PairSampler(5, seed=1, rank=1, world_size=2)), 12)
    assert rank0 == single[0::2] and rank1 == single[1::2]
    assert take(iter(PairSampler(5, seed=1, start=13)), 11) == single[13:]


@pytest.fixture
def two_images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, size in enumerate(((120, 90), (100, 80))):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def contains(image: np.ndarray, crop: np.ndarray) -> bool:
    size = crop.shape[0]
    for top in range(image.shape[0] - size + 1):
        for left in range(image.shape[1] - size + 1):
            if np.array_equal(image[top : top + size, left : left + size], crop):
                return True
    return False


def test_half_view_is_a_crop_of_the_downscaled_image(two_images):
    dataset = PairDataset(two_images, crop_size=32)
    sample = dataset[PairKey(0, 1, seed=5)]
    assert set(sample) == set(VIEWS)
    assert all(v.shape == (3, 32, 32) and v.dtype == torch.uint8 for v in sample.values())
    full, half = decode(two_images[0])
    assert half.shape == (45, 60, 3)
    assert contains(half, sample["a_half"].permute(1, 2, 0).numpy())
    assert contains(full, sample["a_full"].permute(1, 2, 0).numpy())
    assert contains(decode(two_images[1])[1], sample["b_half"].permute(1, 2, 0).numpy())
    assert all(torch.equal(a, b) for a, b in zip(sample.values(), dataset[PairKey(0, 1, seed=5)].values()))


def test_preloaded_and_decoded_samples_agree(two_images):
    key = PairKey(1, 0, seed=9)
    lazy, cached = PairDataset(two_images, 32)[key], PairDataset(two_images, 32, preload=True)[key]
    assert all(torch.equal(lazy[v], cached[v]) for v in VIEWS)


def test_small_images_are_zero_padded_bottom_right():
    image = np.full((20, 30, 3), 200, dtype=np.uint8)
    crop = random_crop(image, 32, np.random.default_rng(0))
    assert crop.shape == (32, 32, 3)
    assert (crop[:20, :30] == 200).all() and (crop[20:] == 0).all() and (crop[:, 30:] == 0).all()


class RecordingEngine:
    def __init__(self):
        self.calls = []

    def __call__(self, images, sequences, realization):
        self.calls.append((images.clone(), list(sequences), realization))
        return images


def fake_crops(batch=3, size=8):
    # every view of every pair is constant with a distinct value, to trace rows
    values = torch.arange(4 * batch, dtype=torch.uint8).view(4, batch) * 10
    return {
        name: values[v].view(batch, 1, 1, 1).expand(batch, 3, size, size).contiguous() for v, name in enumerate(VIEWS)
    }


def test_same_sequence_on_a_b_and_both_scales():
    engine = RecordingEngine()
    synthesizer = PairSynthesizer(CompositionSampler(pristine_prob=0.0), (0, 0, 0), (1, 1, 1), seed=0, engine=engine)
    batch = synthesizer(fake_crops(), step=7)
    views_a, views_b = batch.views_a, batch.views_b
    assert len(engine.calls) == 4
    sequences = [call[1] for call in engine.calls]
    assert all(s == sequences[0] for s in sequences)
    assert len(set(sequences[0])) == 3 and all(not s.is_pristine for s in sequences[0])
    assert sorted(call[2] for call in engine.calls) == [0, 1, 2, 3]  # fresh random draws per view
    # row i of views_a (A full, then A half) has row i of views_b (B, same scale) as positive
    expected_a = torch.cat([fake_crops()["a_full"], fake_crops()["a_half"]]).float() / 255
    expected_b = torch.cat([fake_crops()["b_full"], fake_crops()["b_half"]]).float() / 255
    assert torch.allclose(views_a, expected_a) and torch.allclose(views_b, expected_b)


def test_sequences_are_keyed_by_seed_rank_and_step():
    sampler = CompositionSampler(pristine_prob=0.0)
    first = PairSynthesizer(sampler, (0, 0, 0), (1, 1, 1), seed=0, engine=reference_engine)
    assert first.sequences(3, 4) == first.sequences(3, 4)
    assert first.sequences(3, 4) != first.sequences(4, 4)
    other_rank = PairSynthesizer(sampler, (0, 0, 0), (1, 1, 1), seed=0, rank=1, engine=reference_engine)
    assert first.sequences(3, 4) != other_rank.sequences(3, 4)


def test_reference_engine_applies_one_sequence_per_image():
    images = torch.rand(2, 3, 16, 16)
    sequences = [DistortionSequence(), DistortionSequence.of(("brighten", 3))]
    out = reference_engine(images, sequences, realization=0)
    assert torch.equal(out[0], images[0])
    assert out[1].mean() > images[1].mean()


def test_after_mode_degrades_regions_then_takes_center_and_half_scale():
    engine = RecordingEngine()
    synthesizer = PairSynthesizer(
        CompositionSampler(pristine_prob=0.0), (0, 0, 0), (1, 1, 1), seed=0, engine=engine, half_scale="after"
    )
    regions = {
        "a": torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8),
        "b": torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8),
    }
    batch = synthesizer(regions, step=0)
    assert len(engine.calls) == 2 and sorted(call[2] for call in engine.calls) == [0, 1]
    assert engine.calls[0][1] == engine.calls[1][1]  # one sequence per pair, on A's and B's region
    a = regions["a"].float() / 255
    assert batch.views_a.shape == (4, 3, 8, 8)
    assert torch.allclose(batch.views_a[:2], a[..., 4:12, 4:12])
    # the half scale of a region is its 2x downscale: for factor 2, antialiased bilinear
    # averages each 2x2 block with its neighbours' edges; flat images stay flat
    flat = {
        "a": torch.full((1, 3, 16, 16), 200, dtype=torch.uint8),
        "b": torch.full((1, 3, 16, 16), 10, dtype=torch.uint8),
    }
    flat_batch = synthesizer(flat, step=1)
    assert torch.allclose(flat_batch.views_a[1], torch.full((3, 8, 8), 200 / 255), atol=1e-6)
    assert torch.isnan(batch.labels).all()  # no labels without a labeller


def test_after_mode_dataset_yields_double_size_regions(two_images):
    dataset = PairDataset(two_images, crop_size=16, half_scale="after", max_short_side=40)
    sample = dataset[PairKey(0, 1, 5)]
    assert set(sample) == {"a", "b"} and sample["a"].shape == (3, 32, 32)
    full, _ = dataset.image(0)
    assert min(full.shape[:2]) <= 40
    with pytest.raises(ValueError, match="half_scale"):
        PairDataset(two_images, crop_size=16, half_scale="sideways")


def test_single_distortions_are_labelled_by_the_proxy_and_grouped():
    from conftest import shared_labels

    from training.degradation.sampler import MixtureSampler, SingleDistortionSampler
    from training.evaluation.kadid_proxy import ProxyLabels, kadid_level_mos

    labels = ProxyLabels(shared_labels())
    singles = SingleDistortionSampler(["gaublur", "jpeg"])
    sampler = MixtureSampler(singles, CompositionSampler(pristine_prob=0.0), first_prob=0.5)
    synthesizer = PairSynthesizer(sampler, (0, 0, 0), (1, 1, 1), seed=3, engine=RecordingEngine(), labels=labels)
    batch = synthesizer(fake_crops(batch=64), step=0)
    sequences = synthesizer.sequences(0, 64)
    mos = kadid_level_mos(shared_labels())
    for sequence, label in zip(sequences, batch.labels.tolist()):
        if len(sequence) == 1 and sequence.names[0] in ("gaublur", "jpeg") and label == label:
            kadid = {"gaublur": 1, "jpeg": 10}[sequence.names[0]]
            assert label == pytest.approx(mos[(kadid, sequence.levels[0])])
    labelled = torch.isfinite(batch.labels)
    assert 16 < int(labelled.sum()) < 48  # about half
    # groups: equal degradations share an id at each scale, the two scales never do
    groups = batch.groups
    assert groups.shape == (128,)
    keys = [tuple(zip(s.names, s.levels)) for s in sequences]
    for i in range(64):
        for j in range(64):
            assert (groups[i] == groups[j]) == (keys[i] == keys[j])
            assert groups[i] != groups[64 + j]
