"""Automatic diagnosis (L3): every row of T2, T3 and T4 is reproduced from the radio and modem
cores and named by its rule from what a technician sees (the cores' cause codes are blanked as
appliance/lab/symptoms.py does, the Wi-Fi log is written as the camera writes it), with its
evidence; a healthy camera gets no finding."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from appliance.lab.diagnosis import (
    ROWS,
    SIX_DAYS_S,
    TABLE,
    CameraTelemetry,
    DiagnosisSettings,
    ViewerTelemetry,
    diagnose,
)
from appliance.lab.symptoms import blank_mobile, blank_wifi
from bwlab.models import get_model
from firmware_stub.supplicant_log import connected_line, failed_line
from labnet.mobile import Cell, MobileRadio, ModemSettings, Sim
from labnet.radio_config import AccessPoint, WifiNetwork, derive_mac
from labnet.wifi import WifiRadio

T0 = 1_800_000_000.0
PASSWORD = "correct horse battery"
ICCID = "89460000000000000011"
NET = WifiNetwork("LabNet", PASSWORD)


def ap(**kw) -> AccessPoint:
    kw.setdefault("password", PASSWORD)
    return AccessPoint(name=kw.pop("name", "lobby"), ssid=kw.pop("ssid", "LabNet"), **kw)


def wifi(model="W102", networks=(NET,), aps=None, position=(8.0, 0.0), now=T0):
    r = WifiRadio(
        get_model(model), derive_mac("cam"), networks=networks, access_points=aps or [ap()], position=position
    )
    r.status(now - 5)  # attempts take time (a failing handshake seconds): by ``now`` the outcome is in
    return r.status(now)


def mobile(sim: Sim | None = None, model="W120", cells=None, position=(200.0, 0.0), **kw):
    m = MobileRadio(
        get_model(model), "356938035643809", sim=sim, cells=cells or [Cell("mast", (20,))], position=position, **kw
    )
    return m.status(T0)


def camera(model="W102", **kw) -> CameraTelemetry:
    """A healthy camera, out of its dock since an hour ago, on Wi-Fi, with one viewer."""
    fields = dict(
        camera_id="cam-1",
        model=model,
        now=T0,
        last_docked_at=T0 - 3600,
        cert_not_after=T0 - 3600 + SIX_DAYS_S,
        wifi_networks=1,
        wifi=wifi(model),
        mobile=mobile(None, model=model),
        endpoint_response_code=200,
        viewers=(ViewerTelemetry(),),
    )
    fields.update(kw)
    return seen(CameraTelemetry(**fields))


def seen(t: CameraTelemetry) -> CameraTelemetry:
    """``t`` as the diagnosis gets it: the camera's Wi-Fi log line for its radio's state (as the
    firmware writes it) and no cause codes."""
    w, log = t.wifi, t.wifi_log
    if w is not None and not log:
        if w.connected:
            log = (connected_line(T0, w.ssid, w.ap_mac),)
        elif w.failure and (line := failed_line(T0, w.ssid, w.ap_mac, w.failure)) is not None:
            log = (line,)
    return dataclasses.replace(t, wifi=blank_wifi(t), mobile=blank_mobile(t), wifi_log=tuple(log))


def w120_on(sim: Sim, **kw) -> CameraTelemetry:
    return camera("W120", mobile=mobile(sim, **kw), wifi_networks=0)


SIM = Sim(iccid=ICCID)

#: One telemetry snapshot per row, built from the real cores: the lab can reproduce each row.
REPRODUCE: dict[str, Callable[[], CameraTelemetry]] = {
    "T2-1": lambda: camera(cloud_extensions_error="proxy refused the connection"),
    "T2-2a": lambda: camera(streaming_enabled=False, camera_error="streaming_disabled"),
    "T2-2b": lambda: camera(licence_valid=False),
    "T2-3a": lambda: camera(wifi_networks=0, wifi=wifi(networks=())),
    "T2-3b": lambda: camera(last_docked_at=T0 - SIX_DAYS_S - 60, cert_not_after=T0 - 60),
    "T2-3c": lambda: camera(wifi=wifi(networks=[WifiNetwork("LabNet", "not the password")])),
    "T2-3d": lambda: camera("W100", wifi=wifi("W100", aps=[ap(band="5", channel=36)])),
    "T2-3e": lambda: camera(wifi=wifi(networks=[WifiNetwork("LabNett", PASSWORD)])),
    "T2-4a": lambda: w120_on(Sim(state="pin_required", iccid=ICCID, pin="1234")),
    "T2-4b": lambda: w120_on(SIM, swapped_while_undocked=True),
    "T2-4c": lambda: w120_on(Sim(iccid=ICCID, apn_required=True)),
    "T2-4d": lambda: w120_on(Sim(iccid=ICCID, imei_blocked=True)),
    "T2-4e": lambda: w120_on(Sim(state="dead", iccid=ICCID)),
    "T2-5": lambda: camera(last_docked_at=T0 - SIX_DAYS_S - 60, cert_not_after=T0 - 60),
    "T2-5-hostnames": lambda: camera(blocked_hostnames=("axisbws-prod.azure-devices.net",)),
    "T2-6": lambda: camera(viewers=(ViewerTelemetry(clock_offset_s=-42.0),)),
    "T2-7": lambda: camera("W101", wifi=wifi("W101", aps=[ap(channel=13, country="FR")]), system_country="FR"),
    "T2-8": lambda: camera(viewers=(ViewerTelemetry(embedded_in="genetec", browser="chrome"),)),
    "T2-9a": lambda: camera(viewers=(ViewerTelemetry(embedded_in="axis-camera-station", acs_version="5.46.1"),)),
    "T2-9b": lambda: camera(
        viewers=(ViewerTelemetry(embedded_in="axis-camera-station", acs_version="6.2", windows_outdated=True),)
    ),
    "T2-10": lambda: camera(viewers=(ViewerTelemetry(request_blocked=True),)),
    "T3-1": lambda: camera("W120", mobile=mobile(SIM), wifi_networks=1, troubleshooting_mode=True),
    "T3-2a": lambda: camera(wifi=wifi(aps=[ap(security="wpa3-only")])),
    "T3-2b": lambda: camera(wifi=wifi(networks=[WifiNetwork("LabNet", "not the password")])),
    "T3-3": lambda: camera(wifi=wifi(networks=[WifiNetwork("LabNett", PASSWORD)])),
    "T3-4": lambda: camera(wifi=wifi(position=(80.0, 0.0))),
    "T3-5": lambda: camera(streaming=True, wifi=dataclasses.replace(wifi(), last_roam_at=T0 - 4)),
    "T4-1": lambda: camera("W120", wifi=wifi("W120", position=(900.0, 0.0)), mobile=mobile(None)),
    "T4-2": lambda: w120_on(Sim(state="incompatible", iccid=ICCID)),
    "T4-3a": lambda: w120_on(SIM, swapped_while_undocked=True),
    "T4-3b": lambda: w120_on(Sim(iccid=ICCID, activated=False)),
    "T4-4": lambda: w120_on(Sim(state="puk_locked", iccid=ICCID)),
    "T4-5": lambda: w120_on(Sim(state="pin_required", iccid=ICCID, pin="1234"), settings=ModemSettings(pin="0000")),
    "T4-6a": lambda: w120_on(SIM, cells=[Cell("us-mast", (2, 4))]),
    "T4-6b": lambda: w120_on(SIM, position=(50_000.0, 0.0)),
    "T4-7": lambda: w120_on(Sim(iccid=ICCID, apn_required=True)),
    "T4-8": lambda: w120_on(SIM, cells=[Cell("abroad", (20,), operator="other")]),
    "T4-9": lambda: w120_on(Sim(iccid=ICCID, credit_mb=0.0)),
}


def test_table_has_every_manual_row_once():
    codes = [row.code for row in TABLE]
    assert len(codes) == len(set(codes)) == len(ROWS)
    by_table = {t: [c for c in codes if c.startswith(t + "-")] for t in ("T2", "T3", "T4")}
    assert len(by_table["T2"]) == 21  # rows 1–10 with their lettered causes, plus the derived hostnames cause
    assert by_table["T3"] == ["T3-1", "T3-2a", "T3-2b", "T3-3", "T3-4", "T3-5"]
    assert by_table["T4"] == [
        "T4-1",
        "T4-2",
        "T4-3a",
        "T4-3b",
        "T4-4",
        "T4-5",
        "T4-6a",
        "T4-6b",
        "T4-7",
        "T4-8",
        "T4-9",
    ]
    for row in TABLE:
        assert row.spec_id == row.code.split("-")[0]
        assert all((row.symptom, row.cause, row.fix, row.symptom_fr, row.cause_fr, row.fix_fr, row.observed)), row.code
    assert [r.code for r in TABLE if r.lab_derived] == ["T2-5-hostnames"]
    assert set(REPRODUCE) == set(ROWS), "every row has a reproduction below"


def test_manual_wording_is_kept():
    assert ROWS["T3-2a"].cause_fr == "WPA2 n'est pas autorisé par le point d'accès."
    assert ROWS["T4-2"].symptom_fr == "Dans AXIS Body Worn Manager, l'état de la carte SIM est Unknown (Inconnu)."
    assert "bodywornlive.support@axis.com" in ROWS["T2-7"].fix
    assert ROWS["T3-5"].fix == "-"
    assert "Show more" in ROWS["T4-7"].fix_fr and "Show advanced" in ROWS["T2-4c"].fix_fr


def test_a_healthy_camera_has_no_finding():
    assert diagnose(camera()) == []


def test_a_record_only_profile_is_not_a_fault_until_a_start_is_ignored():
    # covers: T2, S7, L3 — the demo's "Record only" camera user never tries to stream: nothing to name
    assert diagnose(camera(streaming_enabled=False)) == []
    ignored = diagnose(camera(streaming_enabled=False, camera_error="streaming_disabled"))
    assert [f.code for f in ignored] == ["T2-2a"] and ignored[0].evidence[0].source == "camera screen"


def test_a_w120_on_lte_that_also_holds_wifi_networks_is_healthy():
    # covers: T3, L3 — T3 row 1's symptom is seen in troubleshooting mode, not on every LTE camera
    assert diagnose(camera("W120", mobile=mobile(SIM), wifi_networks=2)) == []


@pytest.mark.parametrize("code", list(REPRODUCE))
def test_each_row_is_reproduced_and_named(code):
    findings = diagnose(REPRODUCE[code]())
    row = ROWS[code]
    assert code in [f.code for f in findings]
    finding = next(f for f in findings if f.code == code)
    assert finding.evidence and all(e.source and e.observation for e in finding.evidence)
    assert (finding.symptom, finding.cause, finding.fix, finding.spec_id) == (
        row.symptom,
        row.cause,
        row.fix,
        row.spec_id,
    )


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        (REPRODUCE["T3-2a"], {"T3-2a"}),
        (REPRODUCE["T3-2b"], {"T2-3c", "T3-2b"}),
        (REPRODUCE["T3-3"], {"T2-3c", "T2-3e", "T3-3"}),
        # a 2.4 GHz-only camera whose SSID no AP answered: nothing it shows tells 5 GHz from a wrong name
        (REPRODUCE["T2-3d"], {"T2-3d", "T2-3c", "T2-3e", "T3-3"}),
        (REPRODUCE["T4-6a"], {"T4-6a", "T4-6b"}),
        (REPRODUCE["T4-7"], {"T2-4c", "T4-7"}),
        (REPRODUCE["T4-8"], {"T4-8"}),
        (REPRODUCE["T4-9"], {"T4-9"}),
        (REPRODUCE["T4-3b"], {"T2-4d", "T4-3b"}),
        (REPRODUCE["T2-3b"], {"T2-3b", "T2-5"}),
        # out of reach of every AP: the weak-signal icon explains why no AP answered
        (lambda: camera(wifi=wifi(position=(400.0, 0.0))), {"T3-4"}),
    ],
)
def test_findings_name_only_the_causes_that_hold(snapshot, expected):
    assert {f.code for f in diagnose(snapshot())} == expected


def test_t2_7_needs_europe_and_w100_w101_and_channel_12_or_13():
    # covers: T2 — "the system is in Europe" is the system's location (Manager), not the AP's country
    on13 = [ap(channel=13, country="SE")]
    assert "T2-7" in {f.code for f in diagnose(camera("W100", wifi=wifi("W100", aps=on13), system_country="SE"))}
    assert "T2-7" not in {f.code for f in diagnose(camera("W102", wifi=wifi("W102", aps=on13), system_country="SE"))}
    assert "T2-7" not in {
        f.code
        for f in diagnose(camera("W100", wifi=wifi("W100", aps=[ap(channel=11, country="SE")]), system_country="SE"))
    }
    japan = camera("W100", wifi=wifi("W100", aps=[ap(channel=13, country="JP")]))
    assert "T2-7" not in {f.code for f in diagnose(japan)}
    assert "T2-7" in {f.code for f in diagnose(dataclasses.replace(japan, system_country="DE"))}
    # an access point advertising a European country does not put the system in Europe
    swedish_ap = camera("W100", wifi=wifi("W100", aps=on13))
    assert "T2-7" not in {f.code for f in diagnose(swedish_ap)}
    assert "T2-7" not in {f.code for f in diagnose(dataclasses.replace(swedish_ap, system_country="US"))}


def test_clock_tolerance_is_a_setting():
    skewed = camera(viewers=(ViewerTelemetry(clock_offset_s=4.0),))
    assert "T2-6" not in {f.code for f in diagnose(skewed)}
    assert "T2-6" in {f.code for f in diagnose(skewed, DiagnosisSettings(clock_tolerance_s=2.0))}
    system_skew = camera(system_clock_offset_s=30.0)
    assert "T2-6" in {f.code for f in diagnose(system_skew)}


def test_six_days_counts_from_the_last_docking_and_not_while_docked():
    just_in_time = camera(last_docked_at=T0 - SIX_DAYS_S + 1, cert_not_after=None)
    assert not {"T2-3b", "T2-5"} & {f.code for f in diagnose(just_in_time)}
    late = camera(last_docked_at=T0 - SIX_DAYS_S - 1, cert_not_after=None)
    assert {"T2-3b", "T2-5"} <= {f.code for f in diagnose(late)}
    assert not {f.code for f in diagnose(dataclasses.replace(late, docked=True))}


def test_roaming_lag_only_while_streaming_and_recently():
    roamed = dataclasses.replace(wifi(), last_roam_at=T0 - 4)
    assert "T3-5" not in {f.code for f in diagnose(camera(wifi=roamed, streaming=False))}
    old = dataclasses.replace(wifi(), last_roam_at=T0 - 300)
    assert "T3-5" not in {f.code for f in diagnose(camera(wifi=old, streaming=True))}


def test_a_sim_camera_with_working_lte_and_no_wifi_is_fine():
    """S8: a camera with a SIM that only uses mobile networks needs no Wi-Fi."""
    assert diagnose(w120_on(SIM)) == []


# covers: L3, T2, T4, S1, S3, S7, S8
def test_every_fix_that_sends_the_user_to_the_manager_names_a_screen_the_manager_has():
    """Every English fix text naming AXIS Body Worn Manager carries the path it names (menu entries
    in order, what to click, the fields), and the path is in the text: the e2e test in Chromium
    (tests/e2e/test_fix_paths.py) walks each one in the Manager. No fix names a menu the Manager
    does not have (issue 12: "Settings > Camera profiles" does not exist; Camera profiles is a
    top-level entry as in the manual)."""
    top_level = {"Add-on services", "Camera profiles", "Users", "Cameras", "Docks", "Settings"}
    for row in TABLE:
        names_manager = "AXIS Body Worn Manager" in row.fix
        assert names_manager == bool(row.manager), row.code
        for screen in row.manager:
            assert screen.menu[0] in top_level, (row.code, screen.menu)
            at = 0
            for entry in screen.menu:  # every entry, in the text's order
                found = row.fix.find(entry, at)
                assert found >= 0, (row.code, entry, row.fix)
                at = found + len(entry)
            for name in screen.fields + ((screen.reveal,) if screen.reveal else ()):
                assert name.lower() in row.fix.lower(), (row.code, name)
    assert "Settings > Camera profiles" not in " ".join(r.fix for r in TABLE)
    assert [s.menu for s in ROWS["T2-4c"].manager] == [("Settings", "Camera", "Mobile networks")]
    assert ROWS["T2-4c"].manager[0].reveal == "Show advanced" and ROWS["T4-7"].manager == ROWS["T2-4c"].manager
    assert [s.menu for s in ROWS["T2-1"].manager] == [("Settings", "Network")]
    assert [s.menu for s in ROWS["T2-6"].manager] == [("Settings", "System", "Date and time")]


# covers: L3, T2, T3, T4
def test_the_cause_codes_alone_name_nothing():
    """Issue 14 item 4: the lab's cause codes are an answer key the rules never read. A snapshot
    carrying every code but showing no symptom (no log line, no icon, no page field) is healthy."""
    healthy = camera()
    for failure in ("wrong_password", "ssid_not_found", "wpa2_not_allowed", "band_unsupported"):
        keyed = dataclasses.replace(healthy, wifi=dataclasses.replace(wifi(), failure=failure))
        assert diagnose(keyed) == [], failure
    lte = w120_on(SIM)
    for problem in ("sim_swapped", "not_activated", "apn_missing", "no_credit", "roaming_disabled", "out_of_range"):
        keyed = dataclasses.replace(lte, mobile=dataclasses.replace(mobile(SIM), problem=problem))
        assert diagnose(keyed) == [], problem
