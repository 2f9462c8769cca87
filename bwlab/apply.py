"""Build a scenario's lab through the appliance's public APIs, as people would (S2, S3–S8, S10).

Accounts sign up, the owner creates the organization and invites the members, who accept and
get their roles; each system is installed, connected by the whole S3 flow in its Manager, gets
or imports its key, networks, profiles, camera users, docks and cameras. Applying the same
scenario again to the same appliance finds what exists and adds only what is missing, so
``bwlab up`` can restart on a kept data directory.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from bwlab import schema
from bwlab.client import ApiError, Session
from bwlab.clock import monotonic
from bwlab.scenario import Scenario, ScenarioError, System

log = logging.getLogger(__name__)


@dataclass
class SystemInfo:
    id: str
    name: str
    admin_password: str
    connected: bool
    fingerprint: str | None = None
    link: str | None = None
    protected_link: str | None = None
    link_passphrase: str | None = None
    docks: dict[str, str] = field(default_factory=dict)


@dataclass
class LabInfo:
    url: str
    org_id: str | None
    systems: list[SystemInfo]
    accounts: list[dict]


async def _account_session(url: str, ca: str, email: str, password: str, name: str) -> Session:
    s = Session(url, ca)
    try:
        # the same answer whether or not the account exists (docs/security.md): signing in tells
        await s.post("/api/cloud/accounts", {"email": email, "name": name, "password": password})
        await s.sign_in_cloud(email, password)
    except BaseException:
        await s.close()
        raise
    return s


async def apply_scenario(scenario: Scenario, url: str, ca_pem: str, lab_token: str) -> LabInfo:
    sessions: dict[str, Session] = {}
    try:
        for acc in scenario.accounts:
            sessions[acc.email] = await _account_session(url, ca_pem, acc.email, acc.password, acc.name)
        org_id = await _organization(scenario, sessions)
        infos: dict[str, SystemInfo] = {}
        async with Session(url, ca_pem, token=lab_token) as lab:
            for system in scenario.systems:
                infos[system.name] = await _system(system, scenario, sessions, lab, url, ca_pem, org_id, infos)
            if scenario.site is not None:
                await lab.put("/api/lab/site", site_plan(scenario))
        return LabInfo(
            url=url,
            org_id=org_id,
            systems=list(infos.values()),
            accounts=[
                {"email": a.email, "password": a.password, "name": a.name, "role": _role(scenario, a.email)}
                for a in scenario.accounts
            ],
        )
    finally:
        for s in sessions.values():
            await s.close()


def site_plan(scenario: Scenario) -> dict:
    """The map's site plan (D9, L4): the scenario's ``[site]`` and its access points, if it has any."""
    aps = []
    for ap in getattr(scenario, "access_points", None) or ():
        data = ap if isinstance(ap, dict) else schema.as_json(ap)
        aps.append(
            {
                k: data[k]
                for k in ("name", "ssid", "position", "band", "channel", "tx_power_dbm", "country", "enabled")
                if data.get(k) is not None
            }
        )
    return {"site": schema.as_json(scenario.site), "access_points": aps}


def _role(scenario: Scenario, email: str) -> str | None:
    if scenario.organization is None:
        return None
    if scenario.organization.owner == email:
        return "admin"
    return next((m.role for m in scenario.organization.members if m.email == email), None)


async def _organization(scenario: Scenario, sessions: dict[str, Session]) -> str | None:
    org = scenario.organization
    if org is None:
        return None
    owner = sessions[org.owner]
    me = await owner.get("/api/cloud/me")
    existing = next((o for o in me["organizations"] if o["name"] == org.name and o["owner"]), None)
    org_id = existing["id"] if existing else (await owner.post("/api/cloud/orgs", {"name": org.name}))["id"]
    members = await owner.get(f"/api/cloud/orgs/{org_id}/members")
    present = {m["email"]: m for m in members["members"]}
    for member in org.members:
        if member.email not in present:
            try:
                await owner.post(f"/api/cloud/orgs/{org_id}/invitations", {"email": member.email, "role": member.role})
            except ApiError as exc:
                if exc.code != "already_invited":
                    raise
            invited = sessions[member.email]
            for inv in (await invited.get("/api/cloud/invitations"))["invitations"]:
                if inv["org_id"] == org_id:
                    await invited.post(f"/api/cloud/invitations/{inv['id']}/accept")
            account_id = (await invited.get("/api/cloud/me"))["id"]
        else:
            account_id = present[member.email]["id"]
        await owner.put(f"/api/cloud/orgs/{org_id}/members/{account_id}", {"role": member.role})
    for s in sessions.values():
        try:
            await s.put("/api/cloud/sessions/current", {"org_id": org_id})
        except ApiError:
            pass
    return org_id


async def _system(
    system: System,
    scenario: Scenario,
    sessions: dict[str, Session],
    lab: Session,
    url: str,
    ca_pem: str,
    org_id: str | None,
    done: dict[str, SystemInfo],
) -> SystemInfo:
    listed = (await lab.get("/controller/systems"))["systems"]
    found = next((s for s in listed if s["name"] == system.name), None)
    system_id = (
        found["id"]
        if found
        else (await lab.post("/controller/systems", {"name": system.name, "admin_password": system.admin_password}))[
            "id"
        ]
    )
    api = f"/controller/{system_id}/api"
    async with Session(url, ca_pem) as mgr:
        await mgr.sign_in_manager(system_id, system.admin_password)
        overview = await mgr.get(api)
        await mgr.put(
            api + "/settings",
            {
                **overview["settings"],
                "ntp_server": system.ntp_server,
                "country": system.country,
                "mobile_networks": {"apn": system.apn},
            },
        )
        await mgr.put(api + "/troubleshooting", {"allow": system.allow_troubleshooting})
        if system.connect and overview["connection"].get("state") != "connected":
            assert scenario.organization is not None  # a connecting system needs one (checked when read)
            owner = scenario.account(scenario.organization.owner)
            await connect_system(
                mgr, api, email=owner.email, password=owner.password, org_id=org_id, region=system.region
            )
        info = SystemInfo(
            id=system_id,
            name=system.name,
            admin_password=system.admin_password,
            connected=system.connect,
            link_passphrase=system.link_passphrase,
        )
        await _key(mgr, api, system, done, info)
        await _inventory(mgr, lab, api, system, info)
        if system.content_destination:  # issue 13: the admin imports the destination's connection file
            await import_connection_file(
                mgr, api, Path(system.content_destination), f"systems[{system.name}].content_destination"
            )
        if system.connect:
            await _audit_delivered(mgr, api)
        return info


AUDIT_WAIT = 10.0  # seconds the set-up waits for its Manager actions to reach the audit trail


async def _audit_delivered(mgr: Session, api: str) -> None:
    """Wait (a while) until the set-up's Manager actions are in the organization's audit trail
    (docs/audit.md "The Manager"), so the trail holds the whole set-up once the scenario is applied."""
    deadline = monotonic() + AUDIT_WAIT
    while (await mgr.get(api)).get("audit_outbox") and monotonic() < deadline:
        await asyncio.sleep(0.05)


async def import_connection_file(mgr: Session, api: str, path: Path, where: str) -> dict:
    """POST a content destination's connection file as the system's admin (issue 13)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{where}: cannot read {path}: {exc.strerror}") from None
    return await mgr.request("POST", api + "/content-destination", raw=raw)


async def connect_system(mgr: Session, api: str, *, email: str, password: str, org_id: str | None, region: str) -> None:
    """S3, step by step, as in the Manager: ``mgr`` is signed in to the system's Manager (``api``);
    ``email``/``password`` are the cloud account that connects it into organization ``org_id``."""
    state = (await mgr.get(api))["connection"].get("state", "not_installed")
    if state == "not_installed":
        await mgr.post(api + "/addon/install", {"hosting": "axis-hosted"})
    await mgr.put(api + "/addon/cloud-extensions", {"enabled": True})
    await mgr.put(api + "/addon/eula", {"accepted": True})
    await mgr.post(api + "/addon/sign-in", {"email": email, "password": password})
    await mgr.post(api + "/addon/organization", {"id": org_id})
    await mgr.post(api + "/addon/storage", {"region": region})
    code = (await mgr.get(api + "/addon/authorization-code"))["authorization_code"]
    await mgr.post(api + "/addon/finish", {"authorization_code": code})


async def _key(mgr: Session, api: str, system: System, done: dict[str, SystemInfo], info: SystemInfo) -> None:
    keys = (await mgr.get(api + "/keys"))["keys"]
    active = next((k for k in keys if k["active"]), None)
    if active is None and system.key is not None:
        if system.key.import_from:
            source = done[system.key.import_from]
            if source.protected_link and source.link_passphrase:
                active = await mgr.post(
                    api + "/keys/import",
                    {"name": system.key.name, "link": source.protected_link, "passphrase": source.link_passphrase},
                )
            else:
                active = await mgr.post(api + "/keys/import", {"name": system.key.name, "link": source.link})
        elif system.key.generate:
            active = await mgr.post(api + "/keys", {"name": system.key.name})
    if active is not None:
        info.fingerprint = active["fingerprint"]
        info.link = (await mgr.post(api + f"/keys/{active['id']}/link", {}))["link"]
        if system.link_passphrase:
            info.protected_link = (
                await mgr.post(api + f"/keys/{active['id']}/link", {"passphrase": system.link_passphrase})
            )["link"]


async def _inventory(mgr: Session, lab: Session, api: str, system: System, info: SystemInfo) -> None:
    have = {n["ssid"] for n in (await mgr.get(api + "/wifi-networks"))["wifi_networks"]}
    for net in system.wifi_networks:
        if net.ssid not in have:
            await mgr.post(api + "/wifi-networks", schema.as_json(net))
    profiles = {p["name"] for p in (await mgr.get(api + "/profiles"))["profiles"]}
    for prof in system.profiles:
        body = schema.as_json(prof)
        if prof.name in profiles:
            await mgr.put(api + f"/profiles/{prof.name}", body)
        else:
            await mgr.post(api + "/profiles", body)
    users = {u["name"] for u in (await mgr.get(api + "/camera-users"))["camera_users"]}
    for user in system.camera_users:
        if user.name not in users:
            await mgr.post(api + "/camera-users", schema.as_json(user))
    docks = {d["name"]: d["id"] for d in (await mgr.get(api + "/docks"))["docks"]}
    for dock in system.docks:
        if dock.name not in docks:
            docks[dock.name] = (await mgr.post(api + "/docks", schema.as_json(dock)))["id"]
    info.docks = docks
    cams = {c["serial"] for c in (await mgr.get(api + "/cameras"))["cameras"]}
    for cam in system.cameras:
        if cam.serial.upper() not in cams:
            await mgr.post(
                api + "/cameras",
                {
                    "serial": cam.serial,
                    "model": cam.model,
                    "camera_user": cam.camera_user,
                    "self_assign": cam.self_assign,
                    "imei": cam.imei,
                    "sim_pin": cam.sim_pin,
                },
            )
