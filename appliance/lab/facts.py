"""The diagnosis's input for one camera: what it reports joined with what the system knows
(SPEC T1, T2, L3).

A camera's reported state (its ``radio`` part read back by ``labnet.telemetry``) plus the facts
only the cloud and the controller know (certificate, last docking, licence, profile, blocked host
names) make the ``CameraTelemetry`` that ``diagnosis.diagnose`` takes. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labnet.telemetry import mobile_status, unreached_hosts, wifi_status

from .diagnosis import CameraTelemetry, ViewerTelemetry


@dataclass(frozen=True)
class CameraFacts:
    """What the controller and the cloud know about a camera (not the camera itself)."""

    serial: str
    model: str
    docked: bool = False
    last_docked_at: float | None = None
    cert_not_after: float | None = None
    streaming_enabled: bool | None = None  # from the camera user's profile; None = not known
    licence_valid: bool = True
    wifi_networks: int | None = None
    blocked_hostnames: tuple[str, ...] = ()  # T5 names this camera needs that the lab blocks
    system_country: str | None = None  # where its system is, as set in the Manager (T2 row 7)


#: The lab's reference viewer: a computer on lab time, as a browser using the lab's NTP server is
#: (docs/decisions.md "Lab network"): T2 row 6 compares the camera's clock with it.
LAB_VIEWER = ViewerTelemetry(name="a viewer on lab time", clock_offset_s=0.0)


def camera_telemetry(
    now: float,
    facts: CameraFacts,
    state: Mapping[str, Any] | None,
    viewers: tuple[ViewerTelemetry, ...] = (LAB_VIEWER,),
) -> CameraTelemetry:
    """The diagnosis input for one camera from its reported ``state`` and the system's facts."""
    state = state or {}
    radio: Mapping[str, Any] = state["radio"] if isinstance(state.get("radio"), Mapping) else {}
    profile = state.get("profile") if isinstance(state.get("profile"), Mapping) else None
    streaming_enabled = facts.streaming_enabled
    if profile is not None:
        streaming_enabled = bool(profile.get("streaming"))
    wifi_networks = facts.wifi_networks
    if state.get("provisioned"):
        wifi_networks = len(state.get("wifi_ssids") or [])
    docked = bool(state["docked"]) if "docked" in state else facts.docked
    pages: Mapping[str, Any] = state["troubleshooting"] if isinstance(state.get("troubleshooting"), Mapping) else {}
    return CameraTelemetry(
        camera_id=facts.serial,
        model=facts.model,
        now=now,
        docked=docked,
        last_docked_at=facts.last_docked_at,
        cert_not_after=state.get("cert_not_after") or facts.cert_not_after,
        streaming_enabled=True if streaming_enabled is None else streaming_enabled,
        licence_valid=facts.licence_valid,
        streaming=state.get("streaming") == "live",
        camera_clock_offset_s=float(radio.get("clock_offset_s") or 0.0),
        wifi_networks=wifi_networks,
        troubleshooting_mode=bool(pages.get("active")),
        wifi=wifi_status(radio.get("wifi")),
        mobile=mobile_status(radio.get("mobile")),
        endpoint_response_code=radio.get("endpoint_response_code"),
        blocked_hostnames=tuple(dict.fromkeys(facts.blocked_hostnames + unreached_hosts(radio))),
        system_country=facts.system_country,
        viewers=viewers,
    )
