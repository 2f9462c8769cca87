"""``bwlab soc-receiver`` as an integrator runs it: a process on 127.0.0.1 that verifies each
notification's Standard Webhooks signature and prints it as a JSON line."""

# covers: S12

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp

from bwlab.clock import system_time
from bwlab.wire import webhooks
from tests.conftest import free_port

META = {
    "id": "a" * 32,
    "org_id": "org_1",
    "system_id": "sys_1",
    "user_id": "cu_1",
    "user_name": "Anna Berg",
    "region": "eu",
    "started_at": 1_800_000_000.0,
    "ended_at": None,
    "duration": 0.0,
}


async def test_the_receiver_verifies_prints_and_refuses_bad_signatures():
    secret = webhooks.new_secret()
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bwlab",
        "soc-receiver",
        "--port",
        str(port),
        "--secret",
        secret,
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        ready = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert b"listening on http://127.0.0.1:" in ready, ready
        body = webhooks.payload("stream.started", META, system_time())
        async with aiohttp.ClientSession() as http:
            good = webhooks.headers("msg_good", system_time(), body, secret)
            async with http.post(f"http://127.0.0.1:{port}/", data=body, headers=good) as r:
                assert r.status == 204
            async with http.post(f"http://127.0.0.1:{port}/", data=body, headers=good) as r:
                assert r.status == 204  # a retry of the same event: accepted, marked duplicate
            forged = webhooks.headers("msg_forged", system_time(), body, webhooks.new_secret())
            async with http.post(f"http://127.0.0.1:{port}/", data=body, headers=forged) as r:
                assert r.status == 401
        lines = [json.loads(await asyncio.wait_for(proc.stdout.readline(), 10)) for _ in range(3)]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0
    first, again, forged_line = lines
    assert (first["id"], first["type"], first["verified"], first["duplicate"]) == (
        "msg_good",
        "stream.started",
        True,
        False,
    )
    assert first["data"]["data"]["user_name"] == "Anna Berg"
    assert again["duplicate"] is True and again["verified"] is True
    assert forged_line["verified"] is False and "signature" in forged_line["error"].lower()
