"""SQLite storage through aiosqlite, in WAL mode, with numbered migrations (DESIGN "Storage").

Migrations are the files ``appliance/migrations/<part>/NNNN_name.sql`` (``cloud``: the hosted
service's database; ``controller``: the system controllers' own, a separate file because a real
controller is a separate box — it alone holds the end-to-end private key the Manager generated), applied in order, each in its
own transaction, and recorded in ``schema_migrations``. A database written by a newer bwlab
(a migration number we do not know) is refused rather than guessed at.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bwlab.private_files import create_private

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations(package: str) -> list[tuple[int, str, str]]:
    """The migrations packaged in ``package`` as (number, name, sql), in order."""
    found = []
    for entry in resources.files(package).iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


class Database:
    """One aiosqlite connection with helpers. Writes (``execute``, ``transaction``) hold a lock:
    the connection is shared by every coroutine, and a ``BEGIN … COMMIT`` must not interleave
    with another coroutine's statement or commit."""

    def __init__(self, conn: aiosqlite.Connection, migrations_package: str):
        self.conn = conn
        self.migrations_package = migrations_package
        self._write_lock = asyncio.Lock()
        self._group: list[tuple[str, tuple, asyncio.Future]] = []
        # Readers share the one connection, so they would see a transaction's statements before
        # its COMMIT: a reader waits while a transaction that replaces rows (DELETE then INSERT)
        # is under way, so it never sees the rows gone in between (quiet = no such transaction).
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._flusher: asyncio.Task | None = None

    @classmethod
    async def open(cls, path: Path | str, migrations_package: str = "appliance.migrations.cloud") -> Database:
        if str(path) != ":memory:":
            create_private(Path(path), "-wal", "-shm")  # 0600 from the start; SQLite gives -wal and -shm its mode
        conn = await aiosqlite.connect(str(path))
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=FULL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            db = cls(conn, migrations_package)
            await db.migrate()
        except BaseException:
            # the connection's worker thread would otherwise keep the process alive at exit
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.conn.close()

    async def migrate(self) -> list[int]:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        rows = await self.fetchall("SELECT number FROM schema_migrations")
        applied = {r["number"] for r in rows}
        known = migrations(self.migrations_package)
        newer = applied - {n for n, _, _ in known}
        if newer:
            raise RuntimeError(f"database has migrations this bwlab does not know: {sorted(newer)}")
        done = []
        for number, name, sql in known:
            if number in applied:
                continue
            log.info("applying migration %s", name)
            await self.conn.execute("BEGIN")
            try:
                for statement in _statements(sql):
                    await self.conn.execute(statement)
                await self.conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, name))
                await self.conn.commit()
            except Exception:
                await self.conn.rollback()
                raise
            done.append(number)
        return done

    async def _until_quiet(self) -> None:
        while not self._quiet.is_set():
            await self._quiet.wait()

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        await self._until_quiet()
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        await self._until_quiet()
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement and commit; returns the number of rows changed."""
        async with self._write_lock:
            try:
                async with self.conn.execute(sql, tuple(params)) as cur:
                    count = cur.rowcount
                await self.conn.commit()
            except BaseException:  # e.g. a full disk: leave no half transaction on the shared connection
                if self.conn.in_transaction:
                    await self.conn.rollback()
                raise
        return count

    async def execute_grouped(self, sql: str, params: Iterable[Any] = ()) -> None:
        """Run one write in the next group commit and return once it is durable.

        Writers that arrive while a commit is under way share the next transaction and its one
        fsync (the device hub stores hundreds of chunks a second; each must be durable before it
        is acknowledged, DESIGN "Storage"). A batch that fails is retried one statement at a time,
        so a bad statement fails only its own writer."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._group.append((sql, tuple(params), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_groups(), name="database group commit")
        await future

    async def _flush_groups(self) -> None:
        while self._group:
            batch, self._group = self._group, []
            try:
                await self.transaction([(sql, params) for sql, params, _ in batch], isolated=False)
            except Exception:
                for sql, params, future in batch:
                    try:
                        await self.execute(sql, params)
                    except Exception as exc:
                        if not future.done():
                            future.set_exception(exc)
                        continue
                    if not future.done():
                        future.set_result(None)
                continue
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def transaction(self, statements: Sequence[tuple[str, Iterable[Any]]], *, isolated: bool = True) -> int:
        """Run several statements atomically; returns the number of rows they changed. Readers
        wait until it is done (``isolated``); the group commit of appended rows, which nothing
        reads half-way, lets them go on."""
        async with self._write_lock:
            if isolated:
                self._quiet.clear()
            try:
                await self.conn.execute("BEGIN")
                changed = 0
                try:
                    for sql, params in statements:
                        async with self.conn.execute(sql, tuple(params)) as cur:
                            changed += max(cur.rowcount, 0)
                    await self.conn.commit()
                except BaseException:  # cancelled too: never leave the shared connection inside a transaction
                    await self.conn.rollback()
                    raise
            finally:
                self._quiet.set()
        return changed


def _statements(sql: str) -> list[str]:
    """Split a migration file on semicolons at line ends (no procedural SQL in migrations)."""
    parts = re.split(r";\s*(?:\n|$)", sql)
    return [
        p.strip()
        for p in parts
        if p.strip() and not all(line.strip().startswith("--") or not line.strip() for line in p.strip().splitlines())
    ]
