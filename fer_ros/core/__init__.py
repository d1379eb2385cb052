"""ROS-free perception core of fer_ros: detection, classification, drawing.

Nothing under ``fer_ros.core`` imports rclpy, so it can be tested, benchmarked and
reused without a ROS graph.
"""
