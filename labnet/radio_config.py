"""Configuration of the lab's Wi-Fi: access points, the networks a camera holds, the radio's tunables
(SPEC S8, T2, T3, L4; DESIGN "Lab network").

Frozen dataclasses read from a scenario or a request body by ``from_mapping`` (unknown keys
rejected, the bad key's path in the error), with the regulatory rules they are checked against
(channels per band and country, the models that stream poorly on channels 12 and 13 in Europe).
The model they configure is described in ``labnet.wifi``'s docstring.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bwlab import schema
from bwlab.models import CameraModel
from bwlab.schema import FieldError, SchemaError

from .config import FromMapping, limits, site_position
from .propagation import PathLossModel, channel_frequency_mhz

BANDS = ("2.4", "5")
SECURITIES = ("open", "wpa2", "wpa2-wpa3", "wpa3-only")

#: Countries whose APs count as "in Europe" for T2 row 7 (EU, EEA, UK, Switzerland and the rest
#: of the CEPT countries that open 2.4 GHz channels 12 and 13).
EUROPE = frozenset(
    [
        "AD",
        "AL",
        "AT",
        "BA",
        "BE",
        "BG",
        "BY",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FO",
        "FR",
        "GB",
        "GI",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MC",
        "MD",
        "ME",
        "MK",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "RS",
        "SE",
        "SI",
        "SK",
        "SM",
        "UA",
        "VA",
        "XK",
    ]
)
#: Countries where 2.4 GHz stops at channel 11.
_CHANNELS_1_11 = frozenset(["US", "CA", "MX", "TW", "PR", "CO", "PA", "DO", "GT", "UZ"])
_CHANNELS_5 = tuple(range(36, 65, 4)) + tuple(range(100, 145, 4)) + tuple(range(149, 166, 4))
_CHANNELS_5_EUROPE = tuple(range(36, 65, 4)) + tuple(range(100, 141, 4))

#: The models whose radio streams poorly on channels 12/13 in Europe (T2 row 7).
MODELS_POOR_ON_12_13 = frozenset({"W100", "W101"})

_MAC_HEX = set("0123456789abcdef")


def derive_mac(name: str) -> str:
    """A stable, locally administered unicast MAC for a lab device called ``name``."""
    raw = bytearray(hashlib.sha256(name.encode()).digest()[:6])
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in raw)


def normalize_mac(value: str) -> str | None:
    """``value`` as lower-case ``aa:bb:cc:dd:ee:ff``, or None if it is not a MAC address."""
    parts = value.replace("-", ":").lower().split(":")
    if len(parts) != 6 or any(len(p) != 2 or not set(p) <= _MAC_HEX for p in parts):
        return None
    return ":".join(parts)


def allowed_channels(band: str, country: str) -> tuple[int, ...]:
    """The channels an AP in ``country`` may use on ``band`` (regulatory domain, simplified)."""
    if band == "2.4":
        if country in _CHANNELS_1_11:
            return tuple(range(1, 12))
        if country == "JP":
            return tuple(range(1, 15))
        return tuple(range(1, 14))
    return _CHANNELS_5_EUROPE if country in EUROPE else _CHANNELS_5


def camera_hears(model: CameraModel, band: str, channel: int) -> bool:
    """Whether a camera of ``model`` can use an AP on ``band``/``channel`` at all."""
    if not model.supports_band(band):
        return False
    if band == "2.4":
        return 1 <= channel <= 13
    return channel in _CHANNELS_5


@dataclass(frozen=True)
class RadioConfig(FromMapping):
    """Tunables of the Wi-Fi model (defaults as in ``labnet.wifi``'s docstring)."""

    path_loss: PathLossModel = PathLossModel()
    sensitivity_dbm: float = limits(-82.0, min=-120.0, max=0.0)
    weak_signal_dbm: float = limits(-75.0, min=-120.0, max=0.0)
    good_signal_dbm: float = limits(-55.0, min=-120.0, max=0.0)
    roam_hysteresis_db: float = limits(6.0, min=0.0)
    roam_hysteresis_s: float = limits(3.0, min=0.0)
    handover_gap_s: float = limits(1.5, min=0.0)
    scan_interval_s: float = limits(5.0, min=0.0)
    auth_retry_s: float = limits(10.0, min=0.0)
    blacklist_s: float = limits(60.0, min=0.0)
    handshake_attempts: int = limits(4, min=1, max=10)
    frame_log_limit: int = limits(20_000, min=100)
    max_throughput_24_kbps: float = limits(30_000.0, min=0.0)
    max_throughput_5_kbps: float = limits(80_000.0, min=0.0)
    min_throughput_kbps: float = limits(500.0, min=0.0)
    degraded_throughput_factor: float = limits(0.05, min=0.0, max=1.0)
    degraded_loss: float = limits(0.05, min=0.0)
    degraded_latency_ms: float = limits(80.0, min=0.0)

    def __post_init__(self) -> None:
        if not self.sensitivity_dbm < self.weak_signal_dbm < self.good_signal_dbm:
            raise FieldError(
                "weak_signal_dbm",
                f"sensitivity_dbm < weak_signal_dbm < good_signal_dbm "
                f"({self.sensitivity_dbm} < {self.weak_signal_dbm} < {self.good_signal_dbm})",
            )


def _default_subnet(ssid: str) -> ipaddress.IPv4Network:
    h = hashlib.sha256(b"ssid:" + ssid.encode()).digest()
    return ipaddress.IPv4Network(f"10.{64 + h[0] % 64}.{h[1]}.0/24")


@dataclass(frozen=True)
class AccessPoint(FromMapping):
    """One lab access point (DESIGN "Lab network"; L4 shows it on the map with its coverage).

    ``bssid`` defaults to a MAC derived from ``name``; ``subnet`` (the DHCP scope behind the
    SSID) to one derived from ``ssid``; ``dns`` to the subnet's gateway. ``enabled = False`` is an
    AP switched off (a fault).
    """

    name: str = field(metadata={"nonempty": True})
    ssid: str = field(metadata={"nonempty": True})
    band: str = "2.4"
    channel: int = 6  # 36 on 5 GHz when a table gives none (from_mapping)
    security: str = "wpa2"
    password: str | None = None
    country: str = "SE"
    position: tuple[float, float] = site_position()
    tx_power_dbm: float = 20.0
    bssid: str = ""
    subnet: str = ""
    dns: tuple[str, ...] = ()
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise FieldError("name", "a non-empty string", self.name)
        if not 1 <= len(self.ssid.encode()) <= 32:
            raise FieldError("ssid", "an SSID of 1 to 32 bytes", self.ssid)
        if self.band not in BANDS:
            raise FieldError("band", 'one of "2.4", "5"', self.band)
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise FieldError("country", "a two-letter upper-case ISO 3166 country code such as 'SE'", self.country)
        allowed = allowed_channels(self.band, self.country)
        if self.channel not in allowed:
            raise FieldError(
                "channel", f"a {self.band} GHz channel allowed in {self.country} ({_ranges(allowed)})", self.channel
            )
        if self.security not in SECURITIES:
            raise FieldError("security", "one of " + ", ".join(repr(s) for s in SECURITIES), self.security)
        if self.security == "open":
            if self.password:
                raise FieldError("password", "no password for an open access point", self.password)
        elif self.password is None or not 8 <= len(self.password) <= 63:
            raise FieldError(
                "password", f"a passphrase of 8 to 63 characters for security {self.security!r}", self.password
            )
        if not -10.0 <= self.tx_power_dbm <= 36.0:
            raise FieldError("tx_power_dbm", "a transmit power between -10 and 36 dBm", self.tx_power_dbm)
        if self.bssid:
            mac = normalize_mac(self.bssid)
            if mac is None:
                raise FieldError("bssid", "a MAC address like '02:11:22:33:44:55'", self.bssid)
        else:
            mac = derive_mac("ap:" + self.name)
        object.__setattr__(self, "bssid", mac)
        if self.subnet:
            try:
                net = ipaddress.IPv4Network(self.subnet, strict=False)
            except ValueError:
                raise FieldError("subnet", "an IPv4 network like '10.1.2.0/24'", self.subnet) from None
            if net.prefixlen > 24:
                raise FieldError("subnet", "an IPv4 network of /24 or larger", self.subnet)
        else:
            net = _default_subnet(self.ssid)
        object.__setattr__(self, "subnet", str(net))
        if not self.dns:
            object.__setattr__(self, "dns", (str(net.network_address + 1),))
        for i, server in enumerate(self.dns):
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise FieldError(f"dns[{i}]", "an IP address", server) from None
        object.__setattr__(self, "dns", tuple(self.dns))

    @property
    def frequency_mhz(self) -> float:
        return channel_frequency_mhz(self.band, self.channel)

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    def radio_identity(self) -> tuple:
        """What a connected station notices when it changes (an AP restart deauthenticates)."""
        return (self.bssid, self.ssid, self.band, self.channel, self.security, self.password, self.subnet)

    def coverage_m(self, threshold_dbm: float, path_loss: PathLossModel = PathLossModel()) -> float:
        """Radius in metres where the signal is at least ``threshold_dbm`` (map overlay, L4)."""
        return path_loss.range_m(self.tx_power_dbm, self.frequency_mhz, threshold_dbm)

    @classmethod
    def from_mapping(cls, data: Any, path: str = "") -> AccessPoint:
        """Read by ``bwlab.schema``; a band may also be written as the number 2.4 or 5, and a 5 GHz
        access point without a channel is on channel 36."""
        if isinstance(data, dict):
            band = data.get("band", "2.4")
            if isinstance(band, (int, float)) and not isinstance(band, bool) and float(band) in (2.4, 5.0):
                data = {**data, "band": "2.4" if float(band) == 2.4 else "5"}
            if data.get("band") == "5" and "channel" not in data:
                data = {**data, "channel": 36}
        return schema.from_mapping(cls, data, path)


def access_points_from_list(items: Any, path: str = "access_points") -> tuple[AccessPoint, ...]:
    """A scenario's list of APs; names and BSSIDs must be unique."""
    if not isinstance(items, (list, tuple)):
        raise SchemaError(path, "a list of access points", items)
    aps = tuple(AccessPoint.from_mapping(item, f"{path}[{i}]") for i, item in enumerate(items))
    seen: dict[str, int] = {}
    seen_bssid: dict[str, int] = {}
    for i, ap in enumerate(aps):
        if ap.name in seen:
            raise SchemaError(f"{path}[{i}].name", f"a name not used by {path}[{seen[ap.name]}]", ap.name)
        if ap.bssid in seen_bssid:
            raise SchemaError(f"{path}[{i}].bssid", f"a BSSID not used by {path}[{seen_bssid[ap.bssid]}]", ap.bssid)
        seen[ap.name] = i
        seen_bssid[ap.bssid] = i
    return aps


def _ranges(channels: Sequence[int]) -> str:
    if list(channels) == list(range(channels[0], channels[-1] + 1)):
        return f"{channels[0]}–{channels[-1]}"
    return ", ".join(str(c) for c in channels)


@dataclass(frozen=True)
class WifiNetwork(FromMapping):
    """A Wi-Fi network the camera holds (S8): name and password; no password = open network."""

    ssid: str = field(metadata={"nonempty": True})
    password: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.ssid.encode()) <= 32:
            raise FieldError("ssid", "an SSID of 1 to 32 bytes", self.ssid)
        if self.password == "":
            object.__setattr__(self, "password", None)

    @property
    def auth_method(self) -> str:
        return "WPA2-PSK" if self.password else "Open"
