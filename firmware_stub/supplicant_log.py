"""The camera's Wi-Fi log, as its supplicant writes it (SPEC T3, L3; issue 14 item 4).

A real camera's Wi-Fi client does not know *why* it cannot join a network; it logs what it saw:
no access point answered to the SSID in a scan (``network_not_found``: a wrong SSID, a 5 GHz-only
network for a 2.4 GHz-only model, an open/secured mismatch and a network out of reach all look
alike), the access point refused the association (``assoc_reject`` with the 802.11 status code:
43 when WPA2 is not allowed), the 4-way handshake failed (``wrong_key``: the pre-shared key may
be incorrect), it holds no network at all (``no_networks``), or it joined (``connected``).

This module turns the radio's connection events into those lines. The lab-side cause code the
radio carries is read only to pick the line a supplicant would write and is not reported, so the
diagnosis (appliance/lab/diagnosis.py), which reads this log, cannot read the cause from it.
"""

from __future__ import annotations

from typing import Any

#: cause code of the lab radio → (supplicant event, 802.11 status or reason code, message)
_LINES: dict[str, tuple[str, int | None, str]] = {
    "no_network_assigned": ("no_networks", None, "no network configured"),
    "ssid_not_found": ("network_not_found", None, "no access point answered to the SSID in the scan"),
    "band_unsupported": ("network_not_found", None, "no access point answered to the SSID in the scan"),
    "channel_unsupported": ("network_not_found", None, "no access point answered to the SSID in the scan"),
    "security_mismatch": ("network_not_found", None, "no access point answered to the SSID in the scan"),
    "out_of_range": ("network_not_found", None, "no access point answered to the SSID in the scan"),
    "wpa2_not_allowed": ("assoc_reject", 43, "association rejected, status 43 (invalid AKMP)"),
    "wrong_password": ("wrong_key", 15, "4-way handshake failed, reason 15: the pre-shared key may be incorrect"),
}


def failed_line(at: float, ssid: str | None, bssid: str | None, cause: str) -> dict[str, Any] | None:
    """The log line for a failed attempt, or None for a radio switched off (no attempt made)."""
    line = _LINES.get(cause)
    if line is None:
        return None
    event, code, message = line
    return {"at": at, "event": event, "ssid": ssid, "bssid": bssid, "code": code, "message": message}


def connected_line(at: float, ssid: str | None, bssid: str | None) -> dict[str, Any]:
    return {"at": at, "event": "connected", "ssid": ssid, "bssid": bssid, "code": 0, "message": "connected"}
