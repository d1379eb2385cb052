"""The whole-pipeline accuracy bench (python -m fer_ros.bench.accuracy): where it places the faces,
a short run end to end (every label and target reported), --compare, which compares two runs face
by face, and the risk-coverage table (fer_ros.bench.risk_coverage) on constructed faces and on the
short run's stored probabilities. No accuracy is asserted."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from fer_ros.bench import risk_coverage as rc
from fer_ros.bench.accuracy import LAYOUTS, MODELS, PATHS, ROLLS, SIZES, compare, main, scenes
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.views import CYCLE


def test_every_face_is_placed_upright_and_rolled_in_the_next_frame():
    placed = scenes(40)
    by_face = {}
    for p in placed:
        by_face.setdefault(p.face, []).append(p)
    assert sorted(by_face) == list(range(40))
    for face, (upright, rolled) in by_face.items():
        assert upright.roll == 0 and abs(rolled.roll) in (10, 20) and rolled.roll in ROLLS
        assert rolled.frame == upright.frame + 1
        assert (rolled.cx, rolled.cy, rolled.side, rolled.position) == (upright.cx, upright.cy, upright.side,
                                                                        upright.position)
        assert upright.side == SIZES[face % len(SIZES)]
    positions = {p.position for p in placed}
    assert positions == {p for layout in LAYOUTS for p in layout}
    for p in placed:  # a border position touches its border
        half = p.side / 2
        edge = {"left": p.cx - half, "right": 640 - (p.cx + half), "top": p.cy - half, "bottom": 480 - (p.cy + half)}
        if p.position in edge:
            assert abs(edge[p.position]) < 1e-9, p


def test_a_short_run_labels_every_placed_face_and_compares_with_another(fer_csv, scenes, tmp_path, capsys):
    out, kept = tmp_path / "run.json", tmp_path / "scores.npz"
    assert main(["--faces", "6", "--systems", "haar", "--jobs", "1", "--data", str(fer_csv),
                 "--scenes", str(scenes), "--json", str(out), "--scores", str(kept), "--risk-coverage",
                 "--uncertain-below", "0,0.4", "--hysteresis", "0.1"]) == 0
    report = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "haar/default: " in printed and "| 0.4 | 0.1 | " in printed and "haar/fast: " in printed
    placed = report["placed"]
    assert len(placed) == 12 and report["frames"] == placed[-1]["frame"] + 1
    labels = report["systems"]["haar"]["labels"]
    assert set(labels) == {f"{path}/{model}" for path in PATHS for model in MODELS}
    for values in labels.values():
        assert len(values) == 12 and all(-1 <= v < 7 for v in values)
    assert any(v >= 0 for v in labels["detected/default"]), "Haar found none of the placed faces"
    names = [t["name"] for t in report["targets"]]
    assert any("haar + default: accuracy on the faces found minus" in name for name in names)
    assert all("error" in t for t in report["targets"])  # one standard error, where two faces or more count
    gap = next(t for t in report["targets"] if t["name"].startswith("detected, haar + default: accuracy on the faces"))
    assert gap["error"] is not None and gap["error"] >= 0

    from fer_models.data import load_split

    truth = load_split(fer_csv, "PublicTest").labels
    same = compare(report, report, truth)
    assert [c.key for c in same] == [f"haar/{model}/{path}" for path in PATHS for model in MODELS]
    assert all(c.after_only == c.before_only == 0 and c.points == 0 and c.z == 0 for c in same)

    # the probabilities stored for --risk-coverage are the run's: its labels are their argmax
    with np.load(kept) as stored:
        scores = {name: stored[name] for name in stored.files}
    assert int(scores["faces"]) == 6 and list(scores["truth"]) == list(truth[[p["face"] for p in placed]])
    assert rc.keys(scores) == ["haar/default", "haar/fast"]
    for model in MODELS:
        views, first = scores[f"haar/{model}/views"], scores[f"haar/{model}/first"]
        assert views.shape == (12, len(CYCLE), 7) and first.shape == (12, 7)
        video, detected = np.array(labels[f"video/{model}"]), np.array(labels[f"detected/{model}"])
        assert (np.isfinite(views[:, 0, 0]) == (video >= 0)).all()
        assert (np.isfinite(first[:, 0]) == (detected >= 0)).all()
        seen = video >= 0
        total = np.zeros((int(seen.sum()), 7))
        for v in range(len(CYCLE)):  # summed in the bench's order
            total += views[seen, v]
        assert ((total / len(CYCLE)).astype(np.float32).argmax(axis=1) == video[seen]).all()
        assert (first[detected >= 0].argmax(axis=1) == detected[detected >= 0]).all()
        assert np.allclose(views[seen].sum(axis=2), 1, atol=1e-4)
    capsys.readouterr()
    assert main(["--risk-coverage", str(kept), "--uncertain-below", "0.4", "--hysteresis", "0.05,0.1"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("| 0.4 | ") == 4 and "haar/fast: " in printed  # two settings, two models
    assert main(["--risk-coverage", str(tmp_path / "absent.npz")]) == 2

    # the second run labels right one face the first got wrong, and finds no face the first did not
    after = copy.deepcopy(report)
    found = np.array(labels["detected/default"])
    truth_placed = truth[[p["face"] for p in placed]]
    wrong = np.flatnonzero((found >= 0) & (found != truth_placed))
    right = np.flatnonzero((found >= 0) & (found == truth_placed))
    if not len(wrong) or not len(right):
        pytest.skip("the short run has no face labelled wrong, or none right, to change")
    after["systems"]["haar"]["labels"]["detected/default"][int(wrong[0])] = int(truth_placed[wrong[0]])
    after["systems"]["haar"]["labels"]["detected/default"][int(right[0])] = -1  # not found: left out
    change = {c.key: c for c in compare(report, after, truth)}["haar/default/detected"]
    assert change.faces == int((found >= 0).sum()) - 1
    assert (change.after_only, change.before_only) == (1, 0) and change.z == 1.0
    assert change.points > 0

    (tmp_path / "after.json").write_text(json.dumps(after))
    capsys.readouterr()
    assert main(["--compare", str(out), str(tmp_path / "after.json"), "--data", str(fer_csv)]) == 0
    assert "haar/default/detected" in capsys.readouterr().out

    other = copy.deepcopy(report)
    other["placed"][0]["side"] += 1
    with pytest.raises(ValueError, match="different faces"):
        compare(report, other, truth)
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert main(["--compare", str(out), str(tmp_path / "other.json"), "--data", str(fer_csv)]) == 2
    assert main(["--compare", str(out), str(tmp_path / "absent.json"), "--data", str(fer_csv)]) == 2
    assert "cannot read" in capsys.readouterr().err


def probabilities(**given) -> np.ndarray:
    """7 probabilities in EMOTIONS order: those named, the rest shared evenly."""
    p = np.full(7, (1 - sum(given.values())) / (7 - len(given)))
    for name, value in given.items():
        p[EMOTIONS.index(name)] = value
    return p


def test_the_risk_coverage_table_of_constructed_faces():
    """Five faces, without smoothing (time constant 0: each classification's probabilities as they are),
    three classifications each (a watch of 2/15 s at 30 fps, every other frame), worked out by hand."""
    happy, sad, angry = probabilities(happy=0.9), probabilities(happy=0.6, sad=0.3), probabilities(angry=0.35)
    faces = [  # (first, views (the cycle's first two matter), fit, truth)
        (happy, [happy, happy], True, "happy"),  # labelled, right
        (sad, [probabilities(sad=0.45, happy=0.40)] * 2, True, "sad"),  # happy held unless sad leads by 0.05
        (angry, [probabilities(angry=0.45)] * 2, True, "angry"),  # uncertain first; 0.45 leaves it only at h 0.04
        (happy, [happy, happy], False, "happy"),  # too blurred: uncertain at any setting
        (probabilities(neutral=0.8), [probabilities(surprise=0.8), probabilities(neutral=0.8)], True, "neutral"),
    ]
    first = np.array([f for f, *_ in faces])
    views = np.array([v + [happy] * (len(CYCLE) - 2) for _, v, *_ in faces])
    fit = np.array([ok for *_, ok, _ in faces])
    truth = np.array([EMOTIONS.index(t) for *_, t in faces])
    rows = rc.table(first, views, fit, truth, uncertain_below=(0.0, 0.4, 0.5), hysteresis=(0.04, 0.1),
                    watch=2 / 15, fps=30.0, classify_every=2, time_constant=0.0)
    got = {(r.uncertain_below, r.hysteresis): r for r in rows}
    assert [(r.hysteresis, r.uncertain_below) for r in rows] == [(h, u) for h in (0.04, 0.1) for u in (0.0, 0.4, 0.5)]
    # (first: labelled, right; end: labelled, right of those, right of all; watch: labelled, right; changes)
    expected = {
        (0.4, 0.1): (3 / 5, 2 / 3, 3 / 5, 2 / 3, 2 / 5, 9 / 15, 5 / 9, 2 / 5),
        (0.4, 0.04): (3 / 5, 2 / 3, 4 / 5, 1.0, 4 / 5, 11 / 15, 9 / 11, 4 / 5),
        (0.5, 0.1): (3 / 5, 2 / 3, 2 / 5, 1.0, 2 / 5, 7 / 15, 5 / 7, 3 / 5),
        (0.0, 0.1): (4 / 5, 3 / 4, 4 / 5, 3 / 4, 3 / 5, 12 / 15, 8 / 12, 2 / 5),
    }
    for setting, numbers in expected.items():
        r = got[setting]
        assert r.faces == 5
        assert (r.first_coverage, r.first_precision, r.coverage, r.precision, r.right, r.watch_coverage,
                r.watch_precision, r.changes) == pytest.approx(numbers), setting
        assert r.precision_error == pytest.approx((r.precision * (1 - r.precision) / (r.coverage * 5)) ** 0.5)

    # the labels of one face, step by step: sad takes over from happy only beyond the hysteresis
    smoother = rc.EmotionSmoother(0.0, 0.04, 0.4)
    assert [EMOTIONS[k] for k in rc.replay(first[1], views[1], True, smoother, 3, 1 / 15)] == ["happy", "sad", "sad"]
    assert list(rc.replay(first[2], views[2], True, rc.EmotionSmoother(0.0, 0.1, 0.4), 3, 1 / 15)) == [rc.UNCERTAIN] * 3

    # from a --scores file's arrays: a face not found is left out, one the whole-frame detection missed
    # gets its first look from the search's square (the face and its mirror image: views 0 and 5)
    stored = {"truth": np.array([3, 4, 0]), "faces": np.int64(3),
              "haar/default/first": np.array([happy, np.full(7, np.nan), happy], np.float32),
              "haar/default/views": np.array([views[0], views[1], np.full_like(views[0], np.nan)], np.float32),
              "haar/default/fit": np.array([True, True, False])}
    got_first, got_views, got_fit, found = rc.faces_of(stored, "haar/default")
    assert list(found) == [0, 1] and list(got_fit) == [True, True]
    assert np.allclose(got_first[1], (views[1][0] + views[1][5]) / 2) and np.allclose(got_first[0], happy)
