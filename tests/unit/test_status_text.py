"""``bwlab status`` as text (issue 16 item 5, interfaces): each camera's line carries its battery and
storage in percent, its temperature and a warning marker with the warnings' codes — the same
report and warnings as ``bwlab status --json`` (bwlab/wire/health.py)."""

# covers: O5, L2

from __future__ import annotations

from bwlab.cli.devices import health_text, status_lines
from bwlab.wire import health as wire_health

NOW = 1_790_000_000.0


def report(**over) -> dict:
    fields = {
        "battery_percent": 84.4,
        "charging": False,
        "battery_minutes_left": 400.0,
        "storage_used": 2_000_000_000,
        "storage_capacity": 32_000_000_000,
        "storage_minutes_left": None,
        "temperature_c": 31.26,
        "signal_dbm": -60.0,
        "link": "wifi",
        "at": NOW,
        "type": "health",
    }
    return wire_health.summary({**fields, **over}, NOW)


def camera(serial: str, user: str, health: dict | None, **over) -> dict:
    return {
        "serial": serial,
        "model": "W100",
        "camera_user": user,
        "docked": False,
        "dock": None,
        "bay": None,
        "cert_not_after": NOW + 86400,
        "cert_valid": True,
        "stream": None,
        "health": health,
        **over,
    }


def test_a_healthy_camera_shows_battery_storage_and_temperature_without_a_warning_marker():
    assert health_text(report()) == "battery  84 %         storage   6 %  31.3 °C"
    docked = health_text(report(charging=True, battery_minutes_left=None))
    assert docked.startswith("battery  84 % charging ") and "!" not in docked


def test_warnings_are_marked_with_their_codes_as_in_the_json():
    low = report(battery_percent=12.0, battery_minutes_left=20.0, signal_dbm=-80.0, temperature_c=46.0)
    codes = [w["code"] for w in low["warnings"]]
    assert codes == ["battery_low", "temperature_high", "signal_weak"]
    text = health_text(low)
    assert text.startswith("battery  12 %") and "46.0 °C" in text
    assert text.endswith("  ! battery_low temperature_high signal_weak")
    full = health_text(report(storage_used=32_000_000_000))
    assert "storage 100 %" in full and full.endswith("! storage_full")


def test_each_camera_line_of_bwlab_status_carries_its_health():
    status = {
        "lab_time": NOW,
        "clock_offset": 0.0,
        "url": "https://127.0.0.1:8443",
        "systems": [
            {
                "id": "sys1",
                "name": "Main station",
                "connected": True,
                "connection_state": "connected",
                "organization": "Demo Security",
                "cameras": [
                    camera("B8A44F000101", "Anna Berg", report(battery_percent=15.0), stream="live"),
                    camera("B8A44F000102", "Ben Carter", report()),
                    camera("B8A44F000103", "Chloe Dubois", None, docked=True, dock="Dock 1", bay=2),
                ],
            }
        ],
    }
    lines = status_lines(status)
    anna, ben, chloe = (next(line for line in lines if serial in line) for serial in ("101", "102", "103"))
    assert "stream live" in anna and "battery  15 %" in anna and anna.endswith("! battery_low")
    assert "battery  84 %" in ben and "storage   6 %" in ben and "31.3 °C" in ben and "!" not in ben
    assert "Dock 1/2" in chloe and chloe.endswith("health -")
    assert lines[0].startswith("lab time ") and "connected to Demo Security" in lines[1]
