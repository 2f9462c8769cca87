"""The view with sound (Media Source Extensions) through a period in which the camera sends sound
only (issue 16 items 6 and 7), in a real headless Chromium.

The lab caps the camera's link at 120 kbit/s: the camera adapts down to audio-only fragments.
The media element's clock must run on — the sound plays, the picture stays on its last frame
with a "sound only" indication — and the picture must come back, on the same timeline, once the
cap is lifted and the camera steps back up to the full picture.

covers: D6, L5
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from e2e_lab import OPERATOR, screenshot, sign_in_live, start_lab, undock_online, wait_for, wait_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

ANNA = "B8A44F000101"  # W100; profile "Patrol live": live stream on record
SAMPLES = 16  # 250 ms apart: 4 s of sound only watched
VIDEO = "document.querySelector('.player video')"
PLAYER = "(document.querySelector('.player')?.dataset ?? {})"  # its data-* attributes


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory):
    lab_env, shutdown = await start_lab(tmp_path_factory.mktemp("e2e-sound-only") / "data", cameras={ANNA})
    yield lab_env
    await shutdown()


async def level(env) -> str | None:
    async with env.lab() as lab:
        cams = (await lab.get("/api/lab/cameras"))["cameras"]
    state = next(c["state"] for c in cams if c["serial"] == ANNA) or {}
    return (state.get("stream_quality") or {}).get("level")


async def at_level(env, wanted: str) -> bool:
    return await level(env) == wanted


async def sample(live, player) -> dict:
    return {
        "time": await live.evaluate(f"{VIDEO}.currentTime"),
        "paused": await live.evaluate(f"{VIDEO}.paused"),
        "sound": float(await player.get_attribute("data-sound-level") or 0),
        "frames": int(await player.get_attribute("data-frames") or 0),
        "sound_only": await player.get_attribute("data-sound-only"),
        "buffered": await live.evaluate(
            f"Array.from({{length: {VIDEO}.buffered.length}}, (_, i) => [{VIDEO}.buffered.start(i), {VIDEO}.buffered.end(i)])"
        ),
    }


async def test_the_view_with_sound_plays_on_through_sound_only_and_the_picture_comes_back(env, context):
    live = await context.new_page()
    await live.goto(env.system.link)
    await sign_in_live(live, *OPERATOR)
    await live.get_by_role("heading", name="Active streams").wait_for()
    await undock_online(env, ANNA)
    async with env.lab() as lab:
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record"})
        entry = live.locator("#active-streams button.stream", has_text="Anna Berg")
        await entry.wait_for(timeout=10000)
        await entry.click()
        player = live.locator(".player")
        await wait_in_page(live, f"{PLAYER}.frames >= 30", "two seconds of picture")
        await wait_in_page(live, f"{PLAYER}.soundLevel > 0.01", "sound on the meter")
        assert await live.evaluate(f"{VIDEO} !== null && !{VIDEO}.muted"), "the view with sound plays unmuted"

        cap = await lab.post("/api/lab/faults", {"kind": "link", "target": ANNA, "set": {"bandwidth_kbps": 120}})
        await wait_for(lambda: at_level(env, "audio_only"), "the camera down to sound only")
        await live.wait_for_timeout(2000)  # what was sent before the change has played out
        samples = []
        for _ in range(SAMPLES):
            samples.append(await sample(live, player))
            await live.wait_for_timeout(250)
        assert await level(env) == "audio_only", "the camera sent sound only all along"
        await screenshot(live, "live-view-sound-only")
        # The media element's clock runs on, and the sound with it, in every second watched.
        for before, after in zip(samples, samples[4:], strict=False):
            assert after["time"] > before["time"] + 0.5, f"the play position runs on: {samples}"
        assert not any(s["paused"] for s in samples), samples
        assert all(s["sound"] > 0.01 for s in samples), f"the sound plays on: {samples}"
        # The picture stays on its last frame, and says why.
        assert samples[-1]["frames"] - samples[0]["frames"] <= 2, f"no new picture while sound only: {samples}"
        assert all(s["sound_only"] == "true" for s in samples[4:]), samples
        note = player.locator(".sound-only")
        assert await note.is_visible() and "Sound only" in await note.inner_text()

        await lab.delete(f"/api/lab/faults/{cap['id']}")
        await wait_for(lambda: at_level(env, "full"), "the camera back to the full picture", timeout=30)
        frames = samples[-1]["frames"]
        await wait_in_page(live, f"{PLAYER}.frames >= {frames + 15}", "the picture back")
        await wait_in_page(live, f"{PLAYER}.soundOnly === 'false'", "the note gone")
        assert not await note.is_visible()
        t0 = await live.evaluate(f"{VIDEO}.currentTime")
        first = int(await player.get_attribute("data-frames"))
        await live.wait_for_timeout(1000)
        assert await live.evaluate(f"{VIDEO}.currentTime") > t0 + 0.5
        assert int(await player.get_attribute("data-frames")) >= first + 7, "the picture moves on"
        assert float(await player.get_attribute("data-sound-level")) > 0.01
        # In sync: the picture shown is the one of the sound heard (same media timeline, the frame
        # presented at the play position).
        drift = await live.evaluate(
            """() => new Promise((resolve) => {
                 const v = document.querySelector('.player video');
                 v.requestVideoFrameCallback((now, m) => resolve(Math.abs(m.mediaTime - v.currentTime)));
               })"""
        )
        assert drift < 0.1, drift
        await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "long"})
