"""Acknowledgements owed to cameras (D6, issue 16 item 2; appliance/hub/acknowledgements.py): what
is kept for an offline camera, what reaches it when it is back, once and in order, and what is
dropped as meaningless (a stream that ended, a help request gone, the age bounds).

covers: D6
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.db import Database
from appliance.devices import DeviceId
from appliance.hub import store
from appliance.hub.acknowledgements import MAX_AGE, AckOutbox, OwedAck, why_dropped

ANNA = DeviceId("sys-1", "B8A44F000101")
BEN = DeviceId("sys-1", "B8A44F000102")
T0 = 1_800_000_000.0


class Socket:
    """A camera's socket as the hub sees it: what was sent, or a link that breaks."""

    def __init__(self, broken: bool = False) -> None:
        self.sent: list[dict] = []
        self.broken = broken
        self.closed = False

    async def send_str(self, text: str) -> None:
        if self.broken:
            raise ConnectionResetError("Cannot write to closing transport")
        self.sent.append(json.loads(text))


@pytest.fixture
async def db(tmp_path: Path):
    database = await Database.open(tmp_path / "cloud.sqlite3")
    try:
        yield database
    finally:
        await database.close()


def outbox(db: Database, sockets: dict[DeviceId, Socket]) -> AckOutbox:
    return AckOutbox(db, sockets.get)  # type: ignore[arg-type]  # a Socket speaks send_str like the real one


async def add_stream(db: Database, stream_id: str, device: DeviceId = ANNA) -> None:
    values = (stream_id, "org-1", device.system_id, device.serial, "u1", "Anna Berg", "record", None, "eu")
    await store.add_stream(db, (*values, "video/mp4", "{}", "00" * 32, T0, T0))


async def add_help(db: Database, help_id: str, device: DeviceId = ANNA) -> None:
    await store.insert_help(
        db,
        {
            "id": help_id,
            "org_id": "org-1",
            "cloud_system_id": device.system_id,
            "serial": device.serial,
            "user_id": "u1",
            "user_name": "Anna Berg",
            "region": "eu",
            "gesture": "function_long",
            "requested_at": T0,
            "wrapped_key": None,
            "position": None,
            "created_lab_at": T0,
        },
    )


def test_an_acknowledgement_is_worth_a_vibration_while_its_subject_lasts_and_within_its_bound() -> None:
    stream = OwedAck(1, ANNA, "stream", "s1", "Olivia", T0)
    help_ack = OwedAck(2, ANNA, "help", "h1", "Olivia", T0)
    assert why_dropped(stream, T0 + MAX_AGE["stream"], subject_current=True) is None
    assert why_dropped(stream, T0 + MAX_AGE["stream"] + 1, subject_current=True) == "too_old"
    assert why_dropped(stream, T0 + 1, subject_current=False) == "stream_ended"
    assert why_dropped(help_ack, T0 + MAX_AGE["stream"] + 1, subject_current=True) is None  # help waits longer
    assert why_dropped(help_ack, T0 + MAX_AGE["help"] + 1, subject_current=True) == "too_old"
    assert why_dropped(help_ack, T0, subject_current=False) == "help_request_gone"
    assert stream.message().type == "acknowledge" and help_ack.message().type == "help_acknowledged"


async def test_what_is_owed_to_an_offline_camera_reaches_it_when_it_is_back_once_and_in_order(db: Database) -> None:
    await add_stream(db, "s1")
    await add_help(db, "h1")
    sockets: dict[DeviceId, Socket] = {}
    acks = outbox(db, sockets)
    assert await acks.send(ANNA, "help", "h1", "Olivia", T0) is False  # offline: kept
    assert await acks.send(ANNA, "stream", "s1", "Olivia", T0 + 1) is False
    assert await acks.send(ANNA, "stream", "s1", "Oscar", T0 + 2) is False  # the same stream again: replaces
    assert len(await store.pending_acks(db, ANNA.system_id, ANNA.serial)) == 2

    sockets[BEN] = Socket()
    assert await acks.deliver(BEN, T0 + 3) == set()  # another camera's connection delivers nothing of Anna's
    sockets[ANNA] = anna = Socket()
    assert len(await acks.deliver(ANNA, T0 + 60)) == 2
    assert anna.sent == [
        {"type": "help_acknowledged", "help_id": "h1", "operator": "Olivia"},
        {"type": "acknowledge", "stream_id": "s1", "operator": "Oscar"},
    ]
    assert await acks.deliver(ANNA, T0 + 61) == set() and len(anna.sent) == 2  # once
    assert sockets[BEN].sent == []

    # Connected: sent at once, and nothing is left owed.
    assert await acks.send(ANNA, "stream", "s1", "Olivia", T0 + 62) is True
    assert anna.sent[-1] == {"type": "acknowledge", "stream_id": "s1", "operator": "Olivia"}
    assert await store.pending_acks(db, ANNA.system_id, ANNA.serial) == []


async def test_a_broken_link_keeps_it_owed(db: Database) -> None:
    await add_stream(db, "s1")
    sockets = {ANNA: Socket(broken=True)}
    acks = outbox(db, sockets)
    assert await acks.send(ANNA, "stream", "s1", "Olivia", T0) is False
    sockets[ANNA] = Socket()
    await acks.deliver(ANNA, T0 + 5)
    assert [m["type"] for m in sockets[ANNA].sent] == ["acknowledge"]


async def test_what_has_become_meaningless_is_dropped_and_logged_not_delivered(db: Database) -> None:
    await add_stream(db, "ended")
    await add_stream(db, "live")
    await add_stream(db, "bens", device=BEN)
    await add_help(db, "h-old")
    await add_help(db, "h-purged")
    sockets: dict[DeviceId, Socket] = {}
    acks = outbox(db, sockets)
    await acks.send(ANNA, "help", "h-old", "Olivia", T0)
    await acks.send(ANNA, "help", "h-purged", "Olivia", T0 + MAX_AGE["help"])
    await acks.send(ANNA, "stream", "live", "Olivia", T0 + MAX_AGE["help"] - MAX_AGE["stream"] - 1)
    await acks.send(ANNA, "stream", "ended", "Olivia", T0 + MAX_AGE["help"])
    await acks.send(ANNA, "stream", "bens", "Olivia", T0 + MAX_AGE["help"])  # not Anna's stream
    await store.end_stream(db, "ended", T0 + MAX_AGE["help"] + 1, "user", 10)
    await store.purge_help(db, T0 + 1)  # both help requests gone… then h-old back, to test its age alone
    await add_help(db, "h-old")

    sockets[ANNA] = anna = Socket()
    assert await acks.deliver(ANNA, T0 + MAX_AGE["help"] + 2) == set()
    assert anna.sent == []
    assert await store.pending_acks(db, ANNA.system_id, ANNA.serial) == []
    events = await store.recent_events(db, ANNA.serial, ANNA.system_id, limit=10)
    reasons = sorted(e["detail"].rsplit(": ", 1)[1] for e in events if e["kind"] == "acknowledgement_dropped")
    assert reasons == ["help_request_gone", "stream_ended", "stream_ended", "too_old", "too_old"]


async def test_what_is_owed_to_a_camera_that_never_comes_back_is_purged_after_the_longest_bound(db: Database) -> None:
    await add_stream(db, "s1")
    await add_help(db, "h1")
    acks = outbox(db, {})
    await acks.send(ANNA, "stream", "s1", "Olivia", T0)
    await acks.send(ANNA, "help", "h1", "Olivia", T0 + 100)
    assert await acks.purge(T0 + MAX_AGE["help"] + 50) == 1
    assert [r["ref"] for r in await store.pending_acks(db, ANNA.system_id, ANNA.serial)] == ["h1"]
