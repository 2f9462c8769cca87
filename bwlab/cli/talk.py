"""``bwlab talk SERIAL --wav FILE`` (issue 16 item 3): talk-back from the command line.

    bwlab talk SERIAL --wav FILE --email E --link L [--password P] [--passphrase P] [--heard OUT.wav]

Signs in as an operator, finds the camera's live stream, opens the link with key (the system
private key: only its holders can derive a talk key), takes the floor, sends the file as sealed
20 ms Opus packets at speaking pace and releases. ``--heard`` then asks the lab what the camera
heard and writes it as a WAV (with its dominant frequency and mouth-to-ear latency).
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import numpy as np

from bwlab.client import ApiError, Session
from bwlab.clock import LabClock, system_time
from bwlab.talker import BadAudio, TalkError, encode_opus, load_wav, talk
from bwlab.wire import envelope

from .common import CliError, Commands, add_common, lab_facts
from .view import add_operator_arguments, operator_viewer


def register(sub: argparse._SubParsersAction) -> Commands:
    p = sub.add_parser("talk", help="talk to a camera user through their streaming camera (talk-back)")
    p.add_argument("serial", help="the camera (it must be streaming live)")
    p.add_argument("--wav", type=Path, required=True, help="what to say: a WAV (or any audio file PyAV reads)")
    add_operator_arguments(p)  # the link with key carries the system private key: it derives talk keys
    p.add_argument("--heard", type=Path, default=None, help="write what the camera heard to this WAV")
    add_common(p)
    return {"talk": cmd_talk}


async def cmd_talk(args: argparse.Namespace) -> int:
    url, token, ca_pem = lab_facts(args, need_token=False)
    if args.heard is not None and not token:
        raise CliError("--heard needs the lab token (--token, $BWLAB_TOKEN or the lab's --data-dir)")
    samples = _samples(args.wav)
    viewer = operator_viewer(args, url, ca_pem, await _lab_clock(url, token, ca_pem))
    serial = args.serial.upper()
    async with viewer:
        stream = next((s for s in await viewer.streams("live") if s.get("serial") == serial), None)
        if stream is None:
            raise CliError(f"camera {serial} is not streaming live: talk-back goes through its live stream")
        try:
            report = await talk(
                viewer.session, viewer.org_id or "", stream, viewer.key, encode_opus(samples), viewer.clock
            )
        except TalkError as exc:
            raise CliError(f"{exc} ({exc.code})") from None
        except envelope.EnvelopeError as exc:
            raise CliError(f"--link: {exc}") from None
    heard = await _heard(url, token, ca_pem, serial, args.heard) if args.heard is not None else None
    if args.json:
        print(
            json.dumps(
                {
                    "serial": serial,
                    "stream_id": report.stream_id,
                    "packets": report.packets,
                    "seconds": report.seconds,
                    "heard": heard,
                },
                indent=2,
            )
        )
    else:
        print(f"{serial}: talked {report.seconds:.2f} s ({report.packets} Opus packets, sealed end to end)")
        if heard is not None:
            hz = f"{heard['heard_hz']} Hz" if heard.get("heard_hz") is not None else "no tone"
            print(
                f"{serial} heard {heard['heard_seconds']} s ({hz}, mouth-to-ear p50 {heard['latency_ms_p50']} ms)"
                f" -> {args.heard}"
            )
    return 0


def _samples(path: Path) -> np.ndarray:
    try:
        return load_wav(path)
    except BadAudio as exc:
        raise CliError(f"--wav {exc}") from None


async def _lab_clock(url: str, token: str | None, ca_pem: str) -> LabClock:
    """Lab time (it may have travelled): the camera measures mouth-to-ear latency in it."""
    if not token:
        return LabClock()
    async with Session(url, ca_pem, token=token) as s:
        try:
            lab_time = (await s.get("/api/lab/time"))["lab_time"]
        except (ApiError, OSError):
            return LabClock()
    return LabClock(offset=max(0.0, lab_time - system_time()))


async def _heard(url: str, token: str | None, ca_pem: str, serial: str, out: Path) -> dict:
    async with Session(url, ca_pem, token=token) as s:
        try:
            result = await s.post(f"/api/lab/cameras/{serial}/actions", {"action": "speaker", "wav": True})
        except ApiError as exc:
            raise CliError(f"--heard: {exc.message} ({exc.code})") from None
    speaker = dict(result.get("speaker") or {})
    wav = base64.b64decode(speaker.pop("wav", ""))
    try:
        out.write_bytes(wav)
    except OSError as exc:
        raise CliError(f"--heard {out}: cannot write ({exc.strerror})") from None
    speaker.pop("latencies_ms", None)
    return speaker
