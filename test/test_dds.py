"""The Fast DDS transport choice for our tools and tests (fer_ros/node/dds.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from fer_ros.node.dds import PROFILE, use_large_frame_transport


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


def test_transport_check_runs_a_real_publisher_and_subscriber(capsys):
    from fer_ros.tools import transport_check

    assert transport_check.main(["--pairs", "profile:profile", "--frames", "240", "--small"]) == 0
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[:2] == ["profile", "profile"] and row[3:5] == ["/", "240"]
    assert int(row[2]) > 0  # some headers arrive (those sent before discovery finishes may not)


def test_transport_check_refuses_unknown_settings():
    from fer_ros.tools import transport_check

    with pytest.raises(SystemExit):
        transport_check.main(["--pairs", "default:cyclone"])


def test_no_input_message_names_the_topic_and_what_to_check():
    from fer_ros.node.diagnostics import no_input_message

    alone = no_input_message("/camera/image_raw", 0, 12.3, "best-effort")
    assert alone.startswith("no images on /camera/image_raw for 12 s, and no publisher of it is seen")
    assert "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA" in alone
    seen = no_input_message("/camera/image_raw", 2, 5, "reliable")
    assert "2 publisher(s) of it are seen" in seen and "This subscription is reliable" in seen
