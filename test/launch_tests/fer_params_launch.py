"""launch_test file: fer.launch.py with parameter overrides, checked through the node's own
parameter service. Run with the real tool (`launch_test test/launch_tests/fer_params_launch.py`);
test/test_launch.py runs it so (launch_testing's pytest plugin is not used)."""

import os
import unittest
import uuid
from pathlib import Path

import launch
import launch_testing.actions
import launch_testing.asserts
import rclpy
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from rcl_interfaces.srv import GetParameters
from rclpy.parameter import parameter_value_to_python

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "fer.launch.py"
NAMESPACE = "fer_launch_test_" + uuid.uuid4().hex[:8]
OVERRIDES = {"hysteresis": "0.2", "max_faces": "3", "blur_faces": "true", "min_sharpness": "0"}


def generate_test_description():
    return launch.LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH_FILE)),
            launch_arguments={"namespace": NAMESPACE, **OVERRIDES}.items()),
        launch_testing.actions.ReadyToTest(),
    ])


class TestOverrides(unittest.TestCase):
    def test_overrides_and_defaults_reach_the_node(self, proc_output):
        proc_output.assertWaitFor("ready:", timeout=60)
        rclpy.init()
        try:
            node = rclpy.create_node("fer_launch_test_client")
            client = node.create_client(GetParameters, f"/{NAMESPACE}/fer_node/get_parameters")
            self.assertTrue(client.wait_for_service(timeout_sec=30))
            names = [*OVERRIDES, "uncertain_below", "detector"]
            future = client.call_async(GetParameters.Request(names=names))
            rclpy.spin_until_future_complete(node, future, timeout_sec=30)
            values = dict(zip(names, (parameter_value_to_python(v) for v in future.result().values)))
            self.assertEqual(values, {"hysteresis": 0.2, "max_faces": 3, "blur_faces": True,
                                      "min_sharpness": 0.0, "uncertain_below": 0.4, "detector": "auto"})
            node.destroy_node()
        finally:
            rclpy.shutdown()


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)


if __name__ == "__main__":
    print(f"run with: launch_test {os.path.relpath(__file__)}")
