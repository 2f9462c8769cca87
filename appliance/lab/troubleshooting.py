"""The camera's troubleshooting mode: its four pages and how the top button walks them (SPEC T1).

Only the AXIS W102 and W120 have it (``CameraModel.troubleshooting``), and only once the Manager
allows it: **Add-on services > AXIS Body Worn Live > Axis-hosted overview > Show more > Allow
troubleshooting mode**. On the camera: press the top button twice to enter, once for the next
page, hold it 5 seconds to leave.

``build_pages`` turns a camera's Wi-Fi status (``radio.WifiStatus``), mobile status
(``mobile.MobileStatus``), its own clock, its name servers and the response code of its last
request to the service endpoint into the pages, with exactly the manual's fields:

====  =========================================================================================
page  fields (label the camera shows — the manual's French wording)
====  =========================================================================================
1     System time — Heure du système; Net — Statut du réseau (Net); Sub-mode — Mode Wi-Fi ou
      réseau mobile (Sous-mode : WLAN ou LTE); Signal (dB) — Intensité du signal en dB
2     on Wi-Fi: SSID — SSID; Auth — Méthode d'authentification (Auth); IPv4 — Adresse IPv4 de la
      caméra; Status — Statut d'authentification (Status); AP MAC — Adresse MAC du point d'accès
      connecté
2     on mobile: IP — Adresse IP de la caméra; Roaming — Statut de l'itinérance; SIM status —
      Statut SIM; APN — APN
3     Name servers — Serveurs de noms utilisés par la caméra
4     Endpoint response code — Code de réponse de la requête du point d'extrémité
====  =========================================================================================

Decisions: a field the camera has no value for is ``None`` (shown empty: "the access point has no
MAC address", T3 row 3); the sub-mode is LTE when a SIM is inserted (T3 row 1) and WLAN otherwise
(T4 row 1); "Net" reads "Connected" with an IP address, "Connecting" while associating or roaming,
"Disconnected" otherwise; the system time is the camera's own clock (with its skew) in UTC; the
endpoint response code is the HTTP status of the camera's last request to the device hub, or a
word for a request that got none ("timeout", "dns", "refused"). The button gestures are given
already classified (``double_press``, ``press``, ``hold``); the firmware stub measures presses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bwlab.errors import Unavailable
from bwlab.models import CameraModel
from labnet.mobile import MobileStatus
from labnet.wifi import WifiStatus

HOLD_TO_EXIT_S = 5.0
PAGE_COUNT = 4


class TroubleshootingUnavailable(Unavailable):
    """Troubleshooting mode cannot be shown; ``reason`` is ``"model"`` or ``"not_allowed"``."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PageField:
    key: str
    label: str  # what the camera screen shows
    label_fr: str  # the manual's wording
    value: str | None  # None: the camera shows nothing


@dataclass(frozen=True)
class TroubleshootingPage:
    number: int
    title: str
    fields: tuple[PageField, ...]

    def value(self, key: str) -> str | None:
        for f in self.fields:
            if f.key == key:
                return f.value
        raise KeyError(f"page {self.number} has no field {key!r}; it has {', '.join(f.key for f in self.fields)}")

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "title": self.title,
            "fields": [{"key": f.key, "label": f.label, "label_fr": f.label_fr, "value": f.value} for f in self.fields],
        }


def availability(model: CameraModel, allowed: bool) -> str | None:
    """None when troubleshooting mode can be used, else the reason (``model``/``not_allowed``)."""
    if not model.troubleshooting:
        return "model"
    if not allowed:
        return "not_allowed"
    return None


def sub_mode(mobile: MobileStatus | None) -> str:
    """ "LTE" when a SIM is in the camera, else "WLAN" (T3 row 1, T4 row 1)."""
    return "LTE" if mobile is not None and mobile.mode == "LTE" else "WLAN"


def format_system_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def build_pages(
    *,
    model: CameraModel,
    allowed: bool,
    system_time: float,
    wifi: WifiStatus | None,
    mobile: MobileStatus | None,
    endpoint_response_code: int | str | None,
    dns_servers: Sequence[str] | None = None,
) -> tuple[TroubleshootingPage, ...]:
    """The four pages (T1). ``dns_servers`` defaults to the active bearer's (DHCP or operator).

    Raises ``TroubleshootingUnavailable`` on models without the mode or when the Manager does not
    allow it.
    """
    reason = availability(model, allowed)
    if reason == "model":
        raise TroubleshootingUnavailable(reason, f"the {model.name} has no troubleshooting mode (only W102 and W120)")
    if reason == "not_allowed":
        raise TroubleshootingUnavailable(
            reason,
            "troubleshooting mode is not allowed: Add-on services > AXIS Body Worn Live > "
            "Axis-hosted overview > Show more > Allow troubleshooting mode",
        )
    mode = sub_mode(mobile)
    if mode == "LTE":
        assert mobile is not None
        signal = mobile.signal_db
        net = "Connected" if mobile.ipv4 else "Disconnected"
        page2 = TroubleshootingPage(
            2,
            "Mobile network",
            (
                PageField("ip", "IP", "Adresse IP de la caméra", mobile.ipv4),
                PageField("roaming", "Roaming", "Statut de l'itinérance", mobile.roaming),
                PageField("sim_status", "SIM status", "Statut SIM", mobile.sim_status),
                PageField("apn", "APN", "APN", mobile.apn),
            ),
        )
        servers = mobile.dns_servers
    else:
        signal = wifi.signal_db if wifi is not None else None
        if wifi is not None and wifi.ipv4 and wifi.state == "connected":
            net = "Connected"
        elif wifi is not None and wifi.state == "roaming":
            net = "Connecting"
        else:
            net = "Disconnected"
        page2 = TroubleshootingPage(
            2,
            "Wi-Fi",
            (
                PageField("ssid", "SSID", "SSID", wifi.ssid if wifi else None),
                PageField("auth", "Auth", "Méthode d'authentification (Auth)", wifi.auth_method if wifi else None),
                PageField("ipv4", "IPv4", "Adresse IPv4 de la caméra", wifi.ipv4 if wifi else None),
                PageField("status", "Status", "Statut d'authentification (Status)", wifi.auth_status if wifi else None),
                PageField("ap_mac", "AP MAC", "Adresse MAC du point d'accès connecté", wifi.ap_mac if wifi else None),
            ),
        )
        servers = wifi.dns_servers if wifi is not None and wifi.ipv4 else ()
    if dns_servers is not None:
        servers = tuple(dns_servers)
    page1 = TroubleshootingPage(
        1,
        "System",
        (
            PageField("system_time", "System time", "Heure du système", format_system_time(system_time)),
            PageField("net", "Net", "Statut du réseau (Net)", net),
            PageField("sub_mode", "Sub-mode", "Mode Wi-Fi ou réseau mobile (Sous-mode : WLAN ou LTE)", mode),
            PageField("signal", "Signal (dB)", "Intensité du signal en dB", None if signal is None else str(signal)),
        ),
    )
    page3 = TroubleshootingPage(
        3,
        "Name servers",
        (
            PageField(
                "name_servers", "Name servers", "Serveurs de noms utilisés par la caméra", ", ".join(servers) or None
            ),
        ),
    )
    page4 = TroubleshootingPage(
        4,
        "Endpoint",
        (
            PageField(
                "endpoint_response_code",
                "Endpoint response code",
                "Code de réponse de la requête du point d'extrémité",
                None if endpoint_response_code is None else str(endpoint_response_code),
            ),
        ),
    )
    return (page1, page2, page3, page4)


class TroubleshootingScreen:
    """Which troubleshooting page the camera shows (T1 button gestures); ``page`` None = off."""

    def __init__(self, model: CameraModel, allowed: bool = False):
        self.model = model
        self.allowed = allowed
        self.page: int | None = None

    def set_allowed(self, allowed: bool) -> None:
        """The Manager's "Allow troubleshooting mode" (pushed at docking); off leaves the mode."""
        self.allowed = allowed
        if not allowed:
            self.page = None

    def double_press(self) -> int | None:
        """Top button pressed twice: enter on page 1 (no effect when unavailable)."""
        if self.page is None and availability(self.model, self.allowed) is None:
            self.page = 1
        return self.page

    def press(self) -> int | None:
        """Top button pressed once: next page, after page 4 back to page 1."""
        if self.page is not None:
            self.page = self.page % PAGE_COUNT + 1
        return self.page

    def hold(self, seconds: float) -> int | None:
        """Top button held for ``seconds``: 5 s or more leaves the mode."""
        if self.page is not None and seconds >= HOLD_TO_EXIT_S:
            self.page = None
        return self.page
