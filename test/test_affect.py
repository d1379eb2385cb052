"""Valence/arousal from emotion probabilities: signs of the basic emotions and value ranges."""

import numpy as np
import pytest

from fer_ros.core.affect import valence_arousal, valence_arousal_batch
from fer_ros.core.emotions import EMOTIONS


def one_hot(label: str) -> np.ndarray:
    scores = np.zeros(len(EMOTIONS), np.float32)
    scores[EMOTIONS.index(label)] = 1.0
    return scores


def test_basic_emotions_land_in_their_quadrants():
    assert valence_arousal(one_hot("happy"))[0] > 0.5
    valence, arousal = valence_arousal(one_hot("sad"))
    assert valence < -0.5 and arousal < 0
    assert valence_arousal(one_hot("neutral")) == pytest.approx((0.0, 0.0), abs=1e-6)
    for label in ("angry", "fear", "surprise"):
        assert valence_arousal(one_hot(label))[1] > 0.5
    for label in ("angry", "disgust", "fear", "sad"):
        assert valence_arousal(one_hot(label))[0] < 0


def test_mixture_is_the_expected_value_and_unnormalised_rows_are_normalised():
    half = (one_hot("happy") + one_hot("neutral")) / 2
    assert valence_arousal(half) == pytest.approx(tuple(np.array(valence_arousal(one_hot("happy"))) / 2))
    assert valence_arousal(half * 3) == pytest.approx(valence_arousal(half))
    assert valence_arousal(np.zeros(7)) == (0.0, 0.0)


def test_batch_matches_single_and_stays_in_range():
    rng = np.random.default_rng(1)
    scores = rng.dirichlet(np.full(7, 0.3), size=500)
    batch = valence_arousal_batch(scores)
    assert batch.shape == (500, 2) and batch.dtype == np.float32
    assert np.all(batch >= -1) and np.all(batch <= 1)
    np.testing.assert_allclose(batch[7], valence_arousal(scores[7]), atol=1e-6)
    assert valence_arousal_batch(np.zeros((0, 7))).shape == (0, 2)
    with pytest.raises(ValueError):
        valence_arousal_batch(np.ones((3, 6)))
