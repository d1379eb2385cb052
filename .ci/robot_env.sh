#!/usr/bin/env bash
# A robot's Python, to run the ROS-free core's tests and the CLI in (docs/robot.md):
#
#   .ci/robot_env.sh noble VENV    ROS 2 Jazzy and Kilted (Ubuntu 24.04): the distribution's python3-opencv
#                                  (4.6.0, no cv2.data; Debian 12 ships the same version), its numpy and
#                                  the Haar cascades of opencv-data from apt (root or sudo), in a venv on
#                                  the system python3 that sees them, plus onnxruntime and pytest from pip.
#                                  Fails if pip put an OpenCV or a numpy over the distribution's.
#   .ci/robot_env.sh jammy VENV    ROS 2 Humble (Ubuntu 22.04): Python 3.10 (pyenv's, or the system's
#                                  python3.10) with the versions Ubuntu 22.04 ships pinned from PyPI
#                                  (requirements-jammy.txt: numpy 1.21.5, OpenCV 4.5.4). Exits 3, saying
#                                  so, where no Python 3.10 is found.
set -euo pipefail
PROFILE=${1:?usage: robot_env.sh noble|jammy VENV}
VENV=${2:?usage: robot_env.sh noble|jammy VENV}
HERE=$(cd "$(dirname "$0")/.." && pwd)

apt_install() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "robot profile: run as root or install: sudo apt-get install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "robot profile: apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

case "$PROFILE" in
  noble)
    apt_install python3 python3-venv python3-opencv python3-numpy python3-yaml opencv-data python3-skimage \
      python3-matplotlib
    rm -rf "$VENV"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
    "$VENV/bin/pip" install --quiet -r "$HERE/requirements-robot.txt"
    SYSTEM=/usr/lib/python3/ ;;
  jammy)
    PYTHON310=$(ls "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10 2>/dev/null | head -1 || true)
    PYTHON310=${PYTHON310:-$(command -v python3.10 || true)}
    if [ -z "$PYTHON310" ] || ! "$PYTHON310" -c "import venv, ensurepip" 2>/dev/null; then
      echo "robot profile jammy: skipped, no Python 3.10 here (Humble's); install python3.10 to run it" >&2
      exit 3
    fi
    rm -rf "$VENV"
    "$PYTHON310" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r "$HERE/requirements-jammy.txt"
    SYSTEM= ;;
  *) echo "usage: robot_env.sh noble|jammy VENV" >&2; exit 2 ;;
esac

# The versions the profile stands for, and (noble) that pip left apt's OpenCV and numpy alone.
"$VENV/bin/python" - "$PROFILE" "$SYSTEM" <<'PY'
import sys
import cv2, numpy, onnxruntime
profile, system = sys.argv[1:]
for module in (cv2, numpy):
    if system and not module.__file__.startswith(system):
        raise SystemExit(f"robot profile {profile}: {module.__name__} {module.__version__} comes from "
                         f"{module.__file__}, not the distribution: pip installed it over apt's")
print(f"robot profile {profile}: Python {sys.version.split()[0]}, OpenCV {cv2.__version__}, numpy {numpy.__version__}, "
      f"onnxruntime {onnxruntime.__version__}")
PY
