"""The controller's offload to its content destination: one background task for the appliance's
system controllers (issue 13).

For every system with an imported connection file, each pass: authenticate (token URIs in order),
read ``System/Capabilities.json`` (Etag checked: a wrong one is "object corrupt" and every
capability counts as absent) and ``System/Categories.json`` once per lab day and after each
import, bind the System ID (``StoreReadSystemID``: store ``System/<system id>`` once, and refuse
a destination that no longer holds it with this connection ID), store the ``Users/`` and
``Devices/`` objects that are new or renamed, then upload the buffered recordings one by one by
their plan (plan.py), remembering each confirmed object — so that a restart resumes where it
stopped and an outage delays but never duplicates. A recording's files leave the buffer only
after its container's ``Status: Complete`` was confirmed. Every request and its outcome goes into
the transfer log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from aiohttp import web

from bwlab.clock import wait_event
from bwlab.wire import content_destination as cd
from bwlab.wire.recordings import Manifest

from ...context import APPLIANCE, Appliance
from . import plan
from .buffer import Buffer
from .client import Answer, AuthFailed, DestinationClient, file_body

log = logging.getLogger(__name__)

PASS_EVERY = 0.5  # real seconds between two passes when nothing wakes the service
DAY = 86_400.0


@dataclass
class _Link:
    """What the service keeps per system between passes."""

    client: DestinationClient
    connection_file: str
    capabilities: cd.Capabilities | None = None
    checked_at: float | None = None  # lab time capabilities and categories were last read
    next_try_at: float = 0.0  # lab time before which the system-level steps wait (backoff)
    attempts: int = 0


class OffloadService:
    def __init__(self, ctx: Appliance):
        self.ctx = ctx
        self.db = ctx.controller_db
        self.wake = asyncio.Event()
        self._links: dict[str, _Link] = {}
        self._http: aiohttp.ClientSession | None = None

    # ---------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        # One connection per request: a destination that restarts (or a lab one stopped in a test)
        # is never left holding the controller's idle keep-alive connections.
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        last_failure = None
        try:
            while True:
                self.wake.clear()
                try:
                    await self.pass_once()
                    last_failure = None
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug must not stop the offload of every system for ever
                    if repr(exc) != last_failure:  # once, not every pass
                        log.exception("offload pass failed")
                    last_failure = repr(exc)
                await wait_event(self.wake, PASS_EVERY)
        finally:
            await self._http.close()

    def forget(self, system_id: str) -> None:
        """A new connection file was imported: start the system's link afresh."""
        self._links.pop(system_id, None)
        self.wake.set()

    # ---------------------------------------------------------------- a pass

    async def pass_once(self) -> None:
        rows = await self.db.fetchall("SELECT * FROM ctl_cd_destinations")
        for row in rows:
            await self._system_pass(row)

    async def _system_pass(self, row) -> None:
        system_id = row["system_id"]
        now = self.ctx.clock.now()
        link = self._links.get(system_id)
        if link is None or link.connection_file != row["connection_file"]:
            assert self._http is not None
            conn = cd.ConnectionFile.parse(row["connection_file"])
            link = self._links[system_id] = _Link(DestinationClient(conn, self._http), row["connection_file"])
        if now < link.next_try_at:
            return
        due = await self.db.fetchall(
            "SELECT * FROM ctl_recordings WHERE system_id = ? AND state IN ('buffered', 'transferring') "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY received_at",
            (system_id, now),
        )
        fresh = link.checked_at is not None and now - link.checked_at < DAY
        if not due and fresh and not await self._directory_changes(system_id, link):
            return
        if not await self._connect(row, link, now):
            return
        if not await self._sync_directory(system_id, link):
            return
        for rec in due:
            if not await self._upload(system_id, link, rec):
                return  # the destination is in trouble: the next pass (or its backoff) goes on

    async def _connect(self, row, link: _Link, now: float) -> bool:
        """Token, capabilities, categories, System ID; False when the system must wait."""
        system_id = row["system_id"]
        if link.client.token is None:
            try:
                await self._authenticate(system_id, None, link, "authenticated")
            except AuthFailed as exc:
                status = _auth_failure(exc)
                return await self._system_wait(
                    system_id,
                    link,
                    status,
                    "The content destination refused the user name and key (401)."
                    if status == "auth_failed"
                    else f"No token URI answered ({exc.answer.error}).",
                    now,
                )
        if link.checked_at is None or now - link.checked_at >= DAY:
            if not await self._read_system_objects(row, link):
                return await self._system_wait(
                    system_id, link, "unreachable", "The content destination stopped answering.", now
                )
            link.checked_at = now
        if link.capabilities is not None and link.capabilities.supports(cd.STORE_READ_SYSTEM_ID):
            ok = await self._bind_system_id(row, link)
            if ok is None:
                return await self._system_wait(
                    system_id, link, "unreachable", "The content destination stopped answering.", now
                )
            if not ok:
                return False
        link.attempts = 0
        await self._set_status(system_id, "connected", None)
        return True

    async def _system_wait(self, system_id: str, link: _Link, status: str, message: str, now: float) -> bool:
        link.attempts += 1
        link.next_try_at = now + plan.retry_delay("connection", link.attempts)
        await self._set_status(system_id, status, message)
        return False

    async def _read_system_objects(self, row, link: _Link) -> bool:
        """Capabilities (Etag checked) and categories; False on no answer."""
        system_id, client = row["system_id"], link.client
        full = client.conn.full_store_and_read_support
        answer = await self._call(system_id, None, link, "GET", cd.SYSTEM_CONTAINER, cd.CAPABILITIES_OBJECT)
        if answer.status is None:
            return False
        caps, error = cd.Capabilities(), None
        if answer.status == 200:
            try:
                caps = cd.Capabilities.parse(answer.body, answer.headers.get("Etag"))
            except cd.ContentDestinationError as exc:
                error = str(exc)
                await self._log(
                    system_id,
                    None,
                    "GET",
                    f"{cd.SYSTEM_CONTAINER}/{cd.CAPABILITIES_OBJECT}",
                    answer.status,
                    "object_corrupt" if exc.field == "Etag" else "invalid",
                    error,
                )
        elif not full:
            error = f"{cd.CAPABILITIES_OBJECT}: HTTP {answer.status} (every capability counts as absent)"
        if full:
            caps = cd.Capabilities(read=caps.read, store=caps.store, store_and_read=caps.store_and_read, full=True)
        link.capabilities = caps
        categories: list[dict] = []
        if caps.supports(cd.READ_CATEGORIES):
            got = await self._call(system_id, None, link, "GET", cd.SYSTEM_CONTAINER, cd.CATEGORIES_OBJECT)
            if got.status == 200:
                try:
                    categories = [{"id": c.id, "name": c.name} for c in cd.parse_categories(got.body)]
                except cd.ContentDestinationError as exc:
                    await self._log(
                        system_id,
                        None,
                        "GET",
                        f"{cd.SYSTEM_CONTAINER}/{cd.CATEGORIES_OBJECT}",
                        got.status,
                        "invalid",
                        str(exc),
                    )
        await self.db.execute(
            "UPDATE ctl_cd_destinations SET capabilities = ?, capabilities_error = ?, categories = ?, "
            "categories_read_at = ? WHERE system_id = ?",
            (
                json.dumps({"names": caps.names(), "full": caps.full}),
                error,
                json.dumps(categories),
                self.ctx.clock.now(),
                system_id,
            ),
        )
        return True

    async def _bind_system_id(self, row, link: _Link) -> bool | None:
        """StoreReadSystemID: True bound, False refused (another destination), None no answer."""
        system_id = row["system_id"]
        system = await self.db.fetchone("SELECT name FROM ctl_systems WHERE id = ?", (system_id,))
        if system is None:  # deleted meanwhile (its connection goes with it by cascade): nothing to bind
            return None
        answer = await self._call(system_id, None, link, "HEAD", cd.SYSTEM_CONTAINER, system_id)
        if answer.status is None:
            return None
        if answer.status == 200:
            stored = cd.read_meta("Object", answer.headers).get("Connectionid")
            if stored == row["connection_id"]:
                return True
            await self._set_status(
                system_id,
                "system_id_mismatch",
                f"System/{system_id} on this destination carries another connection ID: "
                "it is bound to another installation. Nothing is uploaded.",
            )
            return False
        if answer.status == 404 and row["system_id_stored"]:
            await self._set_status(
                system_id,
                "system_id_mismatch",
                f"This destination does not hold System/{system_id}, which this system stored "
                "on its content destination: it is not the same destination. Nothing is uploaded.",
            )
            return False
        meta = cd.meta_headers("Object", {"ConnectionId": row["connection_id"], "SystemName": system["name"][:100]})
        put_container = await self._call(system_id, None, link, "PUT", cd.SYSTEM_CONTAINER)
        if put_container.status is None or not 200 <= put_container.status < 300:
            return None
        put = await self._call(system_id, None, link, "PUT", cd.SYSTEM_CONTAINER, system_id, meta)
        if put.status is None or not 200 <= put.status < 300:
            return None
        await self.db.execute("UPDATE ctl_cd_destinations SET system_id_stored = 1 WHERE system_id = ?", (system_id,))
        return True

    # ---------------------------------------------------------------- Users/ and Devices/

    async def _wanted_directory(self, system_id: str, link: _Link) -> dict[tuple[str, str], dict[str, str]]:
        caps = link.capabilities or cd.Capabilities()
        wanted: dict[tuple[str, str], dict[str, str]] = {}
        for u in await self.db.fetchall("SELECT id, name FROM ctl_camera_users WHERE system_id = ?", (system_id,)):
            meta = {"Active": "True", "Name": u["name"][:100]}
            if caps.supports(cd.STORE_USER_ID_KEY):
                meta["UserID"] = ""  # the lab's users have no user supplied ID: empty, as the README allows
            wanted[("user", plan.user_uuid(u["id"]))] = meta
        for c in await self.db.fetchall("SELECT serial, model FROM ctl_cameras WHERE system_id = ?", (system_id,)):
            wanted[("device", c["serial"])] = {"Active": "True", "Name": c["serial"], "Model": c["model"]}
        return wanted

    async def _stored_directory(self, system_id: str) -> dict[tuple[str, str], str]:
        rows = await self.db.fetchall(
            "SELECT kind, key, stored FROM ctl_cd_directory WHERE system_id = ?", (system_id,)
        )
        return {(r["kind"], r["key"]): r["stored"] for r in rows}

    async def _directory_changes(self, system_id: str, link: _Link) -> bool:
        wanted = await self._wanted_directory(system_id, link)
        stored = await self._stored_directory(system_id)
        return any(stored.get(k) != json.dumps(v, sort_keys=True) for k, v in wanted.items())

    async def _sync_directory(self, system_id: str, link: _Link) -> bool:
        """Registration (PUT) and rename (POST) of users and devices; False when it must wait."""
        wanted = await self._wanted_directory(system_id, link)
        stored = await self._stored_directory(system_id)
        todo = [(k, v) for k, v in wanted.items() if stored.get(k) != json.dumps(v, sort_keys=True)]
        made: set[str] = set()
        for (kind, key), meta in todo:
            container = cd.USERS_CONTAINER if kind == "user" else cd.DEVICES_CONTAINER
            if container not in made:
                answer = await self._call(system_id, None, link, "PUT", container)
                if not await self._system_answer(system_id, link, answer):
                    return False
                made.add(container)
            method = "POST" if (kind, key) in stored else "PUT"
            answer = await self._call(system_id, None, link, method, container, key, cd.meta_headers("Object", meta))
            if method == "POST" and answer.status == 404:  # the destination lost it: store it again
                answer = await self._call(system_id, None, link, "PUT", container, key, cd.meta_headers("Object", meta))
            if not await self._system_answer(system_id, link, answer):
                return False
            await self.db.execute(
                "INSERT INTO ctl_cd_directory (system_id, kind, key, stored) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (system_id, kind, key) DO UPDATE SET stored = excluded.stored",
                (system_id, kind, key, json.dumps(meta, sort_keys=True)),
            )
        return True

    async def _system_answer(self, system_id: str, link: _Link, answer: Answer) -> bool:
        result = plan.outcome(answer.status)
        if result == "confirmed":
            return True
        link.attempts += 1
        link.next_try_at = self.ctx.clock.now() + plan.retry_delay(result, link.attempts)
        await self._set_status(
            system_id, _status_of(result), plan.message(result, answer.status), alert=result == "insufficient_storage"
        )
        return False

    # ---------------------------------------------------------------- recordings

    async def _upload(self, system_id: str, link: _Link, rec) -> bool:
        """Run the recording's plan from its first unconfirmed request; False: wait."""
        manifest = Manifest.from_mapping(json.loads(rec["manifest"]))
        conn = link.client.conn
        target = plan.Target(
            controller_serial=system_id,
            container_type=conn.container_type,
            capabilities=link.capabilities or cd.Capabilities(),
            encrypt=conn.want_encryption,
        )
        requests = plan.recording_plan(manifest, target)
        confirmed = {
            r["name"]
            for r in await self.db.fetchall(
                "SELECT name FROM ctl_recording_objects WHERE recording_id = ?", (rec["id"],)
            )
        }
        await self.db.execute(
            "UPDATE ctl_recordings SET state = 'transferring', container = ? WHERE id = ?",
            (requests[0].container, rec["id"]),
        )
        buffer = Buffer(self.ctx.config.data_dir, system_id)
        for req in requests:
            if req.name in confirmed:
                continue
            answer = await self._send(system_id, link, rec["id"], req, buffer, conn)
            result = plan.outcome(answer.status)
            if result == "confirmed":
                await self.db.execute(
                    "INSERT OR IGNORE INTO ctl_recording_objects VALUES (?, ?, ?)",
                    (rec["id"], req.name, self.ctx.clock.now()),
                )
                if req.clip is not None:
                    await asyncio.to_thread(buffer.discard_prepared, rec["id"], req.clip, conn.container_type)
                continue
            if result == "not_transferred":
                await self.db.execute(
                    "UPDATE ctl_recordings SET state = 'not_transferred', last_error = ? WHERE id = ?",
                    (f"{req.name}: {plan.message(result, answer.status)}", rec["id"]),
                )
                return True  # this recording is done with; the others go on
            attempts = rec["attempts"] + 1
            await self.db.execute(
                "UPDATE ctl_recordings SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (
                    attempts,
                    self.ctx.clock.now() + plan.retry_delay(result, attempts),
                    f"{req.name}: {plan.message(result, answer.status)}",
                    rec["id"],
                ),
            )
            link.attempts += 1
            link.next_try_at = self.ctx.clock.now() + plan.retry_delay(result, link.attempts)
            await self._set_status(
                system_id,
                _status_of(result),
                plan.message(result, answer.status),
                alert=result == "insufficient_storage",
            )
            return False
        await self.db.execute(
            "UPDATE ctl_recordings SET state = 'complete', completed_at = ?, last_error = NULL, next_attempt_at = NULL "
            "WHERE id = ?",
            (self.ctx.clock.now(), rec["id"]),
        )
        await asyncio.to_thread(buffer.delete, rec["id"])
        await self._log(
            system_id,
            rec["id"],
            "-",
            requests[0].container,
            None,
            "complete",
            "Status: Complete confirmed; the recording left the controller's buffer.",
        )
        return True

    async def _send(
        self, system_id: str, link: _Link, recording_id: str, req: plan.Request, buffer: Buffer, conn: cd.ConnectionFile
    ) -> Answer:
        """One request of the plan (its key object first when encrypting), with one re-authentication."""
        for attempt in (1, 2):
            answer = await self._send_once(system_id, link, recording_id, req, buffer, conn)
            if answer.status != 401 or attempt == 2:
                return answer
            try:
                await self._authenticate(system_id, recording_id, link, "reauthenticated", failed="auth_failed")
            except AuthFailed as exc:
                return exc.answer if exc.answer.status is not None else Answer(401, {})
        raise AssertionError("unreachable")

    async def _send_once(
        self, system_id: str, link: _Link, recording_id: str, req: plan.Request, buffer: Buffer, conn: cd.ConnectionFile
    ) -> Answer:
        encryptor = None
        if req.encrypt:
            public = conn.rsa_public_key()
            assert public is not None
            encryptor = cd.ContentEncryptor(public, conn.public_key_id)
            key_name = cd.key_object_name(req.object or "")
            answer = await self._call(
                system_id,
                recording_id,
                link,
                "PUT",
                req.container,
                key_name,
                {"Content-Type": "application/json"},
                encryptor.key_object.to_json(),
            )
            if plan.outcome(answer.status) != "confirmed":
                return answer
        headers = dict(req.headers)
        if req.body == "clip":
            assert req.clip is not None
            path = await asyncio.to_thread(buffer.prepared, recording_id, req.clip, conn.container_type)
            size = path.stat().st_size
            length = cd.ContentEncryptor.encrypted_size(size) if encryptor else size
            headers["Content-Type"] = (
                "application/octet-stream"
                if encryptor
                else ("video/x-matroska" if conn.container_type == "mkv" else "video/mp4")
            )
            return await self._call(
                system_id,
                recording_id,
                link,
                req.method,
                req.container,
                req.object,
                headers,
                file_body(path, encryptor),
                length=length,
            )
        if req.body == "bytes":
            data = req.data
            if encryptor is not None:
                data = encryptor.update(data) + encryptor.finalize()
            return await self._call(
                system_id, recording_id, link, req.method, req.container, req.object, headers, data, length=len(data)
            )
        return await self._call(system_id, recording_id, link, req.method, req.container, req.object, headers)

    # ---------------------------------------------------------------- plumbing

    async def _call(
        self,
        system_id: str,
        recording_id: str | None,
        link: _Link,
        method: str,
        container: str,
        obj: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        length: int | None = None,
    ) -> Answer:
        """One request, logged. The system's own requests (no recording: bodies in memory)
        authenticate again on a 401 and are repeated once; a recording's requests do that in
        ``_send``, which can start their streamed bodies again."""
        answer = await self._call_once(system_id, recording_id, link, method, container, obj, headers, body, length)
        if answer.status != 401 or recording_id is not None or isinstance(body, AsyncIterator):
            return answer
        try:
            await self._authenticate(system_id, None, link, "reauthenticated", failed="auth_failed")
        except AuthFailed:
            return answer
        return await self._call_once(system_id, recording_id, link, method, container, obj, headers, body, length)

    async def _call_once(
        self,
        system_id: str,
        recording_id: str | None,
        link: _Link,
        method: str,
        container: str,
        obj: str | None,
        headers: dict[str, str] | None,
        body: Any,
        length: int | None,
    ) -> Answer:
        answer = await link.client.request(method, container, obj, headers, body, length)
        outcome = plan.outcome(answer.status)
        target = container if obj is None else f"{container}/{obj}"
        result: plan.Outcome | Literal["absent"] = outcome
        if answer.status == 404 and method in ("GET", "HEAD") and container == cd.SYSTEM_CONTAINER:
            result, message = "absent", None  # System/… not there (yet): an answer, not an error
        else:
            message = (
                answer.error
                if answer.status is None
                else (None if outcome == "confirmed" else plan.message(outcome, answer.status))
            )
        await self._log(system_id, recording_id, method, target, answer.status, result, message)
        return answer

    async def _authenticate(
        self, system_id: str, recording_id: str | None, link: _Link, outcome: str, *, failed: str | None = None
    ) -> Answer:
        """A token from the destination, the attempt logged: as ``outcome`` when one is given, else
        as ``failed`` (by default ``_auth_failure``'s) before AuthFailed goes on to the caller."""
        try:
            answer = await link.client.authenticate()
        except AuthFailed as exc:
            await self._log(
                system_id,
                recording_id,
                "GET",
                "token URIs",
                exc.answer.status,
                failed or _auth_failure(exc),
                exc.answer.error or "the destination refused the credentials",
            )
            raise
        await self._log(system_id, recording_id, "GET", link.client.auth_uri or "", answer.status, outcome)
        return answer

    async def _log(
        self,
        system_id: str,
        recording_id: str | None,
        method: str,
        target: str,
        status: int | None,
        outcome: str,
        message: str | None = None,
    ) -> None:
        await self.db.execute(
            "INSERT INTO ctl_transfer_log (recording_id, system_id, at, method, target, status, outcome, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                recording_id,
                system_id,
                self.ctx.clock.now(),
                method,
                target[:300],
                status,
                outcome,
                (message or "")[:500] or None,
            ),
        )

    async def _set_status(self, system_id: str, status: str, message: str | None, *, alert: bool = False) -> None:
        if alert:
            await self.db.execute(
                "UPDATE ctl_cd_destinations SET status = ?, status_message = ?, alert = ?, alert_at = ? "
                "WHERE system_id = ?",
                (status, message, message, self.ctx.clock.now(), system_id),
            )
        elif status == "connected":
            await self.db.execute(
                "UPDATE ctl_cd_destinations SET status = ?, status_message = NULL WHERE system_id = ?",
                (status, system_id),
            )
        else:
            await self.db.execute(
                "UPDATE ctl_cd_destinations SET status = ?, status_message = ? WHERE system_id = ?",
                (status, message, system_id),
            )


def _auth_failure(exc: AuthFailed) -> str:
    """A failed authentication's outcome: the credentials refused (401), or no token URI answered."""
    return "auth_failed" if exc.answer.status == 401 else "unreachable"


def _status_of(result: plan.Outcome) -> str:
    return {
        "retry_soon": "busy",
        "insufficient_storage": "full",
        "surfaced": "refused",
        "connection": "unreachable",
        "reauth": "auth_failed",
    }.get(result, "error")


OFFLOAD = web.AppKey("offload", OffloadService)


def setup_offload(app: web.Application) -> None:
    """The offload task lives in a cleanup context (CONVENTIONS 8)."""

    async def offload_ctx(app: web.Application):
        service = OffloadService(app[APPLIANCE])
        app[OFFLOAD] = service
        task = asyncio.create_task(service.run(), name="controller offload")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(offload_ctx)
