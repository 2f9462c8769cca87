"""Per-camera pcap of the emulated 802.11 frames, for Wireshark (SPEC L4; DESIGN "Lab network").

``pcap_bytes(events)`` / ``write_pcap(events, path)`` turn the frame events ``radio.WifiRadio``
records (``events.Beacon`` … ``events.Deauthentication``) into a pcap with a radiotap header
(link type 127, ``DLT_IEEE802_11_RADIO``), one packet per event at the event's lab time. Other
events in the input (link events, mobile events) are skipped, so a driver may pass a mixed list.

What a trainer sees in Wireshark:

* beacons and probe responses with SSID, supported rates, DS parameter (channel), country and,
  for secured APs, an RSN element: WPA2 = PSK, ``wpa2-wpa3`` = PSK + SAE with MFP capable,
  ``wpa3-only`` = SAE only with MFP required (why the camera's PSK association is refused);
* Open System authentication, (re)association request/response with the status code
  (43 = invalid AKMP for a WPA3-only AP) and the association id;
* the EAPOL-Key frames of the 4-way handshake with **real** key material: PMK = PBKDF2(passphrase,
  SSID), PTK from the nonces and addresses, MICs with the KCK, GTK wrapped with the KEK. Each side
  uses its own passphrase, so with a wrong camera password message 2 carries a MIC the AP cannot
  verify, and with Wireshark's decryption key set to the AP's passphrase the good handshakes
  verify;
* deauthentications with their reason code; the radiotap header carries the channel frequency
  and, for frames the camera received, the signal in dBm.

Decisions: probe requests (sent on every channel by a real scan) are written once, without a
channel; sequence numbers count per transmitter; the AP's GTK is derived from its BSSID; the
beacon's TSF is the lab time in microseconds. ``write_pcap`` does blocking file I/O: call it from
an executor in the appliance.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from collections.abc import Iterable
from functools import lru_cache

from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from scapy.layers.dot11 import (
    AKMSuite,
    Dot11,
    Dot11AssoReq,
    Dot11AssoResp,
    Dot11Auth,
    Dot11Beacon,
    Dot11Deauth,
    Dot11Elt,
    Dot11EltCountry,
    Dot11EltCountryConstraintTriplet,
    Dot11EltDSSSet,
    Dot11EltRates,
    Dot11EltRSN,
    Dot11ProbeReq,
    Dot11ProbeResp,
    Dot11ReassoReq,
    Dot11ReassoResp,
    RadioTap,
    RSNCipherSuite,
)
from scapy.layers.eap import EAPOL, EAPOL_KEY
from scapy.layers.l2 import LLC, SNAP
from scapy.packet import Packet
from scapy.utils import PcapWriter

from labnet.events import (
    AssociationRequest,
    AssociationResponse,
    Authentication,
    Beacon,
    Deauthentication,
    EapolKey,
    ProbeRequest,
    ProbeResponse,
)
from labnet.propagation import channel_frequency_mhz
from labnet.radio_config import allowed_channels

LINKTYPE_IEEE802_11_RADIOTAP = 127
BROADCAST = "ff:ff:ff:ff:ff:ff"
_RATES_24 = [0x82, 0x84, 0x8B, 0x96, 0x0C, 0x12, 0x18, 0x24]
_RATES_5 = [0x8C, 0x12, 0x98, 0x24, 0xB0, 0x48, 0x60, 0x6C]
_AKM_PSK, _AKM_SAE = 2, 8
_CCMP = 4

FRAME_TYPES = (
    Beacon,
    ProbeRequest,
    ProbeResponse,
    Authentication,
    AssociationRequest,
    AssociationResponse,
    EapolKey,
    Deauthentication,
)

#: wlan.fc.type_subtype of each frame event, as Wireshark/tshark shows it.
TYPE_SUBTYPE = {
    "Beacon": 0x08,
    "ProbeRequest": 0x04,
    "ProbeResponse": 0x05,
    "Authentication": 0x0B,
    "AssociationRequest": 0x00,
    "ReassociationRequest": 0x02,
    "AssociationResponse": 0x01,
    "ReassociationResponse": 0x03,
    "EapolKey": 0x20,
    "Deauthentication": 0x0C,
}


def type_subtype(event: object) -> int:
    """The 802.11 type/subtype code the frame for ``event`` carries (for tests and docs)."""
    name = type(event).__name__
    if isinstance(event, AssociationRequest) and event.current_ap is not None:
        name = "ReassociationRequest"
    if isinstance(event, AssociationResponse) and event.reassociation:
        name = "ReassociationResponse"
    return TYPE_SUBTYPE[name]


# --------------------------------------------------------------------------------------------
# WPA2 key hierarchy (IEEE 802.11-2020 12.7.1)


@lru_cache(maxsize=64)
def pmk(passphrase: str, ssid: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", passphrase.encode(), ssid.encode(), 4096, 32)


def _prf(key: bytes, label: bytes, data: bytes, nbytes: int) -> bytes:
    out = b""
    i = 0
    while len(out) < nbytes:
        out += hmac.new(key, label + b"\x00" + data + bytes([i]), hashlib.sha1).digest()
        i += 1
    return out[:nbytes]


def ptk(pmk_: bytes, aa: str, spa: str, anonce: bytes, snonce: bytes) -> bytes:
    """48-byte PTK for CCMP: KCK (16) | KEK (16) | TK (16)."""
    a, s = bytes.fromhex(aa.replace(":", "")), bytes.fromhex(spa.replace(":", ""))
    data = min(a, s) + max(a, s) + min(anonce, snonce) + max(anonce, snonce)
    return _prf(pmk_, b"Pairwise key expansion", data, 48)


def _mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


# --------------------------------------------------------------------------------------------
# Frames


class _Sequencer:
    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def __call__(self, transmitter: str) -> int:
        n = self._next.get(transmitter, 0)
        self._next[transmitter] = (n + 1) % 4096
        return n << 4


def _radiotap(band: str | None, channel: int | None, rssi_dbm: float | None) -> RadioTap:
    fields: dict = {}
    present = ["Flags", "Rate"]
    fields["Flags"] = 0
    fields["Rate"] = 2 if band != "5" else 12
    if channel is not None:
        band = band or ("5" if channel > 14 else "2.4")
        present.append("Channel")
        fields["ChannelFrequency"] = int(channel_frequency_mhz(band, channel))
        fields["ChannelFlags"] = "OFDM+5GHz" if band == "5" else "CCK+2GHz"
    if rssi_dbm is not None:
        present.append("dBm_AntSignal")
        fields["dBm_AntSignal"] = max(-128, min(127, round(rssi_dbm)))
    return RadioTap(present="+".join(present), **fields)


def _rsn(security: str) -> Dot11EltRSN | None:
    if security == "open":
        return None
    if security == "wpa3-only":
        akms, mfpc, mfpr = [_AKM_SAE], 1, 1
    elif security == "wpa2-wpa3":
        akms, mfpc, mfpr = [_AKM_PSK, _AKM_SAE], 1, 0
    else:
        akms, mfpc, mfpr = [_AKM_PSK], 0, 0
    return Dot11EltRSN(
        group_cipher_suite=RSNCipherSuite(cipher=_CCMP),
        pairwise_cipher_suites=[RSNCipherSuite(cipher=_CCMP)],
        akm_suites=[AKMSuite(suite=a) for a in akms],
        mfp_capable=mfpc,
        mfp_required=mfpr,
    )


def _station_rsn() -> Dot11EltRSN:
    return _rsn("wpa2")  # type: ignore[return-value]


def _elements(ssid: str, band: str, channel: int, country: str, security: str) -> Packet:
    chans = allowed_channels(band, country)
    elts = (
        Dot11Elt(ID="SSID", info=ssid.encode())
        / Dot11EltRates(rates=_RATES_24 if band == "2.4" else _RATES_5)
        / Dot11EltDSSSet(channel=channel)
        / Dot11EltCountry(
            country_string=country.encode() + b" ",
            descriptors=[
                Dot11EltCountryConstraintTriplet(
                    first_channel_number=chans[0], num_channels=len(chans), mtp=20 if band == "2.4" else 23
                )
            ],
        )
    )
    rsn = _rsn(security)
    return elts / rsn if rsn is not None else elts


def _cap(security: str) -> str:
    return "ESS+privacy" if security != "open" else "ESS"


def _eapol(e: EapolKey) -> Packet:
    from_ap = e.message in (1, 3)
    ack = from_ap
    mic = e.message != 1
    secure = e.message in (3, 4)
    install = e.message == 3
    key_nonce = e.anonce if from_ap else (e.snonce if e.message == 2 else b"\x00" * 32)
    keys = (
        ptk(pmk(e.passphrase, e.ssid), e.bssid, e.dst if from_ap else e.src, e.anonce, e.snonce)
        if e.passphrase
        else None
    )
    key_data = b""
    if e.message == 2:
        key_data = bytes(_station_rsn())
    elif e.message == 3:
        gtk = hashlib.sha256(b"gtk:" + _mac_bytes(e.bssid)).digest()[:16]
        plain = bytes(_rsn("wpa2")) + bytes([0xDD, 22, 0x00, 0x0F, 0xAC, 0x01, 0x01, 0x00]) + gtk  # type: ignore[arg-type]
        plain += b"\xdd" + b"\x00" * ((8 - (len(plain) + 1) % 8) % 8)
        key_data = aes_key_wrap(keys[16:32], plain) if keys else plain
    body = EAPOL(version=2 if from_ap else 1, type=3) / EAPOL_KEY(
        key_descriptor_type=2,
        key_descriptor_type_version=2,
        key_type=1,
        install=int(install),
        key_ack=int(ack),
        has_key_mic=int(mic),
        secure=int(secure),
        encrypted_key_data=int(e.message == 3),
        key_length=16 if from_ap else 0,
        key_replay_counter=e.replay_counter,
        key_nonce=key_nonce,
        key_mic=b"\x00" * 16,
        key_data=key_data,
    )
    if mic and keys:
        body[EAPOL_KEY].key_mic = hmac.new(keys[:16], bytes(body), hashlib.sha1).digest()[:16]
    if from_ap:
        dot11 = Dot11(type=2, subtype=0, FCfield="from_DS", addr1=e.dst, addr2=e.bssid, addr3=e.bssid)
    else:
        dot11 = Dot11(type=2, subtype=0, FCfield="to_DS", addr1=e.bssid, addr2=e.src, addr3=e.bssid)
    return dot11 / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x888E) / body


def frame_packet(event: object, seq: _Sequencer | None = None) -> Packet:
    """The radiotap + 802.11 packet for one frame event (raises TypeError for other objects)."""
    seq = seq or _Sequencer()
    if isinstance(event, Beacon):
        pkt = (
            _radiotap(event.band, event.channel, event.rssi_dbm)
            / Dot11(type=0, subtype=8, addr1=BROADCAST, addr2=event.bssid, addr3=event.bssid, SC=seq(event.bssid))
            / Dot11Beacon(timestamp=int(event.at * 1e6) % 2**64, beacon_interval=100, cap=_cap(event.security))
            / _elements(event.ssid, event.band, event.channel, event.country, event.security)
        )
    elif isinstance(event, ProbeRequest):
        pkt = (
            _radiotap(None, None, None)
            / Dot11(type=0, subtype=4, addr1=BROADCAST, addr2=event.sta, addr3=BROADCAST, SC=seq(event.sta))
            / Dot11ProbeReq()
            / Dot11Elt(ID="SSID", info=event.ssid.encode())
            / Dot11EltRates(rates=_RATES_24)
        )
    elif isinstance(event, ProbeResponse):
        pkt = (
            _radiotap(event.band, event.channel, event.rssi_dbm)
            / Dot11(type=0, subtype=5, addr1=event.sta, addr2=event.bssid, addr3=event.bssid, SC=seq(event.bssid))
            / Dot11ProbeResp(timestamp=int(event.at * 1e6) % 2**64, beacon_interval=100, cap=_cap(event.security))
            / _elements(event.ssid, event.band, event.channel, event.country, event.security)
        )
    elif isinstance(event, Authentication):
        pkt = (
            _radiotap(None, event.channel, event.rssi_dbm)
            / Dot11(type=0, subtype=11, addr1=event.dst, addr2=event.src, addr3=event.bssid, SC=seq(event.src))
            / Dot11Auth(algo=0, seqnum=event.seq, status=event.status)
        )
    elif isinstance(event, AssociationRequest):
        security = "open" if event.akm is None else "wpa2"
        dot11 = Dot11(
            type=0,
            subtype=0 if event.current_ap is None else 2,
            addr1=event.bssid,
            addr2=event.sta,
            addr3=event.bssid,
            SC=seq(event.sta),
        )
        if event.current_ap is None:
            mgmt: Packet = Dot11AssoReq(cap=_cap(security), listen_interval=10)
        else:
            mgmt = Dot11ReassoReq(cap=_cap(security), listen_interval=10, current_AP=event.current_ap)
        elts: Packet = Dot11Elt(ID="SSID", info=event.ssid.encode()) / Dot11EltRates(rates=_RATES_24)
        if event.akm is not None:
            elts = elts / _station_rsn()
        pkt = _radiotap(None, event.channel, None) / dot11 / mgmt / elts
    elif isinstance(event, AssociationResponse):
        aid = (event.aid | 0xC000) if event.aid else 0
        dot11 = Dot11(
            type=0,
            subtype=3 if event.reassociation else 1,
            addr1=event.sta,
            addr2=event.bssid,
            addr3=event.bssid,
            SC=seq(event.bssid),
        )
        resp_cls = Dot11ReassoResp if event.reassociation else Dot11AssoResp
        pkt = (
            _radiotap(None, event.channel, event.rssi_dbm)
            / dot11
            / resp_cls(cap="ESS+privacy", status=event.status, AID=aid)
            / Dot11EltRates(rates=_RATES_24)
        )
    elif isinstance(event, EapolKey):
        pkt = _radiotap(None, event.channel, event.rssi_dbm) / _eapol(event)
        pkt[Dot11].SC = seq(event.src)
    elif isinstance(event, Deauthentication):
        pkt = (
            _radiotap(None, event.channel, None)
            / Dot11(type=0, subtype=12, addr1=event.dst, addr2=event.src, addr3=event.bssid, SC=seq(event.src))
            / Dot11Deauth(reason=event.reason)
        )
    else:
        raise TypeError(f"not an 802.11 frame event: {type(event).__name__}")
    pkt.time = event.at
    return pkt


def packets(events: Iterable[object]) -> list[Packet]:
    """The frame events among ``events`` as scapy packets, in time order."""
    frames = sorted((e for e in events if isinstance(e, FRAME_TYPES)), key=lambda e: e.at)
    seq = _Sequencer()
    return [frame_packet(e, seq) for e in frames]


def _encode(pkts: list[Packet]) -> bytes:
    buf = io.BytesIO()
    writer = PcapWriter(buf, linktype=LINKTYPE_IEEE802_11_RADIOTAP, sync=True)
    writer.write_header(None)
    for pkt in pkts:
        writer.write(pkt)
    writer.flush()
    data = buf.getvalue()
    writer.close()
    return data


def pcap_bytes(events: Iterable[object]) -> bytes:
    """A complete pcap file (radiotap link type) of the frame events among ``events``."""
    return _encode(packets(events))


def write_pcap(events: Iterable[object], path: str | os.PathLike[str]) -> int:
    """Write the pcap to ``path``; returns the number of frames written (blocking I/O)."""
    pkts = packets(events)
    data = _encode(pkts)
    with open(path, "wb") as f:
        f.write(data)
    return len(pkts)
