"""A behaviour in a few lines: greet a face when it is first happy, log its summary when it leaves.

    python examples/greeter.py          # beside fer_node (ros2 launch fer_ros fer.launch.py)

It reacts to fer_node's emotion/events (msg/FaceEmotionEvent.msg), not to every frame of /emotion.
"""

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from fer_ros.msg import FaceEmotion, FaceEmotionEvent


class Greeter(Node):
    def __init__(self):
        super().__init__("greeter")
        self.greeted = set()
        # reliable, as fer_node publishes events: none is lost
        self.create_subscription(FaceEmotionEvent, "/emotion/events", self.on_event,
                                 QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))

    def on_event(self, event: FaceEmotionEvent):
        if event.kind == event.LEFT:
            self.greeted.discard(event.id)
            share = dict(zip(event.labels, event.shares))
            self.get_logger().info(f"{event.id} left after {event.seconds_in_view:.1f} s, happy "
                                   f"{share[FaceEmotion.HAPPY]:.0%} of the time")
        elif event.emotion == FaceEmotion.HAPPY and event.id not in self.greeted:
            self.greeted.add(event.id)
            self.get_logger().info(f"hello {event.id}, nice smile!")


def main():
    rclpy.init()
    node = Greeter()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
