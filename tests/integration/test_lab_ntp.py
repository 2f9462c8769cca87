"""The lab's NTP server as real clients see it: ``ntplib`` (what the lab's cameras use) and chrony's
``chronyd -Q`` (a standard system client in query-only mode: it measures, never sets the clock),
over loopback, with the offset, outage and kiss-o'-death faults set through the lab's faults API
(S1, L2; DESIGN "Time")."""

# covers: S1, L2

from __future__ import annotations

import asyncio
import re
import shutil

import ntplib
import pytest

from tests.conftest import start_appliance

CHRONYD = shutil.which("chronyd") or "/usr/sbin/chronyd"
TOLERANCE = 0.5  # seconds: loopback round trips and process start-up are far below


@pytest.fixture
async def ntp_lab(tmp_path):
    appliance, stop, task = await start_appliance(tmp_path / "data", ntp_port=0)
    async with appliance.lab() as lab:
        yield appliance, lab
    stop.set()
    await task


def ntplib_query(port: int) -> ntplib.NTPStats:
    return ntplib.NTPClient().request("127.0.0.1", version=4, port=port, timeout=2)


def ref_id(stats: ntplib.NTPStats) -> bytes:
    return stats.ref_id.to_bytes(4, "big")


async def ntplib_offset(port: int) -> ntplib.NTPStats:
    return await asyncio.to_thread(ntplib_query, port)


async def chrony_offset(port: int) -> float:
    """What chronyd -Q measures: "System clock wrong by X seconds" (X > 0: the server is ahead)."""
    proc = await asyncio.create_subprocess_exec(
        CHRONYD,
        "-Q",
        "-f",
        "/dev/null",
        "-t",
        "5",
        f"server 127.0.0.1 port {port} iburst maxsamples 1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    text = (out + err).decode()
    m = re.search(r"System clock wrong by (-?[0-9.]+) seconds", text)
    assert proc.returncode == 0 and m, f"chronyd -Q did not measure an offset:\n{text}"
    return float(m.group(1))


async def test_ntp_server_answers_ntplib_and_chrony_with_lab_time_and_offset_faults(ntp_lab):
    appliance, lab = ntp_lab
    ntp = (await lab.get("/api/lab/time"))["ntp"]
    assert ntp["host"] == "127.0.0.1" and ntp["port"] > 0 and ntp["mode"] == "serve"
    port = ntp["port"]

    # Lab time is real time here: both clients see no offset; a stratum-1 server called LAB.
    stats = await ntplib_offset(port)
    assert abs(stats.offset) < TOLERANCE and stats.stratum == 1 and stats.leap == 0
    assert ref_id(stats) == b"LAB\0"
    assert abs(await chrony_offset(port)) < TOLERANCE

    # L2: the server lies by +30 s, then by -45.5 s; both clients measure it.
    fault = await lab.post("/api/lab/faults", {"kind": "ntp", "set": {"offset_s": 30}})
    assert (await ntplib_offset(port)).offset == pytest.approx(30, abs=TOLERANCE)
    assert await chrony_offset(port) == pytest.approx(30, abs=TOLERANCE)
    await lab.delete(f"/api/lab/faults/{fault['id']}")
    await lab.post("/api/lab/faults", {"kind": "ntp", "set": {"offset_s": -45.5}})
    assert (await ntplib_offset(port)).offset == pytest.approx(-45.5, abs=TOLERANCE)
    assert await chrony_offset(port) == pytest.approx(-45.5, abs=TOLERANCE)
    assert (await lab.get("/api/lab/time"))["ntp"]["offset_s"] == -45.5

    # Cleared: the truth again.
    await lab.delete("/api/lab/faults")
    assert abs((await ntplib_offset(port)).offset) < TOLERANCE
    assert abs(await chrony_offset(port)) < TOLERANCE

    # Time travel moves what the server serves (the cameras follow it, DESIGN "Time").
    await lab.post("/api/lab/time/travel", {"seconds": 86400})
    assert (await ntplib_offset(port)).offset == pytest.approx(86400, abs=TOLERANCE)
    assert await chrony_offset(port) == pytest.approx(86400, abs=TOLERANCE)


async def test_ntp_outage_and_kiss_of_death(ntp_lab):
    _, lab = ntp_lab
    port = (await lab.get("/api/lab/time"))["ntp"]["port"]

    outage = await lab.post("/api/lab/faults", {"kind": "ntp", "set": {"mode": "outage"}})
    with pytest.raises(ntplib.NTPException):
        await asyncio.to_thread(lambda: ntplib.NTPClient().request("127.0.0.1", port=port, timeout=0.5))
    await lab.delete(f"/api/lab/faults/{outage['id']}")

    await lab.post("/api/lab/faults", {"kind": "ntp", "set": {"mode": "kiss-o-death", "kiss_code": "DENY"}})
    kiss = await ntplib_offset(port)
    assert kiss.stratum == 0 and kiss.leap == 3
    assert ref_id(kiss) == b"DENY"
    assert abs(kiss.offset) < TOLERANCE  # the kiss echoes the client's own time: no offset to take
    await lab.delete("/api/lab/faults")
    assert (await ntplib_offset(port)).stratum == 1


async def test_ntp_fault_bodies_are_checked(ntp_lab):
    _, lab = ntp_lab
    from bwlab.client import ApiError

    with pytest.raises(ApiError) as bad:
        await lab.post("/api/lab/faults", {"kind": "ntp", "set": {"mode": "sleepy"}})
    assert bad.value.status == 400 and "set.mode" in bad.value.message
    with pytest.raises(ApiError) as missing:
        await lab.post("/api/lab/faults", {"kind": "ap", "target": "Nowhere", "set": {"enabled": False}})
    assert missing.value.status == 400 and "access point" in missing.value.message
    assert (await lab.get("/api/lab/faults"))["faults"] == []
