"""The whole-pipeline accuracy bench (python -m fer_ros.bench.accuracy): where it places the faces,
a short run end to end (every label and target reported), and --compare, which compares two runs face
by face. No accuracy is asserted."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from fer_ros.bench.accuracy import LAYOUTS, MODELS, PATHS, ROLLS, SIZES, compare, main, scenes


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
    out = tmp_path / "run.json"
    assert main(["--faces", "6", "--systems", "haar", "--jobs", "1", "--data", str(fer_csv),
                 "--scenes", str(scenes), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
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
