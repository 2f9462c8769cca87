"""Events and 802.11 frames of the lab network (SPEC L2, L4, T3, T4; DESIGN "Lab network").

The lab network cores (``wifi.py``, ``mobile.py``, ``ntp.py``) are plain classes: a driver
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

How the lab network's configuration is read is in ``config.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


Frame = (
    Beacon
    | ProbeRequest
    | ProbeResponse
    | Authentication
    | AssociationRequest
    | AssociationResponse
    | EapolKey
    | Deauthentication
)

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
