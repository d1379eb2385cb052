"""fer_models.model_card: the card's command, recipe, dropout and lineage."""

from __future__ import annotations

import json

import pytest

from fer_models_fixtures import always_happy, tiny_csv  # noqa: F401 (pytest fixtures)

keras = pytest.importorskip("keras")


def test_model_card_names_role_recipe_and_card_file(always_happy, tiny_csv, tmp_path, capsys):
    from fer_models import evaluate, model_card

    _, path = always_happy
    run = tmp_path / "run"
    run.mkdir()
    (run / "args.json").write_text(json.dumps({
        "data": "fer2013.csv", "arch": "fernet", "width": 16, "epochs": 3, "batch_size": 128, "lr": 0.003,
        "warmup_epochs": 1, "weight_decay": 0.01, "label_smoothing": 0.1, "class_weight_power": 0.3,
        "random_erasing": 0.4, "time_budget": 0, "seed": 1337, "teacher": None, "teacher_mix": 0.5}))
    (run / "history.csv").write_text("epoch,val_accuracy\n0,0.2\n1,0.4\n2,0.3\n")
    assert evaluate.main(["--data", str(tiny_csv), "--split", "PublicTest", "--model", str(path), "--json"]) == 0
    (run / "evaluation.json").write_text(capsys.readouterr().out)
    assert model_card.main(["--run", str(run), "--onnx", str(path), "--evaluation", str(run / "evaluation.json"),
                            "--card", "CARD_fast.md", "--role", "The fast test model"]) == 0
    card = (path.parent / "CARD_fast.md").read_text()
    assert card.startswith("# Model card: always_happy\n\nThe fast test model, trained by this project.")
    assert "--random-erasing 0.4" in card and "random erasing with probability 0.4" in card
    assert "--teacher" not in card  # unused distillation settings are left out of the command
    assert "best PublicTest accuracy at epoch 2" in card and "Epochs run: 3 of 3" in card
    assert f"--model {path}" in card and "--flip-average" not in card


def test_model_card_describes_the_dropout_the_run_used():
    from fer_models.model_card import architecture_summary

    older = {"arch": "fernet", "width": 32}  # runs from before --dropout existed
    assert "(width 32): four stages" in architecture_summary(older)
    assert "global average pooling, dropout 0.4," in architecture_summary(older)
    assert "dropout 0.2," in architecture_summary({"arch": "fernet", "width": 16, "dropout": 0.2})
    assert architecture_summary({"arch": "baseline"}) == "."


def test_model_card_lineage_shows_teacher_and_the_starting_run_command(tmp_path):
    from fer_models.model_card import lineage

    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "args.json").write_text(json.dumps({"data": "fer2013.csv", "width": 16, "lr": 0.003, "teacher": None}))
    (earlier / "history.csv").write_text("epoch,val_accuracy\n0,0.2\n1,0.4\n")
    args = {"teacher": "w32.keras", "teacher_mix": 0.5, "teacher_temperature": 2.0, "teacher_online": True,
            "initial_weights": "w16.keras"}
    text = "\n".join(lineage(args, earlier))
    assert "0.5 x the (smoothed) label + 0.5 x the teacher's probabilities" in text
    assert "temperature 2), the teacher being `w32.keras`; computed on every augmented batch" in text
    assert "Started from the trained weights `w16.keras`" in text and "--lr 0.003" in text
    assert "which ran 2 epochs" in text
    assert lineage({"teacher": None}, None) == []


def test_model_card_shows_the_detector_framings_a_run_trained_on():
    from fer_models.model_card import lineage, training_command

    args = {"width": 32, "framings": ["runs/haar.npz", "runs/yunet.npz"], "framing_mix": 0.5}
    assert "--framings runs/haar.npz runs/yunet.npz \\\n    --framing-mix 0.5" in training_command(args)
    text = "\n".join(lineage(args, None))
    assert "with probability 0.5, a Training face was first cut again" in text
    assert "`runs/haar.npz`, `runs/yunet.npz`" in text
    plain = {"width": 32, "framings": [], "framing_mix": 0.5}  # without framings the mix is not shown
    assert "framing" not in training_command(plain) and lineage(plain, None) == []
