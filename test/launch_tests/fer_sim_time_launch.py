"""launch_test file: fer.launch.py with use_sim_time:=true. The node's use_sim_time parameter is
true, its diagnostics keep coming while nothing publishes /clock (stamped 0, saying so), and once
/clock is published their stamps follow it. Run with the real tool (`launch_test
test/launch_tests/fer_sim_time_launch.py`); test/test_launch.py runs it so."""

import os
import time
import unittest
import uuid
from pathlib import Path

import launch
import launch_testing.actions
import launch_testing.asserts
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from rcl_interfaces.srv import GetParameters
from rclpy.parameter import parameter_value_to_python
from rosgraph_msgs.msg import Clock

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "fer.launch.py"
NAMESPACE = "fer_sim_time_test_" + uuid.uuid4().hex[:8]
NODE = f"/{NAMESPACE}/fer_node"
SIM_START = 1000  # seconds of simulated time: far from the system clock's ~1.7e9
PERIOD = 0.2  # diagnostic_period, seconds


def generate_test_description():
    return launch.LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH_FILE)),
            launch_arguments={"namespace": NAMESPACE, "use_sim_time": "true",
                              "diagnostic_period": str(PERIOD)}.items()),
        launch_testing.actions.ReadyToTest(),
    ])


def stamp_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class TestSimTime(unittest.TestCase):
    def setUp(self):
        rclpy.init()
        self.node = rclpy.create_node("fer_sim_time_test_client")
        self.diagnostics = []  # (stamp in seconds, the "clock" value) of our node's statuses
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.on_diagnostics, 10)

    def tearDown(self):
        self.node.destroy_node()
        rclpy.shutdown()

    def on_diagnostics(self, msg):
        for status in msg.status:
            if status.hardware_id == NODE:
                values = {kv.key: kv.value for kv in status.values}
                self.diagnostics.append((stamp_seconds(msg.header.stamp), values.get("clock")))

    def spin_until(self, predicate, seconds, clock=None):
        """Spin until ``predicate()``; meanwhile publish /clock from SIM_START on (10 ms of simulated
        time every 10 ms) when ``clock`` (a publisher) is given."""
        deadline = time.monotonic() + seconds
        sim = SIM_START
        while not predicate() and time.monotonic() < deadline:
            if clock is not None:
                clock.publish(Clock(clock=rclpy.time.Time(seconds=sim).to_msg()))
                sim += 0.01
            rclpy.spin_once(self.node, timeout_sec=0.01)
        return predicate()

    def get_parameter(self, name):
        client = self.node.create_client(GetParameters, f"{NODE}/get_parameters")
        self.assertTrue(client.wait_for_service(timeout_sec=30), f"no {NODE}/get_parameters")
        future = client.call_async(GetParameters.Request(names=[name]))
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=30)
        return parameter_value_to_python(future.result().values[0])

    def test_the_node_uses_sim_time_and_its_diagnostics_follow_clock(self, proc_output):
        proc_output.assertWaitFor("ready:", timeout=60)
        self.assertIs(self.get_parameter("use_sim_time"), True)

        # No /clock yet: the node's time is 0, and diagnostics are published all the same.
        self.assertTrue(self.spin_until(lambda: len(self.diagnostics) >= 2, 30),
                        "no diagnostics without /clock")
        self.assertEqual(self.diagnostics[0], (0.0, "/clock (use_sim_time), none received yet: stamps are 0"))

        clock = self.node.create_publisher(Clock, "/clock", 10)
        following = lambda: [d for d in self.diagnostics if SIM_START <= d[0] < SIM_START + 100]  # noqa: E731
        self.assertTrue(self.spin_until(lambda: len(following()) >= 2, 30, clock),
                        f"diagnostics stamps did not follow /clock: {self.diagnostics[-5:]}")
        self.assertEqual(following()[-1][1], "/clock (use_sim_time)")
        self.assertLess(following()[0][0], following()[-1][0])  # stamps advance with /clock


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)


if __name__ == "__main__":
    print(f"run with: launch_test {os.path.relpath(__file__)}")
