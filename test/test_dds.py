"""The Fast DDS transport choice for our tools and tests, and the middleware advice of the node's
warnings (fer_ros/node/dds.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from fer_ros.node.dds import CYCLONE_DDS, FAST_DDS, PROFILE, rmw_in_use, use_large_frame_transport


def test_profile_is_used_when_no_transport_is_chosen():
    environ = {}
    use_large_frame_transport(environ)
    assert environ == {"FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)}
    segment = ET.parse(PROFILE).getroot().find(".//{http://www.eprosima.com}segment_size")
    assert int(segment.text) >= 640 * 480 * 3 * 4  # several raw VGA frames fit a segment


def test_jazzys_fast_dds_2_gets_the_profile_under_the_name_it_reads():
    """Fast DDS 2.14 (Jazzy, Humble) reads FASTRTPS_DEFAULT_PROFILES_FILE; 3.x (Kilted on) the other."""
    for distro, variable in (("jazzy", "FASTRTPS_DEFAULT_PROFILES_FILE"), ("humble", "FASTRTPS_DEFAULT_PROFILES_FILE"),
                             ("kilted", "FASTDDS_DEFAULT_PROFILES_FILE"), ("rolling", "FASTDDS_DEFAULT_PROFILES_FILE")):
        environ = {"ROS_DISTRO": distro}
        assert f"{variable}={PROFILE}" in use_large_frame_transport(environ)
        assert environ == {"ROS_DISTRO": distro, variable: str(PROFILE)}
    mine = {"ROS_DISTRO": "jazzy", "FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}
    use_large_frame_transport(mine)
    assert mine == {"ROS_DISTRO": "jazzy", "FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}


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
    assert "gets nothing from a best-effort publisher" in seen


def test_the_rmw_in_use_is_rclpys():
    from rclpy.utilities import get_rmw_implementation_identifier

    assert rmw_in_use() == get_rmw_implementation_identifier() != ""


@pytest.mark.parametrize("rmw", FAST_DDS)
def test_no_input_message_under_fast_dds_names_its_transport_variables(rmw, monkeypatch):
    from fer_ros.node.diagnostics import no_input_message

    monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    alone = no_input_message("/camera/image_raw", 0, 3, "best-effort", rmw)
    assert f"({rmw}, FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA, FASTDDS_DEFAULT_PROFILES_FILE=" in alone
    assert "do not see each other" in alone and "CYCLONEDDS_URI" not in alone
    assert "FASTRTPS_DEFAULT_PROFILES_FILE" not in alone  # Fast DDS 2.x's name: shown only when set
    monkeypatch.setenv("FASTRTPS_DEFAULT_PROFILES_FILE", "/jazzy.xml")
    jazzy = no_input_message("/camera/image_raw", 0, 3, "best-effort", rmw)
    assert "FASTRTPS_DEFAULT_PROFILES_FILE=/jazzy.xml" in jazzy
    seen = no_input_message("/camera/image_raw", 1, 3, "best-effort", rmw)
    assert f"best-effort (middleware {rmw})" in seen and "Fast DDS's default transport" in seen


def test_no_input_message_under_cyclone_dds_gives_cyclones_advice(monkeypatch):
    """Under Cyclone DDS no FASTDDS_* variable is named (they do nothing there): its URI is, and the
    socket buffer settings that carry large frames."""
    from fer_ros.node.diagnostics import no_input_message

    monkeypatch.setenv("CYCLONEDDS_URI", "file:///etc/cyclone.xml")
    monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    alone = no_input_message("/camera/image_raw", 0, 3, "best-effort", CYCLONE_DDS)
    assert "(rmw_cyclonedds_cpp, CYCLONEDDS_URI=file:///etc/cyclone.xml)" in alone
    assert "RMW_IMPLEMENTATION" in alone
    seen = no_input_message("/camera/image_raw", 1, 3, "best-effort", CYCLONE_DDS)
    assert "net.core.rmem_max" in seen and "SocketReceiveBufferSize" in seen
    for message in (alone, seen):
        assert "FASTDDS" not in message and "Fast DDS" not in message, message


def test_no_input_message_under_another_rmw_names_it_and_no_dds_variable():
    from fer_ros.node.diagnostics import no_input_message

    for publishers in (0, 1):
        message = no_input_message("/camera/image_raw", publishers, 3, "best-effort", "rmw_zenoh_cpp")
        assert "rmw_zenoh_cpp" in message
        assert "FASTDDS" not in message and "CYCLONEDDS" not in message, message


def test_the_clock_diagnostics_value_says_whether_sim_time_runs():
    from fer_ros.node.diagnostics import clock_description

    assert clock_description(False, 123) == "system"
    assert clock_description(True, 0) == "/clock (use_sim_time), none received yet: stamps are 0"
    assert clock_description(True, 10**12) == "/clock (use_sim_time)"
