"""The asyncio side of a camera's local recordings and of the dock's offload (issue 13).

Attached to a ``CameraDriver`` like ``positions.PositionUplink``: it carries out the firmware's
``StartRecording``/``StopRecording`` with a ``recorder.Recording`` fed from a worker thread as the
media becomes due (GNSS readings on models with GPS), tells the firmware when the storage is full
(``StorageChanged``), and, while the camera sits in a dock, plays the dock moving the finished
recordings to the controller (``bwlab.wire.recordings``: manifest, then each clip streamed at
the dock's transfer rate, then ``done``), deleting each only once the controller has it whole.
A transfer cut by an undock or an appliance restart resumes with the clips the controller lacks.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bwlab.clock import Clock, monotonic
from bwlab.wire.recordings import Bookmark, Category, Location, Manifest

from . import events as ev
from .firmware import Firmware
from .positions import PositionUplink
from .recorder import DEFAULT_CAPACITY, DEFAULT_CLIP_SECONDS, CameraStorage, Recording


class CameraHost(Protocol):
    """What the recording unit uses of its camera (``driver.CameraDriver``): who it is, its clock,
    firmware and GPS, its HTTPS session to the appliance (the dock's link to the controller), and
    how it tells the firmware and the lab what changed."""

    @property
    def serial(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def system_id(self) -> str: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def firmware(self) -> Firmware: ...
    @property
    def positions(self) -> PositionUplink: ...
    @property
    def log(self) -> logging.LoggerAdapter: ...
    @property
    def http(self) -> aiohttp.ClientSession: ...
    @property
    def ssl(self) -> ssl.SSLContext: ...
    @property
    def lab_token(self) -> str: ...
    async def feed(self, event: ev.Event) -> None: ...
    async def publish(self) -> None: ...


log = logging.getLogger(__name__)

RECORD_TICK = 0.25  # the longest the recording loop sleeps between two feeds
DEFAULT_DOCK_RATE = 40 * 1024 * 1024  # bytes/s: what the dock moves when the controller says nothing
OFFLOAD_RETRY = (2.0, 4.0, 8.0, 16.0, 30.0)  # seconds between offload attempts while docked (the last repeats)
READ_BLOCK = 256 * 1024


class RecordingUnit:
    """One camera's recordings: storage, the recording in progress, the dock's offload."""

    def __init__(self, driver: CameraHost, storage_dir: Path | None, capacity: int = DEFAULT_CAPACITY) -> None:
        self.driver = driver
        self._tmp: tempfile.TemporaryDirectory | None = None
        if storage_dir is None:  # a camera run without a fleet data directory: a private one
            self._tmp = tempfile.TemporaryDirectory(prefix=f"bwlab-camera-{driver.serial}-")
            storage_dir = Path(self._tmp.name)
        self.storage = CameraStorage(storage_dir, capacity)
        self.recording: Recording | None = None
        self._task: asyncio.Task | None = None
        self._offload_task: asyncio.Task | None = None
        self._summary: dict[str, Any] = self.storage.summary()
        self.offload: dict[str, Any] = {
            "active": False,
            "sent_bytes": 0,
            "total_bytes": 0,
            "recordings_left": 0,
            "error": None,
        }
        self.settings: dict[str, Any] = {}

    async def power_on(self) -> None:
        """Finish what a power loss left unfinished (``CameraStorage.recover``)."""
        await asyncio.to_thread(self.storage.recover, self.driver.clock.now())
        await self._refresh()

    # ---------------------------------------------------------------- state

    def state(self) -> dict[str, Any]:
        return {
            **self._summary,
            "used": self.storage.used,
            "full": self.storage.full,
            "recording_id": self.recording.id if self.recording else None,
            "offload": dict(self.offload),
        }

    async def _refresh(self) -> None:
        self._summary = await asyncio.to_thread(self.storage.summary)

    @property
    def clip_seconds(self) -> float:
        return float(self.settings.get("clip_seconds") or DEFAULT_CLIP_SECONDS)

    # ---------------------------------------------------------------- recording

    def _location(self, now: float) -> Location | None:
        receiver = self.driver.positions.receiver
        if receiver is None or not self.driver.firmware.model.gps:
            return None
        reading = receiver.read(now)
        if reading is None or not reading.fix:
            return None
        return Location(lat=reading.lat, lon=reading.lon, accuracy=reading.accuracy, t=now)

    async def start(self, trigger: str) -> None:
        if self.recording is not None:
            return
        d = self.driver
        prov = getattr(d, "provisioning", None) or {}
        user = prov.get("camera_user") or {}
        now = d.clock.now()
        self.recording = await asyncio.to_thread(
            Recording,
            self.storage,
            now,
            trigger=trigger,
            serial=d.serial,
            model=d.model,
            user_id=user.get("id", ""),
            user_name=user.get("name", ""),
            timezone=self.settings.get("timezone") or "UTC",
            location=self._location(now),
            clip_seconds=self.clip_seconds,
        )
        self._task = asyncio.create_task(self._loop(self.recording), name=f"camera {d.serial} recording")
        await self._refresh()

    async def stop(self, reason: str) -> None:
        rec, self.recording = self.recording, None
        if rec is None:
            return
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        now = self.driver.clock.now()
        await asyncio.to_thread(rec.stop, now, reason, self._location(now))
        await self._refresh()

    async def _loop(self, rec: Recording) -> None:
        clock = self.driver.clock
        while True:
            now = clock.now()
            room = await asyncio.to_thread(rec.feed, now)
            if rec.gnss_due(now):
                where = self._location(now)
                if where is not None:
                    await asyncio.to_thread(rec.add_position, where)
            if not room:
                self._summary = {**self._summary, "used": self.storage.used, "full": True}
                await self.driver.feed(ev.StorageChanged(clock.now(), full=True))
                return
            due = rec.get_timer()
            await asyncio.sleep(RECORD_TICK if due is None else min(RECORD_TICK, max(0.01, due - clock.now())))

    async def annotate(
        self,
        *,
        text: str | None = None,
        category: Category | None = None,
        start: float | None = None,
        end: float | None = None,
        tags: str = "",
    ) -> Manifest | None:
        """A bookmark (``text`` may be empty) or a category, as a camera user sets them in the
        Assistant app: on the recording being made, else on the last one still on the camera."""
        now = self.driver.clock.now()
        bookmark = None
        if text is not None:
            bookmark = Bookmark(id=secrets.token_hex(4), at=now, text=text, start=start, end=end, tags=tags)
        if self.recording is not None:
            await asyncio.to_thread(self.recording.annotate, bookmark=bookmark, category=category)
            return self.recording.manifest
        finished = await asyncio.to_thread(self.storage.finished)
        if not finished:
            raise RuntimeError(f"camera {self.driver.serial} holds no recording to annotate")
        return await asyncio.to_thread(self.storage.annotate, finished[-1].id, bookmark=bookmark, category=category)

    # ---------------------------------------------------------------- the dock's offload

    def docked(self, dock: str, bay: int, provisioning: dict) -> None:
        self.settings = dict(provisioning.get("recording") or {})
        self.undocked()
        self._offload_task = asyncio.create_task(self._offload(dock, bay), name=f"camera {self.driver.serial} offload")

    def undocked(self) -> asyncio.Task | None:
        task, self._offload_task = self._offload_task, None
        if task is not None:
            task.cancel()
        self.offload["active"] = False
        return task

    async def _offload(self, dock: str, bay: int) -> None:
        d = self.driver
        base = f"{d.url}/controller/{d.system_id}/api/docks/{dock}/bays/{bay}/recordings"
        attempt = 0
        while True:
            try:
                await self._offload_all(base)
                return
            except (TimeoutError, aiohttp.ClientError, OSError, RuntimeError) as exc:
                error = str(exc)[:200]
                if error != self.offload["error"]:  # log once per distinct failure
                    d.log.info("offload to the controller failed (%s); retrying", exc)
                self.offload["error"] = error
                await d.publish()
                await asyncio.sleep(OFFLOAD_RETRY[min(attempt, len(OFFLOAD_RETRY) - 1)])
                attempt += 1

    async def _report(self, base: str) -> None:
        """The dock tells the controller what it reads of the camera's storage (the Manager shows it)."""
        d = self.driver
        body = {k: v for k, v in self.state().items() if k in ("capacity", "used", "recordings", "full", "offload")}
        async with d.http.put(
            base.removesuffix("/recordings") + "/storage",
            json=body,
            headers={"Authorization": f"Bearer {d.lab_token}"},
            ssl=d.ssl,
        ) as r:
            await r.read()
        await d.publish()

    async def _offload_all(self, base: str) -> None:
        d = self.driver
        http = d.http
        headers = {"Authorization": f"Bearer {d.lab_token}"}
        manifests = await asyncio.to_thread(self.storage.finished)
        self.offload.update(
            active=bool(manifests),
            total_bytes=sum(m.size for m in manifests),
            sent_bytes=0,
            recordings_left=len(manifests),
        )
        await self._report(base)
        rate = float(self.settings.get("dock_transfer_rate") or DEFAULT_DOCK_RATE)
        for manifest in manifests:
            async with http.put(f"{base}/{manifest.id}", json=manifest.as_dict(), headers=headers, ssl=d.ssl) as r:
                answer = await r.json()
                if r.status >= 400:
                    raise RuntimeError(f"the controller refused recording {manifest.id}: {answer.get('error')}")
            have = set(answer.get("have") or [])
            for clip in manifest.clips:
                if clip.file in have:
                    self.offload["sent_bytes"] += clip.size
                    continue
                path = self.storage.file(manifest.id, clip.file)
                async with http.put(
                    f"{base}/{manifest.id}/files/{clip.file}",
                    data=self._read(path, rate),
                    headers={**headers, "X-Content-SHA256": clip.sha256, "Content-Type": "application/octet-stream"},
                    ssl=d.ssl,
                    timeout=aiohttp.ClientTimeout(total=None, sock_read=60),
                ) as r:
                    if r.status >= 400:
                        raise RuntimeError(f"the controller refused {clip.file}: {(await r.json()).get('error')}")
                await self._report(base)  # the Manager shows the transfer's progress
            async with http.post(f"{base}/{manifest.id}/done", headers=headers, ssl=d.ssl) as r:
                if r.status >= 400:
                    raise RuntimeError(
                        f"the controller did not take recording {manifest.id}: {(await r.json()).get('error')}"
                    )
            await asyncio.to_thread(self.storage.delete, manifest.id)
            self.offload["recordings_left"] -= 1
            await self._refresh()
            if d.firmware.state().get("storage_full") and not self.storage.full:
                await d.feed(ev.StorageChanged(d.clock.now(), full=False))
            await self._report(base)
        self.offload.update(active=False, error=None)
        await self._report(base)

    async def _read(self, path: Path, rate: float) -> AsyncIterator[bytes]:
        """The file in blocks, no faster than ``rate`` bytes per second (the dock's link)."""
        started, sent = monotonic(), 0
        with open(path, "rb") as f:
            while True:
                block = await asyncio.to_thread(f.read, READ_BLOCK)
                if not block:
                    return
                sent += len(block)
                self.offload["sent_bytes"] += len(block)
                ahead = sent / rate - (monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
                yield block

    async def close(self) -> None:
        tasks = [self.undocked(), self._task]
        self._task = None
        for task in tasks:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
        if self.recording is not None:
            await asyncio.to_thread(self.recording.power_off)  # power off mid-recording: recovered next start
            self.recording = None
        if self._tmp is not None:
            self._tmp.cleanup()
