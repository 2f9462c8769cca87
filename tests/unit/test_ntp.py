"""The lab NTP server: packet layout, injected offsets, kiss-o'-death and outages (S1, L2).

The pure-core tests feed bytes to ``NtpResponder``; the last three run the asyncio server on
127.0.0.1 (ephemeral port) and query it with ``ntplib`` like the controller and cameras do.
"""

from __future__ import annotations

import asyncio

import ntplib
import pytest

from appliance.lab.ntp_server import start_ntp_server
from bwlab.clock import LabClock, ManualClock
from labnet.ntp import MODE_SERVER, NtpPacket, NtpResponder, client_request, ntp_to_time, time_to_ntp

T0 = 1_800_000_000.0


def test_timestamps_round_trip():
    for ts in (0.0, T0, T0 + 0.123456, 4_000_000_000.5):
        assert ntp_to_time(time_to_ntp(ts)) == pytest.approx(ts, abs=1e-6)


def test_response_follows_rfc5905_with_lab_time_and_offset():
    clock = ManualClock(T0)
    responder = NtpResponder(clock, offset=2.5)
    request = client_request(T0 - 100.0, version=4)
    clock.advance(0.010)
    reply = NtpPacket.from_bytes(responder.handle_datagram(request, received_at=T0))
    assert (reply.leap, reply.version, reply.mode, reply.stratum) == (0, 4, MODE_SERVER, 1)
    assert reply.ref_id == b"LAB\0"
    assert reply.originate == NtpPacket.from_bytes(request).transmit, "originate is the client's transmit, bit for bit"
    assert ntp_to_time(reply.receive) == pytest.approx(T0 + 2.5, abs=1e-6)
    assert ntp_to_time(reply.transmit) == pytest.approx(T0 + 0.010 + 2.5, abs=1e-6)
    assert ntp_to_time(reply.reference) <= ntp_to_time(reply.receive)


def test_answers_in_the_clients_version():
    responder = NtpResponder(ManualClock(T0))
    for version in (2, 3, 4):
        reply = responder.handle_datagram(client_request(T0, version=version), T0)
        assert NtpPacket.from_bytes(reply).version == version


def test_ignores_non_client_packets_and_garbage():
    responder = NtpResponder(ManualClock(T0))
    server_mode = NtpPacket(0, 4, MODE_SERVER, 1, 6, -20, 0, 0, b"LAB\0", 0, 0, 0, time_to_ntp(T0)).to_bytes()
    assert responder.handle_datagram(server_mode, T0) is None
    assert responder.handle_datagram(b"\x23" * 12, T0) is None
    assert responder.ignored == 2 and responder.answered == 0


@pytest.mark.parametrize("code", ["RATE", "DENY"])
def test_kiss_o_death_is_stratum_zero_with_the_kiss_code(code):
    responder = NtpResponder(ManualClock(T0), mode="kiss-o-death", kiss_code=code)
    reply = NtpPacket.from_bytes(responder.handle_datagram(client_request(T0), T0))
    assert reply.stratum == 0 and reply.ref_id == code.encode() and reply.leap == 3


def test_outage_sends_nothing_and_faults_switch_at_run_time():
    responder = NtpResponder(ManualClock(T0), mode="outage")
    assert responder.handle_datagram(client_request(T0), T0) is None
    responder.set_mode("serve")
    responder.set_offset(-30.0)
    reply = NtpPacket.from_bytes(responder.handle_datagram(client_request(T0), T0))
    assert ntp_to_time(reply.receive) == pytest.approx(T0 - 30.0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="mode"):
        NtpResponder(ManualClock(T0), mode="sleep")
    with pytest.raises(ValueError, match="kiss_code"):
        NtpResponder(ManualClock(T0), mode="kiss-o-death", kiss_code="NOPE")
    with pytest.raises(ValueError, match="stratum"):
        NtpResponder(ManualClock(T0), stratum=0)


# --- over a real UDP socket on loopback ----------------------------------------------------------


@pytest.fixture
async def server():
    clock = LabClock(offset=6 * 86400.0)  # lab time has travelled six days ahead
    transport, responder = await start_ntp_server(clock, "127.0.0.1", 0)
    port = transport.get_extra_info("sockname")[1]
    yield clock, responder, port
    transport.close()
    await asyncio.sleep(0)


async def query(port: int, timeout: float = 2.0) -> ntplib.NTPStats:
    client = ntplib.NTPClient()
    return await asyncio.to_thread(client.request, "127.0.0.1", version=4, port=port, timeout=timeout)


async def test_ntplib_sees_lab_time_plus_the_injected_offset(server):
    clock, responder, port = server
    responder.set_offset(42.0)
    stats = await query(port)
    assert stats.offset == pytest.approx(clock.offset + 42.0, abs=0.05)
    assert stats.stratum == 1 and stats.leap == 0


async def test_ntplib_gets_stratum_zero_on_kiss_o_death(server):
    _, responder, port = server
    responder.set_mode("kiss-o-death", "DENY")
    stats = await query(port)
    assert stats.stratum == 0 and stats.ref_id.to_bytes(4, "big") == b"DENY"


async def test_ntplib_times_out_during_an_outage(server):
    _, responder, port = server
    responder.set_mode("outage")
    with pytest.raises(ntplib.NTPException):
        await query(port, timeout=0.2)
    assert responder.requests == 1 and responder.answered == 0
