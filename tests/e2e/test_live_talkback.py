"""Talk-back in a real headless Chromium (issue 16 item 3 "Must show"): Chromium's fake microphone
plays a 440 Hz WAV; the operator holds "Hold to talk" in Live's stream view; WebCodecs encodes
Opus, e2e.js seals every packet for the camera, the hub relays it, and the camera stub decodes it
and reports the tone it heard. A second viewer sees who talks and cannot take the floor.

covers: S4, S14, S17
"""

from __future__ import annotations

import wave

import numpy as np
import pytest
import pytest_asyncio
from e2e_lab import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    OPERATOR,
    open_lab_panel,
    screenshot,
    sign_in_live,
    start_lab,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # W100, profile "Patrol live": live stream on record
TONE_HZ = 440.0


def write_tone(path, hz: float = TONE_HZ, seconds: float = 4.0, rate: int = 48_000) -> None:
    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-talk") / "data", cameras={ANNA})
    yield lab_env
    await shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def mic_browser(tmp_path_factory):
    """Chromium with a fake microphone that plays the tone (the shared fixture has no such flags)."""
    from playwright.async_api import async_playwright

    wav = tmp_path_factory.mktemp("talk-mic") / "tone-440.wav"
    write_tone(wav)
    args = CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--use-fake-ui-for-media-stream",
    ]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        await browser.close()


async def _context(browser):
    ctx = await browser.new_context(
        ignore_https_errors=True,
        viewport={"width": 1280, "height": 860},
        locale="en-GB",
        timezone_id="UTC",
        permissions=["microphone"],
    )
    ctx.set_default_timeout(10_000)
    return ctx


async def _signed_in(ctx, env, account):
    page = await ctx.new_page()
    await page.goto(env.system.protected_link)
    await page.get_by_label("Passphrase").fill(env.system.link_passphrase)
    await page.get_by_role("button", name="Open").click()
    await sign_in_live(page, *account)
    await page.get_by_role("heading", name="Active streams").wait_for()
    return page


async def _speaker(env) -> dict:
    async with env.lab() as lab:
        cams = (await lab.get("/api/lab/cameras"))["cameras"]
    state = next(c["state"] for c in cams if c["serial"] == ANNA) or {}
    return state.get("speaker") or {}


async def _online(env) -> bool:
    async with env.lab() as lab:
        status = await lab.get("/api/lab/status")
    return any(c["serial"] == ANNA and c["online"] for s in status["systems"] for c in s["cameras"])


async def test_operator_talks_and_the_camera_hears_the_tone(env, mic_browser):
    talker_ctx, other_ctx = await _context(mic_browser), await _context(mic_browser)
    try:
        async with env.lab() as lab:
            await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "undock"})
            await wait_for(lambda: _online(env), "Anna's camera online with the hub")
            await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record"})
        talker = await _signed_in(talker_ctx, env, OPERATOR)
        other = await _signed_in(other_ctx, env, ADMIN)
        for page in (talker, other):
            entry = page.locator("#active-streams button.stream", has_text="Anna Berg")
            await entry.wait_for(timeout=8000)
            await entry.click()
        button = talker.get_by_role("button", name="Hold to talk")
        await wait_for(lambda: _enabled(button), "the talk button ready (the floor is known)")
        await wait_for(lambda: _enabled(other.get_by_role("button", name="Hold to talk")), "the other viewer's button")

        await button.hover()
        await talker.mouse.down()
        await talker.locator('.talk-status[data-code="talking"]').wait_for()
        box = other.locator(".talk-box")
        await wait_for(lambda: _has(box.get_attribute("data-talker")), "the other viewer sees who talks")
        assert "is talking to this camera" in await other.locator(".talk-status").inner_text()
        assert await other.get_by_role("button", name="Hold to talk").is_disabled()
        await wait_for(lambda: _speaker_active(env), "the camera's speaker playing", timeout=5)
        await talker.wait_for_timeout(2000)  # about two seconds of the tone
        await screenshot(talker, "live-talk-back")
        lab_page = await talker_ctx.new_page()
        await open_lab_panel(lab_page, env)
        await lab_page.locator(f'article[data-serial="{ANNA}"] .speaker[data-active="true"]').wait_for()
        await screenshot(lab_page, "lab-speaker")
        await talker.mouse.up()

        await wait_for(lambda: _speaker_done(env), "the talk over on the camera", timeout=5)
        speaker = await _speaker(env)
        assert speaker["failed"] == 0 and speaker["packets"] >= 50, speaker
        assert speaker["heard_seconds"] >= 1.0, speaker
        assert abs(speaker["heard_hz"] - TONE_HZ) < 4.0, f"the camera heard {speaker['heard_hz']} Hz"
        await wait_for(lambda: _has_not(box.get_attribute("data-talker")), "the floor free for the other viewer")
        assert not await other.get_by_role("button", name="Hold to talk").is_disabled()
    finally:
        await talker_ctx.close()
        await other_ctx.close()


async def _enabled(locator) -> bool:
    return await locator.count() > 0 and not await locator.is_disabled()


async def _has(awaitable) -> bool:
    return bool(await awaitable)


async def _has_not(awaitable) -> bool:
    return not await awaitable


async def _speaker_active(env) -> bool:
    return bool((await _speaker(env)).get("active"))


async def _speaker_done(env) -> bool:
    speaker = await _speaker(env)
    return speaker.get("talks", 0) >= 1 and not speaker.get("active")
