"""Benchmark: the map with N moving cameras — the browser's cost per position update (D9).

    python bench/bench_map.py --cameras 200 --seconds 30

Runs the appliance on 127.0.0.1 with the demo scenario, signs the demo operator in in a real
headless Chromium (Debian's /usr/bin/chromium), opens the map page (/map/) with the link with
key, then plays a synthetic feed: N location tracks (content keys wrapped for the demo system's
key) whose camera users walk the demo's routes, one sealed position per camera per second, for
``--seconds`` seconds of feed with trails on. Each second's N frames go through the map's own
feed path (parse, open with WebCrypto, model, Leaflet markers, clusters and trails); the page
times each position with performance.now(). Prints JSON: per-position ms (open, update, total)
p50/p95/p99, the ms the page needs for a whole second of feed (all N positions and the next
animation frame), and the longest main-thread stall between two animation frames.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.app import serve  # noqa: E402
from appliance.context import ApplianceConfig  # noqa: E402
from bwlab.apply import apply_scenario  # noqa: E402
from bwlab.clock import LabClock  # noqa: E402
from bwlab.scenario import load_scenario  # noqa: E402
from bwlab.wire import chunk as wire_chunk  # noqa: E402
from bwlab.wire import envelope  # noqa: E402
from bwlab.wire import positions as wire_positions  # noqa: E402
from firmware_stub.gps import GpsReceiver  # noqa: E402
from firmware_stub.positions import route_from_spec  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

MAP = "import('/js/map/page.js').then((m) => m.mounted)"  # the map page's handle (no window global)

PLAY_SECOND = """async ([frames]) => {
    const handle = await import('/js/map/page.js').then((m) => m.mounted);
    const timings = [];
    const started = performance.now();
    for (const b64 of frames) {
        const bin = atob(b64);
        const buf = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i += 1) buf[i] = bin.charCodeAt(i);
        const t0 = performance.now();
        const r = await handle.ingestFrame(buf.buffer);
        timings.push([r.openMs, r.updateMs, performance.now() - t0]);
    }
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    return {timings, secondMs: performance.now() - started};
}"""

STALL_PROBE = """() => {
    window.__stalls = [];
    let last = performance.now();
    const tick = (now) => { window.__stalls.push(now - last); last = now; window.__raf = requestAnimationFrame(tick); };
    window.__raf = requestAnimationFrame(tick);
}"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    data = sorted(values)
    return round(data[min(len(data) - 1, max(0, round(p / 100 * (len(data) - 1))))], 3)


def synthetic_feed(public_key, scenario, cameras: int, seconds: int, t0: float):
    """(container messages, per-second lists of frames): N tracks walking the demo's routes."""
    specs = [route_from_spec(r) for r in scenario.routes]
    containers, walkers = [], []
    for i in range(cameras):
        track_id = f"{wire_positions.TRACK_PREFIX}bench{i:04d}"
        key = os.urandom(32)
        containers.append(
            {
                "type": "container",
                "id": track_id,
                "kind": "track",
                "serial": f"BENCH{i:07d}",
                "user_id": f"u{i}",
                "user_name": f"Camera user {i:03d}",
                "started_at": t0,
                "wrapped_key": envelope.wrap_content_key(public_key, track_id, key),
            }
        )
        gps = GpsReceiver(specs[i % len(specs)], started_at=t0, offset=(i * 7.3) % 600)
        walkers.append((track_id, key, os.urandom(32), gps))
    per_second = []
    for s in range(seconds):
        frames = []
        for track_id, key, upload_key, gps in walkers:
            record = gps.read(t0 + s).as_record()
            sealed = envelope.seal_chunk(
                key, track_id, envelope.ChunkKind.POSITION, s, wire_positions.encode_record(record)
            )
            frame = wire_chunk.Chunk(track_id, wire_chunk.KIND_POSITION, s, record["t"], 0.0, False, sealed)
            frames.append(base64.b64encode(frame.encode(upload_key)).decode())
        per_second.append(frames)
    return containers, per_second


async def run(cameras: int, seconds: int, chromium: str) -> dict:
    from playwright.async_api import async_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="bwlab-bench-map-"))
    port = _port()
    clock = LabClock()
    config = ApplianceConfig(
        data_dir=data_dir,
        host="127.0.0.1",
        port=port,
        zeroconf=False,
        ntp_port=None,
        public_url=f"https://localhost:{port}",
    )
    ready, stop = asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(serve(config, clock, ready=ready, stop=stop), name="appliance (bench)")
    await asyncio.wait_for(ready.wait(), 30)
    try:
        ca = (data_dir / "tls" / "lab-ca.pem").read_text()
        token = (data_dir / "lab-token").read_text().strip()
        scenario, _ = load_scenario(None)
        info = await apply_scenario(scenario, config.url, ca, token)
        link = info.systems[0].link
        public_key = envelope.read_link(link).public_key
        containers, per_second = synthetic_feed(public_key, scenario, cameras, seconds, clock.now())
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            ctx = await browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 860})
            page = await ctx.new_page()
            await page.goto(config.url + "/live/")
            await page.evaluate(
                """async ([email, password]) => { await fetch('/api/cloud/sessions', {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify({email, password})}); }""",
                ["operator@demo.bwlab.test", "demo-operator-pass"],
            )
            await page.goto(config.url + "/map/#" + link.split("#", 1)[1])
            if not await asyncio.wait_for(page.evaluate(f"{MAP}.then(Boolean)"), 20):
                raise RuntimeError("the map page did not mount its map")
            await page.evaluate(f"{MAP}.then((map) => map.ready)")
            await page.evaluate(f"{MAP}.then((map) => map.setTrails(true))")
            for c in containers:
                await page.evaluate(f"(c) => {MAP}.then((map) => map.ingestJson(c))", c)
            await page.evaluate(STALL_PROBE)
            timings, seconds_ms = [], []
            for frames in per_second:
                result = await page.evaluate(PLAY_SECOND, [frames])
                timings += result["timings"]
                seconds_ms.append(result["secondMs"])
            shown = await page.evaluate(f"{MAP}.then((map) => map.model.cameras.size)")
            stalls = await page.evaluate("(cancelAnimationFrame(window.__raf), window.__stalls)")
            spans = await page.evaluate(f"{MAP}.then((map) => Object.values(map.trailSpans()))")
            await browser.close()
    finally:
        stop.set()
        await asyncio.wait_for(server, 30)
    open_ms = [t[0] for t in timings]
    update_ms = [t[1] for t in timings]
    total_ms = [t[2] for t in timings]
    return {
        "cameras": cameras,
        "seconds_of_feed": seconds,
        "positions": len(timings),
        "cameras_on_map": shown,
        "per_position_ms": {
            "open": {"p50": pct(open_ms, 50), "p95": pct(open_ms, 95), "p99": pct(open_ms, 99)},
            "update": {
                "p50": pct(update_ms, 50),
                "p95": pct(update_ms, 95),
                "p99": pct(update_ms, 99),
                "mean": round(statistics.fmean(update_ms), 3),
            },
            "total": {
                "p50": pct(total_ms, 50),
                "p95": pct(total_ms, 95),
                "p99": pct(total_ms, 99),
                "mean": round(statistics.fmean(total_ms), 3),
            },
        },
        "one_second_of_feed_ms": {"p50": pct(seconds_ms, 50), "max": round(max(seconds_ms), 1)},
        "longest_frame_gap_ms": round(max(stalls), 1) if stalls else None,
        "longest_trail_s": round(max(spans), 3) if spans else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30, help="seconds of feed (one position per camera per second)")
    parser.add_argument("--chromium", default=os.environ.get("BWLAB_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    if not 1 <= args.cameras <= 2000 or not 1 <= args.seconds <= 600:
        parser.error("--cameras 1..2000, --seconds 1..600")
    print(json.dumps(asyncio.run(run(args.cameras, args.seconds, args.chromium)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
