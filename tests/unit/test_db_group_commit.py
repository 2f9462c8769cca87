"""Group commit in the database (DESIGN "Storage"): concurrent writers share one transaction,
each returns only once its own row is committed, and a bad statement fails only its writer."""

import asyncio
import sqlite3

import pytest

from appliance.db import Database


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "cloud.sqlite3")
    yield database
    await database.close()


async def test_concurrent_writes_are_all_committed_when_each_returns(db, tmp_path):
    async def write(i):
        await db.execute_grouped("INSERT INTO lab_state (key, value) VALUES (?, ?)", (f"k{i}", str(i)))
        # durable: a second connection sees the row as soon as this writer returns
        with sqlite3.connect(tmp_path / "cloud.sqlite3") as other:
            return other.execute("SELECT value FROM lab_state WHERE key = ?", (f"k{i}",)).fetchone()

    seen = await asyncio.gather(*(write(i) for i in range(200)))
    assert seen == [(str(i),) for i in range(200)]


async def test_a_failing_statement_fails_only_its_own_writer(db):
    await db.execute("INSERT INTO lab_state (key, value) VALUES ('taken', 'x')")
    results = await asyncio.gather(
        db.execute_grouped("INSERT INTO lab_state (key, value) VALUES ('a', '1')"),
        db.execute_grouped("INSERT INTO lab_state (key, value) VALUES ('taken', 'y')"),
        db.execute_grouped("INSERT INTO lab_state (key, value) VALUES ('b', '2')"),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Exception)
    rows = dict(await db.fetchall("SELECT key, value FROM lab_state ORDER BY key"))
    assert rows == {"a": "1", "b": "2", "taken": "x"}
