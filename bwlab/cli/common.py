"""What every ``bwlab`` command shares: the user error, the data directory, the running lab's facts."""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bwlab.client import ApiError, Session
from bwlab.discovery import discover_url
from bwlab.errors import BwlabError
from bwlab.realnet import commands as realnet

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]
"""A command: the parsed arguments in, the exit status out."""

Commands = dict[str, Command]
T = TypeVar("T")


class CliError(BwlabError):
    """A user error: printed as ``bwlab: <message>`` with exit status 2."""

    code = "cli_error"


def default_data_dir() -> Path:
    env = os.environ.get("BWLAB_DATA_DIR")
    if env:
        return Path(env)
    return Path.home() / ".local" / "share" / "bwlab"


def add_common(p: argparse.ArgumentParser) -> None:
    """The flags of every command that talks to the running lab."""
    p.add_argument("--data-dir", type=Path, default=None, help="the lab's data directory")
    p.add_argument("--url", default=None, help="the appliance's URL (default: from the data directory's lab.json)")
    p.add_argument("--token", default=None, help="the lab token (default: from the data directory)")
    p.add_argument("--json", action="store_true", help="print JSON")


def add_camera_media_arguments(p: argparse.ArgumentParser) -> None:
    """How the cameras make their media (``bwlab up`` passes them on to the ``bwlab fleet`` it starts)."""
    p.add_argument(
        "--media",
        choices=("live", "shared"),
        default="live",
        help="cameras encode live (default) or replay a shared pre-encoded source",
    )
    p.add_argument(
        "--fragment-frames",
        type=int,
        choices=(1, 2, 3),
        default=2,
        help="video frames per media fragment at 15 fps: 1 = 67 ms, 2 = 133 ms (default), 3 = 200 ms",
    )
    p.add_argument(
        "--audio-chunk-frames",
        type=int,
        default=0,
        metavar="N",
        help="audio chunks: send the sound in audio-only fragments of this many AAC frames (21 ms each) as soon as it is encoded, not only in the video's (default 0: no)",
    )


def account_password(given: str | None) -> str:
    """A cloud account's password: ``--password``, else ``$BWLAB_PASSWORD``."""
    password = given or os.environ.get("BWLAB_PASSWORD")
    if not password:
        raise CliError("--password (or $BWLAB_PASSWORD): the account's password is required")
    return password


def choose_organization(organizations: list[dict], wanted: str | None) -> dict:
    """The organization ``--org`` names (its name or id) among the account's; with no ``--org``,
    the account's only one."""
    chosen = [o for o in organizations if wanted in (None, o["id"], o["name"])]
    if len(chosen) != 1:
        names = ", ".join(o["name"] for o in organizations) or "none"
        raise CliError(
            f"--org: {'name one of the' if chosen else 'no such organization among the'} "
            f"account's organizations ({names})"
        )
    return chosen[0]


async def sign_in_organization(s: Session, email: str, password: str, wanted: str | None) -> dict:
    """Sign ``s`` in to the cloud as the account; the organization ``--org`` names (``choose_organization``)."""
    await s.sign_in_cloud(email, password)
    return choose_organization((await s.get("/api/cloud/me"))["organizations"], wanted)


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m:
        raise CliError(f"duration {text!r}: expected a number with an optional unit s, m, h or d (e.g. 6d)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def lab_facts(args: argparse.Namespace, need_token: bool = True) -> tuple[str, Any, str]:
    """(url, lab token, CA PEM) from the flags or the data directory's lab.json; the token is None when
    ``need_token`` is false and none is known."""
    data_dir = args.data_dir or default_data_dir()
    facts_path = data_dir / "lab.json"
    facts = {}
    if facts_path.exists():
        try:
            facts = json.loads(facts_path.read_text())
        except ValueError:
            raise CliError(f"{facts_path}: not valid JSON; remove it and run `bwlab up` again") from None
    url = args.url or facts.get("url")
    token = args.token or os.environ.get("BWLAB_TOKEN") or facts.get("lab_token")
    ca_path = facts.get("ca_path") or str(data_dir / "tls" / "lab-ca.pem")
    if url is None:
        url = discover_url(timeout=2.0)
    if url is None:
        raise CliError(
            f"no running lab found: {facts_path} does not exist and none answered on mDNS; "
            "start one with `bwlab up` or give --url and --token"
        )
    if token is None and need_token:
        raise CliError("no lab token: give --token, set BWLAB_TOKEN, or use the --data-dir of the running lab")
    try:
        ca_pem = Path(ca_path).read_text()
    except OSError:
        raise CliError(f"{ca_path}: cannot read the lab CA certificate; download it from {url}/lab-ca.pem") from None
    return url, token, ca_pem


async def lab_call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """One lab API call with the running lab's facts; its errors as ``CliError``."""
    url, token, ca_pem = lab_facts(args)
    async with Session(url, ca_pem, token=token) as s:
        try:
            return await s.request(method, path, body)
        except ApiError as exc:
            raise CliError(f"{exc.message} ({exc.code})") from None
        except OSError as exc:
            raise CliError(f"cannot reach the lab at {url}: {exc}") from None


def run_net(fn: Callable[..., T], *a: Any) -> T:
    """A real lab network command (bwlab/realnet), its errors as ``CliError``."""
    try:
        return fn(*a)
    except realnet.CommandError as exc:
        raise CliError(str(exc)) from None
