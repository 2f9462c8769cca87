"""``bwlab soc-receiver``: a SOC's receiving end, verifying and printing notifications (S12)."""

from __future__ import annotations

import argparse
import ssl
import sys
from pathlib import Path

from aiohttp import web

from bwlab import lifecycle
from bwlab.soc_receiver import OffsetClock, SocReceiver, printer
from bwlab.wire.webhooks import secret_key

from .common import CliError, Commands


def register(sub: argparse._SubParsersAction) -> Commands:
    soc = sub.add_parser("soc-receiver", help="receive SOC notifications: verify their signatures and print them")
    soc.add_argument("--port", type=int, required=True, help="port to listen on")
    soc.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    soc.add_argument(
        "--secret", default=None, help="the integration's signing secret, whsec_… (default: accept unsigned)"
    )
    soc.add_argument("--tls-cert", type=Path, default=None, help="serve HTTPS with this certificate (PEM)")
    soc.add_argument("--tls-key", type=Path, default=None, help="the certificate's private key (PEM)")
    soc.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        help="seconds the lab clock runs ahead of real time (bwlab status prints it)",
    )
    soc.add_argument("--json", action="store_true", help="print one JSON object per notification")
    return {"soc-receiver": cmd_soc_receiver}


async def cmd_soc_receiver(args: argparse.Namespace) -> int:
    """S12: a SOC's receiving end; runs until interrupted."""
    if (args.tls_cert is None) != (args.tls_key is None):
        raise CliError("--tls-cert and --tls-key go together")
    if args.secret is not None:
        try:
            secret_key(args.secret)
        except ValueError as exc:
            raise CliError(f"--secret: {exc}") from None
    receiver = SocReceiver(
        args.secret, OffsetClock(args.clock_offset), printer(args.json, lambda line: print(line, flush=True))
    )
    context = None
    if args.tls_cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise CliError(f"--tls-cert/--tls-key: {exc}") from None
    runner = web.AppRunner(receiver.app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.host, args.port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            raise CliError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
        scheme = "https" if context else "http"
        print(
            f"bwlab soc-receiver: listening on {scheme}://{args.host}:{args.port}/ "
            f"({'verifying signatures' if args.secret else 'accepting unsigned notifications'})",
            file=sys.stderr,
            flush=True,
        )
        stop = lifecycle.stop_on_signals()
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0
