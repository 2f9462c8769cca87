"""The Lab panel on the real lab network, in a browser that is itself on it (issue 15): Chromium
runs inside the lab's browser namespace, reaches the appliance as https://live.bwlab.test through
the lab DNS, and shows a camera's address, MAC and namespace, then the T5 name it cannot reach
when a hand-written nft rule drops it in the camera's namespace."""

# covers: T5, T2, L3

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2e_lab import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import free_port
from tests.realnet.conftest import machine_state, net_name  # noqa: F401  (net_name: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parents[2]
CAM = "B8A44F000101"


def _wait(predicate, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


async def test_lab_panel_from_the_browser_namespace_shows_the_camera_on_the_network(net_name, tmp_path):
    from playwright.async_api import async_playwright, expect

    prefix, subnet = net_name
    port, data_dir = free_port(), tmp_path / "lab"
    env = dict(os.environ, BWLAB_NET_PREFIX=prefix)

    def bwlab(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bwlab", *args, "--data-dir", str(data_dir)], env=env,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=REPO)

    def status():
        run = bwlab("status", "--json")
        lab = json.loads(run.stdout) if run.returncode == 0 else {}
        return lab if lab.get("network") and len(lab["systems"][0]["cameras"]) == 6 else None

    up = subprocess.Popen(
        [sys.executable, "-m", "bwlab", "up", "--network", "real", "--net-prefix", prefix, "--net-subnet", subnet,
         "--port", str(port), "--data-dir", str(data_dir), "--no-zeroconf", "--media", "shared", "--no-timeline"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        lab = await asyncio.to_thread(_wait, status, "the lab on the real network", 120)
        plan = lab["network"]
        viewer = next(n for n in plan["nodes"] if n["kind"] == "browser")
        cam = next(c for c in lab["systems"][0]["cameras"] if c["serial"] == CAM)["network"]
        wrapper = tmp_path / "chromium-in-netns"  # the browser itself lives on the lab network
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {viewer["netns"]} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        token = (data_dir / "lab-token").read_text().strip()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(wrapper), args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 860})
                context.set_default_timeout(60_000)
                page = await context.new_page()
                await page.goto("https://live.bwlab.test/lab/")  # the lab DNS, port 443, SNI
                await page.get_by_label("Lab token").fill(token)
                await page.get_by_role("button", name="Sign in").click()
                card = page.locator(f'article[data-serial="{CAM}"]')
                await card.locator("dl.radio").wait_for()
                assert bwlab("undock", CAM).returncode == 0 and bwlab("press", CAM, "record").returncode == 0
                await expect(card.locator(".radio-lan")).to_have_text(
                    f'{cam["ip"]} · {cam["mac"]} · {cam["netns"]}', timeout=60_000)
                await expect(card.locator(".radio-hosts")).to_have_text("all reached", timeout=60_000)

                subprocess.run(["ip", "netns", "exec", cam["netns"], "nft", "-f", "-"], check=True, text=True, input=(
                    "table inet sitefw {\n chain output {\n  type filter hook output priority 0; policy accept;\n"
                    f'  ip daddr {plan["services"]["storage-eu.bwlab.test"]} drop\n }}\n}}\n'))
                await expect(card.locator(".radio-hosts")).to_have_text(
                    "not reached: storage-eu.bwlab.test (timeout)", timeout=60_000)
            finally:
                await browser.close()
    finally:
        up.send_signal(signal.SIGTERM)
        await asyncio.to_thread(up.wait, 60)
    assert up.returncode == 0
    assert machine_state(prefix) == {"netns": [], "links": [], "nft_tables": [], "dnsmasq": [], "netns_etc": []}
