"""Troubleshooting mode: the four pages with the manual's fields, on Wi-Fi and on mobile (T1)."""

from __future__ import annotations

import pytest

from appliance.lab.troubleshooting import (
    TroubleshootingScreen,
    TroubleshootingUnavailable,
    availability,
    build_pages,
)
from bwlab.models import get_model
from labnet.mobile import Cell, MobileRadio, ModemSettings, Sim
from labnet.radio_config import AccessPoint, WifiNetwork, derive_mac
from labnet.wifi import WifiRadio

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
PASSWORD = "correct horse battery"
LAB_AP = AccessPoint("lobby", "LabNet", password=PASSWORD)
ICCID = "89460000000000000011"


def wifi_status(networks=(WifiNetwork("LabNet", PASSWORD),), model="W102"):
    r = WifiRadio(get_model(model), derive_mac("cam"), networks=networks, access_points=[LAB_AP], position=(8, 0))
    r.status(T0 - 5)  # attempts take time (a failing handshake seconds): by T0 the outcome is in
    return r.status(T0)


def mobile_status(sim: Sim | None = Sim(iccid=ICCID), settings=ModemSettings()):
    m = MobileRadio(
        get_model("W120"), "356938035643809", sim=sim, settings=settings, cells=[Cell("mast", (20,))], position=(200, 0)
    )
    return m.status(T0)


def pages(model="W102", *, wifi=None, mobile=None, code=200, system_time=T0, **kw):
    return build_pages(
        model=get_model(model),
        allowed=True,
        system_time=system_time,
        wifi=wifi,
        mobile=mobile,
        endpoint_response_code=code,
        **kw,
    )


def labels(page) -> list[tuple[str, str]]:
    return [(f.label, f.label_fr) for f in page.fields]


def test_four_pages_on_wifi_with_the_manuals_fields():
    wifi = wifi_status()
    p1, p2, p3, p4 = pages(wifi=wifi, mobile=mobile_status(None))
    assert labels(p1) == [
        ("System time", "Heure du système"),
        ("Net", "Statut du réseau (Net)"),
        ("Sub-mode", "Mode Wi-Fi ou réseau mobile (Sous-mode : WLAN ou LTE)"),
        ("Signal (dB)", "Intensité du signal en dB"),
    ]
    assert labels(p2) == [
        ("SSID", "SSID"),
        ("Auth", "Méthode d'authentification (Auth)"),
        ("IPv4", "Adresse IPv4 de la caméra"),
        ("Status", "Statut d'authentification (Status)"),
        ("AP MAC", "Adresse MAC du point d'accès connecté"),
    ]
    assert labels(p3) == [("Name servers", "Serveurs de noms utilisés par la caméra")]
    assert labels(p4) == [("Endpoint response code", "Code de réponse de la requête du point d'extrémité")]
    assert p1.value("system_time") == "2027-01-15 08:00:00"
    assert (p1.value("net"), p1.value("sub_mode"), p1.value("signal")) == ("Connected", "WLAN", str(wifi.signal_db))
    assert (p2.value("ssid"), p2.value("auth"), p2.value("status")) == ("LabNet", "WPA2-PSK", "Connected")
    assert (p2.value("ipv4"), p2.value("ap_mac")) == (wifi.ipv4, LAB_AP.bssid)
    assert p3.value("name_servers") == LAB_AP.dns[0]
    assert p4.value("endpoint_response_code") == "200"


def test_page_two_on_mobile_shows_ip_roaming_sim_status_apn():
    mobile = mobile_status()
    p1, p2, p3, _ = pages(wifi=wifi_status(), mobile=mobile, model="W120")
    assert p1.value("sub_mode") == "LTE" and p1.value("signal") == str(mobile.signal_db)
    assert labels(p2) == [
        ("IP", "Adresse IP de la caméra"),
        ("Roaming", "Statut de l'itinérance"),
        ("SIM status", "Statut SIM"),
        ("APN", "APN"),
    ]
    assert [f.value for f in p2.fields] == [mobile.ipv4, "Inactive", "Ready", "internet"]
    assert p3.value("name_servers") == ", ".join(mobile.dns_servers)


def test_t3_3_wrong_ssid_shows_no_ap_mac_and_t3_2b_no_ipv4():
    _, wrong_ssid, _, _ = pages(wifi=wifi_status([WifiNetwork("LabNett", PASSWORD)]))
    assert wrong_ssid.value("ssid") == "LabNett" and wrong_ssid.value("ap_mac") is None
    p1, wrong_password, p3, _ = pages(wifi=wifi_status([WifiNetwork("LabNet", "not the password")]))
    assert wrong_password.value("ipv4") is None and wrong_password.value("ap_mac") == LAB_AP.bssid
    assert wrong_password.value("status") == "Authentication failed"
    assert p1.value("net") == "Disconnected" and p3.value("name_servers") is None


def test_t4_7_no_ipv4_and_no_apn_listed():
    _, p2, _, _ = pages(model="W120", mobile=mobile_status(Sim(iccid=ICCID, apn_required=True)))
    assert p2.value("ip") is None and p2.value("apn") is None


def test_camera_clock_no_response_and_explicit_name_servers():
    p1, _, p3, p4 = pages(wifi=wifi_status(), code="timeout", system_time=T0 - 3600 + 0.9, dns_servers=["192.0.2.53"])
    assert p1.value("system_time") == "2027-01-15 07:00:00"
    assert p3.value("name_servers") == "192.0.2.53"
    assert p4.value("endpoint_response_code") == "timeout"
    _, _, _, none = pages(wifi=wifi_status(), code=None)
    assert none.value("endpoint_response_code") is None


def test_only_w102_and_w120_when_allowed():
    assert [m for m in ("W100", "W101", "W102", "W110", "W120") if availability(get_model(m), True) is None] == [
        "W102",
        "W120",
    ]
    with pytest.raises(TroubleshootingUnavailable) as err:
        pages(model="W100", wifi=wifi_status())
    assert err.value.reason == "model"
    with pytest.raises(TroubleshootingUnavailable) as err:
        build_pages(
            model=get_model("W102"), allowed=False, system_time=T0, wifi=None, mobile=None, endpoint_response_code=None
        )
    assert err.value.reason == "not_allowed" and "Allow troubleshooting mode" in str(err.value)


def test_top_button_enters_pages_and_holding_five_seconds_leaves():
    screen = TroubleshootingScreen(get_model("W120"), allowed=True)
    assert screen.press() is None, "a single press does not enter"
    assert screen.double_press() == 1
    assert [screen.press() for _ in range(4)] == [2, 3, 4, 1]
    assert screen.hold(4.9) == 1
    assert screen.hold(5.0) is None


def test_screen_stays_off_when_unavailable_and_leaves_when_disallowed():
    assert TroubleshootingScreen(get_model("W110"), allowed=True).double_press() is None
    assert TroubleshootingScreen(get_model("W102"), allowed=False).double_press() is None
    screen = TroubleshootingScreen(get_model("W102"), allowed=True)
    screen.double_press()
    screen.set_allowed(False)
    assert screen.page is None
