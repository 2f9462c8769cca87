"""The controller's provisioning rules without I/O: the S8 Wi-Fi priority rules and the camera
profile's S7/S11 settings as a camera of each model receives them in the dock."""

# covers: S7, S8, S11

from __future__ import annotations

import pytest

from appliance.controller.provisioning import LocationSetting, ProfileSettings, WifiCredential, effective_networks
from bwlab.models import MODELS
from bwlab.schema import SchemaError, from_mapping

LAB = WifiCredential("LabNet", "lab-pass")
LAB24 = WifiCredential("LabNet-24", "lab24-pass")
MANAGER = WifiCredential("Van-7", "van-pass")
ASSISTANT = WifiCredential("Home", "home-pass")


def ssids(networks):
    return [(n["ssid"], n["source"], n["priority"]) for n in networks]


def test_profile_networks_only_in_profile_order():
    nets = effective_networks([LAB24, LAB], None, None)
    assert ssids(nets) == [("LabNet-24", "profile", 1), ("LabNet", "profile", 2)]
    assert nets[0]["password"] == "lab24-pass"


def test_no_network_at_all_is_an_empty_list():
    # S8: a camera with a SIM that only uses mobile networks needs no Wi-Fi.
    assert effective_networks([], None, None) == []


def test_manager_network_comes_first_and_beats_the_profile():
    nets = effective_networks([LAB, LAB24], MANAGER, None)
    assert ssids(nets) == [("Van-7", "camera_user", 1), ("LabNet", "profile", 2), ("LabNet-24", "profile", 3)]


def test_manager_network_with_a_profile_ssid_wins_once_with_its_own_password():
    nets = effective_networks([LAB, LAB24], WifiCredential("LabNet-24", "user-specific"), None)
    assert ssids(nets) == [("LabNet-24", "camera_user", 1), ("LabNet", "profile", 2)]
    assert nets[0]["password"] == "user-specific"


def test_duplicate_profile_ssids_are_given_once():
    assert ssids(effective_networks([LAB, LAB, LAB24], None, None)) == [
        ("LabNet", "profile", 1),
        ("LabNet-24", "profile", 2),
    ]


@pytest.mark.parametrize("profile, manager", [([LAB, LAB24], MANAGER), ([LAB], None), ([], MANAGER), ([], None)])
def test_assistant_network_replaces_every_other(profile, manager):
    nets = effective_networks(profile, manager, ASSISTANT)
    assert nets == [{"ssid": "Home", "password": "home-pass", "source": "assistant", "priority": 1}]


def test_effective_networks_does_not_change_its_inputs():
    profile = [LAB, LAB24]
    effective_networks(profile, MANAGER, None)
    assert profile == [LAB, LAB24]


# ---- ProfileSettings (S7, S11)


def test_streaming_off_turns_the_streaming_options_off_for_the_camera():
    p = ProfileSettings(
        "Rec", streaming=False, live_stream_on_record=True, remote_activation=True, remote_mode="always"
    )
    got = p.for_camera("W102")
    assert got == {
        "name": "Rec",
        "streaming": False,
        "live_stream_on_record": False,
        "remote_activation": None,
        "location": None,
        "help_gesture": None,
        "help_stream": False,
    }


def test_the_help_gesture_goes_to_the_camera_and_its_stream_only_with_streaming():
    # covers: S7 (issue 16: the help request is a profile setting)
    assert ProfileSettings("P", streaming=True, help_gesture="function_long").for_camera("W100")["help_stream"] is True
    got = ProfileSettings("P", streaming=False, help_gesture="function_long").for_camera("W100")
    assert got["help_gesture"] == "function_long" and got["help_stream"] is False


@pytest.mark.parametrize(
    "remote, mode, expected",
    [(False, "always", None), (True, "always", "always"), (True, "while_recording", "while_recording")],
)
def test_remote_activation_mode_reaches_the_camera(remote, mode, expected):
    p = ProfileSettings("Live", streaming=True, live_stream_on_record=True, remote_activation=remote, remote_mode=mode)
    got = p.for_camera("W110")
    assert got["streaming"] is True and got["live_stream_on_record"] is True
    assert got["remote_activation"] == expected


def test_location_is_per_model_and_only_where_there_is_gps():
    p = ProfileSettings(
        "Live",
        streaming=True,
        location={
            "W101": LocationSetting(True),
            "W120": LocationSetting(True, "always"),
            "W102": LocationSetting(False),
        },
    )
    assert p.for_camera("W101")["location"] == "while_recording_or_streaming"
    assert p.for_camera("W120")["location"] == "always"
    assert p.for_camera("W102")["location"] is None  # listed but off
    assert p.for_camera("W110")["location"] is None  # not listed: off


@pytest.mark.parametrize("model", [m for m, spec in MODELS.items() if not spec.gps])
def test_location_on_for_a_model_without_gps_is_refused(model):
    with pytest.raises(ValueError, match=f"location.{model}: the {model} has no GPS"):
        ProfileSettings("P", location={model: LocationSetting(True)})
    ProfileSettings("P", location={model: LocationSetting(False)})  # off is fine


def test_location_for_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="location.W999: unknown camera model"):
        ProfileSettings("P", location={"W999": LocationSetting(False)})


@pytest.mark.parametrize(
    "data, path, words",
    [
        ({"name": "P", "location": {"W100": {"enabled": True}}}, "(top level)", ["W100 has no GPS"]),
        ({"name": "P", "location": {"W101": {"enabled": "yes"}}}, "location.W101.enabled", ["a boolean"]),
        (
            {"name": "P", "location": {"W101": {"mode": "sometimes"}}},
            "location.W101.mode",
            ["'while_recording_or_streaming'", "'always'"],
        ),
        ({"name": "P", "remote_mode": "never"}, "remote_mode", ["'while_recording'", "'always'"]),
        ({"name": "P", "streaming": "on"}, "streaming", ["a boolean"]),
        ({"name": ""}, "name", ["a non-empty string"]),
        ({"name": "P", "wifi_networks": [f"n{i}" for i in range(33)]}, "wifi_networks", ["at most 32 items"]),
        ({"name": "P", "wifi_networks": ["ok", 3]}, "wifi_networks[1]", ["a string"]),
        ({"name": "P", "geofence": True}, "geofence", ["unknown key"]),
        ({"streaming": True}, "name", ["required key is missing"]),
    ],
)
def test_profile_settings_from_a_request_body(data, path, words):
    with pytest.raises(SchemaError) as info:
        from_mapping(ProfileSettings, data)
    assert info.value.path == path
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_wifi_credential_limits():
    assert from_mapping(WifiCredential, {"ssid": "x" * 32}).password == ""
    with pytest.raises(SchemaError, match="ssid: a string of at most 32"):
        from_mapping(WifiCredential, {"ssid": "x" * 33})
    with pytest.raises(SchemaError, match="password: a string of at most 63"):
        from_mapping(WifiCredential, {"ssid": "x", "password": "p" * 64})
    with pytest.raises(SchemaError, match="ssid: expected a non-empty string"):
        from_mapping(WifiCredential, {"ssid": " "})
