"""Turn the core's frame statistics into a diagnostic_msgs/DiagnosticArray for /diagnostics."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

from fer_ros.core.stats import Snapshot
from fer_ros.node.dds import discovery_advice, large_frame_advice, middleware_settings, rmw_in_use


def diagnostic_array(snap: Snapshot, level: int, message: str, name: str, hardware_id: str,
                     extra: dict[str, str], stamp) -> DiagnosticArray:
    values = {
        "input rate (Hz)": f"{snap.rate('received'):.2f}",
        "processed rate (Hz)": f"{snap.rate('processed'):.2f}",
        "dropped stale frames (total)": str(snap.totals["dropped_stale"]),
        "received frames (total)": str(snap.totals["received"]),
        "processed frames (total)": str(snap.totals["processed"]),
        "faces awaiting confirmation (total)": str(snap.totals["faces_unconfirmed"]),
        **{f"rejected {cause} (total)": str(n) for cause, n in sorted(snap.rejected().items())},
        **{f"fault {kind} (total)": str(n) for kind, n in sorted(snap.fault_counts().items())},
        **{f"{stage} latency (ms)": f"{seconds * 1000:.1f}" for stage, seconds in sorted(snap.mean_latency.items())},
        "seconds since last frame": "never" if snap.since_last_frame is None else f"{snap.since_last_frame:.1f}",
        **extra,
    }
    status = DiagnosticStatus(level=bytes([level]), name=name, message=message, hardware_id=hardware_id,
                              values=[KeyValue(key=k, value=v) for k, v in values.items()])
    return DiagnosticArray(header=Header(stamp=stamp), status=[status])


def no_input_message(topic: str, publishers: int, seconds: float, reliability: str,
                     rmw: str | None = None) -> str:
    """The warning logged while no image arrives: what the node sees of the topic and what to check,
    for the middleware ``rmw`` (default: this process's)."""
    rmw = rmw or rmw_in_use()
    waited = f"no images on {topic} for {seconds:.0f} s"
    if publishers == 0:
        return (f"{waited}, and no publisher of it is seen. Check the topic name (remap 'image', or "
                "image_topic:= in the launch file), and that the camera driver runs with the same "
                f"ROS_DOMAIN_ID and middleware settings as this node ({middleware_settings(rmw)}): "
                f"{discovery_advice(rmw)}")
    qos = ("it gets nothing from a best-effort publisher (input_reliability: best_effort takes both)."
           if reliability == "reliable" else large_frame_advice(rmw))
    return (f"{waited}, though {publishers} publisher(s) of it are seen. Is the camera streaming? This "
            f"subscription is {reliability} (middleware {rmw}): {qos}")


def clock_description(sim_time: bool, now_ns: int) -> str:
    """Which clock stamps the node's messages (diagnostics' "clock" value): with use_sim_time, also
    whether /clock has been heard from (until then the node's time is 0)."""
    if not sim_time:
        return "system"
    return "/clock (use_sim_time)" if now_ns > 0 else "/clock (use_sim_time), none received yet: stamps are 0"
