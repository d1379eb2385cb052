"""Frame statistics and the health verdict behind /diagnostics."""

from fer_ros.core.stats import ERROR, OK, STALE, WARN, FrameStats, HealthThresholds, assess


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_windows_rates_and_verdicts():
    clock = Clock()
    stats = FrameStats(clock)
    limits = HealthThresholds(stale_after=2.0, warn_drop_ratio=0.5, warn_latency=0.1, error_reject_ratio=0.5)
    clock.now = 1.0
    assert assess(stats.snapshot(), limits)[0] == STALE  # never a frame

    for _ in range(10):
        stats.count("received")
        stats.count("processed")
        stats.add_latency({"total": 0.05})
    clock.now = 2.0
    snap = stats.snapshot()
    assert snap.rate("received") == 10.0 and abs(snap.mean_latency["total"] - 0.05) < 1e-9
    assert assess(snap, limits) == (OK, "processing")

    for _ in range(10):
        stats.count("received")
    stats.count("dropped_stale", 6)
    stats.count("processed", 4)
    clock.now = 3.0
    level, message = assess(stats.snapshot(), limits)
    assert level == WARN and "dropped" in message

    for _ in range(4):
        stats.count("received")
        stats.count("rejected_truncated")
    clock.now = 4.0
    snap = stats.snapshot()
    assert assess(snap, limits)[0] == ERROR and snap.rejected() == {"truncated": 4}
    assert stats.totals["received"] == 24

    clock.now = 10.0
    assert assess(stats.snapshot(), limits)[0] == STALE  # camera stopped


def test_faults_set_the_level_by_kind_and_name_their_cause():
    clock = [0.0]
    stats = FrameStats(clock=lambda: clock[0])
    limits = HealthThresholds()
    for _ in range(30):
        stats.count("received")
        stats.count("processed")
    stats.fault("detection_overdue", "background face detection still running after 1.3 s")
    stats.fault("detection_overdue", "background face detection still running after 1.4 s")
    clock[0] = 1.0
    level, message = assess(stats.snapshot(), limits)
    assert level == WARN and message == "2x background face detection still running after 1.4 s"
    stats.count("received")
    stats.count("rejected_internal_error")
    stats.fault("internal_error", "frame failed: RuntimeError('boom')")
    stats.fault("detection_failed", "background face detection failed: OSError()")
    clock[0] = 2.0
    snap = stats.snapshot()
    level, message = assess(snap, limits)  # 1 of 1 rejected as well: both errors, then the warning
    assert level == ERROR and message.startswith("1 of 1 frames rejected")
    assert message.index("RuntimeError('boom')") < message.index("OSError()")
    assert snap.fault_counts() == {"detection_overdue": 2, "internal_error": 1, "detection_failed": 1}
    clock[0] = 2.5
    assert assess(stats.snapshot(), limits)[0] == OK  # a window without faults (and frames: not stale yet)
