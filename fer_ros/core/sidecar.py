"""The model contract: the sidecar ``NAME.json`` beside every exported ``NAME.onnx``.

It makes preprocessing explicit, so nothing about a model is implicit: input size, colour, the
value range 0..255 pixels are scaled to, label order, output kind and the model file's SHA-256.
``fer_models.export`` and ``fer_models.single_pass`` write it (:func:`write_sidecar`,
:func:`update_sidecar`); the ``fer`` classifier backend reads it (:class:`ModelSpec`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ModelError


def sidecar_path(model_path: str | Path) -> Path:
    """The sidecar of ``model_path``: the same name with ``.json``."""
    return Path(model_path).with_suffix(".json")


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """What the sidecar says about a model's input and output."""

    name: str
    input_size: int  # square side in pixels
    color: str  # "gray"
    value_range: tuple[float, float]  # what 0..255 pixels are scaled to before the network
    labels: tuple[str, ...]
    output: str  # "probabilities" or "logits"
    sha256: str
    single_pass: str = ""  # a mirror-averaged model's single pass, beside it (fer_models.single_pass)

    @classmethod
    def from_file(cls, sidecar: Path) -> "ModelSpec":
        try:
            raw = json.loads(sidecar.read_text())
            spec = cls(name=raw["name"], input_size=int(raw["input_size"]), color=raw["color"],
                       value_range=tuple(raw["value_range"]), labels=tuple(raw["labels"]),
                       output=raw["output"], sha256=raw["sha256"], single_pass=raw.get("single_pass", ""))
        except FileNotFoundError:
            raise ModelError(
                f"{sidecar} is missing: every model needs its sidecar (written by python -m fer_models.export)"
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{sidecar}: malformed model sidecar ({error!r}); re-export the model") from None
        if sorted(spec.labels) != sorted(EMOTIONS):
            raise ModelError(f"{sidecar}: labels {spec.labels} are not the 7 FER2013 emotions {EMOTIONS}")
        if spec.color != "gray" or spec.output not in ("probabilities", "logits"):
            raise ModelError(f"{sidecar}: unsupported color {spec.color!r} or output {spec.output!r}")
        return spec


def _write(sidecar: Path, fields: dict) -> Path:
    sidecar.write_text(json.dumps(fields, indent=2) + "\n")
    return sidecar


def write_sidecar(model_path: Path, name: str, input_size: int, extra: dict | None = None) -> Path:
    """Write the sidecar of the model file ``model_path`` (grey input in raw 0..255 grey levels,
    probabilities in EMOTIONS order, the file's SHA-256), with the fields ``extra`` added."""
    return _write(sidecar_path(model_path), {
        "name": name,
        "input_size": input_size,
        "color": "gray",
        "value_range": [0.0, 255.0],  # raw grey levels; the network rescales internally
        "labels": list(EMOTIONS),
        "output": "probabilities",
        "sha256": sha256_of(model_path),
        **(extra or {}),
    })


def read_fields(model_path: str | Path) -> dict:
    """Every field of ``model_path``'s sidecar as written, unchecked (:class:`ModelSpec` checks)."""
    return json.loads(sidecar_path(model_path).read_text())


def update_sidecar(model_path: str | Path, **fields) -> Path:
    """Set ``fields`` in ``model_path``'s existing sidecar, keeping the others and their order."""
    return _write(sidecar_path(model_path), {**read_fields(model_path), **fields})
