"""What a technician could see of one camera, gathered for the diagnosis (SPEC L3; issue 14 item 4).

The diagnosis (``diagnosis.py``) must not read the lab's answer key: the fault list, the world the
fleets declared, or the cause codes the lab's radio and modem cores carry (``WifiStatus.failure``
and ``degraded``, ``MobileStatus.problem``). ``camera_symptoms`` builds its input from

* the camera's own report over the fleet link (what the Lab page shows): its LEDs and screen, the
  error it shows, the fields of its troubleshooting pages, its Wi-Fi log (``wifi_log``, written
  the way a supplicant logs, ``firmware_stub/supplicant_log.py``), its modem's registration result,
  its certificate, profile and Wi-Fi networks, the T5 host names it failed to reach;
* what the Manager shows of it (``facts.CameraFacts``: last docking, profile, the system's
  country) and of the system's clock (Settings > System > Date and time);
* Live's licence page and the device hub's last refusal of the camera (whose message names the
  host name it could not reach, T2 row 5).

The lab-side fields are blanked here, so no rule can read them by mistake. Pure functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bwlab.regions import SERVICE_HOSTS
from labnet.telemetry import unreached_hosts

from .diagnosis import CameraTelemetry, ViewerTelemetry
from .facts import LAB_VIEWER, CameraFacts, camera_telemetry

_T5_NAMES = tuple(h.name for h in SERVICE_HOSTS)


def blank_wifi(telemetry: CameraTelemetry) -> Any:
    """The camera's Wi-Fi status without the lab-side cause fields."""
    w = telemetry.wifi
    return None if w is None else dataclasses.replace(w, failure=None, degraded=None, ap=None, country=None)


def blank_mobile(telemetry: CameraTelemetry) -> Any:
    """The camera's mobile status without the lab-side cause code."""
    m = telemetry.mobile
    return None if m is None else dataclasses.replace(m, problem=None, credit_left_mb=None, cell=None)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def refused_hosts(hub_refusal: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The T5 names the device hub's refusal message says the camera could not reach."""
    if not hub_refusal or hub_refusal.get("code") != "service_unreachable":
        return ()
    message = str(hub_refusal.get("message") or "")
    return tuple(n for n in _T5_NAMES if n in message)


def camera_symptoms(
    now: float,
    facts: CameraFacts,
    state: Mapping[str, Any] | None,
    *,
    hub_refusal: Mapping[str, Any] | None = None,
    system_clock_offset_s: float = 0.0,
    viewers: tuple[ViewerTelemetry, ...] = (LAB_VIEWER,),
) -> CameraTelemetry:
    """The diagnosis input for one camera: only what can be seen (see the module docstring)."""
    state = state or {}
    radio = _mapping(state.get("radio"))
    base = camera_telemetry(now, dataclasses.replace(facts, blocked_hostnames=()), state, viewers)
    error = _mapping(state.get("last_error"))
    log = radio.get("wifi_log")
    log = log if isinstance(log, list) else []
    hosts = tuple(dict.fromkeys(unreached_hosts(radio) + refused_hosts(hub_refusal)))
    return dataclasses.replace(
        base,
        wifi=blank_wifi(base),
        mobile=blank_mobile(base),
        blocked_hostnames=hosts,
        system_clock_offset_s=system_clock_offset_s,
        wifi_log=tuple(line for line in log if isinstance(line, Mapping)),
        camera_error=str(error["code"]) if error.get("code") else None,
        hub_refusal=hub_refusal,
    )
