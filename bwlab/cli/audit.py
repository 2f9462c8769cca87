"""``bwlab audit export`` and ``bwlab audit verify`` (issue 16 item 4; docs/audit.md).

    bwlab audit export --email E [--password P] [--org NAME] [--format jsonl|csv] [-o FILE]
        an organization's whole audit log, as its admin downloads it from Live's Settings
    bwlab audit verify FILE [--head HASH] [--partial] [--json]
        check an export's hash chain: exit 0 only when it is intact, 1 naming the first bad entry

The log is the organization's, so exporting it needs an admin account of that organization (the
lab token opens no organization's data). Verifying needs nothing but the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import aiohttp

from bwlab.client import ApiError, Session
from bwlab.wire import audit as wire

from .common import CliError, Commands, account_password, add_common, lab_facts, sign_in_organization


def register(sub: argparse._SubParsersAction) -> Commands:
    audit = sub.add_parser("audit", help="an organization's audit trail: export it, verify an export's hash chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser("export", help="the organization's whole audit log (an admin account)")
    export.add_argument("--email", required=True, help="an admin account of the organization")
    export.add_argument("--password", default=None, help="its password (default: $BWLAB_PASSWORD)")
    export.add_argument("--org", default=None, help="the organization's name or id (default: the account's only one)")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="JSON Lines (default) or CSV")
    export.add_argument("-o", "--output", type=Path, default=None, help="write to FILE (default: standard output)")
    add_common(export)
    verify = audit_sub.add_parser("verify", help="check an export (JSON Lines or CSV): exit 0 only for an intact chain")
    verify.add_argument("file", type=Path)
    verify.add_argument(
        "--head", default=None, help="the hash the chain must end at (Live shows it; the export's X-Audit-Head)"
    )
    verify.add_argument(
        "--partial", action="store_true", help="a run of consecutive entries that need not start at the first"
    )
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    return {"audit": cmd_audit}


async def cmd_audit(args: argparse.Namespace) -> int:
    if args.audit_command == "verify":
        return verify_file(args.file, head=args.head, partial=args.partial, as_json=args.json)
    url, _token, ca_pem = lab_facts(args, need_token=False)
    text, head = await export(url, ca_pem, args.email, account_password(args.password), args.org, args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"{args.output}: cannot write the export: {exc.strerror}") from None
        print(f"{args.output}: {text.count(chr(10)) - (args.format == 'csv')} entries, head {head}", file=sys.stderr)
    return 0


async def export(url: str, ca_pem: str, email: str, password: str, org: str | None, fmt: str) -> tuple[str, str]:
    """(the export's text, the chain's head hash) of the organization ``org`` (name or id)."""
    async with Session(url, ca_pem) as s:
        try:
            chosen = await sign_in_organization(s, email, password, org)
            path = f"/api/cloud/orgs/{chosen['id']}/audit/export?format={fmt}"
            async with s.http.get(s.base_url + path, headers=s.headers(), ssl=s.ssl) as response:
                if response.status != 200:
                    error = (await response.json(content_type=None) or {}).get("error", {})
                    raise CliError(f"{error.get('message', response.reason)} ({error.get('code', 'http')})")
                return await response.text(encoding="utf-8"), response.headers.get("X-Audit-Head", "")
        except ApiError as exc:
            raise CliError(f"{exc.message} ({exc.code})") from None
        except (OSError, aiohttp.ClientError) as exc:
            raise CliError(f"cannot reach the lab at {url}: {exc}") from None


def verify_file(path: Path, *, head: str | None = None, partial: bool = False, as_json: bool = False) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read it as UTF-8 text: {exc}") from None
    try:
        verdict = wire.verify(wire.read_export(text), head=head, partial=partial)
    except wire.AuditFormatError as exc:
        verdict = wire.Verdict(False, 0, problem=str(exc))
    if as_json:
        print(
            json.dumps(
                {
                    "ok": verdict.ok,
                    "entries": verdict.entries,
                    "head": verdict.head,
                    "line": verdict.line,
                    "seq": verdict.seq,
                    "problem": verdict.problem,
                }
            )
        )
    elif verdict.ok:
        print(f"{path}: {verdict.message()}")
    else:
        print(f"{path}: NOT intact: {verdict.message()}", file=sys.stderr)
    return 0 if verdict.ok else 1
