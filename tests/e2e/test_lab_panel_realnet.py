"""The Lab panel on the real lab network, in a browser that is itself on it (issue 15): Chromium
runs inside the lab's browser namespace, reaches the appliance as https://live.bwlab.test through
the lab DNS, and shows a camera's address, MAC and namespace, then the T5 name it cannot reach
when a hand-written nft rule drops it in the camera's namespace."""

# covers: T5, T2, L3

from __future__ import annotations

import asyncio
import subprocess

import pytest
from e2e_lab import CHROMIUM, CHROMIUM_ARGS

from tests.realnet.conftest import machine_state, net_name, real_lab, site_firewall  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
CAM = "B8A44F000101"


async def test_lab_panel_from_the_browser_namespace_shows_the_camera_on_the_network(real_lab, tmp_path):
    from playwright.async_api import async_playwright, expect

    lab = await asyncio.to_thread(real_lab.ready)
    plan = lab["network"]
    viewer = next(n for n in plan["nodes"] if n["kind"] == "browser")
    cam = next(c for c in lab["systems"][0]["cameras"] if c["serial"] == CAM)["network"]
    wrapper = tmp_path / "chromium-in-netns"  # the browser itself lives on the lab network
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {viewer["netns"]} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    token = (real_lab.data_dir / "lab-token").read_text().strip()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(wrapper), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 860})
            page = await context.new_page()
            await page.goto("https://live.bwlab.test/lab/")  # the lab DNS, port 443, SNI
            await page.get_by_label("Lab token").fill(token)
            await page.get_by_role("button", name="Sign in").click()
            card = page.locator(f'article[data-serial="{CAM}"]')
            await card.locator("dl.radio").wait_for(timeout=60_000)
            for action in (("undock", CAM), ("press", CAM, "record")):
                assert (await asyncio.to_thread(real_lab.bwlab, *action)).returncode == 0
            await expect(card.locator(".radio-lan")).to_have_text(
                f"{cam['ip']} · {cam['mac']} · {cam['netns']}", timeout=60_000
            )
            await expect(card.locator(".radio-hosts")).to_have_text("all reached", timeout=60_000)
            subprocess.run(
                ["ip", "netns", "exec", cam["netns"], "nft", "-f", "-"],
                check=True,
                text=True,
                input=site_firewall(plan["services"]["storage-eu.bwlab.test"]),
            )
            await expect(card.locator(".radio-hosts")).to_have_text(
                "not reached: storage-eu.bwlab.test (timeout)", timeout=60_000
            )
        finally:
            await browser.close()
    returncode, out = await asyncio.to_thread(real_lab.stop)
    assert returncode == 0, out[-3000:]
    assert machine_state(real_lab.prefix) == {
        "netns": [],
        "links": [],
        "nft_tables": [],
        "dnsmasq": [],
        "netns_etc": [],
    }
