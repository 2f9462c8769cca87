"""Events, frames and configuration errors of the lab network (SPEC L2, L4, T3, T4; DESIGN "Lab network").

The lab network cores (``radio.py``, ``mobile.py``, ``ntp.py``) are plain classes: a driver
feeds them what happened with the time (``move(now, position)``, ``handle_timer(now)``) and
reads back state and the events below. Everything here is a frozen dataclass, so an event can
be logged, compared in a test, put on a camera's trail or turned into a pcap without anyone
mutating it on the way.

Two families:

* **802.11 frames** (``Beacon`` … ``Deauthentication``): what the emulated radio "sent" or
  "heard", with the lab time ``at`` in POSIX seconds. They exist for ``pcap.py`` (L4): a trainer
  opens a camera's failure in Wireshark and sees the same frames a real capture would show
  (a rejected association for a WPA3-only AP, EAPOL message 2 with a bad MIC followed by a
  deauthentication for a wrong password, probe requests nobody answers for a wrong SSID).
  ``EapolKey`` is a data frame, not a management frame, but it belongs to the same exchange.
* **Link events** (``WifiConnected``, ``WifiRoamed`` …, ``MobileStatusChanged``): what the
  firmware stub, the trails on the map (L4: roaming events on trails) and the lab panel need.

``ConfigError`` is the error every ``from_mapping`` of the lab network raises: a ``ValueError``
whose ``path`` names the key (``access_points[2].channel``) and whose ``expected`` says what
would have been accepted. The scenario loader reports it with the file name in front.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from bwlab.schema import SchemaError

# --------------------------------------------------------------------------------------------
# Configuration errors and the small readers every from_mapping in the lab network uses.


class ConfigError(SchemaError):
    """Bad lab-network configuration: ``path`` says where, ``expected`` what would fit. The same
    error, with the same wording, as every other schema error of a scenario (bwlab.schema)."""

    def __init__(self, path: str, expected: str, got: Any = ...):
        super().__init__(path, expected, dataclasses.MISSING if got is ... else got)
        self.got = got


class MappingReader:
    """Reads typed values out of one table of a scenario or request body.

    ``MappingReader(d, "access_points[2]", allowed={...})`` rejects unknown keys at once; each
    ``text()``/``integer()``/... call names ``access_points[2].<key>`` in its error. Used by the
    ``from_mapping`` class methods of ``radio.py`` and ``mobile.py``.
    """

    _MISSING = object()

    def __init__(self, data: Any, path: str, allowed: Iterable[str]):
        if not isinstance(data, Mapping):
            raise ConfigError(path, "a table", data)
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                raise ConfigError(
                    self._join(path, str(key)), f"a known key (unknown key; expected one of {', '.join(allowed)})"
                )
        self.data = data
        self.path = path

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def at(self, key: str) -> str:
        return self._join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: Any, what: str) -> Any:
        if key in self.data:
            return self.data[key]
        if default is self._MISSING:
            raise ConfigError(self.at(key), f"{what} (required key is missing)")
        return default

    def text(self, key: str, default: Any = _MISSING, *, choices: Iterable[str] | None = None, nonempty: bool = False):
        choices = tuple(choices) if choices is not None else None
        what = "one of " + ", ".join(repr(c) for c in choices) if choices is not None else "a string"
        value = self._get(key, default, what)
        if value is default and key not in self.data:
            return value
        if not isinstance(value, str):
            raise ConfigError(self.at(key), what, value)
        if choices is not None and value not in choices:
            raise ConfigError(self.at(key), what, value)
        if nonempty and not value.strip():
            raise ConfigError(self.at(key), "a non-empty string", value)
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(self.at(key), "a string", value)
        return value

    def integer(self, key: str, default: Any = _MISSING, *, min: int | None = None, max: int | None = None):
        value = self._get(key, default, "an integer")
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.at(key), "an integer", value)
        self._range(key, value, min, max)
        return value

    def number(self, key: str, default: Any = _MISSING, *, min: float | None = None, max: float | None = None):
        value = self._get(key, default, "a number")
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(self.at(key), "a number", value)
        self._range(key, value, min, max)
        return float(value)

    def optional_number(self, key: str, *, min: float | None = None) -> float | None:
        if self.data.get(key) is None:
            return None
        return self.number(key, min=min)

    def flag(self, key: str, default: Any = _MISSING):
        value = self._get(key, default, "a boolean")
        if value is default and key not in self.data:
            return value
        if not isinstance(value, bool):
            raise ConfigError(self.at(key), "a boolean", value)
        return value

    def position(self, key: str, default: Any = _MISSING) -> tuple[float, float]:
        what = "a position [x, y] in metres"
        value = self._get(key, default, what)
        if value is default and key not in self.data:
            return value
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
        ):
            raise ConfigError(self.at(key), what, value)
        return (float(value[0]), float(value[1]))

    def items(self, key: str, default: Any = _MISSING) -> list[Any]:
        value = self._get(key, default, "a list")
        if value is default and key not in self.data:
            return value
        if not isinstance(value, (list, tuple)):
            raise ConfigError(self.at(key), "a list", value)
        return list(value)

    def _range(self, key: str, value: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and value < lo:
            raise ConfigError(self.at(key), f"a value ≥ {lo}", value)
        if hi is not None and value > hi:
            raise ConfigError(self.at(key), f"a value ≤ {hi}", value)


def build(cls: type, path: str, kwargs: dict[str, Any]) -> Any:
    """Construct ``cls(**kwargs)``; a ConfigError from its own checks (which name the field only)
    gets ``path`` in front, so it reads ``access_points[2].channel``."""
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{path}.{exc.path}" if path else exc.path, exc.expected, exc.got) from None


# --------------------------------------------------------------------------------------------
# 802.11 frames (L4). Addresses are "aa:bb:cc:dd:ee:ff" strings; ``at`` is lab time.


@dataclass(frozen=True)
class Beacon:
    """A beacon the camera heard while scanning (one per AP per scan, not every 102.4 ms)."""

    at: float
    bssid: str
    ssid: str
    channel: int
    band: str
    security: str  # AccessPoint.security
    country: str
    rssi_dbm: float


@dataclass(frozen=True)
class ProbeRequest:
    """A directed probe request from the camera for one SSID of its network list."""

    at: float
    sta: str
    ssid: str


@dataclass(frozen=True)
class ProbeResponse:
    at: float
    bssid: str
    sta: str
    ssid: str
    channel: int
    band: str
    security: str
    country: str
    rssi_dbm: float


@dataclass(frozen=True)
class Authentication:
    """802.11 Open System authentication: seq 1 from the station, seq 2 from the AP."""

    at: float
    src: str
    dst: str
    bssid: str
    seq: int
    status: int = 0
    channel: int | None = None
    rssi_dbm: float | None = None


@dataclass(frozen=True)
class AssociationRequest:
    """(Re)association request; ``current_ap`` is set for a reassociation while roaming."""

    at: float
    sta: str
    bssid: str
    ssid: str
    akm: str | None  # "psk" for WPA2-Personal, None for an open network
    current_ap: str | None = None
    channel: int | None = None


@dataclass(frozen=True)
class AssociationResponse:
    """(Re)association response; status 0 = success, 43 = invalid AKMP (WPA2 not allowed)."""

    at: float
    bssid: str
    sta: str
    status: int
    aid: int
    reassociation: bool = False
    channel: int | None = None
    rssi_dbm: float | None = None


@dataclass(frozen=True)
class EapolKey:
    """One message of the WPA2 4-way handshake.

    ``passphrase`` is the key the *sender* holds (the AP's for messages 1 and 3, the camera's for
    2 and 4); the pcap exporter derives the real PMK/PTK from it, so the MIC Wireshark sees is
    right when the camera's password is right and wrong when it is not. It is lab data, kept out
    of ``repr``.
    """

    at: float
    src: str
    dst: str
    bssid: str
    ssid: str
    message: int  # 1..4
    replay_counter: int
    anonce: bytes
    snonce: bytes
    passphrase: str = field(default="", repr=False)
    channel: int | None = None
    rssi_dbm: float | None = None


@dataclass(frozen=True)
class Deauthentication:
    """Deauthentication; reasons used: 3 (leaving), 4 (inactivity / beacon loss), 15 (4-way
    handshake timeout: the AP gives up on a wrong password)."""

    at: float
    src: str
    dst: str
    bssid: str
    reason: int
    channel: int | None = None


Frame = Beacon | ProbeRequest | ProbeResponse | Authentication | AssociationRequest | AssociationResponse | EapolKey | Deauthentication

# --------------------------------------------------------------------------------------------
# Link events (what the firmware stub, the trails and the lab panel consume).


@dataclass(frozen=True)
class WifiConnected:
    at: float
    bssid: str
    ap: str
    ssid: str
    band: str
    channel: int
    rssi_dbm: float
    ipv4: str


@dataclass(frozen=True)
class WifiDisconnected:
    at: float
    bssid: str
    ap: str
    reason: str  # "out_of_range", "ap_gone", "ap_changed", "network_removed", "disabled"


@dataclass(frozen=True)
class WifiConnectFailed:
    """The camera cannot join Wi-Fi; emitted once per change of ``failure`` (log-once)."""

    at: float
    ssid: str | None
    bssid: str | None
    failure: str


@dataclass(frozen=True)
class WifiRoamStarted:
    """Hand-over begins: the link is down from ``at`` until the matching ``WifiRoamed``."""

    at: float
    from_bssid: str
    to_bssid: str
    from_ap: str
    to_ap: str
    position: tuple[float, float]


@dataclass(frozen=True)
class WifiRoamed:
    """Hand-over done (T3 row 5: the stream is sometimes delayed around this moment)."""

    at: float
    from_bssid: str
    to_bssid: str
    from_ap: str
    to_ap: str
    gap_s: float
    position: tuple[float, float]


@dataclass(frozen=True)
class MobileStatusChanged:
    """The mobile modem's outcome changed (``problem`` is a ``mobile.PROBLEMS`` code or None)."""

    at: float
    problem: str | None
    ipv4: str | None
    cell: str | None


@dataclass(frozen=True)
class SimSwapDetected:
    """A SIM with another ICCID was inserted while the camera was out of its dock (T2 4b, T4 3a)."""

    at: float
    iccid: str
    previous_iccid: str | None


WifiEvent = WifiConnected | WifiDisconnected | WifiConnectFailed | WifiRoamStarted | WifiRoamed
MobileEvent = MobileStatusChanged | SimSwapDetected
