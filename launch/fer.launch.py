"""Launch fer_node (facial emotion recognition), optionally with rviz2 showing the annotated image.

Parameters come from config/fer.yaml (or ``params_file:=...``), the one place that holds their
defaults; the launch arguments below are overrides and change nothing unless given.

Usage examples::

    # Default camera topic (/camera/image_raw):
    ros2 launch fer_ros fer.launch.py

    # Another camera topic, e.g. a RealSense, with rviz2:
    ros2 launch fer_ros fer.launch.py image_topic:=/camera/color/image_raw use_rviz:=true

    # Compressed input from a remote camera, YuNet detector:
    ros2 launch fer_ros fer.launch.py image_topic:=/camera/image_raw input_transport:=compressed \\
        detector:=yunet yunet_model:=/path/to/face_detection_yunet_2023mar.onnx

    # Several cameras: one node per camera, each in its own namespace (publishes
    # /front/emotion, /front/emotion/annotated_image, /rear/emotion, ...):
    ros2 launch fer_ros fer.launch.py namespace:=front image_topic:=/front_camera/image_raw
    ros2 launch fer_ros fer.launch.py namespace:=rear image_topic:=/rear_camera/image_raw

    # Own parameter file (a copy of config/fer.yaml) plus a single override:
    ros2 launch fer_ros fer.launch.py params_file:=/path/to/my_fer.yaml max_faces:=3

    # List every argument:
    ros2 launch fer_ros fer.launch.py --show-args

The rviz2 config shows /emotion/annotated_image, so with a namespace pick the topic in rviz2's
Image display (or run ``rviz2`` yourself).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

# The DDS transport is left to the environment, like any other ROS node's: a Fast DDS participant
# with FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA neither sees nor is seen by one without it, so setting it
# here for fer_node alone would cut it off from the camera driver and from every /emotion subscriber
# (python -m fer_ros.tools.transport_check measures this). README: "Fast DDS and large images".

# Parameter overrides: (name, type, choices or None, description). Every one defaults to '' (not
# given), so config/fer.yaml stays the only place with defaults; only the ones set are passed on.
OVERRIDES = (
    ('detector', str, ('auto', 'haar', 'yunet'),
     "Face detector: 'auto' (YuNet when its verified file is cached or yunet_model is set, else "
     "Haar), 'haar' (OpenCV cascade, no model file) or 'yunet' (CNN, needs its model file)."),
    ('yunet_model', str, None,
     'Path of face_detection_yunet_2023mar.onnx (OpenCV model zoo) when detector is yunet.'),
    ('detection_threshold', float, None, 'Minimum face score in [0, 1] (yunet only).'),
    ('min_face_size', int, None, 'Smallest face side, in source-image pixels.'),
    ('max_faces', int, None, 'Most faces classified per frame.'),
    ('classifier_backend', str, ('fer', 'deepface'),
     "Emotion classifier: 'fer' (this project's model, ONNX Runtime) or 'deepface' (DeepFace's "
     'emotion CNN in Keras; needs TensorFlow and facial_expression_model_weights.h5).'),
    ('model', str, None,
     "Emotion model. fer: 'default' (shipped, most accurate), 'fast' (shipped, about a ninth of the "
     "time per face) or an exported .onnx with its .json sidecar; deepface: "
     'facial_expression_model_weights.h5 (empty in fer.yaml: the shipped default, or for deepface '
     '$DEEPFACE_HOME/.deepface/weights/).'),
    ('input_transport', str, ('raw', 'compressed'),
     "'raw' subscribes to image (sensor_msgs/Image); 'compressed' to image/compressed "
     '(sensor_msgs/CompressedImage).'),
    ('input_reliability', str, ('best_effort', 'reliable'),
     'QoS reliability of the image subscription: best_effort (sensor data QoS) or reliable.'),
    ('publish_annotated', bool, ('true', 'false'),
     'Publish emotion/annotated_image (drawn only while someone subscribes).'),
    ('num_threads', int, None, 'CPU threads for emotion inference.'),
)


def _declare_override(name, kind, choices, description):
    description = description + ' Empty (default): the value from params_file.'
    # The empty "not given" value must be one of the choices, or launch rejects the default.
    return DeclareLaunchArgument(
        name, default_value='', description=description,
        choices=[''] + list(choices) if choices else None)


def _convert(name, kind, text):
    """The typed parameter value of launch argument ``name`` given as ``text``."""
    try:
        if kind is bool:
            return text.strip().lower() == 'true'  # choices allow only 'true' or 'false'
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise RuntimeError(
            f'launch argument {name}:={text!r} is not a valid {kind.__name__}') from None
    # Strings keep their exact text (no YAML coercion of e.g. a numeric-looking path).
    return ParameterValue(text, value_type=str)


def _launch_fer_node(context, *args, **kwargs):
    overrides = {}
    for name, kind, _choices, _description in OVERRIDES:
        text = LaunchConfiguration(name).perform(context)
        if text != '':
            overrides[name] = _convert(name, kind, text)

    parameters = [LaunchConfiguration('params_file').perform(context)]
    if overrides:
        parameters.append(overrides)

    image_topic = LaunchConfiguration('image_topic').perform(context)

    return [
        Node(
            package='fer_ros',
            executable='fer_node',
            name='fer_node',
            namespace=LaunchConfiguration('namespace'),
            parameters=parameters,
            remappings=[
                ('image', image_topic),
                ('image/compressed', image_topic.rstrip('/') + '/compressed'),
            ],
            ros_arguments=['--log-level', LaunchConfiguration('log_level').perform(context)],
            output='screen',
        ),
    ]


def generate_launch_description():
    default_params = PathJoinSubstitution([FindPackageShare('fer_ros'), 'config', 'fer.yaml'])
    rviz_config = PathJoinSubstitution([FindPackageShare('fer_ros'), 'rviz', 'fer.rviz'])

    arguments = [
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='Namespace of fer_node (one per camera when running several).'),
        DeclareLaunchArgument(
            'image_topic', default_value='/camera/image_raw',
            description="Camera image topic; 'image' is remapped to it and 'image/compressed' to "
                        'it plus /compressed.'),
        DeclareLaunchArgument(
            'params_file', default_value=default_params,
            description='Parameter file of fer_node (defaults: the installed config/fer.yaml).'),
        DeclareLaunchArgument(
            'log_level', default_value='info',
            description='Log level of fer_node: debug, info, warn, error or fatal.'),
        DeclareLaunchArgument(
            'use_rviz', default_value='false', choices=['true', 'false'],
            description='Also start rviz2 showing /emotion/annotated_image.'),
    ]
    arguments += [_declare_override(*override) for override in OVERRIDES]

    return LaunchDescription(arguments + [
        OpaqueFunction(function=_launch_fer_node),
        Node(
            package='rviz2',
            executable='rviz2',
            name='rviz2',
            arguments=['-d', rviz_config],
            condition=IfCondition(LaunchConfiguration('use_rviz')),
            output='screen',
        ),
    ])
