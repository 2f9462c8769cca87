"""Talk-back mouth-to-ear latency on loopback (issue 16 item 3): operator's microphone to the
camera's speaker.

    python bench/bench_talkback.py [--seconds 10] [--json]

It runs ``bwlab up`` (the appliance, and the demo's fleet in its own process) on a free port in a
temporary data directory, undocks Anna's camera and presses record through the lab API, then
talks to it twice:

* **browser** — headless Chromium (Debian's /usr/bin/chromium) whose fake microphone plays a
  440 Hz WAV; the demo operator holds "Hold to talk" in Live's stream view for ``--seconds``:
  MediaStreamTrackProcessor → WebCodecs AudioEncoder (Opus, 20 ms) → sealed (e2e.js) → talk
  socket → hub → camera;
* **cli** — ``bwlab talk SERIAL --wav FILE`` (Python, PyAV's libopus), the same length.

Mouth-to-ear per packet is what the camera measures (firmware_stub/speaker.py): the lab time at
which the camera has opened and decoded the packet, ready to play, minus the lab time at which the
packet's first sample was captured — so it includes the 20 ms of an Opus frame, encoding, sealing,
both WebSocket hops and decoding, but no playout (jitter) buffer, which a real speaker adds.
Prints the figures (ms) as JSON, with the dominant frequency the camera heard.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from bench_browser_latency import (
    ANNA,
    CHROMIUM,
    CHROMIUM_ARGS,
    OPERATOR,
    REPO_ROOT,
    _undock_when_running,
    _wait_online,
    start_lab,
    stop_lab,
    summary,
)

TONE_HZ = 440.0


def write_tone(path: Path, seconds: float) -> None:
    t = np.arange(int(48_000 * seconds)) / 48_000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48_000)
        w.writeframes((0.5 * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype("<i2").tobytes())


async def heard(lab) -> dict:
    speaker = (await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "speaker"}))["speaker"]
    result = summary([ms / 1000 for ms in speaker["latencies_ms"]])
    result.update(heard_hz=speaker["heard_hz"], packets=speaker["packets"], refused=speaker["failed"])
    return result


async def wait_talk_over(lab, talks: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        speaker = (await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "speaker"}))["speaker"]
        if speaker["talks"] >= talks and not speaker["active"]:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the camera's talk did not end")


async def browser_talk(facts: dict, lab, wav: Path, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    args = CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--use-fake-ui-for-media-stream",
    ]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=args)
        context = await browser.new_context(ignore_https_errors=True, permissions=["microphone"])
        page = await context.new_page()
        await page.goto(facts["systems"][0]["link_with_key"])
        await page.get_by_label("E-mail").fill(OPERATOR[0])
        await page.get_by_label("Password").fill(OPERATOR[1])
        await page.get_by_role("button", name="Sign in").click()
        await page.locator("#active-streams button.stream").first.click(timeout=15_000)
        button = page.get_by_role("button", name="Hold to talk")
        for _ in range(100):
            if not await button.is_disabled():
                break
            await page.wait_for_timeout(100)
        await button.hover()
        await page.mouse.down()
        await page.locator('.talk-status[data-code="talking"]').wait_for()
        await page.wait_for_timeout(seconds * 1000)
        await page.mouse.up()
        await wait_talk_over(lab, 1)
        await browser.close()
    return await heard(lab)


async def cli_talk(facts: dict, data_dir: Path, lab, wav: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "bwlab",
        "talk",
        ANNA,
        "--wav",
        str(wav),
        "--email",
        OPERATOR[0],
        "--password",
        OPERATOR[1],
        "--link",
        facts["systems"][0]["link_with_key"],
        "--data-dir",
        str(data_dir),
    ]
    proc = await asyncio.create_subprocess_exec(*command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bwlab talk failed: {err.decode()}")
    await wait_talk_over(lab, 2)
    result = await heard(lab)
    result["command"] = " ".join(["bwlab"] + command[3:5] + ["--wav", wav.name, "…"])
    return result


async def run(seconds: float) -> dict:
    from bwlab.client import Session

    with tempfile.TemporaryDirectory(prefix="bwlab-bench-talk-") as tmp:
        data_dir = Path(tmp) / "data"
        wav = Path(tmp) / "tone-440.wav"
        write_tone(wav, seconds)
        proc, facts = await start_lab(data_dir, "live")
        try:
            ca_pem = Path(facts["ca_certificate"]).read_text()
            async with Session(facts["url"], ca_pem, token=facts["lab_token"]) as lab:
                await _undock_when_running(lab, ANNA)
                await _wait_online(lab, ANNA)
                await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record"})
                await asyncio.sleep(2.0)
                browser = await browser_talk(facts, lab, wav, seconds)
                cli = await cli_talk(facts, data_dir, lab, wav)
                await lab.post(
                    f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "long"}
                )
        finally:
            await stop_lab(proc)
    return {
        "benchmark": "talk-back mouth-to-ear latency on loopback",
        "browser": "Debian chromium, headless, fake microphone (440 Hz WAV)",
        "seconds_per_talk": seconds,
        "browser_mouth_to_ear_ms": browser,
        "cli_mouth_to_ear_ms": cli,
        "targets_ms": {"p50": 250},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each talk (default 10)")
    parser.add_argument("--json", action="store_true", help="print only the JSON figures")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.seconds))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
