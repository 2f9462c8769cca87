"""Readers share the appliance's one database connection with writers: a transaction that
replaces rows (DELETE then INSERT, as a system's camera list does) must never be seen half-done
(issue 10: a camera was refused as "not registered" while its system's list was being replaced)."""

# covers: S3, D1

import asyncio

from appliance.db import Database


async def test_a_reader_never_sees_a_replacing_transaction_half_done(tmp_path):
    db = await Database.open(tmp_path / "cloud.sqlite3")
    try:
        await db.execute("CREATE TABLE registered (serial TEXT PRIMARY KEY)")
        await db.execute("INSERT INTO registered VALUES ('CAM1')")
        replace = [("DELETE FROM registered", ())] + [
            ("INSERT INTO registered VALUES (?)", (f"X{i}",)) for i in range(200)
        ]
        replace.append(("INSERT INTO registered VALUES ('CAM1')", ()))
        seen: list[bool] = []

        async def reader() -> None:
            for _ in range(200):
                seen.append(await db.fetchone("SELECT 1 FROM registered WHERE serial = 'CAM1'") is not None)
                await asyncio.sleep(0)

        async def writer() -> None:
            for _ in range(5):
                await db.transaction(replace)
                await asyncio.sleep(0)

        await asyncio.gather(reader(), writer())
        assert seen and all(seen), f"{seen.count(False)} reads saw CAM1 gone mid-transaction"
    finally:
        await db.close()
