"""pcap export of a camera's emulated 802.11 frames, read back with scapy and tshark (L4).

The tshark tests need ``tshark`` on the PATH (CI installs the ``tshark`` package); they are not
skipped without it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import shutil
import subprocess

import pytest
from scapy.layers.dot11 import Dot11, Dot11AssoResp, Dot11Deauth, Dot11EltRSN, RadioTap
from scapy.layers.eap import EAPOL, EAPOL_KEY
from scapy.utils import rdpcap

from appliance.lab.pcap import LINKTYPE_IEEE802_11_RADIOTAP, pcap_bytes, pmk, ptk, type_subtype, write_pcap
from bwlab.models import get_model
from labnet.events import Deauthentication, EapolKey, WifiConnected
from labnet.radio_config import AccessPoint, WifiNetwork, derive_mac
from labnet.wifi import WifiRadio

T0 = 1_800_000_000.0
PASSWORD = "correct horse battery"


def failing_then_roaming_camera() -> WifiRadio:
    """A W102 that meets a WPA3-only AP, a wrong password, then connects and roams."""
    west = AccessPoint("west", "LabNet", channel=1, password=PASSWORD, position=(0, 0))
    east = AccessPoint("east", "LabNet", channel=11, password=PASSWORD, position=(100, 0))
    strict = AccessPoint(
        "strict", "Secure", band="5", channel=36, security="wpa3-only", password=PASSWORD, position=(0, 5)
    )
    r = WifiRadio(
        get_model("W102"),
        derive_mac("cam-pcap"),
        networks=[WifiNetwork("Secure", PASSWORD), WifiNetwork("LabNet", "not the password")],
        access_points=[west, east, strict],
        position=(10, 0),
    )
    r.handle_timer(T0)
    r.set_networks(T0 + 20, [WifiNetwork("LabNet", PASSWORD)])
    r.move(T0 + 21, (70, 0))
    while (t := r.get_timer()) is not None:
        r.handle_timer(t)
    return r


def rdpcap_bytes(data: bytes):
    return rdpcap(io.BytesIO(data))


@pytest.fixture(scope="module")
def camera_frames():
    return failing_then_roaming_camera().frames


@pytest.fixture(scope="module")
def pcap_file(tmp_path_factory, camera_frames):
    path = tmp_path_factory.mktemp("pcap") / "cam.pcap"
    assert write_pcap(camera_frames, path) == len(camera_frames)
    return path


def test_pcap_reads_back_frame_for_frame(pcap_file, camera_frames):
    header = pcap_file.read_bytes()[:24]
    assert header[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    byteorder = "little" if header[0] == 0xD4 else "big"
    assert int.from_bytes(header[20:24], byteorder) == LINKTYPE_IEEE802_11_RADIOTAP
    packets = rdpcap(str(pcap_file))
    ordered = sorted(camera_frames, key=lambda f: f.at)
    assert len(packets) == len(ordered)
    for pkt, frame in zip(packets, ordered, strict=True):
        dot11 = pkt[Dot11]
        assert (dot11.type << 4 | dot11.subtype) == type_subtype(frame)
        assert float(pkt.time) == pytest.approx(frame.at, abs=1e-6)
        assert RadioTap in pkt


def test_failures_show_as_wireshark_would_show_them(pcap_file):
    packets = rdpcap(str(pcap_file))
    statuses = [p[Dot11AssoResp].status for p in packets if Dot11AssoResp in p]
    assert 43 in statuses, "the WPA3-only AP refuses the PSK association: invalid AKMP"
    assert [p[Dot11Deauth].reason for p in packets if Dot11Deauth in p][0] == 15, "wrong password: handshake timeout"
    beacons = [p for p in packets if p[Dot11].subtype == 8 and p[Dot11].type == 0]
    strict = next(p for p in beacons if p[Dot11].addr2 == derive_mac("ap:strict"))
    rsn = strict[Dot11EltRSN]
    assert [a.suite for a in rsn.akm_suites] == [8] and rsn.mfp_required == 1
    assert strict[RadioTap].ChannelFrequency == 5180 and strict[RadioTap].dBm_AntSignal < 0


def _mic_ok(frame: EapolKey, passphrase: str, raw: bytes) -> bool:
    keys = ptk(
        pmk(passphrase, frame.ssid),
        frame.bssid,
        frame.src if frame.message in (2, 4) else frame.dst,
        frame.anonce,
        frame.snonce,
    )
    zeroed = bytearray(raw)
    mic_at = 4 + 77  # EAPOL header (4) + key descriptor fields before the MIC (77)
    mic = bytes(zeroed[mic_at : mic_at + 16])
    zeroed[mic_at : mic_at + 16] = b"\x00" * 16
    return hmac.compare_digest(hmac.new(keys[:16], bytes(zeroed), hashlib.sha1).digest()[:16], mic)


def test_eapol_mics_are_real(camera_frames):
    """Message 2 is sealed with the camera's key: the AP (whose key is PASSWORD) can only verify
    it when the camera's password is right."""
    packets = {round(float(p.time), 6): p for p in rdpcap_bytes(pcap_bytes(camera_frames))}
    msg2 = [f for f in camera_frames if isinstance(f, EapolKey) and f.message == 2]
    verdicts = [_mic_ok(f, PASSWORD, bytes(packets[round(f.at, 6)][EAPOL])) for f in msg2]
    assert verdicts.count(False) == 8, "wrong password: four bad MICs at each of the two APs"
    assert verdicts.count(True) == 2, "the first connection and the roam"


def test_empty_and_non_frame_events():
    data = pcap_bytes([WifiConnected(T0, "02:00:00:00:00:01", "ap", "LabNet", "2.4", 6, -50.0, "10.0.0.2")])
    assert len(data) == 24 and len(rdpcap_bytes(data)) == 0
    deauth = Deauthentication(T0, "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:01", 3)
    [pkt] = rdpcap_bytes(pcap_bytes([deauth]))
    assert pkt[Dot11Deauth].reason == 3 and EAPOL_KEY not in pkt


# --- tshark (required; CI installs it) -----------------------------------------------------------


def tshark(*args: str) -> list[list[str]]:
    exe = shutil.which("tshark") or "/usr/bin/tshark"
    out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_tshark_sees_the_frame_types(pcap_file, camera_frames):
    rows = tshark("-r", str(pcap_file), "-T", "fields", "-e", "wlan.fc.type_subtype")
    assert [int(r[0], 0) for r in rows] == [type_subtype(f) for f in sorted(camera_frames, key=lambda f: f.at)]


def test_tshark_unwraps_the_gtk_with_the_aps_passphrase_only(pcap_file):
    def gtks(passphrase: str) -> list[str]:
        rows = tshark(
            "-r",
            str(pcap_file),
            "-o",
            "wlan.enable_decryption:TRUE",
            "-o",
            f'uat:80211_keys:"wpa-pwd","{passphrase}:LabNet"',
            "-T",
            "fields",
            "-e",
            "wlan.rsn.ie.gtk_kde.gtk",
        )
        return [r[0] for r in rows if r[0]]

    assert len(gtks(PASSWORD)) == 2, "both good handshakes verify and their GTK is decrypted"
    assert gtks("not the password") == []
