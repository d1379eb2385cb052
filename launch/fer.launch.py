"""Launch fer_node (facial emotion recognition): one per camera, optionally managed (lifecycle), with rviz2.

Every parameter of fer_node is also a launch argument (taken from fer_ros.core.schema, never
retyped here). An argument left empty keeps the value of ``params_file`` (config/fer.yaml by
default), so defaults live in one place; a value given is checked against the schema first.

Usage examples::

    ros2 launch fer_ros fer.launch.py                                   # camera on /camera/image_raw
    ros2 launch fer_ros fer.launch.py image_topic:=/camera/color/image_raw use_rviz:=true
    ros2 launch fer_ros fer.launch.py hysteresis:=0.2 max_faces:=3       # any parameter
    ros2 launch fer_ros fer.launch.py params_file:=/path/to/my_fer.yaml  # a copy of config/fer.yaml

    # Several cameras, one node each with the same parameters (/front/emotion, /rear/emotion):
    ros2 launch fer_ros fer.launch.py cameras:=front:/front/image_raw,rear:/rear/image_raw

    # Managed node: configured and activated by this launch unless autostart:=false
    ros2 launch fer_ros fer.launch.py lifecycle:=true

    # ROS4HRI (REP-155): fer_node also publishes /humans/faces/tracked and each face's roi, cropped
    # and expression; or, beside a ROS4HRI face detector, classify its crops instead
    ros2 launch fer_ros fer.launch.py hri_output:=true
    ros2 launch fer_ros fer.launch.py hri_recognizer:=true hri_input:=aligned

    # Simulation or a bag replayed with --clock: every node started here takes its time from /clock
    ros2 launch fer_ros fer.launch.py use_sim_time:=true

    ros2 launch fer_ros fer.launch.py --show-args                        # every argument

``ros2 launch`` stops with an error, before starting anything, on an argument name this file does
not declare, on a value the schema refuses, on a malformed ``cameras`` list, when ``use_rviz`` or
``lifecycle`` need an executable that is not installed, and on ``hri_recognizer:=true`` together with
``cameras``, ``lifecycle`` or ``use_rviz`` (the recognizer reads no camera, draws nothing and is not
managed). When a node exits with an error (e.g. a model file that does not exist), everything is
shut down and ``ros2 launch`` exits non-zero.
"""

import difflib
import os
import re
import sys
from pathlib import Path

from ament_index_python.packages import PackageNotFoundError, get_package_prefix
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit, OnProcessStart
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from fer_ros.core import schema
from fer_ros.core.errors import ConfigError

# The DDS transport is left to the environment, like any other ROS node's: a Fast DDS participant
# with FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA neither sees nor is seen by one without it, so setting it
# here for fer_node alone would cut it off from the camera driver and from every /emotion subscriber
# (python -m fer_ros.tools.transport_check measures this). README: "Fast DDS and large images".

PACKAGE = 'fer_ros'
NODE_NAME = 'fer_node'
RECOGNIZER = 'fer_hri_recognizer'
LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')
# Arguments of this launch file that are not node parameters: (name, default, description, choices).
# A default of None is filled in generate_launch_description (it needs a substitution).
LAUNCH_OPTIONS = (
    ('namespace', '', 'Namespace of fer_node (with cameras: the namespace above the camera names).',
     None),
    ('image_topic', '/camera/image_raw',
     "Camera image topic: 'image' is remapped to it and 'image/compressed' to it plus /compressed "
     '(ignored when cameras is set).', None),
    ('cameras', '',
     'Several cameras, one fer_node each with the same parameters: NAME:TOPIC[,NAME:TOPIC...], e.g. '
     'front:/front/image_raw,rear:/rear/image_raw starts /front/fer_node on /front/image_raw '
     'and /rear/fer_node on /rear/image_raw. Empty: one node on image_topic.', None),
    ('params_file', None, 'Parameter file of fer_node (default: the installed config/fer.yaml).', None),
    ('log_level', 'info', 'Log level of fer_node.', LOG_LEVELS),
    ('use_rviz', 'false', 'Also start rviz2 showing the (first) node\'s emotion/annotated_image.',
     ('true', 'false')),
    ('lifecycle', 'false',
     'Start the managed variant (fer_lifecycle_node, a lifecycle node named fer_node) instead of '
     'fer_node.', ('true', 'false')),
    ('autostart', 'true',
     'With lifecycle:=true, configure and activate the node at once; false leaves it unconfigured '
     'for `ros2 lifecycle set`.', ('true', 'false')),
    ('hri_recognizer', 'false',
     'Start fer_hri_recognizer instead of fer_node: beside a ROS4HRI face detector (hri_face_detect), '
     'classify the crops it publishes for each face on /humans/faces/<id>/cropped (or /aligned: '
     'hri_input) and publish /humans/faces/<id>/expression. The parameters of detection and of the '
     'image input do not apply to it; image_topic is ignored.', ('true', 'false')),
    ('use_sim_time', '',
     'Use the time published on /clock (a simulator, or `ros2 bag play --clock`) instead of the '
     'system clock, in every node this file starts (fer_node, fer_hri_recognizer, rviz2). Empty: the '
     'value in params_file (false unless it sets use_sim_time).', ('', 'true', 'false')),
)
# Names ros2 launch adds to the arguments itself (from --launch-prefix and --launch-prefix-filter).
ROS2_LAUNCH_NAMES = ('launch-prefix', 'launch-prefix-filter')
_CAMERA_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]*')


def argument_names():
    """Every argument this file declares: its own options, then every schema parameter."""
    return [option[0] for option in LAUNCH_OPTIONS] + list(schema.NAMES)


def parameter_argument(param):
    """The launch argument of one schema parameter: empty by default (keep params_file's value)."""
    choices = param.choices or (('true', 'false') if param.type is bool else None)
    allowed = f' Range: {param.allowed()}.' if param.range else ''  # launch lists the choices itself
    return DeclareLaunchArgument(
        param.name, default_value='',
        description=f'{param.description}{allowed} Empty: the value in params_file '
                    f'({schema_default_text(param)} in config/fer.yaml).',
        # The empty "not given" value must be one of the choices, or launch refuses the default.
        choices=[''] + list(choices) if choices else None)


def schema_default_text(param):
    if param.type is bool:
        return 'true' if param.default else 'false'
    return repr(param.default) if param.type is str else str(param.default)


def convert(param, text):
    """The typed, checked value of launch argument ``param.name:=text``; ValueError says why not."""
    try:
        if param.type is bool:
            value = text == 'true'  # choices allow only 'true' and 'false'
        elif param.type is int:
            value = int(text)
        elif param.type is float:
            value = float(text)
        else:
            value = text
        schema.check(param.name, value)
    except ValueError as error:  # ConfigError is a ValueError, as are int('x') and float('x')
        reason = error if isinstance(error, ConfigError) else f'not {schema_type_words(param)}'
        raise ValueError(f'launch argument {param.name}:={text!r}: {reason}') from None
    # Strings keep their exact text (no YAML reading of e.g. a numeric-looking path).
    return ParameterValue(value, value_type=str) if param.type is str else value


def schema_type_words(param):
    return {int: 'an integer', float: 'a number'}.get(param.type, 'a valid value')


def sim_time_override(context):
    """{'use_sim_time': True/False} when the argument is given, else {} (params_file decides)."""
    text = LaunchConfiguration('use_sim_time').perform(context)
    return {'use_sim_time': text == 'true'} if text else {}


def overrides(context):
    """{name: value} of every parameter argument given (not empty), converted and checked, and
    use_sim_time when given."""
    values = sim_time_override(context)
    for param in schema.PARAMETERS:
        text = LaunchConfiguration(param.name).perform(context)
        if text != '':
            values[param.name] = convert(param, text)
    return values


def unknown_arguments(argv):
    """The names in ``argv`` (``name:=value`` strings) this launch file does not declare."""
    known = set(argument_names()) | set(ROS2_LAUNCH_NAMES)
    names = [arg.split(':=', 1)[0] for arg in argv if ':=' in arg]
    return [name for name in names if name not in known]


def launched_directly():
    """Whether ``ros2 launch`` runs this file itself (not a file that includes it): only then are
    the command-line arguments this file's own."""
    me = Path(__file__).name
    return any(Path(arg).name == me for arg in sys.argv[1:])


def check_arguments(context):
    """Raise listing the valid names when the command line names an argument not declared here
    (launch itself would keep it as an unused configuration and say nothing)."""
    if not launched_directly():
        return
    unknown = unknown_arguments(context.argv)
    if unknown:
        guesses = [f'{name} (did you mean {close[0]}?)' if close else name for name in unknown
                   for close in [difflib.get_close_matches(name, argument_names(), 1)]]
        raise RuntimeError(
            f"unknown launch argument(s) {', '.join(guesses)}; nothing was started. The arguments of "
            f"fer.launch.py are: {', '.join(argument_names())} (ros2 launch fer_ros fer.launch.py "
            '--show-args describes them)')


def parse_cameras(text, namespace, image_topic):
    """[(namespace, image topic)] of each node: one per ``NAME:TOPIC`` of ``text``, else one."""
    base = namespace.strip('/')
    if not text.strip():
        return [('/' + base if base else '', image_topic)]
    cameras, seen = [], set()
    for entry in text.split(','):
        name, sep, topic = entry.strip().partition(':')
        if not sep or not _CAMERA_NAME.fullmatch(name) or not topic.strip() or name in seen:
            problem = f'camera {name!r} given twice' if name in seen else f'{entry.strip()!r} is not NAME:TOPIC'
            raise ValueError(
                f'launch argument cameras:={text!r}: {problem}; expected NAME:TOPIC[,NAME:TOPIC...] with '
                'NAME a letter then letters, digits or _, e.g. cameras:=front:/front/image_raw,'
                'rear:/rear/image_raw')
        seen.add(name)
        cameras.append(('/' + '/'.join(filter(None, (base, name))), topic.strip()))
    return cameras


def find_executable(package, executable):
    """Raise RuntimeError with what to install unless ``package``'s ``executable`` is installed."""
    try:
        prefix = get_package_prefix(package)
    except PackageNotFoundError:
        prefix = None
    if prefix is None or not os.access(os.path.join(prefix, 'lib', package, executable), os.X_OK):
        where = f'package {package!r} is not installed' if prefix is None else \
            f'{package} has no executable {executable!r} (rebuild and source the workspace)'
        hint = ' (e.g. apt install ros-$ROS_DISTRO-rviz2, or leave use_rviz:=false)' if package == 'rviz2' else ''
        raise RuntimeError(f'{where}{hint}; nothing was started')


def on_node_exit(event, context):
    """A node that exits with an error shuts everything down, and ros2 launch exits non-zero (an
    exception is launch's only way to a non-zero exit code; its message is the shutdown reason)."""
    if event.returncode != 0 and not context.is_shutdown:
        raise RuntimeError(
            f'{event.action.name} exited with code {event.returncode} (its log above says why); '
            'shutting down')


def lifecycle_autostart(node):
    """configure once the process runs, activate once configured (as yolo_ros' launch does); a
    configure that fails (the node logs why) shuts down like a node that exits with an error."""
    from launch_ros.event_handlers import OnStateTransition
    from launch_ros.events.lifecycle import ChangeState
    from lifecycle_msgs.msg import Transition

    def change(transition):
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                           transition_id=transition))

    def configure_failed(context, *args):
        if not context.is_shutdown:
            raise RuntimeError(f'{node.node_name} could not be configured (its log above says why); '
                               'shutting down')

    return [
        RegisterEventHandler(OnProcessStart(target_action=node,
                                            on_start=[change(Transition.TRANSITION_CONFIGURE)])),
        RegisterEventHandler(OnStateTransition(target_lifecycle_node=node, goal_state='inactive',
                                               start_state='configuring',
                                               entities=[change(Transition.TRANSITION_ACTIVATE)])),
        RegisterEventHandler(OnStateTransition(target_lifecycle_node=node, goal_state='unconfigured',
                                               start_state='configuring',
                                               entities=[OpaqueFunction(function=configure_failed)])),
    ]


def launch_setup(context, *args, **kwargs):
    """The nodes for the given arguments; raises (before anything starts) on a bad argument."""
    check_arguments(context)
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    try:
        values = overrides(context)
        cameras = parse_cameras(get('cameras'), get('namespace'), get('image_topic'))
    except ValueError as error:
        raise RuntimeError(f'{error} (nothing was started)') from None
    lifecycle, use_rviz = get('lifecycle') == 'true', get('use_rviz') == 'true'
    parameters = [get('params_file')] + ([values] if values else [])
    if get('hri_recognizer') == 'true':
        return recognizer_actions(get, parameters)
    executable = 'fer_lifecycle_node' if lifecycle else 'fer_node'
    find_executable(PACKAGE, executable)
    if use_rviz:
        find_executable('rviz2', 'rviz2')

    actions = []
    for namespace, topic in cameras:
        kind = LifecycleNode if lifecycle else Node
        node = kind(
            package=PACKAGE, executable=executable, name=NODE_NAME, namespace=namespace,
            parameters=parameters,
            remappings=[('image', topic), ('image/compressed', topic.rstrip('/') + '/compressed')],
            ros_arguments=['--log-level', get('log_level')],
            output='screen',
        )
        actions += [node, RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_node_exit))]
        if lifecycle and get('autostart') == 'true':
            actions += lifecycle_autostart(node)
    if use_rviz:
        first = cameras[0][0].rstrip('/')
        rviz_config = PathJoinSubstitution([FindPackageShare(PACKAGE), 'rviz', 'fer.rviz'])
        sim_time = sim_time_override(context)  # rviz2 reads no params_file: only the clock is passed
        actions.append(Node(
            package='rviz2', executable='rviz2', name='rviz2', arguments=['-d', rviz_config],
            parameters=[sim_time] if sim_time else None,
            # the config shows /emotion/annotated_image; point it at the first node's
            remappings=[('/emotion/annotated_image', f'{first}/emotion/annotated_image')] if first else [],
            output='screen'))
    return actions


def recognizer_actions(get, parameters):
    """fer_hri_recognizer in ``namespace`` (its topics: humans/faces/..., REP-155's /humans/faces/...
    in the root namespace); raises on the arguments it cannot honour."""
    given = {'cameras': get('cameras').strip() != '', 'lifecycle': get('lifecycle') == 'true',
             'use_rviz': get('use_rviz') == 'true'}
    conflicts = [name for name, value in given.items() if value]
    if conflicts:
        raise RuntimeError(f"hri_recognizer:=true cannot be combined with {', '.join(conflicts)} (the recognizer "
                           'reads no camera, draws no image and is not a managed node); nothing was started')
    find_executable(PACKAGE, RECOGNIZER)
    base = get('namespace').strip('/')
    node = Node(package=PACKAGE, executable=RECOGNIZER, name=RECOGNIZER, namespace='/' + base if base else '',
                parameters=parameters, ros_arguments=['--log-level', get('log_level')], output='screen')
    return [node, RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_node_exit))]


def generate_launch_description():
    default_params = PathJoinSubstitution([FindPackageShare(PACKAGE), 'config', 'fer.yaml'])
    arguments = [
        DeclareLaunchArgument(name, default_value=default_params if default is None else default,
                              description=description, choices=list(choices) if choices else None)
        for name, default, description, choices in LAUNCH_OPTIONS
    ]
    arguments += [parameter_argument(param) for param in schema.PARAMETERS]
    return LaunchDescription(arguments + [OpaqueFunction(function=launch_setup)])
