"""Glass-to-glass latency of a live stream measured in a real browser on loopback (SPEC L5, D6).

    python bench/bench_browser_latency.py [--seconds 15] [--media live|shared] [--fragment-frames 1|2|3] [--audio-chunk-frames N] [--json]

It runs ``bwlab up`` (the appliance, and the demo's fleet in its own process) on a free port
in a temporary data directory, opens the web client in headless Chromium (Debian's
/usr/bin/chromium through Playwright), signs in as the demo operator with the link with key,
undocks Anna's camera and presses its record button through the lab API, opens her live
view and reads the per-frame latencies that the page itself measures
(webui/js/live/player.js): the lab time at which a frame is displayed minus the frame's
capture time on the camera clock. First with sound (Media Source Extensions), then in the
low-latency view (WebCodecs video and AAC through an AudioWorklet, the frames presented against
the sound's clock), each after a warm-up. Prints the figures (ms) as JSON;
``chunk_delivery_p50`` is how long after the end of a fragment's media the browser held it
(camera muxing and upload, the hub's durable write, the viewer WebSocket). For the low-latency
view, ``av_offset`` is, per shown frame, the frame's media time minus that of the sound heard
when it is shown (``abs_p95`` the 95th percentile of its magnitude), ``audio_delay`` the
playout delay of the sound (capture to playout) at the end, ``audio_underrun`` the silence
played for want of audio, and ``sound_frequency`` what the worklet measured of the camera's
1 kHz tone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
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
ANNA = "B8A44F000101"
OPERATOR = ("operator@demo.bwlab.test", "demo-operator-pass")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(values_s: list[float]) -> dict:
    ms = sorted(1000 * v for v in values_s)
    if not ms:
        return {"samples": 0}

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, max(0, round(p / 100 * (len(ms) - 1))))], 1)

    return {
        "samples": len(ms),
        "p50": pct(50),
        "p95": pct(95),
        "min": round(ms[0], 1),
        "max": round(ms[-1], 1),
        "mean": round(statistics.fmean(ms), 1),
    }


async def start_lab(
    data_dir: Path, media: str, fragment_frames: int = 2, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, dict]:
    """``bwlab up`` (with ``extra`` arguments, e.g. a scenario) on a free port; its facts once ready."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bwlab",
            "up",
            *extra,
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--data-dir",
            str(data_dir),
            "--no-zeroconf",
            "--media",
            media,
            "--fragment-frames",
            str(fragment_frames),
            "--json",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []

    def read_facts() -> dict:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("}"):
                return json.loads("".join(lines))
        raise RuntimeError("bwlab up exited before it was ready")

    facts = await asyncio.wait_for(asyncio.to_thread(read_facts), 90)
    return proc, facts


async def stop_lab(proc: subprocess.Popen) -> None:
    """Stop ``bwlab up`` as Ctrl-C would (its fleet with it)."""
    proc.send_signal(signal.SIGINT)
    try:
        await asyncio.to_thread(proc.wait, 30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def measure(page, *, seconds: float, warmup: float, sound: bool = False) -> dict:
    """Sample the open player's latencies for ``seconds`` after ``warmup`` seconds (and with
    ``sound``, the low-latency view's A/V offsets and audio figures)."""
    await page.wait_for_function(
        "() => { const p = document.querySelector('.player'); return p && p.player && p.player.frames > 5; }",
        timeout=20_000,
    )
    await page.wait_for_timeout(warmup * 1000)
    start = await page.evaluate("document.querySelector('.player').player.latencies.length")
    delivered = await page.evaluate("document.querySelector('.player').player.deliveries.length")
    frames0 = await page.evaluate("document.querySelector('.player').player.frames")
    offsets0 = await page.evaluate("document.querySelector('.player').player.avOffsets.length")
    underrun = await page.locator(".player").get_attribute("data-audio-underrun")
    underrun0 = None if underrun is None else float(underrun)
    await page.wait_for_timeout(seconds * 1000)
    latencies = await page.evaluate(f"document.querySelector('.player').player.latencies.slice({start})")
    frames = await page.evaluate("document.querySelector('.player').player.frames") - frames0
    result = summary(latencies)
    deliveries = await page.evaluate(f"document.querySelector('.player').player.deliveries.slice({delivered})")
    result["chunk_delivery_p50"] = summary(deliveries).get("p50")
    result["frames_per_second"] = round(frames / seconds, 1)
    if sound:
        offsets = await page.evaluate(f"document.querySelector('.player').player.avOffsets.slice({offsets0})")
        result["av_offset"] = summary(offsets)
        result["av_offset"]["abs_p95"] = summary([abs(v) for v in offsets]).get("p95")
        player = page.locator(".player")
        for name in ("audio-delay", "audio-underrun", "sound-frequency"):
            value = await player.get_attribute(f"data-{name}")
            result[name.replace("-", "_")] = None if value is None else float(value)
        result["audio_underrun"] = (
            None if underrun0 is None or result["audio_underrun"] is None else result["audio_underrun"] - underrun0
        )
        result["sound_level"] = float(await player.get_attribute("data-sound-level") or 0)
    return result


async def run(seconds: float, media: str, fragment_frames: int = 2, audio_chunk_frames: int = 0) -> dict:
    from playwright.async_api import async_playwright

    from bwlab.client import Session

    with tempfile.TemporaryDirectory(prefix="bwlab-bench-") as tmp:
        proc, facts = await start_lab(
            Path(tmp) / "data", media, fragment_frames, ("--audio-chunk-frames", str(audio_chunk_frames))
        )
        try:
            ca_pem = Path(facts["ca_certificate"]).read_text()
            system = facts["systems"][0]
            async with Session(facts["url"], ca_pem, token=facts["lab_token"]) as lab, async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = await browser.new_context(ignore_https_errors=True)
                page = await context.new_page()
                await page.goto(system["link_with_key"])
                await page.get_by_label("E-mail").fill(OPERATOR[0])
                await page.get_by_label("Password").fill(OPERATOR[1])
                await page.get_by_role("button", name="Sign in").click()
                await page.get_by_role("heading", name="Active streams").wait_for()
                await _undock_when_running(lab, ANNA)
                await _wait_online(lab, ANNA)
                await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record"})
                await page.locator("#active-streams button.stream").first.click(timeout=15_000)
                with_sound = await measure(page, seconds=seconds, warmup=4)
                with_sound["sound_level"] = float(await page.locator(".player").get_attribute("data-sound-level") or 0)
                await page.get_by_role("button", name="Low latency").click()
                low_latency = await measure(page, seconds=seconds, warmup=4, sound=True)
                await lab.post(
                    f"/api/lab/cameras/{ANNA}/actions", {"action": "press", "button": "record", "gesture": "long"}
                )
                await browser.close()
        finally:
            await stop_lab(proc)
    return {
        "benchmark": "browser glass-to-glass latency on loopback",
        "browser": "Debian chromium, headless",
        "media": media,
        "fragment_frames": fragment_frames,
        "audio_chunk_frames": audio_chunk_frames,
        "seconds_per_view": seconds,
        "with_sound_mse_ms": with_sound,
        "low_latency_webcodecs_ms": low_latency,
        "targets_ms": {"with_sound_p50": 500, "low_latency_p50": 150, "low_latency_av_offset_abs_p95": 40},
    }


async def _undock_when_running(lab, serial: str, timeout: float = 60.0) -> None:
    """Undock the camera as soon as the fleet process runs it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        cameras = (await lab.get("/api/lab/cameras"))["cameras"]
        if any(c["serial"] == serial and c["running"] and c["state"] and c["state"]["docked"] for c in cameras):
            await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "undock"})
            return
        if loop.time() > deadline:
            raise RuntimeError(f"no fleet runs camera {serial}")
        await asyncio.sleep(0.2)


async def _wait_online(lab, serial: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        status = await lab.get("/api/lab/status")
        if any(c["serial"] == serial and c["online"] for s in status["systems"] for c in s["cameras"]):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"camera {serial} did not come online")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds sampled per view (default 15)")
    parser.add_argument(
        "--media",
        choices=("live", "shared"),
        default="live",
        help="the cameras' media source (bwlab up --media; default live)",
    )
    parser.add_argument(
        "--fragment-frames",
        type=int,
        choices=(1, 2, 3),
        default=2,
        help="video frames per fragment (bwlab up --fragment-frames; default 2)",
    )
    parser.add_argument(
        "--audio-chunk-frames",
        type=int,
        default=0,
        metavar="N",
        help="AAC frames per audio-only fragment sent ahead of the video (bwlab up; default 0: none)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON figures")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.seconds, args.media, args.fragment_frames, args.audio_chunk_frames))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
