"""``bwlab view``: the reference viewer (issue 3; SPEC S1, S5, L5)."""

from __future__ import annotations

import argparse
import json

from bwlab.clock import Clock
from bwlab.viewer import ClockMismatch, Viewer
from bwlab.wire import envelope

from .common import CliError, Commands, account_password, add_common, lab_facts


def register(sub: argparse._SubParsersAction) -> Commands:
    view = sub.add_parser("view", help="watch a stream as an operator: decrypt, decode, measure latency")
    add_operator_arguments(view)
    view.add_argument("--stream", default=None, help="stream id (default: the first live stream)")
    view.add_argument("--user", default=None, help="wait for a live stream of this camera user")
    view.add_argument("--seconds", type=float, default=10.0, help="how long to watch live (default 10)")
    view.add_argument("--recording", action="store_true", help="play a recording instead of live")
    view.add_argument("--wait", type=float, default=30.0, help="how long to wait for a live stream")
    add_common(view)
    return {"view": cmd_view}


def add_operator_arguments(p: argparse.ArgumentParser) -> None:
    """The operator's account and link with key (``bwlab view``, ``bwlab talk``)."""
    p.add_argument("--email", required=True, help="an operator account of the organization")
    p.add_argument("--password", default=None, help="its password (default: $BWLAB_PASSWORD)")
    p.add_argument("--link", required=True, help="the link with key (plain or password-protected)")
    p.add_argument("--passphrase", default=None, help="the link's passphrase, if protected")


def operator_viewer(args: argparse.Namespace, url: str, ca_pem: str, clock: Clock | None = None) -> Viewer:
    """The viewer of the operator the arguments name; a CLI error naming the flag when they do not fit."""
    password = account_password(args.password)
    try:
        return Viewer(
            url, ca_pem, email=args.email, password=password, link=args.link, passphrase=args.passphrase, clock=clock
        )
    except envelope.PassphraseRequired:
        raise CliError("--passphrase: this link with key is password-protected") from None
    except envelope.WrongPassphrase:
        raise CliError("--passphrase: the passphrase does not open this link with key") from None
    except envelope.EnvelopeError as exc:
        raise CliError(f"--link: {exc}") from None


async def cmd_view(args: argparse.Namespace) -> int:
    """The reference viewer (issue 3): refuses with the reason on S1 clock differences."""
    url, _token, ca_pem = lab_facts(args, need_token=False)
    viewer = operator_viewer(args, url, ca_pem)
    async with viewer:
        if args.stream:
            stream_id = args.stream
        elif args.recording:
            recorded = await viewer.streams("recorded")
            if not recorded:
                raise CliError("no recordings in the last 24 hours")
            stream_id = recorded[0]["id"]
        else:
            try:
                stream_id = (await viewer.wait_for_stream(args.wait, args.user))["id"]
            except TimeoutError:
                raise CliError(
                    f"no live stream{' of ' + args.user if args.user else ''} within {args.wait:.0f} s"
                ) from None
        try:
            report = await viewer.watch(
                stream_id, seconds=None if args.recording else args.seconds, recording=args.recording
            )
        except ClockMismatch as exc:
            raise CliError(str(exc)) from None
    result = report.as_dict()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result["latency_ms"]
        print(
            f"stream {stream_id} ({report.user_name}): {report.video_frames} video frames, "
            f"{report.audio_frames} audio frames, {report.chunks} chunks"
            + (f"; glass-to-glass p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms" if lat["p50"] is not None else "")
        )
    return 0
