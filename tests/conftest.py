"""Fixtures that stack: a real appliance on loopback HTTPS, sessions for each principal, and a
connected demo-like system built through the public APIs (CONVENTIONS 15, 17)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.app import serve
from appliance.context import ApplianceConfig
from bwlab.client import Session
from bwlab.clock import LabClock, monotonic
from bwlab.viewer import Viewer

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningAppliance:
    url: str
    data_dir: Path
    clock: LabClock
    ca_pem: str
    lab_token: str
    port: int

    def session(self, token: str | None = None) -> Session:
        return Session(self.url, self.ca_pem, token=token)

    def lab(self) -> Session:
        return Session(self.url, self.ca_pem, token=self.lab_token)

    def operator_viewer(self, system, *, protected: bool = False, viewer_class: type[Viewer] = Viewer) -> Viewer:
        """The reference viewer signed in as the demo's operator (``async with`` it) for ``system``
        (as ``apply_scenario`` returns it): with the system's link with key, or (``protected``) its
        passphrase link and passphrase; ``viewer_class`` a subclass of Viewer."""
        link = (
            {"link": system.protected_link, "passphrase": system.link_passphrase}
            if protected
            else {"link": system.link}
        )
        return viewer_class(
            self.url,
            self.ca_pem,
            email="operator@demo.bwlab.test",
            password="demo-operator-pass",
            clock=self.clock,
            **link,
        )

    async def bwlab(self, *argv: str, **options) -> tuple[int, str, str]:
        """``python -m bwlab <argv>`` against this appliance as the lab (its URL, lab token and data
        directory); ``options`` as for ``run_bwlab``."""
        return await run_bwlab(
            *argv, "--url", self.url, "--token", self.lab_token, "--data-dir", str(self.data_dir), **options
        )


def run_bwlab_sync(
    *argv: str, timeout: float = 60.0, cwd: Path | None = REPO_ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m bwlab <argv>`` for a test without an event loop (blocking), from the repository
    root: its exit status and text output. ``env`` replaces this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "bwlab", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
    )


async def run_process(*cmd: str, timeout: float, **options) -> tuple[int, str, str]:
    """Run ``cmd`` within ``timeout`` seconds (killed past it): its exit status, standard output and
    standard error. ``options`` go to ``asyncio.create_subprocess_exec`` (cwd, env)."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, **options
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def run_bwlab(
    *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60.0
) -> tuple[int, str, str]:
    """``python -m bwlab <argv>`` as a user runs it, within ``timeout`` seconds: its exit status,
    standard output and standard error. ``env`` adds to this process's environment."""
    return await run_process(
        sys.executable,
        "-m",
        "bwlab",
        *argv,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


async def start_appliance(
    data_dir: Path,
    clock: LabClock | None = None,
    port: int | None = None,
    ntp_port: int | None = None,
    host_name: str = "127.0.0.1",
    **config_options,
):
    """Start the appliance in this event loop; returns (handle, stop event, task). ``ntp_port=0``
    runs the lab NTP server on a free loopback port; ``host_name`` is the public URL's host; other
    ``ApplianceConfig`` fields may be given."""
    clock = clock or LabClock()
    port = port or free_port()
    config = ApplianceConfig(
        data_dir=data_dir,
        host="127.0.0.1",
        port=port,
        zeroconf=False,
        ntp_port=ntp_port,
        public_url=f"https://{host_name}:{port}",
        **config_options,
    )
    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(config, clock, ready=ready, stop=stop), name="appliance")
    done, _ = await asyncio.wait(
        {task, asyncio.create_task(ready.wait())}, timeout=20, return_when=asyncio.FIRST_COMPLETED
    )
    if task in done:
        task.result()
    handle = RunningAppliance(
        url=config.url,
        data_dir=data_dir,
        clock=clock,
        ca_pem=(data_dir / "tls" / "lab-ca.pem").read_text(),
        lab_token=(data_dir / "lab-token").read_text().strip(),
        port=port,
    )
    return handle, stop, task


@pytest.fixture
async def appliance(tmp_path):
    handle, stop, task = await start_appliance(tmp_path / "data")
    yield handle
    stop.set()
    await asyncio.wait_for(task, 15)


@pytest.fixture
async def lab(appliance):
    async with appliance.lab() as s:
        yield s


@pytest.fixture(autouse=True)
def verify_no_threads_left():
    """A test must not leave threads behind (CONVENTIONS 17)."""
    before = {t.ident for t in threading.enumerate()}
    yield
    for _ in range(50):
        extra = [
            t
            for t in threading.enumerate()
            if t.ident not in before and t.is_alive() and not t.name.startswith(("asyncio_", "ThreadPoolExecutor"))
        ]
        if not extra:
            return
        threading.Event().wait(0.05)
    pytest.fail(f"threads left behind: {[t.name for t in extra]}")


# ---- appended: fixtures for the access, S3, keys, S8, D1, D2 and bad-input tests --------------


@pytest.fixture
async def demo_lab(appliance):
    """The built-in demo scenario applied through the public APIs (no cameras running)."""
    from bwlab.apply import apply_scenario
    from bwlab.scenario import load_scenario

    scenario, _ = load_scenario(None)
    return await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)


@pytest.fixture
async def new_system(appliance, lab):
    """Factory: ``await new_system("Name")`` installs a system controller in the lab and returns
    ``(system_id, manager_session)``, the session signed in as that system's Manager admin."""
    sessions: list[Session] = []

    async def make(name: str, admin_password: str = "manager-pass") -> tuple[str, Session]:
        system = await lab.post("/controller/systems", {"name": name, "admin_password": admin_password})
        session = appliance.session()
        sessions.append(session)
        await session.sign_in_manager(system["id"], admin_password)
        return system["id"], session

    yield make
    for s in sessions:
        await s.close()


@pytest.fixture
async def cloud_account(appliance):
    """Factory: ``await cloud_account("a@x.test")`` signs up an account and returns a signed-in
    Session for it (``.token`` is its bearer token)."""
    sessions: list[Session] = []

    async def make(email: str, password: str = "account-pass", name: str | None = None) -> Session:
        session = appliance.session()
        sessions.append(session)
        await session.post(
            "/api/cloud/accounts", {"email": email, "name": name or email.split("@")[0], "password": password}
        )
        await session.sign_in_cloud(email, password)
        return session

    yield make
    for s in sessions:
        await s.close()


@pytest.fixture
def travel(lab):
    """``await travel(seconds)``: move lab time forward through the lab API (L2)."""

    async def go(seconds: float) -> dict:
        return await lab.post("/api/lab/time/travel", {"seconds": seconds})

    return go


# ---- appended: fixtures for the streaming tests (no plaintext, durability, hub input, rules) ----


def controller_connections(data_dir: Path) -> dict[str, dict]:
    """Each system controller's connection to the cloud, read from its database (read-only),
    with the system token the Manager's API never shows."""
    with sqlite3.connect(f"file:{data_dir / 'controller.sqlite3'}?mode=ro", uri=True) as db:
        return {
            system_id: json.loads(connection)
            for system_id, connection in db.execute("SELECT id, connection FROM ctl_systems")
        }


async def poll_until(predicate, what: str, timeout: float = 5.0, step: float = 0.05):
    """Call the (sync or async) predicate every ``step`` s until it returns something truthy, and
    return that; fail naming ``what`` (and the last value) when ``timeout`` runs out."""
    deadline = monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        await asyncio.sleep(step)


def wait_until(predicate, what: str, timeout: float, step: float = 0.2):
    """``poll_until`` for a test without an event loop: call the sync predicate every ``step`` s
    (blocking) until it returns something truthy, and return that; fail naming ``what``."""
    deadline = monotonic() + timeout
    while monotonic() < deadline:
        result = predicate()
        if result:
            return result
        threading.Event().wait(step)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def poll():
    """``await poll(predicate, what, timeout=5)``: ``poll_until``."""
    return poll_until


@pytest.fixture
async def demo_fleet(appliance, demo_lab):
    """Factory: ``await demo_fleet({serial, …})`` runs those cameras of the built-in demo in this
    process (docked where the scenario docks them); returns the Fleet."""
    from bwlab.scenario import load_scenario
    from firmware_stub.fleet import Fleet

    fleets: list[Fleet] = []

    async def make(serials: set[str]) -> Fleet:
        scenario, _ = load_scenario(None)
        fleet = Fleet(url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=appliance.clock)
        fleets.append(fleet)
        await fleet.start(scenario, only={s.upper() for s in serials})
        return fleet

    yield make
    for fleet in fleets:
        await fleet.close()


@pytest.fixture
async def demo_viewer(appliance, demo_lab):
    """The reference viewer signed in as the demo's operator, with the passphrase link with key."""
    async with appliance.operator_viewer(demo_lab.systems[0], protected=True) as v:
        yield v


@pytest.fixture
def camera_online(lab):
    """``await camera_online(serial)``: whether the cloud's device hub has that camera connected
    now (lab status)."""

    async def check(serial: str) -> bool:
        status = await lab.get("/api/lab/status")
        return any(c["serial"] == serial and c["online"] for s in status["systems"] for c in s["cameras"])

    return check


@pytest.fixture
def undock_online(camera_online):
    """``await undock_online(fleet, serial)``: take a running camera out of its dock and wait until
    the cloud's device hub has it connected."""

    async def undock(fleet, serial: str) -> None:
        await fleet.undock(serial)
        await poll_until(lambda: camera_online(serial), f"camera {serial} to connect to the device hub", timeout=10)

    return undock


# ---- appended: a real OpenStack Swift on loopback, the standard content destination (issue 13) ----


@pytest.fixture(scope="session")
def swift_cluster(tmp_path_factory):
    """A real Swift (proxy with tempauth, account/container/object servers, memcached) shared by
    the session; tests/swift_harness.py. A test that takes a server down starts its own with
    ``swift_harness.start_swift``."""
    from swift_harness import start_swift

    cluster = start_swift(tmp_path_factory.mktemp("swift"))
    yield cluster
    cluster.stop()
