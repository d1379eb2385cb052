# Source this file (`. ./env.sh`) for a shell where `fer_ros.msg` imports and `fer_node` runs.
# Needs `make env` first (virtual environment and colcon build).
FER_ROS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
. "$FER_ROS_ROOT/.venv/bin/activate"
. "$FER_ROS_ROOT/install/local_setup.sh"
export PATH="$FER_ROS_ROOT/install/fer_ros/lib/fer_ros:$PATH"
# Import fer_ros from install/ (it holds the generated messages), never from the source folder.
export PYTHONSAFEPATH=1
# Fast DDS's default transport drops most large best-effort image frames. Unless a transport is
# chosen already, use our one-machine profile: shared memory for data, UDP for fast discovery
# (fer_ros/node/dds.py; README "Fast DDS and large images").
# (This environment is Kilted's Fast DDS 3; Jazzy's Fast DDS 2.14 reads FASTRTPS_DEFAULT_PROFILES_FILE.)
if [ -z "${FASTDDS_BUILTIN_TRANSPORTS:-}" ] && [ -z "${FASTDDS_DEFAULT_PROFILES_FILE:-}" ]; then
  export FASTDDS_DEFAULT_PROFILES_FILE="$FER_ROS_ROOT/fer_ros/node/fastdds_large_frames.xml"
fi
