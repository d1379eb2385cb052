#!/usr/bin/env bash
# The robot profile: a robot's Python, as ROS 2 Jazzy and Kilted have it on Ubuntu 24.04 (docs/robot.md).
# The distribution's python3-opencv (4.6.0, no cv2.data; Debian 12 and Ubuntu 24.04 ship the same
# version), its numpy and the Haar cascades of opencv-data come from apt; a venv on the system python3
# that sees them gets onnxruntime (what rosdep's python3-onnxruntime-pip installs) and pytest from pip.
# Fails if pip put an OpenCV or a numpy over the distribution's.
#
#   .ci/robot_env.sh VENV      (run by `make robot-test`; needs root or sudo for apt-get)
set -euo pipefail
VENV=${1:?usage: robot_env.sh VENV}
APT_PACKAGES=(python3 python3-venv python3-opencv python3-numpy python3-yaml opencv-data
              python3-skimage python3-matplotlib)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "robot profile: needs apt packages ${missing[*]}: run as root, or install them:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "robot profile: apt-get install ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

rm -rf "$VENV"
/usr/bin/python3 -m venv --system-site-packages "$VENV"
"$VENV/bin/pip" install --quiet -r "$(dirname "$0")/../requirements-robot.txt"
# The distribution's OpenCV and numpy, not pip's: both must still import from the system's folder.
"$VENV/bin/python" - <<'PY'
import cv2, numpy, onnxruntime
for module in (cv2, numpy):
    if not module.__file__.startswith("/usr/lib/python3/"):
        raise SystemExit(f"robot profile: {module.__name__} {module.__version__} comes from {module.__file__}, "
                         "not the distribution: pip installed it over apt's")
print(f"robot profile: python3 {'.'.join(map(str, __import__('sys').version_info[:3]))}, OpenCV {cv2.__version__}, "
      f"numpy {numpy.__version__} (apt), onnxruntime {onnxruntime.__version__} (pip)")
PY
