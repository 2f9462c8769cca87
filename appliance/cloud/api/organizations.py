"""Organizations (S2, S13), their members and roles (S10, S14), and invitations."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from bwlab.schema import FieldError

from ...auth import ACCOUNT_KEY, ROLE_KEY, ROLES
from ...context import APPLIANCE
from ...errors import Conflict, NotFound
from ...http import ACCOUNT, ORG_ADMIN, ORG_MEMBER, access, json_response, read_body
from ...ids import new_id
from .. import audit, store

routes = web.RouteTableDef()


@dataclass(frozen=True)
class NewOrganization:
    name: str = field(metadata={"max_len": 120, "nonempty": True})


@dataclass(frozen=True)
class NewInvitation:
    email: str = field(metadata={"max_len": 254, "nonempty": True})
    role: str = field(default="operator", metadata={"choices": ROLES})

    def __post_init__(self):
        if "@" not in self.email.strip()[1:-1]:
            raise FieldError("email", "the e-mail address of a My Axis account", self.email)


@dataclass(frozen=True)
class RoleChange:
    role: str = field(metadata={"choices": ROLES})


@routes.post("/orgs")
@access(ACCOUNT)
async def create_organization(request: web.Request) -> web.Response:
    """S2: the creator becomes owner and gets the admin role."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewOrganization)
    account = request[ACCOUNT_KEY]
    org_id = new_id("org")
    now = ctx.clock.now()
    await store.create_organization(ctx.db, org_id, body.name, account.account_id, now)
    return json_response({"id": org_id, "name": body.name, "role": "admin", "owner": True}, status=201)


@routes.get("/orgs/{org_id}")
@access(ORG_MEMBER)
async def get_organization(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    org = await store.organization(ctx.db, request.match_info["org_id"])
    if org is None:  # ORG_MEMBER found the membership; the organization went in between
        raise NotFound("no such organization", code="organization_not_found")
    return json_response(
        {
            "id": org["id"],
            "name": org["name"],
            "storage_region": org["storage_region"],
            "owner_account_id": org["owner_account_id"],
            "role": request[ROLE_KEY],
        }
    )


@routes.get("/orgs/{org_id}/members")
@access(ORG_ADMIN)
async def list_members(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    rows = await store.members(ctx.db, request.match_info["org_id"])
    invitations = await store.pending_invitations(ctx.db, request.match_info["org_id"])
    return json_response(
        {
            "members": [dict(r) for r in rows],
            "pending_invitations": [dict(r) for r in invitations],
        }
    )


@routes.post("/orgs/{org_id}/invitations")
@access(ORG_ADMIN)
async def invite(request: web.Request) -> web.Response:
    """S10: an admin invites an account into the organization."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, NewInvitation)
    org_id = request.match_info["org_id"]
    email = body.email.strip().lower()
    if await store.is_member_email(ctx.db, org_id, email):
        raise Conflict(f"{email} is a member already", code="already_member")
    if await store.is_invited(ctx.db, org_id, email):
        raise Conflict(f"{email} is invited already", code="already_invited")
    inv_id = new_id("inv")
    await store.add_invitation(
        ctx.db, inv_id, org_id, email, body.role, request[ACCOUNT_KEY].account_id, ctx.clock.now()
    )
    await audit.record(request, audit.USER_INVITED, details={"email": email, "role": body.role})
    return json_response({"id": inv_id, "email": email, "role": body.role}, status=201)


@routes.delete("/orgs/{org_id}/invitations/{invitation_id}")
@access(ORG_ADMIN)
async def withdraw_invitation(request: web.Request) -> web.Response:
    """S10: an admin withdraws an invitation not accepted yet."""
    ctx = request.config_dict[APPLIANCE]
    if not await store.withdraw_invitation(ctx.db, request.match_info["invitation_id"], request.match_info["org_id"]):
        raise NotFound("no pending invitation with that id in this organization")
    await audit.record(
        request,
        audit.SETTING_CHANGED,
        details={"setting": "invitation_withdrawn", "invitation_id": request.match_info["invitation_id"]},
    )
    return json_response({"withdrawn": request.match_info["invitation_id"]})


@routes.get("/invitations")
@access(ACCOUNT)
async def my_invitations(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    rows = await store.invitations_for(ctx.db, request[ACCOUNT_KEY].email)
    return json_response({"invitations": [dict(r) for r in rows]})


@routes.post("/invitations/{invitation_id}/accept")
@access(ACCOUNT)
async def accept_invitation(request: web.Request) -> web.Response:
    """S10: each invited account accepts."""
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    inv = await store.invitation(ctx.db, request.match_info["invitation_id"])
    if inv is None or inv["email"] != account.email:
        raise NotFound("no such invitation for this account")
    if inv["accepted_at"] is not None:
        raise Conflict("the invitation was accepted already", code="already_accepted")
    await store.accept_invitation(ctx.db, inv["id"], inv["org_id"], account.account_id, inv["role"], ctx.clock.now())
    return json_response({"org_id": inv["org_id"], "role": inv["role"]})


@routes.put("/orgs/{org_id}/members/{account_id}")
@access(ORG_ADMIN)
async def set_role(request: web.Request) -> web.Response:
    """S10, S14: the admin gives each member a role."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, RoleChange)
    org_id, account_id = request.match_info["org_id"], request.match_info["account_id"]
    if account_id == await store.organization_owner(ctx.db, org_id) and body.role != "admin":
        raise Conflict("the owner of the organization keeps the admin role", code="owner_is_admin")
    if not await store.set_role(ctx.db, org_id, account_id, body.role):
        raise NotFound("no such member")
    await audit.record(
        request, audit.SETTING_CHANGED, details={"setting": "member_role", "account_id": account_id, "role": body.role}
    )
    return json_response({"account_id": account_id, "role": body.role})


@routes.delete("/orgs/{org_id}/members/{account_id}")
@access(ORG_ADMIN)
async def remove_member(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    org_id, account_id = request.match_info["org_id"], request.match_info["account_id"]
    if account_id == await store.organization_owner(ctx.db, org_id):
        raise Conflict("the owner cannot be removed", code="owner_is_admin")
    if not await store.remove_member(ctx.db, org_id, account_id):
        raise NotFound("no such member")
    await audit.record(request, audit.SETTING_CHANGED, details={"setting": "member_removed", "account_id": account_id})
    return json_response({"removed": account_id})
