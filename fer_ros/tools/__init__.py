"""Tools around the node that need rclpy or rosbags: bag writing and replay, the demo."""
