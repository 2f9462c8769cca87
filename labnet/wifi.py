"""Wi-Fi of the lab network: the per-camera state machine — scanning, association, roaming (SPEC S8, T2, T3, L4).

A sans-I/O core in the style of aioquic's ``QuicConnection``: one ``WifiRadio`` per camera is fed
what happens with the lab time (``move(now, position)``, ``set_networks(now, ...)``,
``set_access_points(now, ...)``, ``handle_timer(now)``) and is read out with ``status(now)``
(the fields of the troubleshooting pages, T1), ``link_quality(now)`` (what the driver applies to
the camera's real uplink), ``next_event()`` (link events for the firmware and the trails) and
``frames`` / ``pop_frames()`` (802.11 frames for the pcap, L4). ``get_timer()`` says when to call
``handle_timer`` next. Nothing here opens a socket or reads the system time. What the radio is
configured with (access points, networks, tunables) is in ``radio_config.py``; the signal model
(path loss, link quality) in ``propagation.py``.

Model and lab decisions (where the manual is silent; DESIGN "Lab network"):

* **Signal.** Log-distance path loss: free-space loss at 1 m for the channel's centre frequency,
  then ``10·n·log10(d)`` with ``n = 3.0`` (indoor office), no random shadowing, so that every run
  of a scenario gives the same numbers. RSSI = AP power − loss. A camera hears an AP at or above
  ``sensitivity_dbm`` (−82 dBm); below ``weak_signal_dbm`` (−75 dBm) the weak-signal icon shows
  (T3 row 4). With 20 dBm an AP on 2.4 GHz covers ≈ 115 m, on 5 GHz ≈ 70 m.
* **Networks.** The camera holds its effective S8 list (``WifiNetwork``), highest priority first
  (the caller merges profile, Manager and Assistant networks). A network with a password is
  WPA2-Personal, one without is open. It first tries the highest-priority network it hears, then
  the strongest AP of it; it roams only between APs of the same SSID.
* **Bands and channels.** The W100 and W101 hear 2.4 GHz only (S8, T2 row 3d): a network that
  exists only on 5 GHz is, for them, a network that is not there. All models use 2.4 GHz
  channels 1–13 and every 5 GHz channel; channel 14 (Japan, 802.11b only) is never heard.
* **Channels 12 and 13 in Europe (T2 row 7).** The manual says live streaming "does not work
  optimally" when the system is in Europe, has W100/W101 cameras and the router uses channel 12
  or 13; the fix is to contact support, not to change a setting on the camera. So the lab lets
  these cameras associate, and degrades the link (``degraded = "eu_channel_12_13"``: throughput
  ×0.05, +5 % loss, +80 ms latency). "Europe" is the country the AP advertises (its country
  element), one of ``EUROPE``; outside Europe the lab does not invent the effect.
* **Security.** Access points are ``open``, ``wpa2``, ``wpa2-wpa3`` (transition mode: WPA2 still
  allowed) or ``wpa3-only`` (an AP "with WPA2 disabled"). The camera speaks WPA2-PSK only: to a
  WPA3-only AP it sends an association request with the PSK AKM and gets status 43 (invalid
  AKMP); it shows that AP's MAC but no IPv4 (T3 row 2a). A wrong password passes association,
  fails the 4-way handshake (message 2 carries a MIC made with the wrong key, the AP retries
  message 1 and then deauthenticates with reason 15): AP MAC shown, no IPv4 (T3 row 2b). A network
  with a password never matches an open AP and vice versa (the supplicant skips a security
  mismatch), so no AP MAC, like a wrong SSID (T3 row 3).
* **Addresses.** The AP MAC (BSSID) and the subnet default to values derived from the AP name
  and the SSID, so APs of one SSID share a subnet and the camera keeps its IPv4 when it roams;
  the camera's address in that subnet is derived from its MAC.
* **Scanning and retries.** While not connected the camera scans every ``scan_interval_s``
  (5 s) and right away when its networks or the APs change; after a failed attempt it waits
  ``auth_retry_s`` (10 s) and tries the failed AP last for ``blacklist_s`` (60 s). Each scan is
  recorded as one directed probe request per network, one beacon per AP heard and the probe
  responses (beacons are not recorded every 102.4 ms: a pcap of an hour stays small). The frame
  log keeps the last ``frame_log_limit`` frames.
* **Causality (L4).** The log reads like one radio's capture: a frame is in ``frames`` only once
  lab time has reached it (``get_timer`` includes the next frame due); the radio runs one attempt
  at a time, each from where the previous one's frames end; a failing attempt (a wrong password
  takes ``handshake_attempts`` seconds of retransmitted message 1, all with the same ANonce, then
  the AP's deauthentication) takes effect when its last frame is sent, and the next candidate AP
  is tried only then; a change of the networks, of the access points or of the radio's power
  during an attempt cuts it at that time (its frames after it are never sent) and the radio acts
  on the change then. A successful attempt (a few milliseconds) takes effect at once.
* **Roaming (T3 row 5, L4).** While connected, the camera moves to another AP of its SSID only
  when that AP has been at least ``roam_hysteresis_db`` (6 dB) stronger for
  ``roam_hysteresis_s`` (3 s). The hand-over then takes ``handover_gap_s`` (1.5 s) during which
  the link is down (``WifiRoamStarted`` … ``WifiRoamed``): that gap is the stream lag of T3 row 5.
  Losing the current AP (below sensitivity) deauthenticates (reason 4) and rescans at once.
* **Link quality** (``link_quality``): a function of RSSI between ``good_signal_dbm`` (−55 dBm,
  best) and the sensitivity (worst): latency 3→63 ms, loss 0→10 %, throughput up to 30 Mbit/s on
  2.4 GHz and 80 Mbit/s on 5 GHz, down to 0.5 Mbit/s at the edge; down (100 % loss) when not
  connected or during a hand-over.
* The radio does not know about certificates, SIM cards or docking: the firmware disables it
  (``set_enabled``) when a SIM is inserted (T3 row 1) and decides what an expired certificate
  does (T2 row 3b).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from bwlab.models import CameraModel

from .events import (
    AssociationRequest,
    AssociationResponse,
    Authentication,
    Beacon,
    Deauthentication,
    EapolKey,
    Frame,
    ProbeRequest,
    ProbeResponse,
    WifiConnected,
    WifiConnectFailed,
    WifiDisconnected,
    WifiEvent,
    WifiRoamed,
    WifiRoamStarted,
)
from .propagation import LINK_DOWN, LinkQuality, distance
from .radio_config import (
    EUROPE,
    MODELS_POOR_ON_12_13,
    AccessPoint,
    RadioConfig,
    WifiNetwork,
    camera_hears,
    normalize_mac,
)

#: Lab-side explanation of why a camera is not on Wi-Fi (``WifiStatus.failure``).
WIFI_FAILURES: dict[str, str] = {
    "disabled": "the camera's Wi-Fi is off (a SIM is inserted, or the firmware turned it off)",
    "no_network_assigned": "the camera holds no Wi-Fi network (T2 row 3a)",
    "ssid_not_found": "no access point answers to the camera's SSID (T2 row 3e, T3 row 3)",
    "band_unsupported": "the SSID exists only on 5 GHz, which this model does not hear (T2 row 3d)",
    "channel_unsupported": "the SSID exists only on channel 14, which no camera uses",
    "security_mismatch": "open network vs. password (or the reverse): the camera skips the AP",
    "out_of_range": "the camera's SSID is too far away to be heard (T3 row 4)",
    "wpa2_not_allowed": "the access point does not allow WPA2 (T3 row 2a)",
    "wrong_password": "the 4-way handshake fails: wrong password (T2 row 3c, T3 row 2b)",
}
# How close a "not heard" reason is to success: the closest one is the most useful to report.
_MISSING_RANK = {
    "ssid_not_found": 1,
    "band_unsupported": 2,
    "channel_unsupported": 3,
    "security_mismatch": 4,
    "out_of_range": 5,
}


# --------------------------------------------------------------------------------------------
# Link quality


def link_quality(
    rssi_dbm: float, band: str, config: RadioConfig = RadioConfig(), *, degraded: bool = False
) -> LinkQuality:
    """Link quality of a Wi-Fi association at ``rssi_dbm`` (module docstring, "Link quality")."""
    if rssi_dbm < config.sensitivity_dbm:
        return LINK_DOWN
    q = (rssi_dbm - config.sensitivity_dbm) / (config.good_signal_dbm - config.sensitivity_dbm)
    q = min(max(q, 0.0), 1.0)
    latency = 3.0 + 60.0 * (1.0 - q) ** 2
    loss = 0.10 * (1.0 - q) ** 3
    top = config.max_throughput_24_kbps if band == "2.4" else config.max_throughput_5_kbps
    throughput = config.min_throughput_kbps + (top - config.min_throughput_kbps) * q
    if degraded:
        latency += config.degraded_latency_ms
        loss = min(1.0, loss + config.degraded_loss)
        throughput *= config.degraded_throughput_factor
    return LinkQuality(
        up=True, latency_ms=round(latency, 3), loss_ratio=round(loss, 5), throughput_kbps=round(throughput, 1)
    )


# --------------------------------------------------------------------------------------------
# Status


@dataclass(frozen=True)
class WifiStatus:
    """The camera's Wi-Fi as the troubleshooting pages show it (T1 page 1 and page 2 on Wi-Fi).

    ``ssid``, ``auth_method`` (Auth), ``ipv4``, ``auth_status`` (Status), ``ap_mac`` are page 2;
    ``signal_db`` is page 1. The rest is lab-side: ``state`` (``disabled``, ``searching``,
    ``connected``, ``roaming``, ``failed``), the AP's name and advertised country, ``failure``
    (a ``WIFI_FAILURES`` code), whether the weak-signal icon shows (T3 row 4), ``degraded``
    (T2 row 7), the DNS servers from DHCP (page 3), the time of the last completed roam (T3 row 5)
    and the link quality.
    """

    state: str
    ssid: str | None
    auth_method: str | None
    ipv4: str | None
    auth_status: str
    ap_mac: str | None
    signal_db: int | None
    band: str | None
    channel: int | None
    ap: str | None = None
    country: str | None = None
    failure: str | None = None
    weak_signal: bool = False
    degraded: str | None = None
    dns_servers: tuple[str, ...] = ()
    last_roam_at: float | None = None
    link: LinkQuality = LINK_DOWN

    @property
    def connected(self) -> bool:
        return self.state == "connected"


_AUTH_STATUS = {
    "disabled": "Disabled",
    "searching": "Scanning",
    "connected": "Connected",
    "roaming": "Roaming",
}
_FAILED_STATUS = {"wrong_password": "Authentication failed", "wpa2_not_allowed": "Association rejected"}


@dataclass
class _Heard:
    ap: AccessPoint
    rssi: float


@dataclass
class _Trial:
    """The attempts of one scan (or one roam), one at a time: those to come and the one whose
    failure takes effect at ``ends_at``."""

    started: float
    queue: deque[tuple[_Heard, WifiNetwork]]
    reassociate_from: AccessPoint | None = None  # a roam's hand-over from this AP
    current: tuple[_Heard, WifiNetwork] | None = None
    failure: str | None = None
    ends_at: float = 0.0
    first_failure: tuple[str, AccessPoint, WifiNetwork] | None = None


# --------------------------------------------------------------------------------------------
# The per-camera radio


class WifiRadio:
    """The Wi-Fi side of one camera (S8, T2, T3, L4); see the module docstring for the model."""

    def __init__(
        self,
        model: CameraModel,
        station_mac: str,
        *,
        config: RadioConfig = RadioConfig(),
        networks: Iterable[WifiNetwork] = (),
        access_points: Iterable[AccessPoint] = (),
        position: tuple[float, float] = (0.0, 0.0),
        enabled: bool = True,
    ):
        mac = normalize_mac(station_mac)
        if mac is None:
            raise ValueError(f"station_mac: expected a MAC address, got {station_mac!r}")
        self.model = model
        self.station_mac = mac
        self.config = config
        self.position: tuple[float, float] = (float(position[0]), float(position[1]))
        self._networks: tuple[WifiNetwork, ...] = tuple(networks)
        self._aps: dict[str, AccessPoint] = {ap.bssid: ap for ap in access_points}
        self._state = "searching" if enabled else "disabled"
        self._current: AccessPoint | None = None
        self._network: WifiNetwork | None = None
        self._ipv4: str | None = None
        self._target: AccessPoint | None = None
        self._roam_from: AccessPoint | None = None
        self._roam_done_at: float | None = None
        self._candidate: str | None = None
        self._better_since: float | None = None
        self._next_scan_at: float | None = None  # None: scan at the next chance
        self._failure: str | None = None
        self._failure_ap: AccessPoint | None = None
        self._failure_network: WifiNetwork | None = None
        self._reported_failure: str | None = None
        self._blacklist: dict[str, float] = {}
        self._last_roam_at: float | None = None
        self._aid = 0
        self._replay = 0
        self._frames: deque[Frame] = deque(maxlen=config.frame_log_limit)
        self._pending: deque[Frame] = deque()  # logged, not yet sent: after the lab time seen last
        self._busy_until = -math.inf  # when the radio's last logged frame is sent
        self._trial: _Trial | None = None
        self._events: deque[WifiEvent] = deque()

    # -- inputs ---------------------------------------------------------------------------

    def move(self, now: float, position: tuple[float, float]) -> None:
        """The camera is now at ``position`` (metres on the site plan)."""
        self._advance(now)
        self.position = (float(position[0]), float(position[1]))
        self._run(now)

    def set_networks(self, now: float, networks: Iterable[WifiNetwork]) -> None:
        """The camera's effective network list changed (docking, Assistant app, S8)."""
        self._advance(now)
        self._networks = tuple(networks)
        self._blacklist.clear()
        self._cut(now, "network_removed")
        if self._state in ("connected", "roaming") and self._network not in self._networks:
            ap = self._current or self._roam_from
            assert ap is not None
            self._log(Deauthentication(self._free(now), self.station_mac, ap.bssid, ap.bssid, 3, ap.channel))
            self._drop(now, ap, "network_removed")
        self._next_scan_at = None
        self._run(now)

    def set_access_points(self, now: float, access_points: Iterable[AccessPoint]) -> None:
        """The lab's APs changed (added, moved, switched off, reconfigured: L2 faults)."""
        self._advance(now)
        old = self._aps
        self._aps = {ap.bssid: ap for ap in access_points}
        if old != self._aps:
            self._cut(now, "ap_changed")  # the change takes effect now, also on an attempt under way
        ap = self._current if self._state == "connected" else None
        if ap is not None:
            new = self._aps.get(ap.bssid)
            if new is None or not new.enabled:
                self._log(Deauthentication(self._free(now), ap.bssid, self.station_mac, ap.bssid, 3, ap.channel))
                self._drop(now, ap, "ap_gone")
            elif new.radio_identity() != ap.radio_identity():
                self._log(Deauthentication(self._free(now), ap.bssid, self.station_mac, ap.bssid, 3, ap.channel))
                self._drop(now, ap, "ap_changed")
            else:
                self._current = new
        if old != self._aps:
            self._blacklist.clear()
            self._next_scan_at = None
        self._run(now)

    def set_enabled(self, now: float, enabled: bool) -> None:
        """Switch the camera's Wi-Fi on or off (off while a SIM is in use, T3 row 1)."""
        self._advance(now)
        if not enabled and self._state != "disabled":
            self._cut(now, "disabled")
            ap = self._current if self._state == "connected" else self._roam_from if self._state == "roaming" else None
            if ap is not None:
                self._log(Deauthentication(self._free(now), self.station_mac, ap.bssid, ap.bssid, 3, ap.channel))
                self._drop(now, ap, "disabled")
            self._state = "disabled"
            self._clear_failure()
            self._candidate = self._better_since = None
        elif enabled and self._state == "disabled":
            self._state = "searching"
            self._next_scan_at = None
            self._run(now)

    def handle_timer(self, now: float) -> None:
        """Call at (or after) ``get_timer()``."""
        self._run(now)

    # -- outputs --------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When ``handle_timer`` must run next (hand-over end, roam decision, next scan).

        A new radio has not scanned yet: its timer is due at once (0.0), so a driver that only
        follows timers starts it; any call with a time (``status``, ``move`` …) starts it too.
        The next logged frame to be sent and an attempt's end are timers too.
        """
        due = [t for t in (self._state_timer(), self._pending[0].at if self._pending else None) if t is not None]
        return min(due) if due else None

    def _state_timer(self) -> float | None:
        if self._trial is not None:
            return self._trial.ends_at
        if self._state == "roaming":
            return self._roam_done_at
        if self._state == "connected":
            if self._better_since is not None:
                return self._better_since + self.config.roam_hysteresis_s
            return None
        if self._state in ("searching", "failed"):
            return 0.0 if self._next_scan_at is None else self._next_scan_at  # 0.0: due now
        return None

    def next_event(self) -> WifiEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def frames(self) -> tuple[Frame, ...]:
        """The 802.11 frames sent up to the lab time seen last, oldest first (bounded by
        ``frame_log_limit``)."""
        return tuple(self._frames)

    def frames_until(self, now: float) -> tuple[Frame, ...]:
        """The frames sent up to ``now`` (running what is due by then): a capture taken at ``now``."""
        self._run(now)
        return self.frames

    def pop_frames(self) -> list[Frame]:
        frames = list(self._frames)
        self._frames.clear()
        return frames

    @property
    def networks(self) -> tuple[WifiNetwork, ...]:
        return self._networks

    @property
    def access_points(self) -> tuple[AccessPoint, ...]:
        return tuple(self._aps.values())

    def rssi(self, ap: AccessPoint) -> float:
        """The signal of ``ap`` at the camera's position, in dBm."""
        return self.config.path_loss.received_dbm(
            ap.tx_power_dbm, ap.frequency_mhz, distance(self.position, ap.position)
        )

    def heard(self) -> list[tuple[AccessPoint, float]]:
        """The APs the camera hears now, strongest first (any SSID)."""
        return [(h.ap, h.rssi) for h in self._heard()]

    def _ap_fields(self, ap) -> dict:
        """The troubleshooting fields read from an access point the camera hears."""
        return {
            "ssid": ap.ssid,
            "ap_mac": ap.bssid,
            "signal_db": round(self.rssi(ap)),
            "band": ap.band,
            "channel": ap.channel,
            "ap": ap.name,
            "country": ap.country,
            "degraded": self.degraded_reason(ap),
        }

    def status(self, now: float) -> WifiStatus:
        """The troubleshooting view of the radio at ``now`` (T1); runs any timer already due."""
        self._run(now)
        state = self._state
        if state == "connected":
            ap, net = self._current, self._network
            assert ap is not None and net is not None
            rssi = self.rssi(ap)
            heard = self._ap_fields(ap)
            return WifiStatus(
                state=state,
                auth_method=net.auth_method,
                ipv4=self._ipv4,
                auth_status=_AUTH_STATUS[state],
                weak_signal=rssi < self.config.weak_signal_dbm,
                dns_servers=ap.dns,
                last_roam_at=self._last_roam_at,
                link=link_quality(rssi, ap.band, self.config, degraded=heard["degraded"] is not None),
                **heard,
            )
        if state == "roaming":
            ap, net = self._target, self._network
            assert ap is not None and net is not None
            return WifiStatus(
                state=state,
                auth_method=net.auth_method,
                ipv4=self._ipv4,
                auth_status=_AUTH_STATUS[state],
                dns_servers=ap.dns,
                last_roam_at=self._last_roam_at,
                **self._ap_fields(ap),
            )
        if state == "disabled":
            return WifiStatus(state, None, None, None, _AUTH_STATUS[state], None, None, None, None, failure="disabled")
        net = self._failure_network or (self._networks[0] if self._networks else None)
        ap = self._failure_ap
        if state == "failed" and ap is not None:
            return WifiStatus(
                state=state,
                auth_method=net.auth_method if net else None,
                ipv4=None,
                auth_status=_FAILED_STATUS.get(self._failure or "", "Failed"),
                failure=self._failure,
                last_roam_at=self._last_roam_at,
                **self._ap_fields(ap),
            )
        return WifiStatus(
            state="searching",
            ssid=net.ssid if net else None,
            auth_method=net.auth_method if net else None,
            ipv4=None,
            auth_status=_AUTH_STATUS["searching"],
            ap_mac=None,
            signal_db=None,
            band=None,
            channel=None,
            failure=self._failure,
            weak_signal=self._failure == "out_of_range",
            last_roam_at=self._last_roam_at,
        )

    def link_quality(self, now: float) -> LinkQuality:
        return self.status(now).link

    def degraded_reason(self, ap: AccessPoint) -> str | None:
        """``"eu_channel_12_13"`` when T2 row 7 applies to this camera on ``ap``."""
        if (
            self.model.name in MODELS_POOR_ON_12_13
            and ap.band == "2.4"
            and ap.channel in (12, 13)
            and ap.country in EUROPE
        ):
            return "eu_channel_12_13"
        return None

    # -- the machine ----------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """What was due by ``now`` has happened: frames sent, attempts ended (and the ones after)."""
        self._send_due(now)
        while self._trial is not None and now >= self._trial.ends_at:
            self._attempt_failed(self._trial)
            self._send_due(now)

    def _run(self, now: float) -> None:
        self._advance(now)
        if self._trial is not None:
            return  # one attempt at a time: nothing else until it ends
        if self._state == "roaming" and self._roam_done_at is not None and now >= self._roam_done_at:
            self._complete_roam(self._roam_done_at)
        if self._state == "connected":
            self._check_connected(now)
        if (
            self._trial is None
            and self._state in ("searching", "failed")
            and (self._next_scan_at is None or now >= self._next_scan_at)
        ):
            self._scan_and_connect(now)
        self._send_due(now)

    def _send_due(self, now: float) -> None:
        while self._pending and self._pending[0].at <= now:
            self._frames.append(self._pending.popleft())

    def _free(self, now: float) -> float:
        """When the radio can send a frame that happens at ``now``: after the ones logged."""
        return max(now, self._busy_until)

    def _cut(self, now: float, reason: str) -> None:
        """Something changed at ``now``: an attempt under way stops there; its frames after
        ``now`` are never sent. A roam cut short leaves the camera without Wi-Fi."""
        trial, self._trial = self._trial, None
        if trial is None:
            return
        self._pending = deque(f for f in self._pending if f.at <= now)
        self._busy_until = self._pending[-1].at if self._pending else -math.inf
        old = trial.reassociate_from
        if old is not None:
            self._events.append(WifiDisconnected(now, old.bssid, old.name, reason))
            self._ipv4 = self._network = self._current = None
        self._next_scan_at = None

    def _heard(self) -> list[_Heard]:
        heard = []
        for ap in self._aps.values():
            if not ap.enabled or not camera_hears(self.model, ap.band, ap.channel):
                continue
            rssi = self.rssi(ap)
            if rssi >= self.config.sensitivity_dbm:
                heard.append(_Heard(ap, rssi))
        heard.sort(key=lambda h: (-h.rssi, h.ap.bssid))
        return heard

    @staticmethod
    def _compatible(ap: AccessPoint, net: WifiNetwork) -> bool:
        return (ap.security == "open") == (net.password is None)

    def _check_connected(self, now: float) -> None:
        ap = self._current
        assert ap is not None
        rssi = self.rssi(ap)
        if rssi < self.config.sensitivity_dbm:
            self._log(Deauthentication(self._free(now), self.station_mac, ap.bssid, ap.bssid, 4, ap.channel))
            self._drop(now, ap, "out_of_range")
            self._next_scan_at = None
            return
        best: _Heard | None = None
        for h in self._heard():
            if h.ap.bssid == ap.bssid or h.ap.ssid != ap.ssid or self._blacklisted(h.ap, now):
                continue
            if self._network is None or not self._compatible(h.ap, self._network):
                continue
            best = h
            break
        if best is None or best.rssi < rssi + self.config.roam_hysteresis_db:
            self._candidate = self._better_since = None
            return
        if self._candidate != best.ap.bssid or self._better_since is None:
            self._candidate, self._better_since = best.ap.bssid, now
        if now - self._better_since >= self.config.roam_hysteresis_s:
            self._start_roam(now, ap, best)

    def _start_roam(self, now: float, old: AccessPoint, target: _Heard) -> None:
        self._state = "roaming"
        self._roam_from, self._target = old, target.ap
        self._roam_done_at = now + self.config.handover_gap_s
        self._candidate = self._better_since = None
        assert self._network is not None
        t = self._probe(self._free(now), target.ap.ssid)
        self._log(self._probe_response(t, target))
        self._events.append(WifiRoamStarted(now, old.bssid, target.ap.bssid, old.name, target.ap.name, self.position))

    def _complete_roam(self, at: float) -> None:
        old, target, net = self._roam_from, self._target, self._network
        assert old is not None and target is not None and net is not None
        self._state = "searching"
        self._target = self._roam_from = self._roam_done_at = None
        current = self._aps.get(target.bssid)
        rssi = self.rssi(current) if current is not None else -999.0
        if (
            current is None
            or not current.enabled
            or current.radio_identity() != target.radio_identity()
            or rssi < self.config.sensitivity_dbm
        ):
            self._events.append(WifiDisconnected(at, old.bssid, old.name, "out_of_range"))
            self._ipv4 = None
            self._network = None
            self._current = None
            self._scan_and_connect(at)
            return
        self._trial = _Trial(at, deque([(_Heard(current, rssi), net)]), reassociate_from=old)
        self._next_attempt(self._free(at))

    def _scan_and_connect(self, now: float) -> None:
        heard = self._heard()
        t = self._free(now)
        for net in self._networks:
            t = self._probe(t, net.ssid)
        for h in heard:
            self._log(
                Beacon(t, h.ap.bssid, h.ap.ssid, h.ap.channel, h.ap.band, h.ap.security, h.ap.country, round(h.rssi, 1))
            )
            t += 0.001
        probed = {n.ssid for n in self._networks}
        for h in heard:
            if h.ap.ssid in probed:
                self._log(self._probe_response(t, h))
                t += 0.001
        candidates: list[tuple[int, bool, float, _Heard, WifiNetwork]] = []
        for i, net in enumerate(self._networks):
            for h in heard:
                if h.ap.ssid == net.ssid and self._compatible(h.ap, net):
                    candidates.append((i, self._blacklisted(h.ap, now), -h.rssi, h, net))
        candidates.sort(key=lambda c: (c[0], c[1], c[2], c[3].ap.bssid))
        queue: deque[tuple[_Heard, WifiNetwork]] = deque()
        seen: set[str] = set()
        for _, _, _, h, net in candidates:
            if h.ap.bssid not in seen:
                seen.add(h.ap.bssid)
                queue.append((h, net))
        self._trial = _Trial(now, queue)
        self._next_attempt(t)

    def _next_attempt(self, t: float) -> None:
        """Try the trial's next candidate from ``t``: a success connects at once, a failure takes
        effect when its frames end (``_attempt_failed``); with none left, the scan's outcome."""
        trial = self._trial
        assert trial is not None
        if trial.queue:
            h, net = trial.queue.popleft()
            old = trial.reassociate_from
            failure, end = self._attempt(t, h, net, reassociate_from=old)
            if failure is not None:
                trial.current, trial.failure, trial.ends_at = (h, net), failure, end
                return
            self._trial = None
            if old is not None:
                self._last_roam_at = trial.started
                self._events.append(
                    WifiRoamed(
                        trial.started,
                        old.bssid,
                        h.ap.bssid,
                        old.name,
                        h.ap.name,
                        self.config.handover_gap_s,
                        self.position,
                    )
                )
            self._connect(trial.started, h.ap, net, h.rssi, announce=old is None)
            return
        self._trial = None
        if trial.first_failure is not None:
            failure, ap, net = trial.first_failure
            self._state = "failed"
            self._set_failure(t, failure, ap, net)
            self._next_scan_at = t + self.config.auth_retry_s
            return
        self._state = "searching"
        failure_code, missing = self._explain_missing()
        self._set_failure(trial.started, failure_code, None, missing)
        self._next_scan_at = trial.started + self.config.scan_interval_s

    def _attempt_failed(self, trial: _Trial) -> None:
        """The trial's current attempt has ended in failure: the next candidate from then on (a
        failed hand-over loses the link and scans)."""
        assert trial.current is not None and trial.failure is not None
        (h, net), end = trial.current, trial.ends_at
        self._blacklist[h.ap.bssid] = end + self.config.blacklist_s
        if trial.first_failure is None:
            trial.first_failure = (trial.failure, h.ap, net)
        trial.current = None
        old = trial.reassociate_from
        if old is not None:
            self._trial = None
            self._events.append(WifiDisconnected(end, old.bssid, old.name, trial.failure))
            self._ipv4 = self._network = self._current = None
            self._scan_and_connect(end)
            return
        self._next_attempt(self._free(end))

    def _explain_missing(self) -> tuple[str, WifiNetwork | None]:
        if not self._networks:
            return "no_network_assigned", None
        best: tuple[int, str, WifiNetwork] | None = None
        for net in self._networks:
            for ap in self._aps.values():
                if not ap.enabled or ap.ssid != net.ssid:
                    continue
                if not self.model.supports_band(ap.band):
                    reason = "band_unsupported"
                elif not camera_hears(self.model, ap.band, ap.channel):
                    reason = "channel_unsupported"
                elif self.rssi(ap) < self.config.sensitivity_dbm:
                    reason = "out_of_range"
                elif not self._compatible(ap, net):
                    reason = "security_mismatch"
                else:  # heard and compatible: cannot be missing, but stay total
                    continue
                if best is None or _MISSING_RANK[reason] > best[0]:
                    best = (_MISSING_RANK[reason], reason, net)
        if best is None:
            return "ssid_not_found", self._networks[0]
        return best[1], best[2]

    def _attempt(
        self, t: float, h: _Heard, net: WifiNetwork, *, reassociate_from: AccessPoint | None = None
    ) -> tuple[str | None, float]:
        """Authenticate, (re)associate and run the 4-way handshake; frames are logged from ``t``."""
        ap, sta, ch, rssi = h.ap, self.station_mac, h.ap.channel, round(h.rssi, 1)
        step = 0.001
        self._log(Authentication(t, sta, ap.bssid, ap.bssid, 1, 0, ch))
        t += step
        self._log(Authentication(t, ap.bssid, sta, ap.bssid, 2, 0, ch, rssi))
        t += step
        akm = None if ap.security == "open" else "psk"
        current = reassociate_from.bssid if reassociate_from is not None else None
        self._log(AssociationRequest(t, sta, ap.bssid, ap.ssid, akm, current, ch))
        t += step
        reassoc = reassociate_from is not None
        if ap.security == "wpa3-only":
            self._log(AssociationResponse(t, ap.bssid, sta, 43, 0, reassoc, ch, rssi))
            return "wpa2_not_allowed", t + step
        self._aid = self._aid % 2007 + 1
        self._log(AssociationResponse(t, ap.bssid, sta, 0, self._aid, reassoc, ch, rssi))
        t += step
        if ap.security == "open":
            return None, t
        assert ap.password is not None and net.password is not None
        snonce = _nonce("snonce", sta, ap.bssid, t)
        anonce = _nonce("anonce", ap.bssid, sta, t)  # one per handshake: a retransmitted message 1 keeps it
        ok = net.password == ap.password
        for _attempt in range(1 if ok else self.config.handshake_attempts):
            self._replay += 1
            self._log(
                EapolKey(t, ap.bssid, sta, ap.bssid, ap.ssid, 1, self._replay, anonce, snonce, ap.password, ch, rssi)
            )
            t += step
            self._log(EapolKey(t, sta, ap.bssid, ap.bssid, ap.ssid, 2, self._replay, anonce, snonce, net.password, ch))
            t += step if ok else 1.0  # the AP drops a bad MIC and retransmits message 1 after 1 s
        if not ok:
            self._log(Deauthentication(t, ap.bssid, sta, ap.bssid, 15, ch))
            return "wrong_password", t + step
        self._replay += 1
        self._log(EapolKey(t, ap.bssid, sta, ap.bssid, ap.ssid, 3, self._replay, anonce, snonce, ap.password, ch, rssi))
        t += step
        self._log(EapolKey(t, sta, ap.bssid, ap.bssid, ap.ssid, 4, self._replay, anonce, snonce, net.password, ch))
        return None, t + step

    def _connect(self, now: float, ap: AccessPoint, net: WifiNetwork, rssi: float, *, announce: bool) -> None:
        self._state = "connected"
        self._current, self._network = ap, net
        self._ipv4 = _address_in(ap.network, self.station_mac)
        self._candidate = self._better_since = None
        self._next_scan_at = None
        self._clear_failure()
        if announce:
            self._events.append(
                WifiConnected(now, ap.bssid, ap.name, ap.ssid, ap.band, ap.channel, round(rssi, 1), self._ipv4)
            )

    def _drop(self, now: float, ap: AccessPoint, reason: str) -> None:
        self._events.append(WifiDisconnected(now, ap.bssid, ap.name, reason))
        self._state = "searching"
        self._current = self._network = self._target = self._roam_from = None
        self._roam_done_at = None
        self._ipv4 = None
        self._candidate = self._better_since = None
        self._next_scan_at = None

    def _set_failure(self, now: float, failure: str, ap: AccessPoint | None, net: WifiNetwork | None) -> None:
        self._failure, self._failure_ap, self._failure_network = failure, ap, net
        if failure != self._reported_failure:
            self._reported_failure = failure
            self._events.append(WifiConnectFailed(now, net.ssid if net else None, ap.bssid if ap else None, failure))

    def _clear_failure(self) -> None:
        self._failure = None
        self._failure_ap = None
        self._failure_network = None
        self._reported_failure = None

    def _blacklisted(self, ap: AccessPoint, now: float) -> bool:
        until = self._blacklist.get(ap.bssid)
        return until is not None and now < until

    def _probe(self, t: float, ssid: str) -> float:
        self._log(ProbeRequest(t, self.station_mac, ssid))
        return t + 0.001

    def _probe_response(self, t: float, h: _Heard) -> ProbeResponse:
        ap = h.ap
        return ProbeResponse(
            t, ap.bssid, self.station_mac, ap.ssid, ap.channel, ap.band, ap.security, ap.country, round(h.rssi, 1)
        )

    def _log(self, frame: Frame) -> None:
        """Log a frame the radio sends or receives at ``frame.at``: sent once lab time reaches it."""
        self._pending.append(frame)
        self._busy_until = max(self._busy_until, frame.at)


def _nonce(label: str, a: str, b: str, t: float) -> bytes:
    return hashlib.sha256(f"{label}|{a}|{b}|{t:.6f}".encode()).digest()


def _address_in(network: ipaddress.IPv4Network, mac: str) -> str:
    hosts = network.num_addresses - 2
    span = min(hosts - 10, 240)
    index = 10 + int.from_bytes(hashlib.sha256(mac.encode()).digest()[:4], "big") % span
    return str(network.network_address + index)
