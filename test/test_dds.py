"""The Fast DDS transport choice for our tools and tests (fer_ros/tools/dds.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fer_ros.tools.dds import PROFILE, use_large_frame_transport


def test_profile_is_used_when_no_transport_is_chosen():
    environ = {}
    use_large_frame_transport(environ)
    assert environ == {"FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)}
    segment = ET.parse(PROFILE).getroot().find(".//{http://www.eprosima.com}segment_size")
    assert int(segment.text) >= 640 * 480 * 3 * 4  # several raw VGA frames fit a segment


def test_a_users_choice_is_kept():
    for chosen in ({"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}, {"FASTDDS_DEFAULT_PROFILES_FILE": "/mine.xml"}):
        environ = dict(chosen)
        assert "(unset)" in use_large_frame_transport(environ)
        assert environ == chosen
