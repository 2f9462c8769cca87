"""Wi-Fi radio core: configuration, path loss, association outcomes, roaming (S8, T2, T3, L4)."""

from __future__ import annotations

import ipaddress

import pytest

from bwlab.models import get_model
from bwlab.schema import SchemaError
from labnet.events import (
    AssociationRequest,
    AssociationResponse,
    Deauthentication,
    EapolKey,
    ProbeRequest,
    ProbeResponse,
    WifiConnected,
    WifiConnectFailed,
    WifiDisconnected,
    WifiRoamed,
    WifiRoamStarted,
)
from labnet.propagation import LINK_DOWN, PathLossModel
from labnet.radio_config import AccessPoint, RadioConfig, WifiNetwork, access_points_from_list, derive_mac
from labnet.wifi import WifiRadio, link_quality

PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0


def ap(name: str = "ap-1", ssid: str = "LabNet", **kw) -> AccessPoint:
    kw.setdefault("password", None if kw.get("security") == "open" else PASSWORD)
    return AccessPoint(name=name, ssid=ssid, **kw)


def radio(
    model: str = "W102", networks=(WifiNetwork("LabNet", PASSWORD),), aps=(), position=(5.0, 0.0), **kw
) -> WifiRadio:
    return WifiRadio(
        get_model(model), derive_mac("cam-" + model), networks=networks, access_points=aps, position=position, **kw
    )


def events(r: WifiRadio) -> list:
    out = []
    while (e := r.next_event()) is not None:
        out.append(e)
    return out


# --- configuration ----------------------------------------------------------------------------


def test_access_point_from_mapping_fills_derived_fields():
    a = AccessPoint.from_mapping(
        {"name": "lobby", "ssid": "LabNet", "band": 5, "channel": 36, "password": PASSWORD, "position": [10, 20]},
        "access_points[0]",
    )
    assert a.band == "5" and a.channel == 36 and a.position == (10.0, 20.0)
    assert a.bssid == derive_mac("ap:lobby")
    assert int(a.bssid.split(":")[0], 16) & 0x02, "derived BSSIDs are locally administered"
    assert ipaddress.ip_address(a.dns[0]) in a.network


def test_access_point_unknown_key_names_the_path():
    with pytest.raises(SchemaError) as err:
        AccessPoint.from_mapping({"name": "a", "ssid": "s", "password": PASSWORD, "colour": "red"}, "access_points[2]")
    assert isinstance(err.value, ValueError)
    assert err.value.path == "access_points[2].colour"
    assert "unknown key" in str(err.value) and "channel" in str(err.value)


@pytest.mark.parametrize(
    ("mapping", "path", "expected"),
    [
        ({"channel": 13, "country": "US"}, "access_points[2].channel", "allowed in US (1–11)"),
        ({"channel": 40}, "access_points[2].channel", "2.4 GHz channel"),
        ({"band": "6"}, "access_points[2].band", '"2.4", "5"'),
        ({"security": "wep"}, "access_points[2].security", "'wpa3-only'"),
        ({"password": "short"}, "access_points[2].password", "8 to 63"),
        ({"security": "open"}, "access_points[2].password", "no password"),
        ({"position": [1]}, "access_points[2].position", "[x, y]"),
        ({"country": "se"}, "access_points[2].country", "two-letter"),
        ({"bssid": "nope"}, "access_points[2].bssid", "MAC address"),
        ({"channel": "6"}, "access_points[2].channel", "an integer"),
    ],
)
def test_access_point_errors_name_key_and_expectation(mapping, path, expected):
    data = {"name": "a", "ssid": "LabNet", "password": PASSWORD}
    data.update(mapping)
    with pytest.raises(SchemaError) as err:
        AccessPoint.from_mapping(data, "access_points[2]")
    assert err.value.path == path
    assert expected in str(err.value)


def test_access_point_list_rejects_duplicate_names():
    items = [
        {"name": "a", "ssid": "LabNet", "password": PASSWORD},
        {"name": "a", "ssid": "Other", "password": PASSWORD},
    ]
    with pytest.raises(SchemaError) as err:
        access_points_from_list(items)
    assert err.value.path == "access_points[1].name"


def test_radio_config_and_network_from_mapping():
    cfg = RadioConfig.from_mapping({"roam_hysteresis_db": 8, "path_loss": {"exponent": 3.5}})
    assert cfg.roam_hysteresis_db == 8.0 and cfg.path_loss.exponent == 3.5
    with pytest.raises(SchemaError) as err:
        RadioConfig.from_mapping({"path_loss": {"exponant": 3}}, "lab.wifi")
    assert err.value.path == "lab.wifi.path_loss.exponant"
    with pytest.raises(SchemaError) as err:
        RadioConfig.from_mapping({"weak_signal_dbm": -90}, "lab.wifi")
    assert err.value.path == "lab.wifi.weak_signal_dbm"
    assert WifiNetwork.from_mapping({"ssid": "LabNet", "password": ""}).auth_method == "Open"
    with pytest.raises(SchemaError) as err:
        WifiNetwork.from_mapping({"ssid": "LabNet", "psk": "x"}, "users[0].networks[1]")
    assert err.value.path == "users[0].networks[1].psk"


# --- path loss and link quality ------------------------------------------------------------------


def test_signal_falls_with_distance_and_5ghz_reaches_less_far():
    model = PathLossModel()
    near, far = model.received_dbm(20, 2437, 10), model.received_dbm(20, 2437, 100)
    assert near > far and round(near - far) == 30  # 10·n·log10(10) with n = 3
    a24, a5 = ap(channel=6), ap(band="5", channel=36)
    assert 100 < a24.coverage_m(-82) < 130
    assert a5.coverage_m(-82) < a24.coverage_m(-82)
    at_edge = model.received_dbm(a24.tx_power_dbm, a24.frequency_mhz, a24.coverage_m(-82))
    assert at_edge == pytest.approx(-82, abs=1e-6)


def test_link_quality_degrades_towards_the_edge():
    good, edge = link_quality(-50, "2.4"), link_quality(-80, "2.4")
    assert good.up and edge.up
    assert good.latency_ms < edge.latency_ms
    assert good.loss_ratio < edge.loss_ratio
    assert good.throughput_kbps > edge.throughput_kbps
    assert link_quality(-50, "5").throughput_kbps > good.throughput_kbps
    assert link_quality(-90, "2.4") == LINK_DOWN


# --- association outcomes ----------------------------------------------------------------------


def test_connects_with_right_password_and_shows_page_two_fields():
    a = ap()
    r = radio(aps=[a])
    s = r.status(T0)
    assert s.connected and s.auth_status == "Connected"
    assert (s.ssid, s.auth_method, s.ap_mac, s.band, s.channel) == ("LabNet", "WPA2-PSK", a.bssid, "2.4", 6)
    assert ipaddress.ip_address(s.ipv4) in a.network
    assert s.signal_db is not None and -60 < s.signal_db < -30
    assert s.dns_servers == a.dns and s.link.up
    [connected] = events(r)
    assert isinstance(connected, WifiConnected) and connected.bssid == a.bssid
    assert [f.message for f in r.frames_until(T0 + 1) if isinstance(f, EapolKey)] == [1, 2, 3, 4]


def test_open_network_needs_no_handshake():
    r = radio(networks=[WifiNetwork("Cafe")], aps=[ap(ssid="Cafe", security="open")])
    s = r.status(T0)
    assert s.connected and s.auth_method == "Open"
    assert not any(isinstance(f, EapolKey) for f in r.frames)


def test_w100_does_not_hear_a_5ghz_network():
    """S8, T2 row 3d: the W100/W101 support 2.4 GHz only."""
    five = [ap(band="5", channel=36)]
    w100 = radio("W100", aps=five)
    s = w100.status(T0)
    assert not s.connected and s.failure == "band_unsupported"
    assert s.ap_mac is None and s.ipv4 is None
    assert radio("W102", aps=five).status(T0).connected


def test_w100_uses_the_24ghz_ap_of_a_dual_band_ssid():
    s = radio(
        "W101", aps=[ap("five", band="5", channel=36, position=(1, 0)), ap("two", channel=1, position=(20, 0))]
    ).status(T0)
    assert s.connected and s.band == "2.4" and s.ap == "two"


def test_wpa3_only_ap_shows_its_mac_but_no_ipv4():
    """T3 row 2a: WPA2 is not allowed by the access point."""
    a = ap(security="wpa3-only")
    r = radio(aps=[a])
    r.status(T0)  # scans, authenticates, asks to associate
    s = r.status(T0 + 1)  # the rejection takes effect when the association response arrives
    assert s.ap_mac == a.bssid and s.ipv4 is None
    assert s.failure == "wpa2_not_allowed" and s.auth_status == "Association rejected"
    [resp] = [f for f in r.frames if isinstance(f, AssociationResponse)]
    assert resp.status == 43
    [failed] = [e for e in events(r) if isinstance(e, WifiConnectFailed)]
    assert failed.failure == "wpa2_not_allowed" and failed.bssid == a.bssid


def test_transition_mode_ap_still_takes_wpa2():
    assert radio(aps=[ap(security="wpa2-wpa3")]).status(T0).connected


def test_wrong_password_fails_the_handshake_and_is_deauthenticated():
    """T3 row 2b / T2 row 3c: the AP drops message 2 (bad MIC), retries, then deauthenticates."""
    a = ap()
    r = radio(networks=[WifiNetwork("LabNet", "not the password")], aps=[a])
    r.status(T0)
    during = r.status(T0 + 1.5)  # the handshake takes a second per message 1 sent
    assert during.failure is None and not any(isinstance(f, Deauthentication) for f in r.frames)
    s = r.status(T0 + RadioConfig().handshake_attempts + 1)
    assert s.ap_mac == a.bssid and s.ipv4 is None
    assert s.failure == "wrong_password" and s.auth_status == "Authentication failed"
    eapol = [f.message for f in r.frames if isinstance(f, EapolKey)]
    assert eapol == [1, 2] * RadioConfig().handshake_attempts
    [deauth] = [f for f in r.frames if isinstance(f, Deauthentication)]
    assert deauth.reason == 15 and deauth.src == a.bssid


def test_wrong_ssid_leaves_probes_unanswered_and_no_ap_mac():
    """T3 row 3 / T2 row 3e: wrong SSID, so the access point has no MAC address."""
    r = radio(networks=[WifiNetwork("LabNett", PASSWORD)], aps=[ap()])
    s = r.status(T0)
    assert s.ap_mac is None and s.ipv4 is None and s.failure == "ssid_not_found"
    assert s.ssid == "LabNett" and s.auth_status == "Scanning"
    assert any(isinstance(f, ProbeRequest) and f.ssid == "LabNett" for f in r.frames)
    assert not any(isinstance(f, ProbeResponse) for f in r.frames)


def test_no_network_assigned():
    """T2 row 3a."""
    s = radio(networks=(), aps=[ap()]).status(T0)
    assert s.failure == "no_network_assigned" and s.ssid is None and s.ap_mac is None


def test_security_mismatch_is_skipped_like_a_missing_ssid():
    s = radio(networks=[WifiNetwork("LabNet")], aps=[ap()]).status(T0)
    assert s.failure == "security_mismatch" and s.ap_mac is None


def test_too_far_shows_weak_signal_then_loses_the_ap():
    """T3 row 4: the weak-signal icon when too far from the access point."""
    a = ap()
    r = radio(aps=[a], position=(10, 0))
    assert not r.status(T0).weak_signal
    r.move(T0 + 1, (75, 0))
    s = r.status(T0 + 1)
    assert s.connected and s.weak_signal and s.signal_db < -75
    r.move(T0 + 2, (400, 0))
    s = r.status(T0 + 2)
    assert not s.connected and s.failure == "out_of_range" and s.weak_signal
    assert s.link == LINK_DOWN
    assert any(isinstance(f, Deauthentication) and f.reason == 4 for f in r.frames)
    assert any(isinstance(e, WifiDisconnected) and e.reason == "out_of_range" for e in events(r))


def test_channel_12_13_in_europe_degrades_w100_and_w101_only():
    """T2 row 7: system in Europe, W100/W101, router on channel 12 or 13."""
    ch13 = [ap(channel=13, country="SE")]
    w100 = radio("W100", aps=ch13).status(T0)
    assert w100.connected and w100.degraded == "eu_channel_12_13"
    baseline = radio("W100", aps=[ap(channel=6, country="SE")]).status(T0)
    assert w100.link.throughput_kbps < baseline.link.throughput_kbps * 0.1
    assert w100.link.loss_ratio > baseline.link.loss_ratio
    assert radio("W102", aps=ch13).status(T0).degraded is None
    assert radio("W101", aps=[ap(channel=13, country="JP")]).status(T0).degraded is None


# --- roaming -------------------------------------------------------------------------------------


def two_aps() -> tuple[AccessPoint, AccessPoint]:
    return ap("west", channel=1, position=(0, 0)), ap("east", channel=11, position=(100, 0))


def test_roams_after_hysteresis_with_a_handover_gap():
    """T3 row 5, L4: roaming with hysteresis and a hand-over gap, as events for the trails."""
    west, east = two_aps()
    r = radio(aps=[west, east], position=(10, 0))
    ipv4 = r.status(T0).ipv4
    events(r)
    r.move(T0 + 1, (62, 0))  # east is now > 6 dB stronger
    assert r.status(T0 + 1).ap == "west"
    assert r.get_timer() == pytest.approx(T0 + 1 + RadioConfig().roam_hysteresis_s)
    r.move(T0 + 2, (63, 0))
    assert r.status(T0 + 2).ap == "west", "no roam before the hysteresis time"
    r.handle_timer(r.get_timer())
    roaming = r.status(T0 + 4.5)
    assert roaming.state == "roaming" and roaming.ap_mac == east.bssid and not roaming.link.up
    assert r.get_timer() == pytest.approx(T0 + 4 + RadioConfig().handover_gap_s)
    r.handle_timer(r.get_timer())
    s = r.status(T0 + 5.5)
    assert s.connected and s.ap == "east" and s.ipv4 == ipv4, "same SSID, same subnet: the IPv4 stays"
    assert s.last_roam_at == pytest.approx(T0 + 5.5)
    started, roamed = events(r)
    assert isinstance(started, WifiRoamStarted) and (started.from_ap, started.to_ap) == ("west", "east")
    assert isinstance(roamed, WifiRoamed) and roamed.gap_s == RadioConfig().handover_gap_s
    assert roamed.at - started.at == pytest.approx(RadioConfig().handover_gap_s)
    reassoc = [f for f in r.frames_until(T0 + 6) if isinstance(f, AssociationRequest) and f.current_ap]
    assert reassoc and reassoc[0].current_ap == west.bssid and reassoc[0].bssid == east.bssid


def test_no_roam_when_the_other_ap_is_only_slightly_better():
    west, east = two_aps()
    r = radio(aps=[west, east], position=(10, 0))
    assert r.status(T0).ap == "west"
    for i in range(1, 20):
        r.move(T0 + i, (55, 0))  # east is stronger, by less than the hysteresis
    assert r.status(T0 + 20).ap == "west" and r.get_timer() is None


def test_no_roam_when_the_advantage_does_not_last():
    west, east = two_aps()
    r = radio(aps=[west, east], position=(10, 0))
    assert r.status(T0).ap == "west"
    r.move(T0 + 1, (65, 0))
    r.move(T0 + 2, (30, 0))  # back near west before the hysteresis time
    assert r.get_timer() is None
    r.handle_timer(T0 + 10)
    assert r.status(T0 + 10).ap == "west"


def test_losing_the_ap_reconnects_to_another():
    west, east = two_aps()
    r = radio(aps=[west, east], position=(10, 0))
    assert r.get_timer() == 0.0, "a new radio is due to scan at once"
    r.handle_timer(T0)
    assert r.status(T0).ap == "west"
    r.set_access_points(T0 + 1, [AccessPoint(**{**west.__dict__, "enabled": False}), east])
    s = r.status(T0 + 1)
    assert s.connected and s.ap == "east"
    assert any(isinstance(f, Deauthentication) and f.src == west.bssid and f.reason == 3 for f in r.frames)
    assert [type(e) for e in events(r)] == [WifiConnected, WifiDisconnected, WifiConnected]


def test_ap_reconfigured_to_wpa3_only_kicks_the_camera_off():
    a = ap()
    r = radio(aps=[a])
    assert r.status(T0).connected
    r.set_access_points(T0 + 5, [AccessPoint(**{**a.__dict__, "security": "wpa3-only"})])
    s = r.status(T0 + 6)
    assert s.failure == "wpa2_not_allowed" and s.ipv4 is None and s.ap_mac == a.bssid


def test_failed_attempt_retries_later_and_fixing_the_password_connects_at_once():
    r = radio(networks=[WifiNetwork("LabNet", "not the password")], aps=[ap()])
    ends = T0 + RadioConfig().handshake_attempts  # a second per message 1 sent, then the deauthentication
    r.status(T0)
    assert r.status(ends + 1).failure == "wrong_password"
    assert r.get_timer() == pytest.approx(ends + RadioConfig().auth_retry_s, abs=0.05)
    r.set_networks(ends + 2, [WifiNetwork("LabNet", PASSWORD)])
    assert r.status(ends + 2).connected


def test_walking_into_range_connects_at_the_next_scan():
    r = radio(aps=[ap()], position=(500, 0))
    assert r.status(T0).failure == "out_of_range"
    r.move(T0 + 1, (20, 0))
    assert not r.status(T0 + 1).connected, "between scans the camera does not notice"
    r.handle_timer(r.get_timer())
    assert r.status(T0 + RadioConfig().scan_interval_s).connected


def test_disabled_radio_is_off():
    r = radio(aps=[ap()])
    r.set_enabled(T0 + 1, False)
    s = r.status(T0 + 1)
    assert s.state == "disabled" and s.failure == "disabled" and s.ipv4 is None and r.get_timer() is None
    r.set_enabled(T0 + 2, True)
    assert r.status(T0 + 2).connected


def test_frame_log_is_bounded():
    r = radio(networks=[WifiNetwork("LabNet", "not the password")], aps=[ap()], config=RadioConfig(frame_log_limit=100))
    for i in range(50):
        r.handle_timer(T0 + 10 * i)
    assert len(r.frames) == 100
    assert len(r.pop_frames()) == 100 and r.frames == ()
