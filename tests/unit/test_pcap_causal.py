"""The 802.11 capture reads like one radio's real capture (L4; issue 12), checked on the pcap read
back with scapy: no frame after the time the capture is taken, one attempt at a time (never two
exchanges interleaved, with one access point or two), an access point's change takes effect at
its time (what the radio had planned after it is never sent), and a retransmitted EAPOL message 1
keeps its ANonce.

covers: L4, T3, T2
"""

from __future__ import annotations

import hashlib
import hmac
import io
from itertools import pairwise

from scapy.layers.dot11 import Dot11, Dot11Auth, Dot11Deauth
from scapy.layers.eap import EAPOL, EAPOL_KEY
from scapy.utils import rdpcap

from appliance.lab.pcap import pcap_bytes, pmk, ptk
from bwlab.models import get_model
from labnet.radio_config import AccessPoint, RadioConfig, WifiNetwork, derive_mac
from labnet.wifi import WifiRadio

T0 = 1_800_000_000.0
PASSWORD = "correct horse battery"
WRONG = "not the password"


def _radio(password: str, *aps: AccessPoint) -> WifiRadio:
    return WifiRadio(
        get_model("W102"),
        derive_mac("cam-causal"),
        networks=[WifiNetwork("LabNet", password)],
        access_points=aps,
        position=(20, 0),
    )


def _ap(name: str, x: float, password: str = PASSWORD, channel: int = 1) -> AccessPoint:
    return AccessPoint(name, "LabNet", channel=channel, password=password, position=(x, 0))


def _capture(radio: WifiRadio) -> list:
    return list(rdpcap(io.BytesIO(pcap_bytes(radio.frames))))


def _bssid(pkt) -> str:
    return pkt[Dot11].addr3


def _station_auth(pkt, sta: str) -> bool:
    return Dot11Auth in pkt and pkt[Dot11].addr2 == sta and pkt[Dot11Auth].seqnum == 1


def _attempts(packets: list, sta: str) -> list[list]:
    """The capture cut at each authentication request the station sends: one list per attempt."""
    attempts: list[list] = []
    for pkt in packets:
        if _station_auth(pkt, sta):
            attempts.append([])
        if attempts and (
            Dot11Auth in pkt or EAPOL in pkt or pkt[Dot11].type == 0 and pkt[Dot11].subtype in (0, 1, 2, 3, 12)
        ):
            attempts[-1].append(pkt)
    return attempts


def _run(radio: WifiRadio, until: float) -> None:
    while (t := radio.get_timer()) is not None and t <= until:
        radio.handle_timer(max(t, T0))
    radio.handle_timer(until)


def test_no_frame_is_after_the_time_of_the_capture():
    radio = _radio(WRONG, _ap("west", 0), _ap("east", 40, channel=11))
    radio.handle_timer(T0)
    for step in range(1, 20):
        now = T0 + step * 0.5
        radio.handle_timer(now)
        packets = _capture(radio)
        assert packets and max(float(p.time) for p in packets) <= now + 1e-6, (now, float(packets[-1].time))


def test_one_attempt_at_a_time_and_a_retransmitted_message_1_keeps_its_anonce():
    west, east = _ap("west", 0), _ap("east", 40, channel=11)
    radio = _radio(WRONG, west, east)
    radio.handle_timer(T0)
    radio.set_access_points(T0 + 1.5, [west, east, _ap("far", 500, channel=6)])  # a change elsewhere: rescan
    _run(radio, T0 + 40)
    packets = _capture(radio)
    times = [float(p.time) for p in packets]
    assert times == sorted(times)
    attempts = _attempts(packets, radio.station_mac)
    assert len(attempts) >= 3
    for attempt in attempts:
        assert len({_bssid(p) for p in attempt}) == 1, "an attempt talks to one access point"
        anonces = {bytes(p[EAPOL_KEY].key_nonce) for p in attempt if EAPOL_KEY in p and p[EAPOL_KEY].key_ack}
        assert len(anonces) <= 1, "message 1 retransmitted with a new ANonce"
    for before, after in pairwise(attempts):
        assert float(before[-1].time) <= float(after[0].time), "two attempts of one radio overlap"
    refused = [a for a in attempts if any(Dot11Deauth in p and p[Dot11Deauth].reason == 15 for p in a)]
    assert len({_bssid(a[0]) for a in refused}) == 2, "both access points refuse the wrong password"
    retries = RadioConfig().handshake_attempts
    assert all(sum(EAPOL_KEY in p and p[EAPOL_KEY].key_ack for p in a) == retries for a in refused)


def test_an_access_points_change_takes_effect_at_its_time():
    """The camera has the wrong password; 1.5 s into its failing handshake the access point takes
    the camera's password. The failing exchange stops there (no deauthentication for a wrong
    password after the change) and the next handshake, after the change, completes with the new
    key: its message 3's MIC verifies with the new passphrase only."""
    changed_at = T0 + 1.5
    old = _ap("west", 0, password=PASSWORD)
    new = _ap("west", 0, password=WRONG)
    radio = _radio(WRONG, old)
    radio.handle_timer(T0)
    radio.handle_timer(T0 + 1.0)
    radio.set_access_points(changed_at, [new])
    _run(radio, T0 + 20)
    packets = _capture(radio)
    sta = radio.station_mac
    after = [p for p in packets if float(p.time) >= changed_at]
    assert not [p for p in after if Dot11Deauth in p and p[Dot11Deauth].reason == 15], (
        "the cut exchange's deauthentication was sent after the change"
    )
    attempts = _attempts(packets, sta)
    first, second = attempts[0], attempts[1]
    assert float(first[-1].time) <= changed_at <= float(second[0].time)
    eapol = [p for p in second if EAPOL_KEY in p]
    assert len(eapol) == 4, "the handshake after the change completes"
    msg1, msg2, msg3, _ = eapol
    anonce, snonce = bytes(msg1[EAPOL_KEY].key_nonce), bytes(msg2[EAPOL_KEY].key_nonce)

    def mic_ok(passphrase: str) -> bool:
        keys = ptk(pmk(passphrase, "LabNet"), old.bssid, sta, anonce, snonce)
        raw = bytearray(bytes(msg3[EAPOL]))
        mic = bytes(raw[81:97])
        raw[81:97] = b"\x00" * 16
        return hmac.compare_digest(hmac.new(keys[:16], bytes(raw), hashlib.sha1).digest()[:16], mic)

    assert mic_ok(WRONG) and not mic_ok(PASSWORD), "message 3 is the changed access point's"
    assert radio.status(T0 + 20).connected
