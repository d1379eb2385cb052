"""One harness for talking to a fer_node process, used by the demo, soak, regression, bench and tests.

    node = NodeProcess(["max_faces:=2"], remaps={"image": "/x/image", "emotion": "/x/emotion"})
    link = Link("fer_tool")                       # our side of the graph, spun in a thread
    answers = link.listen(FaceEmotionArray, "/x/emotion", Answers())
    camera = link.image_publisher("/x/image")
    if not node.wait_ready(60): ...               # its "ready:" log line
    link.wait_for_node(node, camera, "/x/emotion")  # publisher and subscriber matched
    camera.publish(raw_image(data, width, height, header(sec, nanosec)))
    reply = answers.wait_for(stamp, timeout=2.0)  # the answer carrying that header stamp
    node.stop(); link.close(); node.frame_counts()  # frame counts from its log at shutdown

``NodeProcess`` starts the node (parameters, remaps, namespace, executable, CPU pinning, environment)
and collects its log; ``Link`` is an rclpy node in its own context; ``Answers`` collects the node's
messages by header stamp; ``play`` replays a rosbag2's image topics into the graph.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from fer_ros.tools.bags import read_raw

# After we see the subscriber, give its side of discovery time to see us, or the first
# best-effort messages are lost.
DISCOVERY_SETTLE_S = 0.5
READY = "ready:"  # the line fer_node logs once it subscribes and publishes


class LinkError(RuntimeError):
    """The node exited, or it and we did not see each other in time."""


def node_command(params: Mapping | Iterable[str] | None = None, remaps: Mapping[str, str] | None = None,
                 namespace: str = "", executable: str = "fer_node") -> list[str]:
    """``executable --ros-args -r FROM:=TO ... -p NAME:=VALUE ...``. ``params`` is a mapping or
    ``NAME:=VALUE`` strings (e.g. a tool's --param list; a later one wins, as in ROS)."""
    command = [executable, "--ros-args"]
    for source, target in (remaps or {}).items():
        command += ["-r", f"{source}:={target}"]
    if namespace:
        command += ["-r", f"__ns:={namespace}"]
    items = [f"{name}:={value}" for name, value in params.items()] if isinstance(params, Mapping) else params
    for item in items or ():
        command += ["-p", item]
    return command


class NodeProcess:
    """``executable`` (fer_node, or e.g. fer_lifecycle_node) in its own process, its stdout and stderr
    collected line by line in ``lines`` (and echoed to ``echo``, a file, when given). ``cpus`` pins it
    to those cores; ``env`` replaces this process's environment. ``wait_ready`` waits for the log
    line containing ``ready``; ``stop`` terminates it (kill after a timeout) and reads the rest of its log."""

    def __init__(self, params: Mapping | Iterable[str] | None = None, remaps: Mapping[str, str] | None = None,
                 namespace: str = "", executable: str = "fer_node", *, cpus: set[int] | None = None,
                 env: Mapping[str, str] | None = None, ready: str = READY, echo=None):
        self.name, self.ready, self.echo = executable, ready, echo
        self.command = node_command(params, remaps, namespace, executable)
        self.lines: list[str] = []
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.launched_ns = time.time_ns()
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=None if env is None else dict(env), preexec_fn=pin)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if self.echo is not None:
                print(line, file=self.echo, flush=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        """Its exit code, or None while it runs."""
        return self.process.poll()

    @property
    def output(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def tail(self, count: int = 20, indent: str = "  ") -> str:
        """The last ``count`` lines of its log, each on its own line after ``indent``."""
        return indent + f"\n{indent}".join(self.lines[-count:])

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait for the ``ready`` line; False if the process exits or ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not any(self.ready in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def ready_seconds(self) -> float | None:
        """Seconds from the process start to its ``ready:`` line, read from the line's log time stamp."""
        for line in self.lines:
            match = re.search(r"\[(\d+\.\d+)\] \[[^]]*\]: ready:", line)
            if match:
                return float(match.group(1)) - self.launched_ns / 1e9
        return None

    def frame_counts(self) -> dict[str, int] | None:
        """The node's ``frame counts: {...}`` line, logged at shutdown."""
        for line in reversed(self.lines):
            match = re.search(r"frame counts: (\{.*\})", line)
            if match:
                return ast.literal_eval(match.group(1))
        return None

    def stop(self, timeout: float = 15.0) -> int:
        """Terminate it and wait; kill it if it has not exited after ``timeout`` seconds. Returns its
        exit code once the rest of its log is read."""
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(5.0)
        return self.process.returncode


class Link:
    """Our side of the graph: an rclpy node in a context of its own, spun in a background thread."""

    def __init__(self, name: str):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(args=[], context=self.context)  # never our own command line
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def listen(self, msg_type, topic: str, callback: Callable | None = None, depth: int = 100):
        """Hand every ``msg_type`` on ``topic`` (reliable QoS) to ``callback``, or to a new list;
        returns the callback or the list."""
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        received = [] if callback is None else callback
        self.node.create_subscription(msg_type, topic, received.append if callback is None else callback,
                                      QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE))
        return received

    def image_publisher(self, topic: str, msg_type=None, qos=None):
        """A publisher of raw images (or ``msg_type``) on ``topic``, sensor-data QoS as a camera driver."""
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        return self.node.create_publisher(msg_type or Image, topic, qos or qos_profile_sensor_data)

    def wait_for_node(self, node: NodeProcess, publisher=None, topic: str | None = None, timeout: float = 30.0,
                      settle: float = DISCOVERY_SETTLE_S) -> None:
        """Wait until ``node`` subscribes to ``publisher`` and, when given, publishes ``topic`` (its
        answers), then ``settle`` seconds for its side of discovery to see us too. LinkError if it
        exits or ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            if publisher is not None and publisher.get_subscription_count() == 0:
                missing = f"{node.name}'s subscription of {publisher.topic_name} never matched"
            elif topic and self.node.count_publishers(topic) == 0:
                missing = f"{node.name}'s publisher of {topic} was never discovered"
            else:
                break
            if node.poll() is not None:
                raise LinkError(f"{node.name} exited with {node.poll()}:\n{node.tail()}")
            if time.monotonic() > deadline:
                raise LinkError(f"{missing}:\n{node.tail()}")
            time.sleep(0.05)
        time.sleep(settle)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self._thread.join(timeout=5)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def header(sec: int, nanosec: int = 0, frame_id: str = "camera"):
    """A std_msgs/Header stamped ``sec``.``nanosec``."""
    from std_msgs.msg import Header

    stamped = Header(frame_id=frame_id)
    stamped.stamp.sec, stamped.stamp.nanosec = sec, nanosec
    return stamped


def raw_image(data, width: int, height: int, stamped):
    """A bgr8 sensor_msgs/Image of ``data`` (an ``array('B')`` or bytes of height x width x 3, shared by
    every message built from it: no copy) under header ``stamped``."""
    from sensor_msgs.msg import Image

    msg = Image(header=stamped, height=height, width=width, encoding="bgr8", is_bigendian=0, step=width * 3)
    msg.data = data
    return msg


class Answers:
    """The node's answers (any message with a header), kept in arrival order and by header stamp with
    the wall-clock time of their arrival. Use it as a subscription callback; ``on_answer`` sees each."""

    def __init__(self, on_answer: Callable | None = None):
        self._condition = threading.Condition()
        self.messages: list = []
        self._arrivals: dict[int, tuple[int, object]] = {}  # stamp (ns) -> (first arrival ns, message)
        self._since: dict[int, list[int]] = {}  # stamp (ns) -> indices in ``messages``
        self.on_answer = on_answer

    def __call__(self, msg) -> None:
        now = time.time_ns()
        key = stamp_ns(msg.header)
        with self._condition:
            self._since.setdefault(key, []).append(len(self.messages))
            self.messages.append(msg)
            self._arrivals.setdefault(key, (now, msg))
            self._condition.notify_all()
        if self.on_answer is not None:
            self.on_answer(msg)

    def __len__(self) -> int:
        return len(self.messages)

    def mark(self) -> int:
        """A position in the arrival order: ``wait_for(..., since=mark)`` ignores earlier answers."""
        return len(self.messages)

    def arrival(self, stamp: int) -> tuple[int, object] | None:
        """(wall-clock ns of arrival, message) of the first answer stamped ``stamp`` (ns), or None."""
        return self._arrivals.get(stamp)

    @property
    def first_arrival_ns(self) -> int | None:
        first = self.messages[0] if self.messages else None
        return None if first is None else self._arrivals[stamp_ns(first.header)][0]

    def wait_for(self, stamp: int, timeout: float, since: int = 0):
        """The first answer stamped ``stamp`` (ns) that arrived at or after position ``since``, waiting
        up to ``timeout`` seconds; None if none came."""
        def found():
            return next((self.messages[i] for i in self._since.get(stamp, ()) if i >= since), None)

        with self._condition:
            self._condition.wait_for(lambda: found() is not None, timeout)
            return found()

    def wait_count(self, count: int, timeout: float, node: NodeProcess | None = None) -> bool:
        """Wait until ``count`` answers arrived; False after ``timeout`` seconds or once ``node`` exits."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (node is not None and node.poll() is not None):
                    return len(self.messages) >= count
                self._condition.wait(min(left, 0.1))
        return True


MESSAGE_TYPES = {"sensor_msgs/msg/Image": "Image", "sensor_msgs/msg/CompressedImage": "CompressedImage"}


def message_type(msgtype: str):
    """The rclpy class of a bag's image ``msgtype`` (a key of MESSAGE_TYPES)."""
    import sensor_msgs.msg

    return getattr(sensor_msgs.msg, MESSAGE_TYPES[msgtype])


def play(node, bag: str, rate: float = 1.0, remap: dict[str, str] | None = None,
         wait_for_subscribers: float = 5.0, qos=None, topics: set[str] | None = None) -> int:
    """Publish every image message of ``bag`` (of its ``topics`` only, when given) from rclpy ``node``,
    paced by the recorded timestamps / ``rate`` (``rate <= 0``: as fast as possible), with sensor-data
    QoS unless ``qos`` is given. Returns the number of messages published."""
    from rclpy.qos import qos_profile_sensor_data

    remap = remap or {}
    publishers = {}
    first_stamp = started = None
    count = 0
    for topic, msgtype, stamp, data in read_raw(bag, topics):
        if msgtype not in MESSAGE_TYPES:
            continue
        topic = remap.get(topic, topic)
        if topic not in publishers:
            publishers[topic] = node.create_publisher(message_type(msgtype), topic, qos or qos_profile_sensor_data)
            deadline = time.monotonic() + wait_for_subscribers
            while publishers[topic].get_subscription_count() == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(DISCOVERY_SETTLE_S)
        if first_stamp is None:
            first_stamp, started = stamp, time.monotonic()
        if rate > 0:
            delay = started + (stamp - first_stamp) / 1e9 / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        publishers[topic].publish(data)  # serialized CDR, exactly as recorded
        count += 1
    return count
