"""EmotionSmoother: flicker suppression, switching after a sustained change, uncertainty, resets."""

import numpy as np
import pytest

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ConfigError
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother

SAD = EMOTIONS.index("sad")


def mix(**weights: float) -> np.ndarray:
    """A probability vector with the given labels' weights, the rest spread evenly."""
    scores = np.zeros(len(EMOTIONS))
    for label, weight in weights.items():
        scores[EMOTIONS.index(label)] = weight
    rest = [i for i, label in enumerate(EMOTIONS) if label not in weights]
    scores[rest] = (1 - scores.sum()) / len(rest)
    return scores


def test_flicker_between_two_labels_does_not_flip_the_label():
    smoother = EmotionSmoother(time_constant=0.5, hysteresis=0.1)
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
    smoother = EmotionSmoother(time_constant=tau, hysteresis=0.1, uncertain_below=0.0)
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
    smoother = EmotionSmoother(time_constant=0.0, hysteresis=0.1)
    smoother.update("a", mix(happy=0.9), 0.0)
    close = smoother.update("a", mix(happy=0.42, sad=0.48), 0.1)
    np.testing.assert_allclose(close.scores, mix(happy=0.42, sad=0.48), atol=1e-6)
    assert close.label == "happy"  # sad leads by only 0.06
    assert smoother.update("a", mix(sad=0.7, happy=0.2), 0.2).label == "sad"


def test_uncertain_below_threshold_reports_the_top_probability():
    smoother = EmotionSmoother(uncertain_below=0.4)
    flat = smoother.update("a", mix(neutral=0.3, sad=0.25), 0.0)
    assert flat.label == UNCERTAIN
    assert flat.confidence == pytest.approx(0.3, abs=1e-6)
    sure = smoother.update("b", mix(neutral=0.8), 0.0)
    assert sure.label == "neutral" and sure.confidence == pytest.approx(0.8, abs=1e-6)


def test_uncertain_is_left_only_above_the_threshold_plus_hysteresis():
    """A probability hovering at uncertain_below does not flip the label each frame: uncertain is
    entered below the threshold and left only at threshold + hysteresis."""
    smoother = EmotionSmoother(time_constant=0.0, hysteresis=0.1, uncertain_below=0.4)
    labels = [smoother.update("a", mix(happy=p, sad=0.2), k / 30).label
              for k, p in enumerate([0.45, 0.38, 0.42, 0.39, 0.44, 0.48, 0.49, 0.51, 0.45, 0.41, 0.39])]
    assert labels == ["happy", UNCERTAIN, UNCERTAIN, UNCERTAIN, UNCERTAIN, UNCERTAIN, UNCERTAIN,
                      "happy", "happy", "happy", UNCERTAIN]
    assert smoother.update("b", mix(happy=0.45, sad=0.2), 0.0).label == "happy"  # a new face above: labelled
    assert smoother.update("c", mix(happy=0.35, sad=0.2), 0.0).label == UNCERTAIN  # ... below: uncertain
    flat = EmotionSmoother(time_constant=0.0, hysteresis=0.0, uncertain_below=0.4)
    assert [flat.update("a", mix(happy=p, sad=0.2), k).label for k, p in enumerate([0.38, 0.41])] == \
        [UNCERTAIN, "happy"]  # no hysteresis: the threshold alone


def test_time_going_back_resets_every_track():
    smoother = EmotionSmoother(time_constant=10.0)
    smoother.update("a", mix(happy=0.9), 100.0)
    smoother.update("b", mix(happy=0.9), 100.0)
    restarted = smoother.update("a", mix(sad=0.9), 1.0)  # a bag replayed from the start
    assert restarted.label == "sad" and restarted.scores[SAD] == pytest.approx(0.9, abs=1e-6)
    assert "b" not in smoother and len(smoother) == 1


def test_tracks_expire_after_max_age_and_memory_stays_bounded():
    smoother = EmotionSmoother(time_constant=10.0, max_age=1.0, max_tracks=50)
    smoother.update("old", mix(happy=0.9), 0.0)
    smoother.update("other", mix(happy=0.9), 0.9)
    assert "old" in smoother
    back = smoother.update("old", mix(sad=0.9), 1.5)  # unseen for 1.5 s > max_age: starts afresh
    assert back.label == "sad"
    smoother.update("x", mix(sad=0.9), 2.5)
    assert "other" not in smoother  # not updated since 0.9

    for i in range(200):
        smoother.update(f"face_{i}", mix(neutral=0.9), 3.0)
    assert len(smoother) == 50 and "face_199" in smoother

    smoother.forget({"face_199", "face_198"})
    assert len(smoother) == 2
    smoother.reset()
    assert len(smoother) == 0


def test_result_is_read_only_and_bad_input_is_refused():
    result = EmotionSmoother().update("a", mix(happy=0.9), 0.0)
    with pytest.raises(ValueError):
        result.scores[0] = 1.0
    with pytest.raises(ValueError):
        EmotionSmoother().update("a", np.ones(5), 0.0)
    with pytest.raises(ConfigError):
        EmotionSmoother(time_constant=-1)


def test_current_peeks_without_updating():
    smoother = EmotionSmoother(time_constant=0.5)
    assert smoother.current("a") is None  # no state yet
    updated = smoother.update("a", mix(happy=0.9), 0.0)
    peeked = smoother.current("a")
    assert peeked.label == updated.label == "happy"
    assert np.array_equal(peeked.scores, updated.scores) and peeked.confidence == updated.confidence
    twin = EmotionSmoother(time_constant=0.5)  # the same updates without the peeks
    twin.update("a", mix(happy=0.9), 0.0)
    later = smoother.update("a", mix(sad=0.9), 0.1)
    assert np.array_equal(later.scores, twin.update("a", mix(sad=0.9), 0.1).scores)  # a peek changed nothing
    assert np.array_equal(smoother.current("a").scores, later.scores)
