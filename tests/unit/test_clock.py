"""The lab clock (DESIGN "Time"; L2): travel only forward, each party's skew on top, and the
housekeeping loop that time travel triggers at once.

covers: L2, D1, D8, S1
"""

import asyncio

import pytest

from bwlab.clock import LabClock, SkewedClock, run_every, wait_event


def fixed(t: float):
    return lambda: t


def test_travel_moves_lab_time_forward_only():
    clock = LabClock(source=fixed(1000.0))
    assert clock.now() == 1000.0
    assert clock.travel(6 * 86400) == 6 * 86400
    assert clock.now() == 1000.0 + 6 * 86400
    with pytest.raises(ValueError):
        clock.travel(-1)
    with pytest.raises(ValueError):
        clock.set_offset(10)  # a fleet following the appliance never goes back either
    clock.set_offset(7 * 86400)
    assert clock.offset == 7 * 86400


def test_a_party_skew_rides_on_lab_time():
    lab = LabClock(source=fixed(50.0))
    camera = SkewedClock(lab, skew=-30.0)
    lab.travel(100)
    assert camera.now() == 120.0


async def test_run_every_runs_at_once_after_a_travel_and_stops_listening_when_cancelled():
    clock = LabClock(source=fixed(0.0))
    runs: list[float] = []
    ran = asyncio.Event()

    async def job():
        runs.append(clock.offset)
        ran.set()

    task = asyncio.create_task(run_every(clock, 3600, job))
    await asyncio.wait_for(ran.wait(), 2)  # at once
    ran.clear()
    clock.travel(86400)
    await asyncio.wait_for(ran.wait(), 2)  # and at once again after a travel, not an hour later
    assert runs == [0.0, 86400.0]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock._listeners == []


async def test_run_every_goes_on_after_a_round_that_fails(caplog):
    """A housekeeping round that fails (a full disk, issue 10 item 8) is logged once and the next
    rounds still run: retention and certificate expiry must not stop for good."""
    import errno

    clock = LabClock(source=fixed(0.0))
    runs: list[float] = []
    ran = asyncio.Event()

    async def job():
        runs.append(clock.offset)
        ran.set()
        if len(runs) <= 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    task = asyncio.create_task(run_every(clock, 3600, job))
    for offset in (0.0, 60.0, 120.0):
        if offset:
            clock.travel(60)
        await asyncio.wait_for(ran.wait(), 2)
        ran.clear()
    assert runs == [0.0, 60.0, 120.0]
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 1  # logged once, not per round
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_wait_event_returns_whether_the_event_came_and_never_swallows_a_cancel():
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True

    # A loop that sleeps on it stops on a cancel, whenever the cancel lands.
    quiet = asyncio.Event()
    rounds = 0

    async def loop():
        nonlocal rounds
        while True:
            rounds += 1
            await wait_event(quiet, 0.001)

    for _ in range(200):
        task = asyncio.create_task(loop())
        await asyncio.sleep(0.001)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done and task.cancelled(), "the loop stopped on cancel"
    assert rounds > 0
