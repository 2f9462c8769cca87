"""``bwlab licence``: an organization's licences; an admin orders or renews them (S15)."""

from __future__ import annotations

import argparse
import json

from bwlab.client import ApiError, Session
from bwlab.clock import isoformat

from .common import CliError, Commands, account_password, add_common, lab_facts, sign_in_organization


def register(sub: argparse._SubParsersAction) -> Commands:
    licence = sub.add_parser("licence", help="an organization's licences: show, order, renew (S15; admins order)")
    licence.add_argument("action", choices=("show", "order", "renew"))
    licence.add_argument(
        "what",
        nargs="?",
        default=None,
        help="order: the quantity of licences; renew: the licence id (default: the latest subscription)",
    )
    licence.add_argument("--term", type=int, default=12, help="term in months: 1, 12, 24 or 36 (default 12)")
    licence.add_argument(
        "--quantity", type=int, default=None, help="renew: another quantity than the renewed licence's"
    )
    licence.add_argument("--email", required=True, help="an account of the organization (an admin to order or renew)")
    licence.add_argument("--password", default=None, help="its password (default: $BWLAB_PASSWORD)")
    licence.add_argument("--org", default=None, help="the organization's name or id (default: the account's only one)")
    add_common(licence)
    return {"licence": cmd_licence}


async def cmd_licence(args: argparse.Namespace) -> int:
    """S15: where the organization's licence stands; an admin orders or renews licences."""
    url, _token, ca_pem = lab_facts(args, need_token=False)
    password = account_password(args.password)
    async with Session(url, ca_pem) as s:
        try:
            chosen = await sign_in_organization(s, args.email, password, args.org)
            base = f"/api/cloud/orgs/{chosen['id']}"
            if args.action == "order":
                if args.what is None or not args.what.isdigit():
                    raise CliError("order QUANTITY: expected a whole number of licences, e.g. `bwlab licence order 5`")
                await s.post(base + "/licences", {"quantity": int(args.what), "term_months": args.term})
            elif args.action == "renew":
                held = (await s.get(base + "/licence"))["licences"]
                subs = [lic for lic in held if lic["kind"] == "subscription"]
                renewed = args.what or (subs[-1]["id"] if subs else None)
                if renewed is None:
                    raise CliError("renew: the organization has no subscription to renew; order licences first")
                body = {"term_months": args.term, **({"quantity": args.quantity} if args.quantity else {})}
                await s.post(f"{base}/licences/{renewed}/renewal", body)
            result = await s.get(base + "/licence")
        except ApiError as exc:
            raise CliError(f"{exc.message} ({exc.code})") from None
        except OSError as exc:
            raise CliError(f"cannot reach the lab at {url}: {exc}") from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    state = {"trial": "30-day trial", "purchased": "purchased", "expired": "EXPIRED", "none": "no licence"}[
        result["state"]
    ]
    until = f" until {isoformat(result['covered_until'])}" if result["covered_until"] else ""
    print(
        f"{chosen['name']}: {state}{until}; {result['quantity']} licences held, {result['needed']} needed "
        f"(average {result['average']} over {result['window_days']} days)"
    )
    for lic in result["licences"]:
        qty = "trial" if lic["kind"] == "trial" else f"{lic['quantity']} × {lic['term_months']} months"
        print(f"  {lic['id']}  {qty:<18} {isoformat(lic['starts_at'])} → {isoformat(lic['ends_at'])}")
    return 0
