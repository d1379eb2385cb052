"""EmotionSmoother: flicker suppression, switching after a sustained change, uncertainty. Each face's
state lives with its track (its expiry and resets: test_core_units.py)."""

import numpy as np
import pytest

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ConfigError
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother

SAD = EMOTIONS.index("sad")


class Faces:
    """The smoothed state of faces named by the test, kept as the pipeline keeps it on each track."""

    def __init__(self, **settings):
        self.smoother = EmotionSmoother(**settings)
        self.states = {}

    def update(self, face: str, raw: np.ndarray, stamp: float):
        self.states[face] = self.smoother.update(self.states.get(face), raw, stamp)
        return self.smoother.emotion(self.states[face])


def mix(**weights: float) -> np.ndarray:
    """A probability vector with the given labels' weights, the rest spread evenly."""
    scores = np.zeros(len(EMOTIONS))
    for label, weight in weights.items():
        scores[EMOTIONS.index(label)] = weight
    rest = [i for i, label in enumerate(EMOTIONS) if label not in weights]
    scores[rest] = (1 - scores.sum()) / len(rest)
    return scores


def test_flicker_between_two_labels_does_not_flip_the_label():
    smoother = Faces(time_constant=0.5, hysteresis=0.1)
    rng = np.random.default_rng(0)
    labels = []
    for frame in range(90):  # 3 s at 30 fps; the raw argmax alternates happy/sad almost every frame
        lead = 0.55 + 0.1 * rng.random()
        raw = mix(happy=lead, sad=0.9 - lead) if frame % 2 == 0 else mix(sad=lead, happy=0.9 - lead)
        result = smoother.update("face_0", raw, frame / 30)
        labels.append(result.label)
        assert result.scores.sum() == pytest.approx(1.0, abs=1e-5)
    assert set(labels) == {"happy"}


def test_sustained_change_switches_after_about_one_time_constant():
    tau = 0.5
    smoother = Faces(time_constant=tau, hysteresis=0.1, uncertain_below=0.0)
    t = 0.0
    for _ in range(30):
        assert smoother.update("a", mix(happy=0.94), t).label == "happy"
        t += 1 / 30
    change, switched_at = t, None
    while t < change + 3 * tau:
        if smoother.update("a", mix(sad=0.94), t).label == "sad" and switched_at is None:
            switched_at = t - change
        t += 1 / 30
    # EMA: sad leads happy by the 0.1 margin when exp(-dt/tau) < 0.45, i.e. after 0.8 tau.
    assert switched_at is not None and 0.5 * tau < switched_at <= 1.0 * tau


def test_time_constant_zero_follows_the_newest_scores_but_keeps_hysteresis():
    smoother = Faces(time_constant=0.0, hysteresis=0.1)
    smoother.update("a", mix(happy=0.9), 0.0)
    close = smoother.update("a", mix(happy=0.42, sad=0.48), 0.1)
    np.testing.assert_allclose(close.scores, mix(happy=0.42, sad=0.48), atol=1e-6)
    assert close.label == "happy"  # sad leads by only 0.06
    assert smoother.update("a", mix(sad=0.7, happy=0.2), 0.2).label == "sad"


def test_uncertain_below_threshold_reports_the_top_probability():
    smoother = Faces(uncertain_below=0.4)
    flat = smoother.update("a", mix(neutral=0.3, sad=0.25), 0.0)
    assert flat.label == UNCERTAIN
    assert flat.confidence == pytest.approx(0.3, abs=1e-6)
    sure = smoother.update("b", mix(neutral=0.8), 0.0)
    assert sure.label == "neutral" and sure.confidence == pytest.approx(0.8, abs=1e-6)


def test_uncertain_is_left_only_above_the_threshold_plus_hysteresis():
    """A probability hovering at uncertain_below does not flip the label each frame: uncertain is
    entered below the threshold and left only at threshold + hysteresis."""
    smoother = Faces(time_constant=0.0, hysteresis=0.1, uncertain_below=0.4)
    labels = [smoother.update("a", mix(happy=p, sad=0.2), k / 30).label
              for k, p in enumerate([0.45, 0.38, 0.42, 0.39, 0.44, 0.48, 0.49, 0.51, 0.45, 0.41, 0.39])]
    assert labels == ["happy", UNCERTAIN, UNCERTAIN, UNCERTAIN, UNCERTAIN, UNCERTAIN, UNCERTAIN,
                      "happy", "happy", "happy", UNCERTAIN]
    assert smoother.update("b", mix(happy=0.45, sad=0.2), 0.0).label == "happy"  # a new face above: labelled
    assert smoother.update("c", mix(happy=0.35, sad=0.2), 0.0).label == UNCERTAIN  # ... below: uncertain
    flat = Faces(time_constant=0.0, hysteresis=0.0, uncertain_below=0.4)
    assert [flat.update("a", mix(happy=p, sad=0.2), k).label for k, p in enumerate([0.38, 0.41])] == \
        [UNCERTAIN, "happy"]  # no hysteresis: the threshold alone


def test_result_is_read_only_and_bad_input_is_refused():
    smoother = EmotionSmoother()
    result = smoother.emotion(smoother.update(None, mix(happy=0.9), 0.0))
    with pytest.raises(ValueError):
        result.scores[0] = 1.0
    with pytest.raises(ValueError):
        smoother.update(None, np.ones(5), 0.0)
    with pytest.raises(ConfigError):
        EmotionSmoother(time_constant=-1)


def test_reading_the_emotion_changes_nothing():
    """A face not classified in a frame reports its state as it is (pipeline): reading it is no update."""
    smoother = EmotionSmoother(time_constant=0.5)
    state = smoother.update(None, mix(happy=0.9), 0.0)
    updated = smoother.emotion(state)
    peeked = smoother.emotion(state)
    assert peeked.label == updated.label == "happy"
    assert np.array_equal(peeked.scores, updated.scores) and peeked.confidence == updated.confidence
    twin = smoother.update(None, mix(happy=0.9), 0.0)  # the same updates without the peeks
    later = smoother.emotion(smoother.update(state, mix(sad=0.9), 0.1))
    assert np.array_equal(later.scores, smoother.emotion(smoother.update(twin, mix(sad=0.9), 0.1)).scores)
