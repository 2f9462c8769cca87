"""The camera adapting its live stream to a poor link, measured in the roaming scenario (issue 16 item 7).

    python bench/bench_poor_links.py [--seconds 4] [--json]

It runs ``bwlab up tests/scenarios/t3-5-roaming.toml --no-timeline --media live`` (the appliance,
and the scenario's camera encoding live in its own process, on the scenario's radio model: two
access points of one SSID) on a free loopback port, takes the camera out of its dock near
AP-West, presses record, and watches the stream with the reference viewer (``bwlab.viewer``:
decrypts every chunk and decodes it with PyAV) through these phases:

1. ``good``: the link of AP-West at a few metres;
2. ``cap 300``: an L2 impairment caps the camera's uplink at 300 kbit/s (the picture is reduced);
3. ``cap 120``: capped at 120 kbit/s (sound only);
4. ``cleared``: the cap removed, from the moment the camera is back to the full picture;
5. ``hand-over``: the camera walks to AP-East (the scenario's 2 s hand-over gap: the link is down),
   watched for at least 10 s.

Per phase: the camera's level at the end and the levels it went through (its state's
``stream_quality``), what reached the viewer live (kbit/s of chunk frames, video frames and AAC
frames per second; not the catch-up GOP a joiner gets first) and the glass-to-glass latency of
the frames received live (p50 / p95, ms). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from bench_browser_latency import start_lab, stop_lab

REPO_ROOT = Path(__file__).resolve().parents[1]
SCENARIO = REPO_ROOT / "tests" / "scenarios" / "t3-5-roaming.toml"
SERIAL = "B8A44F050023"
OPERATOR = ("operator@lab.bwlab.test", "operator-pass")


async def camera(lab) -> dict:
    cameras = (await lab.get("/api/lab/cameras"))["cameras"]
    return next((c for c in cameras if c["serial"] == SERIAL), {"state": None})


async def wait_state(lab, test, what: str, timeout: float = 20.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        cam = await camera(lab)
        if cam.get("running") and cam["state"] and test(cam["state"]):
            return cam["state"]
        await asyncio.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def level(state: dict) -> str | None:
    return (state.get("stream_quality") or {}).get("level")


async def phase(lab, viewer, stream_id: str, name: str, seconds: float, changes_before: float) -> dict:
    report = await viewer.watch(stream_id, seconds=seconds)
    state = (await camera(lab))["state"]
    quality = state.get("stream_quality") or {}
    changes = quality.get("changes") or []
    lat = report.as_dict()["latency_ms"]
    return {
        "phase": name,
        "level_at_end": quality.get("level"),
        "levels_seen": [c["to"] for c in changes if c["at"] > changes_before],
        "goodput_kbps": quality.get("goodput_kbps"),
        "received_kbps": round(report.live_bytes * 8 / seconds / 1000, 1),
        "video_fps": round(len(report.latencies_ms) / seconds, 1),
        "aac_frames_per_s": round(report.live_audio_frames / seconds, 1),
        "g2g_p50_ms": None if lat["p50"] is None else round(lat["p50"], 1),
        "g2g_p95_ms": None if lat["p95"] is None else round(lat["p95"], 1),
    }


def changes_so_far(state: dict) -> float:
    """The lab time of the camera's latest level change (the phases list the ones after it)."""
    changes = (state.get("stream_quality") or {}).get("changes") or []
    return changes[-1]["at"] if changes else float("-inf")


async def run(seconds: float) -> dict:
    from bwlab.client import ApiError, Session
    from bwlab.viewer import Viewer

    with tempfile.TemporaryDirectory(prefix="bwlab-bench-") as tmp:
        proc, facts = await start_lab(Path(tmp) / "data", "live", extra=(str(SCENARIO), "--no-timeline"))
        try:
            ca_pem = Path(facts["ca_certificate"]).read_text()
            system = facts["systems"][0]
            async with (
                Session(facts["url"], ca_pem, token=facts["lab_token"]) as lab,
                Viewer(
                    facts["url"],
                    ca_pem,
                    email=OPERATOR[0],
                    password=OPERATOR[1],
                    link=system["protected_link_with_key"],
                    passphrase=system["link_passphrase"],
                ) as viewer,
            ):
                await wait_state(lab, lambda s: s.get("docked") is True, "the camera running, in its dock")
                for _ in range(100):  # until the dock has provisioned it
                    try:
                        await lab.post(f"/api/lab/cameras/{SERIAL}/actions", {"action": "undock"})
                        break
                    except ApiError as exc:
                        if exc.status != 409:
                            raise
                        await asyncio.sleep(0.3)
                await wait_state(lab, lambda s: s.get("hub") == "up", "the camera on the hub")
                await lab.post(f"/api/lab/cameras/{SERIAL}/actions", {"action": "press", "button": "record"})
                state = await wait_state(lab, lambda s: level(s) == "full", "the stream at full quality")
                stream = await viewer.wait_for_stream(10, state["user"]["name"])
                phases = [await phase(lab, viewer, stream["id"], "good", seconds, changes_so_far(state))]

                async def capped(kbps: float, name: str) -> dict:
                    before = changes_so_far((await camera(lab))["state"])
                    fault = await lab.post(
                        "/api/lab/faults", {"kind": "link", "target": SERIAL, "set": {"bandwidth_kbps": kbps}}
                    )
                    result = await phase(lab, viewer, stream["id"], name, seconds, before)
                    await lab.delete(f"/api/lab/faults/{fault['id']}")
                    return result

                phases.append(await capped(300, "cap 300 kbit/s"))
                phases.append(await capped(120, "cap 120 kbit/s"))
                before = changes_so_far((await camera(lab))["state"])
                await wait_state(lab, lambda s: level(s) == "full", "the full picture back", timeout=30)
                result = await phase(lab, viewer, stream["id"], "cleared", seconds, before)
                phases.append(result)
                before = changes_so_far((await camera(lab))["state"])
                await lab.post(f"/api/lab/cameras/{SERIAL}/actions", {"action": "move", "position": [55, 0]})
                phases.append(await phase(lab, viewer, stream["id"], "hand-over", max(seconds, 10.0), before))
                await lab.post(
                    f"/api/lab/cameras/{SERIAL}/actions", {"action": "press", "button": "record", "gesture": "long"}
                )
        finally:
            await stop_lab(proc)
    return {
        "benchmark": "a live stream adapting to poor links, roaming scenario (t3-5-roaming)",
        "seconds_per_phase": seconds,
        "phases": phases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds watched per phase (default 4)")
    parser.add_argument("--json", action="store_true", help="print the JSON on one line")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.seconds))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
