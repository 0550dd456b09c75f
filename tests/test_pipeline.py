import threading

import numpy as np
import pytest
from conftest import has_torch
from video_helpers import base_frame, moving

from arniqa_edge.errors import ArniqaEdgeError
from arniqa_edge.pipeline import Frame, score_frames
from arniqa_edge.scorer import Scorer

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture(scope="module")
def scorer(lite0_imagenet_weights, blur_regressor):
    return Scorer(weights=lite0_imagenet_weights, regressor=blur_regressor, backend="torch", device="cpu", batch_size=4)


def frames(count: int, start: int = 0):
    image = base_frame()
    return [Frame(i, i / 10, moving(image, i)) for i in range(start, start + count)]


def test_scores_in_order_and_equal_to_predict_batch(scorer):
    inputs = frames(7)
    # A frame of another size in the middle splits the batch without reordering anything.
    inputs[3] = Frame(3, 0.3, np.ascontiguousarray(inputs[3].image[:96, :128]))
    results = list(score_frames(scorer, iter(inputs), keep_images=True))
    expected = scorer.predict_batch([f.image for f in inputs])
    assert [r.index for r in results] == list(range(7))
    assert np.allclose([r.score for r in results], [p.score for p in expected], atol=1e-5)
    assert all(r.image is f.image for r, f in zip(results, inputs))


def test_an_exception_in_the_decoder_comes_after_every_frame_before_it(scorer):
    def decode():
        yield from frames(5)
        raise KeyboardInterrupt

    seen = []
    with pytest.raises(KeyboardInterrupt):
        for result in score_frames(scorer, decode(), batch_size=2):
            seen.append(result.index)
    assert seen == [0, 1, 2, 3, 4]
    assert not [t for t in threading.enumerate() if t.name.startswith("arniqa-")]


def test_closing_early_stops_the_threads_and_bounds_decoding(scorer):
    decoded = []

    def endless():
        image = base_frame()
        for index in range(10_000):
            decoded.append(index)
            yield Frame(index, 0.0, image)

    stream = score_frames(scorer, endless(), batch_size=2, depth=1)
    assert next(stream).index == 0
    stream.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("arniqa-")]
    # Bounded queues: the decoder ran at most a few batches ahead, not through the whole source.
    assert len(decoded) < 20


def test_failed_frames_keep_their_place_and_cost_only_themselves(scorer):
    inputs = frames(7)
    inputs[2] = Frame(2, 0.2, None, error="undecodable frame")  # the source could not decode it
    inputs[5] = Frame(5, 0.5, np.zeros((10, 10, 3), np.uint8))  # too small to score
    results = list(score_frames(scorer, iter(inputs), batch_size=3, isolate_failures=True))
    assert [r.index for r in results] == list(range(7))
    assert [r.index for r in results if r.failed] == [2, 5]
    assert results[2].error == "undecodable frame" and results[5].error and np.isnan(results[5].score)
    good = [f.image for f in inputs if f.index not in (2, 5)]
    assert np.allclose(
        [r.score for r in results if not r.failed], [p.score for p in scorer.predict_batch(good)], atol=1e-5
    )


def test_a_batch_whose_scores_are_refused_is_scored_again_frame_by_frame(scorer, monkeypatch):
    inputs = frames(6)
    refused = scorer.embed(inputs[4].image)  # as a Scorer that refuses a non-finite score would, for one frame
    predict = scorer.predict_features

    def refusing(features):
        if any(np.allclose(f, refused, atol=1e-4) for f in features):
            raise ArniqaEdgeError("the score is not finite")
        return predict(features)

    monkeypatch.setattr(scorer, "predict_features", refusing)
    results = list(score_frames(scorer, iter(inputs), batch_size=3, isolate_failures=True))
    assert [(r.index, r.error) for r in results if r.failed] == [(4, "the score is not finite")]
    assert [r.index for r in results] == list(range(6)) and not np.isnan(results[3].score)
    with pytest.raises(ArniqaEdgeError):  # without isolation, the error ends the stream as before
        list(score_frames(scorer, iter(inputs), batch_size=3))
