"""A database that cannot be opened (bad migrations) leaves no connection behind.

aiosqlite runs each connection in a thread of its own; a connection left open when ``Database.open``
fails kept that thread, and the process could not exit (a test run hung at its end when two
branches' migrations had the same number).

covers: none (storage robustness)
"""

from __future__ import annotations

import threading

import pytest

from appliance.db import Database


async def test_a_failed_open_closes_its_connection(tmp_path, monkeypatch):
    package = tmp_path / "dup_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);")
    (package / "0001_second.sql").write_text("CREATE TABLE b (x INTEGER);")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(RuntimeError, match="without gaps"):
        await Database.open(tmp_path / "x.sqlite3", "dup_migrations")
    # aiosqlite's worker threads (other threads, e.g. the event loop's executor, may come and go)
    # aiosqlite's thread ends soon after the close, not with it: give it a bounded while
    opened = [t for t in threading.enumerate() if t.ident not in before and "_connection_worker_thread" in t.name]
    for t in opened:
        t.join(5)
    assert [t for t in opened if t.is_alive()] == []
