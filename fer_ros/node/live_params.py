"""Run-time parameter changes that never get lost and never show a value that is not in effect.

``ros2 param set`` calls the node's on-set-parameters callback, which hands the change to
:meth:`LiveParameters.on_set`: it is validated merged onto the values already accepted (so any number
of sets before the next frame all apply), the pipeline parts it changes are built there
(``EmotionPipeline.prepare``: a ``model`` that does not exist is refused at set time, with the reason,
and ``ros2 param get`` keeps the old value), and node-level settings (diagnostic thresholds, log
throttle, annotated output) take effect at once. The worker thread applies the prepared pipeline
change between frames (:meth:`apply_pending`).
"""

from __future__ import annotations

import threading

from rcl_interfaces.msg import SetParametersResult

from fer_ros.core.errors import FerError
from fer_ros.node import params

NAMES = {p.name for p in params.PARAMETERS}
NODE_FIELDS = NAMES - params.PIPELINE_FIELDS  # applied at once, without frames


class LiveParameters:
    """``values``: the parameter values in effect; ``accepted``: those accepted by a set (what
    ``ros2 param get`` shows), which differ from ``values`` only in pipeline fields whose prepared
    change the worker has not applied yet. Both dicts are replaced, never mutated, so any thread may
    read them. ``on_set`` runs on the executor (serialized by its callback group), ``apply_pending``
    on the worker."""

    def __init__(self, values: dict):
        self._lock = threading.Lock()
        self.values = dict(values)
        self.accepted = dict(values)
        self._pending = None  # (PreparedChange, its pipeline values), applied before the next frame

    def on_set(self, changes, pipeline) -> SetParametersResult:
        """Validate ``changes`` (rclpy Parameters) merged onto the accepted values and, when
        ``pipeline`` exists, prepare what they rebuild. Parameters that are not ours (QoS overrides,
        use_sim_time) pass through."""
        ours = [change for change in changes if change.name in NAMES]
        result = params.validate_change(self.accepted, ours)
        if not result.successful or not ours:
            return result
        merged = {**self.accepted, **{change.name: change.value for change in ours}}
        pipeline_values = {name: merged[name] for name in params.PIPELINE_FIELDS}
        prepared = None
        if pipeline is not None and any(merged[name] != self.accepted[name] for name in params.PIPELINE_FIELDS):
            try:  # builds a new detector or classifier when the change needs one: may take a while
                prepared = pipeline.prepare(params.pipeline_config(merged))
            except FerError as error:
                return SetParametersResult(successful=False, reason=str(error))
        with self._lock:
            self.accepted = merged
            self.values = {**self.values, **{name: merged[name] for name in NODE_FIELDS}}
            if prepared is not None:  # replaces an older pending change: it was prepared from merged values
                self._pending = (prepared, pipeline_values)
            elif pipeline is None:  # nothing loaded (lifecycle: unconfigured): the next load uses these
                self.values = dict(merged)
        return result

    def apply_pending(self, pipeline) -> set[str] | None:
        """Apply the prepared change, if any, to ``pipeline`` (on the thread that processes frames,
        between frames); return the changed fields, or None when nothing was pending."""
        with self._lock:  # a set arriving meanwhile waits, then merges onto what is applied here
            pending, self._pending = self._pending, None
            if pending is None:
                return None
            change, pipeline_values = pending
            changed = pipeline.apply(change)
            self.values = {**self.values, **pipeline_values}
            return changed

    def loaded(self) -> None:
        """A pipeline was just built from ``accepted``: everything accepted is in effect."""
        with self._lock:
            self._pending = None
            self.values = dict(self.accepted)

    def unloaded(self) -> None:
        """The pipeline was freed: a pending change has nothing to apply to."""
        with self._lock:
            self._pending = None
