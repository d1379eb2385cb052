"""Settings of the perception core (``PipelineConfig``) and what ``detector: auto`` resolves to."""

from __future__ import annotations

from dataclasses import field, fields, make_dataclass

from fer_ros.core import schema
from fer_ros.core.model_cache import FETCH_HINT, YUNET_FILE, cache_dir, cached_yunet


def _validate(self) -> "PipelineConfig":
    """Return ``self`` when every field is allowed; ConfigError naming the field and its range."""
    for name in self.field_names():
        schema.check(name, getattr(self, name))
    return self


def _field_names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _fields_reconfiguring(cls, kind: str) -> set[str]:
    """The fields whose change reconfigures ``kind`` (schema.DETECTOR, schema.CLASSIFIER, ...)."""
    return {name for name in cls.field_names() if schema.spec(name).reconfigures == kind}


# One field per schema parameter that the core uses (detector, classifier, tracking), with the
# schema's type and default; the node's parameters of the same names map onto these fields.
PipelineConfig = make_dataclass(
    "PipelineConfig",
    [(p.name, p.type, field(default=p.default)) for p in schema.PARAMETERS if p.pipeline],
    namespace={"__module__": __name__, "__doc__": "Settings of the core, derived from fer_ros.core.schema (types, defaults, "
                          "ranges).",
               "validate": _validate, "field_names": classmethod(_field_names),
               "fields_reconfiguring": classmethod(_fields_reconfiguring)},
)


def resolve_detector(detector: str, yunet_model: str) -> tuple[str, str, str]:
    """The backend and YuNet file that ``detector`` means, and one line saying which and why.
    ``auto``: YuNet when ``yunet_model`` names a file or the verified cached copy exists
    (fer_ros.core.model_cache), Haar otherwise."""
    if detector != "auto":
        return detector, yunet_model, f"detector {detector} (set by the detector parameter)"
    if yunet_model:
        return "yunet", yunet_model, f"detector auto: yunet ({yunet_model}, from yunet_model)"
    cached = cached_yunet()
    if cached is not None:
        return "yunet", str(cached), f"detector auto: yunet (verified {cached})"
    return "haar", "", (f"detector auto: haar (no verified {YUNET_FILE} in {cache_dir()}; for the faster, "
                        f"more accurate YuNet {FETCH_HINT})")
