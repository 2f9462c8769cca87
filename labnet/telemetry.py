"""What a camera reports about the lab network, read back into the cores' types (SPEC T1, L3, L4).

A camera's fleet reports its state as JSON; its ``radio`` part holds the Wi-Fi and mobile status
(``wifi.WifiStatus`` / ``mobile.MobileStatus`` as dicts), the link, the endpoint response code
and the clock. This module turns that back into the dataclasses that the troubleshooting pages
and the diagnosis take (the diagnosis's own input is built in ``appliance/lab/facts.py``), and
carries the 802.11 frame log between the fleet and the pcap exporter (frame events ⇄ JSON).
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

from . import events as ev
from .mobile import MobileStatus
from .propagation import LINK_DOWN, LinkQuality
from .wifi import WifiStatus

_FRAME_TYPES = {
    cls.__name__: cls
    for cls in (
        ev.Beacon,
        ev.ProbeRequest,
        ev.ProbeResponse,
        ev.Authentication,
        ev.AssociationRequest,
        ev.AssociationResponse,
        ev.EapolKey,
        ev.Deauthentication,
    )
}
_BYTES_FIELDS = ("anonce", "snonce")


def _link(data: Any) -> LinkQuality:
    if not isinstance(data, Mapping):
        return LINK_DOWN
    return LinkQuality(
        bool(data.get("up")),
        float(data.get("latency_ms") or 0.0),
        float(data.get("loss_ratio") or 0.0),
        float(data.get("throughput_kbps") or 0.0),
    )


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
    kwargs: dict[str, Any] = {}
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


def unreached_hosts(radio: Mapping[str, Any]) -> tuple[str, ...]:
    """The T5 names a camera on the real lab network last failed to reach (its own observation:
    DNS, timeout, refused, unreachable, TLS), in the order it reported them (issue 15)."""
    services: Mapping[str, Any] = radio["services"] if isinstance(radio.get("services"), Mapping) else {}
    return tuple(h for h, seen in services.items() if isinstance(seen, Mapping) and seen.get("ok") is False)
