"""The controller's camera-user sync loop on its own: a failed send is tried again with a growing
pause, a new change tries at once, and stopping never waits for a pause to end (the appliance
shuts down promptly even while the cloud is unreachable).

covers: S3
"""

from __future__ import annotations

import asyncio

import pytest

from appliance.controller import cloud_sync
from appliance.controller.cloud_sync import CameraUserSync


class FlakySync(CameraUserSync):
    """Fails the first ``failures`` sends, then succeeds; records each attempt's system."""

    def __init__(self, failures: int):
        super().__init__(app=None)  # push() is replaced: no appliance needed
        self.failures = failures
        self.attempts: list[str] = []
        self.sent = asyncio.Event()

    async def push(self, system_id: str) -> bool:
        self.attempts.append(system_id)
        if len(self.attempts) <= self.failures:
            return False
        self.sent.set()
        return True


async def _first_attempt_made(sync: FlakySync) -> FlakySync:
    """Start the loop, mark a change, and return once the first send has begun."""
    sync.start()
    sync.changed("sys-1")
    for _ in range(1000):
        if sync.attempts:
            return sync
        await asyncio.sleep(0.01)
    raise AssertionError("no send was attempted")


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(cloud_sync, "DEBOUNCE", 0.0)
    monkeypatch.setattr(cloud_sync, "RETRY_FIRST", 0.01)


async def test_a_failed_send_is_tried_again_until_it_goes_through(quick):
    sync = FlakySync(failures=3)
    sync.start()
    try:
        sync.changed("sys-1")
        await asyncio.wait_for(sync.sent.wait(), 10)
        assert sync.attempts == ["sys-1"] * 4
    finally:
        await sync.stop()
    assert sync._task.done()


async def test_a_new_change_does_not_wait_for_the_pause(monkeypatch):
    monkeypatch.setattr(cloud_sync, "DEBOUNCE", 0.0)
    monkeypatch.setattr(cloud_sync, "RETRY_FIRST", 3600.0)  # the retry alone would take an hour
    sync = await _first_attempt_made(FlakySync(failures=1))
    try:
        sync.changed("sys-1")
        await asyncio.wait_for(sync.sent.wait(), 10)
        assert sync.attempts == ["sys-1", "sys-1"]
    finally:
        await sync.stop()


async def test_stopping_during_a_long_pause_ends_the_loop(monkeypatch):
    monkeypatch.setattr(cloud_sync, "DEBOUNCE", 0.0)
    monkeypatch.setattr(cloud_sync, "RETRY_FIRST", 3600.0)
    sync = await _first_attempt_made(FlakySync(failures=100))
    await asyncio.wait_for(sync.stop(), 10)
    assert sync._task.done() and sync._task.cancelled()
    assert sync._retry is None or sync._retry.cancelled()


async def test_a_bug_in_one_send_does_not_end_the_loop(quick):
    class Broken(FlakySync):
        async def push(self, system_id):
            self.attempts.append(system_id)
            if len(self.attempts) == 1:
                raise RuntimeError("a bug")
            self.sent.set()
            return True

    sync = Broken(failures=0)
    sync.start()
    try:
        sync.changed("sys-1")
        await asyncio.wait_for(sync.sent.wait(), 10)
        assert sync.attempts == ["sys-1", "sys-1"]
    finally:
        await sync.stop()


async def test_a_cancel_turned_into_a_failed_send_still_stops_the_loop(quick):
    """An HTTP client may turn a cancellation into its own timeout error, which push() reports
    as a failed send; stopping must end the loop all the same."""

    class SwallowsCancel(FlakySync):
        async def push(self, system_id):
            self.attempts.append(system_id)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                return False  # what a client converting the cancel into a timeout amounts to
            return True

    sync = await _first_attempt_made(SwallowsCancel(failures=0))
    await asyncio.wait_for(sync.stop(), 10)
    assert sync._task.done(), "the loop ended"
    assert sync.attempts == ["sys-1"]
