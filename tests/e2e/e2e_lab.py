"""Helpers for the end-to-end tests in a real headless Chromium (Debian's chromium, driven by
Playwright through its executable path; never a downloaded browser).

One appliance, the demo scenario, a fleet of its cameras and one browser per test module, all
in the module's event loop; a fresh browser context (cookies, IndexedDB, localStorage) per
test. The tests that show a page screenshot it into ``screenshots_dir()``: a temporary folder of the
test run, or ``$BWLAB_SCREENSHOTS`` when set (``scripts/refresh-screenshots.sh`` points it at
docs/screenshots/), so a test run never changes the checkout.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bwlab.apply import LabInfo, apply_scenario
from bwlab.client import Session
from bwlab.clock import LabClock
from bwlab.scenario import load_scenario
from firmware_stub.fleet import Fleet
from tests.conftest import poll_until, start_appliance

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"  # the README's pictures: refreshed only on purpose
SCREENSHOTS_ENV = "BWLAB_SCREENSHOTS"
_run_screenshots: list[Path] = []  # the test run's temporary folder (set by conftest.py)
CHROMIUM = os.environ.get("BWLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
OPERATOR = ("operator@demo.bwlab.test", "demo-operator-pass")
ADMIN = ("admin@demo.bwlab.test", "demo-admin-pass")


@dataclass
class LabEnv:
    url: str
    ca_pem: str
    lab_token: str
    clock: LabClock
    info: LabInfo
    fleet: Fleet | None = None

    @property
    def system(self):
        return self.info.systems[0]

    def session(self, token: str | None = None) -> Session:
        return Session(self.url, self.ca_pem, token=token)

    def lab(self) -> Session:
        return Session(self.url, self.ca_pem, token=self.lab_token)


async def start_lab(data_dir: Path, cameras: set[str] | None, media: str = "live"):
    """The appliance over HTTPS on loopback with the demo applied and a fleet running
    ``cameras`` (None: all of them, [] or empty set: none). Returns (env, stop)."""
    appliance, stop, task = await start_appliance(data_dir, host_name="localhost")
    url, ca_pem, token, clock = appliance.url, appliance.ca_pem, appliance.lab_token, appliance.clock
    scenario, _ = load_scenario(None)
    info = await apply_scenario(scenario, url, ca_pem, token)
    env = LabEnv(url, ca_pem, token, clock, info)
    if cameras is None or cameras:
        env.fleet = Fleet(url=url, ca_pem=ca_pem, lab_token=token, clock=clock, media=media)
        await env.fleet.start(scenario, only=cameras)

    async def shutdown() -> None:
        if env.fleet is not None:
            await env.fleet.close()
        stop.set()
        await asyncio.wait_for(task, 20)

    return env, shutdown


async def launch_browser(playwright):
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def screenshots_dir() -> Path:
    """Where screenshots go: ``$BWLAB_SCREENSHOTS``, else the test run's temporary folder."""
    if os.environ.get(SCREENSHOTS_ENV):
        return Path(os.environ[SCREENSHOTS_ENV])
    if not _run_screenshots:
        raise RuntimeError(f"no screenshot folder: set {SCREENSHOTS_ENV} or run under tests/e2e/conftest.py")
    return _run_screenshots[-1]


async def screenshot(page, name: str) -> Path:
    """Save the page as <name>.png in ``screenshots_dir()`` (docs/screenshots/ only on a refresh)."""
    folder = screenshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


async def screenshot_of(locator, name: str) -> Path:
    """Save one part of a page (a Playwright locator) as <name>.png in ``screenshots_dir()``."""
    folder = screenshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await locator.screenshot(path=str(path), animations="disabled")
    return path


async def undock_online(env: LabEnv, serial: str) -> None:
    """Take a camera out of its dock and wait until the device hub has it connected."""
    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "undock"})

        async def online() -> bool:
            status = await lab.get("/api/lab/status")
            return any(c["serial"] == serial and c["online"] for s in status["systems"] for c in s["cameras"])

        await wait_for(online, f"camera {serial} online")


async def sign_in_live(page, email: str, password: str) -> None:
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def live_in_a_frame(page, env: LabEnv, who: tuple[str, str] = OPERATOR):
    """A page of the same site frames Live (an API answer allows no frames: CSP) and ``who`` signs
    in inside the frame; returns the frame's locator, on Active streams."""
    await page.goto(env.url + "/")
    await page.evaluate(
        """() => { document.body.innerHTML = '<iframe title="VMS" src="/live/" width="1100" height="700"></iframe>'; }"""
    )
    frame = page.frame_locator("iframe")
    await frame.get_by_label("E-mail").fill(who[0])
    await frame.get_by_label("Password").fill(who[1])
    await frame.get_by_role("button", name="Sign in").click()
    await frame.get_by_role("heading", name="Active streams").wait_for()
    return frame


async def open_lab_panel(page, env: LabEnv) -> None:
    await page.goto(env.url + "/lab/")
    await page.get_by_label("Lab token").fill(env.lab_token)
    await page.get_by_role("button", name="Sign in").click()


async def wait_for(predicate, what: str, timeout: float = 10.0, step: float = 0.05):
    """Poll a sync or async predicate until it returns something truthy; fail naming ``what``."""
    return await poll_until(predicate, what, timeout, step)


async def wait_in_page(page, expression: str, what: str, timeout: float = 10.0):
    """Poll a JavaScript expression in the page until it is truthy. Not ``page.wait_for_function``:
    its polling evaluates a string inside the page, which the pages' Content-Security-Policy
    (no 'unsafe-eval', docs/security.md item 11) refuses; ``evaluate`` runs from outside."""
    return await poll_until(lambda: page.evaluate(expression), what, timeout)


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve an aiohttp application on 127.0.0.1 (a free port): (its runner, ``http://127.0.0.1:P``)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
