"""What a camera reports about the lab network, read back into the cores' types (SPEC T1, L3, L4).

A camera's fleet reports its state as JSON; its ``radio`` part holds the Wi-Fi and mobile status
(``radio.WifiStatus`` / ``mobile.MobileStatus`` as dicts), the link, the endpoint response code
and the clock. This module turns that back into the dataclasses that ``troubleshooting`` and
``diagnosis`` take, joins the facts only the cloud and the controller know (certificate, last
docking, licence, profile), and carries the 802.11 frame log between the fleet and the pcap
exporter (frame events ⇄ JSON). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping

from . import events as ev
from .diagnosis import CameraTelemetry, ViewerTelemetry
from .mobile import MobileStatus
from .radio import LINK_DOWN, LinkQuality, WifiStatus

_FRAME_TYPES = {cls.__name__: cls for cls in (ev.Beacon, ev.ProbeRequest, ev.ProbeResponse, ev.Authentication,
                                               ev.AssociationRequest, ev.AssociationResponse, ev.EapolKey,
                                               ev.Deauthentication)}
_BYTES_FIELDS = ("anonce", "snonce")


def _link(data: Any) -> LinkQuality:
    if not isinstance(data, Mapping):
        return LINK_DOWN
    return LinkQuality(bool(data.get("up")), float(data.get("latency_ms") or 0.0), float(data.get("loss_ratio") or 0.0),
                       float(data.get("throughput_kbps") or 0.0))


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "link":
            value = _link(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def wifi_status(data: Any) -> WifiStatus | None:
    return _build(WifiStatus, data) if isinstance(data, Mapping) else None


def mobile_status(data: Any) -> MobileStatus | None:
    return _build(MobileStatus, data) if isinstance(data, Mapping) else None


# --------------------------------------------------------------------------------------------
# Frames over the fleet link


def frame_to_dict(frame: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(frame).__name__}
    for f in fields(frame):
        value = getattr(frame, f.name)
        out[f.name] = value.hex() if isinstance(value, bytes) else value
    return out


def frame_from_dict(data: Mapping[str, Any]) -> Any:
    """A frame event back from ``frame_to_dict``; ``ValueError`` for anything else."""
    cls = _FRAME_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"not an 802.11 frame event: {data.get('type')!r}")
    kwargs = {}
    for f in fields(cls):
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = bytes.fromhex(value) if f.name in _BYTES_FIELDS else value
    return cls(**kwargs)


def frames_from_list(items: Iterable[Any]) -> list[Any]:
    out = []
    for item in items:
        if isinstance(item, Mapping):
            try:
                out.append(frame_from_dict(item))
            except (TypeError, ValueError):
                continue
    return out


# --------------------------------------------------------------------------------------------
# Telemetry for the diagnosis


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


def camera_telemetry(now: float, facts: CameraFacts, state: Mapping[str, Any] | None,
                     viewers: tuple[ViewerTelemetry, ...] = (LAB_VIEWER,)) -> CameraTelemetry:
    """The diagnosis input for one camera from its reported ``state`` and the system's facts."""
    state = state or {}
    radio = state.get("radio") if isinstance(state.get("radio"), Mapping) else {}
    profile = state.get("profile") if isinstance(state.get("profile"), Mapping) else None
    streaming_enabled = facts.streaming_enabled
    if profile is not None:
        streaming_enabled = bool(profile.get("streaming"))
    wifi_networks = facts.wifi_networks
    if state.get("provisioned"):
        wifi_networks = len(state.get("wifi_ssids") or [])
    docked = bool(state["docked"]) if "docked" in state else facts.docked
    pages = state.get("troubleshooting") if isinstance(state.get("troubleshooting"), Mapping) else {}
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


def unreached_hosts(radio: Mapping[str, Any]) -> tuple[str, ...]:
    """The T5 names a camera on the real lab network last failed to reach (its own observation:
    DNS, timeout, refused, unreachable, TLS), in the order it reported them (issue 15)."""
    services = radio.get("services") if isinstance(radio.get("services"), Mapping) else {}
    return tuple(h for h, seen in services.items() if isinstance(seen, Mapping) and seen.get("ok") is False)
