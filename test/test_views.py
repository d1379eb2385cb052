"""Views of a face (fer_ros.core.views): framings and mirror images, averaged in one batch."""

import numpy as np
import pytest

from fer_ros.core.types import FaceSquare
from fer_ros.core.views import CYCLE, FIRST, View, classify_views, view_batch, views_for


class LeftOrRight:
    """A classifier that says 'angry' when the left half of a crop is brighter, else 'disgust'."""

    input_size = 48

    def predict_single(self, faces):
        left = faces[:, :, :24].mean(axis=(1, 2)) > faces[:, :, 24:].mean(axis=(1, 2))
        scores = np.zeros((len(faces), 7), np.float32)
        scores[np.arange(len(faces)), np.where(left, 0, 1)] = 1
        return scores


def test_a_view_moves_the_square_along_the_face_and_scales_it():
    square = FaceSquare(100.0, 100.0, 50.0)
    assert View(dy=0.1).of(square) == FaceSquare(100.0, 105.0, 50.0)
    assert View(scale=0.9).of(square) == FaceSquare(100.0, 100.0, 45.0)
    turned = View(dy=0.1).of(FaceSquare(100.0, 100.0, 50.0, 90.0))  # a face lying on its right side:
    assert (turned.cx, turned.cy) == pytest.approx((105.0, 100.0))  # its "down" is the image's right


def test_the_first_classification_takes_both_first_views_and_later_ones_cycle():
    assert views_for(0, True) == FIRST == (View(), View(mirror=True))
    assert [views_for(k, True) for k in range(1, len(CYCLE) + 2)] == [(v,) for v in CYCLE] + [(CYCLE[0],)]
    assert views_for(7, False) == FIRST  # without smoothing nothing averages over time: both, every time
    assert sum(v.mirror for v in CYCLE) == len(CYCLE) // 2  # each framing as seen and mirrored
    assert all(a.mirror != b.mirror for a, b in zip(CYCLE, CYCLE[1:]))  # the mirror alternates


def test_classify_views_averages_each_faces_views_in_one_batch():
    image = np.zeros((100, 200), np.uint8)
    image[:, :60] = 200  # the left face's left half is bright
    image[:, 140:] = 200  # the right face's right half is bright
    squares = [FaceSquare(60.0, 50.0, 80.0), FaceSquare(140.0, 50.0, 80.0)]
    batch, owners = view_batch(image, squares, [FIRST, (View(mirror=True),)], 48)
    assert batch.shape == (3, 48, 48) and owners.tolist() == [0, 0, 1]
    scores = classify_views(LeftOrRight(), image, squares, [FIRST, (View(mirror=True),)])
    np.testing.assert_allclose(scores[0, :2], [0.5, 0.5])  # as seen: angry; mirrored: disgust; averaged
    np.testing.assert_allclose(scores[1, :2], [1.0, 0.0])  # mirrored, the bright half is on the left
    assert classify_views(LeftOrRight(), image, [], []).shape == (0, 7)


def test_the_accuracy_benchs_per_view_scores_average_to_what_the_pipeline_classifies():
    """fer_ros.bench.accuracy.view_scores keeps each view's probabilities; their average is the
    pipeline's (one averaging, fer_ros.core.views.average_views), bit for bit."""
    from fer_ros.bench.accuracy import view_scores

    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (120, 200), np.uint8)
    squares = [FaceSquare(50.0, 60.0, 40.0), FaceSquare(140.0, 60.0, 50.0, 10.0)]

    class Random:
        input_size = 48

        def predict_single(self, faces):  # different probabilities for every crop, the same for the same crop
            seeds = faces.reshape(len(faces), -1).sum(axis=1)
            return np.stack([np.random.default_rng(int(s)).dirichlet(np.ones(7)) for s in seeds]).astype(np.float32)

    each, average = view_scores(Random(), image, squares, CYCLE)
    assert each.shape == (2, len(CYCLE), 7)
    assert np.array_equal(average, classify_views(Random(), image, squares, [CYCLE] * 2))
    assert np.allclose(average, each.mean(axis=1), atol=1e-6)
