"""fer_lifecycle_node: fer_node as a managed (lifecycle) node, as Nav2's and yolo_ros' nodes are.

    ros2 run fer_ros fer_lifecycle_node        # or: ros2 launch fer_ros fer.launch.py lifecycle:=true
    ros2 lifecycle set /fer_node configure     # loads the models (fails with the reason, stays unconfigured)
    ros2 lifecycle set /fer_node activate      # subscribes and publishes
    ros2 lifecycle set /fer_node deactivate    # stops processing, keeps the models loaded
    ros2 lifecycle set /fer_node cleanup       # frees the models

Parameters are declared (and checked) at start; while unconfigured a set is only validated, and
configure builds what was set. The processing is fer_node's (:class:`EmotionNodeCore`).
"""

from __future__ import annotations

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from fer_ros.core.errors import FerError
from fer_ros.node.fer_node import EmotionNodeCore, run


class FerLifecycleNode(EmotionNodeCore, LifecycleNode):
    def __init__(self, **kwargs):
        super().__init__("fer_node", **kwargs)
        self._init_core()
        self.get_logger().info("unconfigured: the configure transition loads the models")

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._load()
        except FerError as error:  # a model file that does not exist, a detector without its model ...
            self.get_logger().error(f"configure failed, still unconfigured: {error}")
            return TransitionCallbackReturn.FAILURE
        self._open_outputs(self.create_lifecycle_publisher)
        self.get_logger().info("inactive: models loaded; the activate transition starts processing")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # enables the lifecycle publishers
        self._subscribe()
        self._log_ready()
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._unsubscribe()
        self.get_logger().info("inactive: not subscribed, models kept loaded")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("unconfigured: models freed")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("finalized")
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().error("a transition failed: back to unconfigured, models freed")
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        super().destroy_node()
        # rclpy leaves the state machine, which holds the rcl node, alive: without this the node and
        # its rosout publisher outlive destroy_node, and the frame counts logged after it fail to publish.
        self._state_machine.destroy_when_not_in_use()

    def _release(self) -> None:
        """Whatever the state: stop processing, destroy the outputs, free the models."""
        if self._active:
            self._unsubscribe()
        self._close_outputs(self.destroy_lifecycle_publisher)
        self._unload()


def main(args=None) -> None:
    run(FerLifecycleNode, args)


if __name__ == "__main__":
    main()
