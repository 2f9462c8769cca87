"""The cloud's tables as functions (cloud.sqlite3: accounts, organizations, cloud_systems,
licences, licence_periods, ...): the only SQL on them outside the cloud's request handlers, and
what another part (the device hub, the lab) may read of them. Other parts never run SQL on the
cloud's tables; they call these. (The handlers of ``cloud/api/`` still hold part of their own SQL.)

Licence usage (SPEC S15): the manual counts "the cameras assigned to camera users with a camera
profile enabled for live streaming during a 24-hour period". Each connected system controller sends
the cloud its camera users — with their profile's streaming flag and the cameras assigned to them,
fixed or self-assigned at the dock — whenever they change (``cloud/api/system_sync.py``). Every
such list brings the system's cameras in step: a camera whose (camera user, streaming) differs from
its open ``licence_periods`` row has that row closed and the next one opened; a camera no longer
listed (deleted, or no longer assigned) has its row closed. Periods stay open across restarts: an
assignment holds while the appliance is down, as it does in the Manager. ``appliance.cloud.licences``
(the pure core) turns the periods into daily counts and the seven-day average, and the licences held
into a standing (trial, purchased, expired) and whether one is valid now. The decision and its
consequences are in docs/decisions.md ("Licensing").
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiosqlite import Row

from ..db import Database
from ..ids import new_id
from . import licences

KEEP_PERIODS = (licences.WINDOW_DAYS + 1) * licences.DAY
"""Closed periods older than the averaging window (plus a day) are pruned."""


async def assignment_statements(
    db: Database,
    org_id: str,
    cloud_system_id: str,
    serials_before: set[str],
    assigned: dict[str, tuple[str, bool]],
    now: float,
) -> list[tuple[str, tuple]]:
    """The statements that bring the periods of a system's cameras in step with its new list.
    A camera is (system, serial): another system's camera with the same serial is not touched.

    ``serials_before``: the cameras the system's previous list named; ``assigned``: serial →
    (camera user id, whether that user's profile streams) in the new list."""
    serials = sorted(serials_before | set(assigned))
    open_rows = {}
    if serials:
        marks = ",".join("?" * len(serials))
        for r in await db.fetchall(
            f"SELECT serial, org_id, user_id, streaming FROM licence_periods WHERE ended_at IS NULL "
            f"AND cloud_system_id = ? AND serial IN ({marks})",
            (cloud_system_id, *serials),
        ):
            open_rows[r["serial"]] = (r["org_id"], r["user_id"], bool(r["streaming"]))
    statements: list[tuple[str, tuple]] = [
        ("DELETE FROM licence_periods WHERE ended_at IS NOT NULL AND ended_at < ?", (now - KEEP_PERIODS,))
    ]
    for serial in serials:
        fact = assigned.get(serial)
        if fact is not None and open_rows.get(serial) == (org_id, *fact):
            continue
        statements.append(
            (
                "UPDATE licence_periods SET ended_at = MAX(started_at, ?) WHERE cloud_system_id = ? "
                "AND serial = ? AND ended_at IS NULL",
                (now, cloud_system_id, serial),
            )
        )
        if fact is not None:
            statements.append(
                (
                    "INSERT INTO licence_periods (org_id, cloud_system_id, serial, user_id, streaming, started_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (org_id, cloud_system_id, serial, fact[0], int(fact[1]), now),
                )
            )
    return statements


async def organization_usage(db: Database, org_id: str, now: float) -> licences.Usage:
    """S15 for one organization at ``now``."""
    first = await db.fetchone("SELECT MIN(starts_at) AS t FROM licences WHERE org_id = ?", (org_id,))
    since = first["t"] if first is not None else None
    lo, _ = licences.window(now, since)
    rows = await db.fetchall(
        "SELECT serial, user_id, streaming, started_at, ended_at FROM licence_periods "
        "WHERE org_id = ? AND (ended_at IS NULL OR ended_at >= ?)",
        (org_id, lo * licences.DAY),
    )
    periods = [
        licences.Assignment(
            r["serial"],
            r["user_id"],
            bool(r["streaming"]),
            r["started_at"],
            None if r["ended_at"] is None else max(r["ended_at"], r["started_at"]),
        )
        for r in rows
    ]
    return licences.usage(periods, now, since)


async def organization_licences(db: Database, org_id: str) -> list[licences.Licence]:
    rows = await db.fetchall(
        "SELECT id, kind, starts_at, ends_at, quantity FROM licences WHERE org_id = ? ORDER BY starts_at, id", (org_id,)
    )
    return [licences.Licence(r["id"], r["kind"], r["starts_at"], r["ends_at"], r["quantity"]) for r in rows]


async def organization_standing(db: Database, org_id: str, now: float) -> licences.Standing:
    """S15: trial, purchased or expired, the quantity held now and until when it is covered."""
    return licences.standing(await organization_licences(db, org_id), now)


async def licence_valid(db: Database, org_id: str, now: float) -> bool:
    """S3, S15: the organization holds a licence (trial or purchased) that covers ``now``."""
    return (await organization_standing(db, org_id, now)).valid


async def cloud_systems(db: Database) -> dict[str, Any]:
    """Every connected system: id → its row (id, org_id, device_ca_pem, region)."""
    return {s["id"]: s for s in await db.fetchall("SELECT id, org_id, device_ca_pem, region FROM cloud_systems")}


async def system_region(db: Database, cloud_system_id: str) -> str | None:
    """The storage region a connected system chose (S17, T5); None for an unknown system."""
    row = await db.fetchone("SELECT region FROM cloud_systems WHERE id = ?", (cloud_system_id,))
    return row["region"] if row is not None else None


async def system_org(db: Database, cloud_system_id: str) -> str | None:
    """The organization a connected system belongs to; None for an unknown system."""
    row = await db.fetchone("SELECT org_id FROM cloud_systems WHERE id = ?", (cloud_system_id,))
    return row["org_id"] if row is not None else None


async def system_camera_registered(db: Database, cloud_system_id: str, serial: str) -> bool:
    """The camera is registered in the system (its controller synced it to the cloud, issue 10)."""
    row = await db.fetchone(
        "SELECT 1 FROM system_cameras WHERE cloud_system_id = ? AND serial = ?", (cloud_system_id, serial)
    )
    return row is not None


# ---- accounts and sessions (S2, D2)


async def create_account(db: Database, account_id: str, email: str, name: str, password_hash: str, now: float) -> None:
    """A new account, unless one has the address already (then nothing changes)."""
    await db.execute(
        "INSERT INTO accounts (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(email) DO NOTHING",
        (account_id, email, name, password_hash, now),
    )


async def account_credentials(db: Database, email: str) -> Row | None:
    """id and password_hash of the account with that address."""
    return await db.fetchone("SELECT id, password_hash FROM accounts WHERE email = ?", (email,))


async def add_session(db: Database, token_hash: str, account_id: str, now: float) -> None:
    await db.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
        (token_hash, account_id, now, now),
    )


async def delete_session(db: Database, token_hash: str) -> None:
    await db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def session_account(db: Database, token_hash: str) -> Row | None:
    """last_used_at of the session and id, email, name of its account; None for no such session."""
    return await db.fetchone(
        "SELECT s.last_used_at, a.id, a.email, a.name FROM sessions s JOIN accounts a ON a.id = s.account_id "
        "WHERE s.token_hash = ?",
        (token_hash,),
    )


async def touch_session(db: Database, token_hash: str, now: float) -> None:
    await db.execute("UPDATE sessions SET last_used_at = ? WHERE token_hash = ?", (now, token_hash))


async def system_by_token(db: Database, token_hash: str) -> Row | None:
    """id and org_id of the connected system whose token this is."""
    return await db.fetchone("SELECT id, org_id FROM cloud_systems WHERE token_hash = ?", (token_hash,))


async def session_org(db: Database, token_hash: str) -> str | None:
    """The organization the session works in (None: none chosen, or no such session)."""
    row = await db.fetchone("SELECT org_id FROM sessions WHERE token_hash = ?", (token_hash,))
    return row["org_id"] if row else None


async def set_session_org(db: Database, token_hash: str, org_id: str) -> None:
    await db.execute("UPDATE sessions SET org_id = ? WHERE token_hash = ?", (org_id, token_hash))


async def member_role(db: Database, org_id: str, account_id: str) -> str | None:
    """The account's role in the organization; None when it is not a member."""
    row = await db.fetchone("SELECT role FROM memberships WHERE org_id = ? AND account_id = ?", (org_id, account_id))
    return row["role"] if row else None


async def account_organizations(db: Database, account_id: str) -> list[Row]:
    """id, name, role and owner (whether the account owns it) of each of the account's organizations."""
    return await db.fetchall(
        "SELECT o.id, o.name, m.role, o.owner_account_id = ? AS owner FROM memberships m "
        "JOIN organizations o ON o.id = m.org_id WHERE m.account_id = ? ORDER BY o.name",
        (account_id, account_id),
    )


# ---- organizations, members, invitations (S2, S10, S13, S14)


async def create_organization(db: Database, org_id: str, name: str, owner_account_id: str, now: float) -> None:
    """A new organization; its creator is its owner, with the admin role."""
    await db.transaction(
        [
            (
                "INSERT INTO organizations (id, name, owner_account_id, created_at) VALUES (?, ?, ?, ?)",
                (org_id, name, owner_account_id, now),
            ),
            ("INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, 'admin')", (org_id, owner_account_id)),
        ]
    )


async def organization(db: Database, org_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM organizations WHERE id = ?", (org_id,))


async def members(db: Database, org_id: str) -> list[Row]:
    """id, email, name and role of each member, by e-mail."""
    return await db.fetchall(
        "SELECT a.id, a.email, a.name, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.org_id = ? ORDER BY a.email",
        (org_id,),
    )


async def pending_invitations(db: Database, org_id: str) -> list[Row]:
    return await db.fetchall(
        "SELECT id, email, role, accepted_at FROM invitations WHERE org_id = ? AND accepted_at IS NULL", (org_id,)
    )


async def is_member_email(db: Database, org_id: str, email: str) -> bool:
    return (
        await db.fetchone(
            "SELECT 1 FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.org_id = ? AND a.email = ?",
            (org_id, email),
        )
        is not None
    )


async def is_invited(db: Database, org_id: str, email: str) -> bool:
    return await db.fetchone("SELECT 1 FROM invitations WHERE org_id = ? AND email = ?", (org_id, email)) is not None


async def add_invitation(
    db: Database, inv_id: str, org_id: str, email: str, role: str, invited_by: str, now: float
) -> None:
    await db.execute(
        "INSERT INTO invitations (id, org_id, email, role, invited_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (inv_id, org_id, email, role, invited_by, now),
    )


async def withdraw_invitation(db: Database, inv_id: str, org_id: str) -> bool:
    """Delete a pending invitation; False when there is no such pending invitation."""
    return bool(
        await db.execute(
            "DELETE FROM invitations WHERE id = ? AND org_id = ? AND accepted_at IS NULL", (inv_id, org_id)
        )
    )


async def invitations_for(db: Database, email: str) -> list[Row]:
    """The pending invitations of an address, with the organization's name."""
    return await db.fetchall(
        "SELECT i.id, i.org_id, o.name AS org_name, i.role FROM invitations i JOIN organizations o ON o.id = i.org_id "
        "WHERE i.email = ? AND i.accepted_at IS NULL",
        (email,),
    )


async def invitation(db: Database, inv_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM invitations WHERE id = ?", (inv_id,))


async def accept_invitation(db: Database, inv_id: str, org_id: str, account_id: str, role: str, now: float) -> None:
    await db.transaction(
        [
            ("UPDATE invitations SET accepted_at = ? WHERE id = ?", (now, inv_id)),
            ("INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, ?)", (org_id, account_id, role)),
        ]
    )


async def organization_owner(db: Database, org_id: str) -> str | None:
    row = await db.fetchone("SELECT owner_account_id FROM organizations WHERE id = ?", (org_id,))
    return row["owner_account_id"] if row is not None else None


async def set_role(db: Database, org_id: str, account_id: str, role: str) -> bool:
    """False when the account is not a member."""
    return bool(
        await db.execute(
            "UPDATE memberships SET role = ? WHERE org_id = ? AND account_id = ?", (role, org_id, account_id)
        )
    )


async def remove_member(db: Database, org_id: str, account_id: str) -> bool:
    """False when the account is not a member."""
    return bool(await db.execute("DELETE FROM memberships WHERE org_id = ? AND account_id = ?", (org_id, account_id)))


# ---- connected systems and their authorization codes (S3)

AUTHORIZATION_CODES_KEEP = 86400.0  # lab seconds an expired authorization code is kept


async def ca_registered(db: Database, fingerprint: str) -> bool:
    """Whether a connected system has this device CA (by its key fingerprint)."""
    return await db.fetchone("SELECT 1 FROM cloud_systems WHERE device_ca_fingerprint = ?", (fingerprint,)) is not None


async def open_authorization_codes(db: Database, org_id: str, now: float) -> int:
    """The organization's unused, unexpired authorization codes."""
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM authorization_codes WHERE org_id = ? AND used_at IS NULL AND expires_at > ?",
        (org_id, now),
    )
    return int(row["n"]) if row is not None else 0


async def add_authorization_code(
    db: Database, code_hash: str, org_id: str, account_id: str, fingerprint: str, now: float, expires_at: float
) -> None:
    """Keep a new code (and forget the codes expired for a day)."""
    await db.transaction(
        [
            ("DELETE FROM authorization_codes WHERE expires_at < ?", (now - AUTHORIZATION_CODES_KEEP,)),
            (
                "INSERT INTO authorization_codes (code_hash, org_id, account_id, device_ca_fingerprint, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (code_hash, org_id, account_id, fingerprint, now, expires_at),
            ),
        ]
    )


async def authorization_code(db: Database, code_hash: str) -> Row | None:
    return await db.fetchone("SELECT * FROM authorization_codes WHERE code_hash = ?", (code_hash,))


async def take_authorization_code(db: Database, code_hash: str, now: float) -> bool:
    """Mark the code used, unless it is used or expired already; whether this call took it."""
    return bool(
        await db.execute(
            "UPDATE authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
            (now, code_hash, now),
        )
    )


async def give_back_authorization_code(db: Database, code_hash: str) -> None:
    await db.execute("UPDATE authorization_codes SET used_at = NULL WHERE code_hash = ?", (code_hash,))


async def add_system(
    db: Database,
    *,
    system_id: str,
    org_id: str,
    name: str,
    device_ca_pem: str,
    fingerprint: str,
    token_hash: str,
    region: str,
    code_hash: str,
    now: float,
    trial_seconds: float,
) -> None:
    """Connect a system (S3) in one transaction: the system, the code that connected it, the
    organization's storage region (its first system's), and the trial licence if the organization
    never had one. An ``sqlite3.IntegrityError`` when the device CA was connected meanwhile."""
    statements: list[tuple[str, tuple]] = [
        (
            "INSERT INTO cloud_systems (id, org_id, name, device_ca_pem, device_ca_fingerprint, token_hash, region, "
            "connected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (system_id, org_id, name, device_ca_pem, fingerprint, token_hash, region, now),
        ),
        ("UPDATE authorization_codes SET cloud_system_id = ? WHERE code_hash = ?", (system_id, code_hash)),
        ("UPDATE organizations SET storage_region = COALESCE(storage_region, ?) WHERE id = ?", (region, org_id)),
    ]
    trial = await db.fetchone("SELECT 1 FROM licences WHERE org_id = ? AND kind = 'trial'", (org_id,))
    if trial is None:
        statements.append(
            (
                "INSERT INTO licences (id, org_id, kind, starts_at, ends_at) VALUES (?, ?, 'trial', ?, ?)",
                (new_id("lic"), org_id, now, now + trial_seconds),
            )
        )
    await db.transaction(statements)


async def org_systems(db: Database, org_id: str) -> list[Row]:
    """id, name, region, connected_at, device_ca_pem of the organization's systems, by name."""
    return await db.fetchall(
        "SELECT id, name, region, connected_at, device_ca_pem FROM cloud_systems WHERE org_id = ? ORDER BY name",
        (org_id,),
    )


async def org_licence_rows(db: Database, org_id: str) -> list[Row]:
    return await db.fetchall(
        "SELECT id, kind, starts_at, ends_at, quantity, term_months, renews, ordered_at FROM licences "
        "WHERE org_id = ? ORDER BY starts_at, id",
        (org_id,),
    )


async def add_subscription(
    db: Database,
    licence_id: str,
    org_id: str,
    period: tuple[float, float],
    quantity: int,
    term_months: int,
    ordered_by: str,
    now: float,
    renews: str | None,
) -> None:
    """An order or a renewal (S15)."""
    await db.execute(
        "INSERT INTO licences (id, org_id, kind, starts_at, ends_at, quantity, term_months, ordered_by, ordered_at, "
        "renews) VALUES (?, ?, 'subscription', ?, ?, ?, ?, ?, ?, ?)",
        (licence_id, org_id, period[0], period[1], quantity, term_months, ordered_by, now, renews),
    )


# ---- what the systems send: their cameras and camera users (S8, issue 10)


async def replace_system_lists(
    db: Database,
    org_id: str,
    cloud_system_id: str,
    assigned: dict[str, tuple[str, bool]],
    registered: dict[str, str],
    users: list[dict[str, Any]],
    now: float,
) -> None:
    """A system sent its lists (S8): its cameras (serial → model) and camera users (``id``, ``name``,
    ``streaming``, ``remote_activation``, ``cameras``) replace the previous ones, and the licence
    periods of its cameras follow (``assignment_statements``, S15), in one transaction."""
    rows = await db.fetchall("SELECT cameras FROM system_camera_users WHERE cloud_system_id = ?", (cloud_system_id,))
    serials_before = {c["serial"] for r in rows for c in json.loads(r["cameras"])}
    statements = await assignment_statements(db, org_id, cloud_system_id, serials_before, assigned, now)
    statements.append(("DELETE FROM system_cameras WHERE cloud_system_id = ?", (cloud_system_id,)))
    statements += [
        (
            "INSERT INTO system_cameras (cloud_system_id, serial, model) VALUES (?, ?, ?)",
            (cloud_system_id, serial, model),
        )
        for serial, model in registered.items()
    ]
    statements.append(("DELETE FROM system_camera_users WHERE cloud_system_id = ?", (cloud_system_id,)))
    statements += [
        (
            "INSERT INTO system_camera_users (cloud_system_id, user_id, name, streaming, remote_activation, cameras, "
            "synced_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                cloud_system_id,
                u["id"],
                u["name"],
                int(u["streaming"]),
                u["remote_activation"],
                json.dumps(u["cameras"]),
                now,
            ),
        )
        for u in users
    ]
    await db.transaction(statements)


async def synced_camera_users(db: Database, org_id: str) -> dict[str, dict]:
    """The camera users the organization's systems have sent, by user id."""
    rows = await db.fetchall(
        "SELECT u.* FROM system_camera_users u JOIN cloud_systems s ON s.id = u.cloud_system_id WHERE s.org_id = ?",
        (org_id,),
    )
    return {
        r["user_id"]: {
            "id": r["user_id"],
            "name": r["name"],
            "streaming": bool(r["streaming"]),
            "remote_activation": r["remote_activation"],
            "cameras": json.loads(r["cameras"]),
        }
        for r in rows
    }


# ---- remote starts (D4)


async def add_remote_start(
    db: Database, request_id: str, org_id: str, user_id: str, serial: str, operator: str, now: float
) -> None:
    await db.execute(
        "INSERT INTO remote_starts (id, org_id, user_id, serial, operator, requested_at) VALUES (?, ?, ?, ?, ?, ?)",
        (request_id, org_id, user_id, serial, operator, now),
    )


async def remote_start_answered(db: Database, request_id: str, ok: bool, reason: str | None) -> None:
    await db.execute("UPDATE remote_starts SET ok = ?, reason = ? WHERE id = ?", (int(ok), reason, request_id))


# ---- SOC integrations, their outbox and delivery log (S12)


async def enabled_soc_integrations(db: Database, org_id: str | None = None) -> list[Row]:
    """id, org_id, events, created_at of the enabled integrations (of one organization, or all)."""
    if org_id is None:
        return await db.fetchall("SELECT id, org_id, events, created_at FROM soc_integrations WHERE enabled = 1")
    return await db.fetchall(
        "SELECT id, org_id, events, created_at FROM soc_integrations WHERE org_id = ? AND enabled = 1", (org_id,)
    )


async def enqueue_soc_event(
    db: Database, integration_ids: list[str], event_id: str, event_type: str, body: str, now: float
) -> int:
    """One outbox row per integration (``INSERT OR IGNORE``: idempotent); how many were new."""
    return await db.transaction(
        [
            (
                "INSERT OR IGNORE INTO soc_outbox (integration_id, event_id, event_type, body, created_at, "
                "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                (integration_id, event_id, event_type, body, now, now),
            )
            for integration_id in integration_ids
        ]
    )


async def soc_outbox_counts(db: Database, integration_id: str) -> dict[str, int]:
    """The integration's outbox rows by state."""
    rows = await db.fetchall(
        "SELECT state, COUNT(*) AS n FROM soc_outbox WHERE integration_id = ? GROUP BY state", (integration_id,)
    )
    return {r["state"]: r["n"] for r in rows}


async def soc_integration(db: Database, integration_id: str, org_id: str | None = None) -> Row | None:
    if org_id is None:
        return await db.fetchone("SELECT * FROM soc_integrations WHERE id = ?", (integration_id,))
    return await db.fetchone("SELECT * FROM soc_integrations WHERE id = ? AND org_id = ?", (integration_id, org_id))


async def soc_integrations(db: Database, org_id: str) -> list[Row]:
    return await db.fetchall("SELECT * FROM soc_integrations WHERE org_id = ? ORDER BY created_at, id", (org_id,))


async def soc_integration_count(db: Database, org_id: str) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM soc_integrations WHERE org_id = ?", (org_id,))
    return int(row["n"]) if row is not None else 0


async def add_soc_integration(
    db: Database,
    integration_id: str,
    org_id: str,
    name: str,
    url: str,
    secret: str | None,
    events: list[str],
    enabled: bool,
    created_by: str,
    now: float,
) -> None:
    await db.execute(
        "INSERT INTO soc_integrations (id, org_id, name, url, secret, events, enabled, created_by, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (integration_id, org_id, name, url, secret, json.dumps(events), int(enabled), created_by, now, now),
    )


async def update_soc_integration(
    db: Database,
    integration_id: str,
    name: str,
    url: str,
    secret: str | None,
    events: list[str],
    enabled: int,
    now: float,
    *,
    retry_now: bool,
) -> None:
    """Change an integration; ``retry_now``: what waits in its outbox is tried now, not after the backoff."""
    statements: list[tuple[str, tuple]] = [
        (
            "UPDATE soc_integrations SET name = ?, url = ?, secret = ?, events = ?, enabled = ?, updated_at = ? "
            "WHERE id = ?",
            (name, url, secret, json.dumps(events), enabled, now, integration_id),
        )
    ]
    if retry_now:
        statements.append(
            (
                "UPDATE soc_outbox SET next_attempt_at = ? WHERE integration_id = ? AND state = 'pending'",
                (now, integration_id),
            )
        )
    await db.transaction(statements)


async def delete_soc_integration(db: Database, integration_id: str) -> None:
    await db.execute("DELETE FROM soc_integrations WHERE id = ?", (integration_id,))


async def soc_deliveries(db: Database, integration_id: str, limit: int) -> list[Row]:
    """The integration's last delivery attempts, newest first."""
    return await db.fetchall(
        "SELECT id, event_id, event_type, attempt, at, status, ok, error, duration_ms, next_attempt_at "
        "FROM soc_deliveries WHERE integration_id = ? ORDER BY id DESC LIMIT ?",
        (integration_id, limit),
    )


async def soc_events(db: Database, integration_id: str, limit: int) -> list[Row]:
    """The integration's last outbox rows, newest first."""
    return await db.fetchall(
        "SELECT event_id, event_type, state, attempts, created_at, next_attempt_at, finished_at "
        "FROM soc_outbox WHERE integration_id = ? ORDER BY id DESC LIMIT ?",
        (integration_id, limit),
    )


async def soc_next_attempt(db: Database) -> float | None:
    """When the next pending row of an enabled integration is due; None when none waits."""
    row = await db.fetchone(
        "SELECT MIN(o.next_attempt_at) AS t FROM soc_outbox o JOIN soc_integrations i ON i.id = o.integration_id "
        "WHERE o.state = 'pending' AND i.enabled = 1"
    )
    return None if row is None else row["t"]


async def soc_due(db: Database, now: float, limit: int) -> list[Row]:
    """The pending rows of enabled integrations due now, with the integration's URL and secret."""
    return await db.fetchall(
        "SELECT o.id, o.integration_id, o.event_id, o.event_type, o.body, o.created_at, o.attempts, "
        "i.url, i.secret FROM soc_outbox o JOIN soc_integrations i ON i.id = o.integration_id "
        "WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND i.enabled = 1 "
        "ORDER BY o.next_attempt_at, o.id LIMIT ?",
        (now, limit),
    )


async def record_soc_attempt(
    db: Database,
    row: Row,
    attempt: int,
    now: float,
    status: int | None,
    ok: bool,
    error: str | None,
    duration_ms: float,
    next_at: float | None,
    state: str,
) -> None:
    """One delivery attempt of an outbox row: logged, and the row's state moved on."""
    await db.transaction(
        [
            (
                "INSERT INTO soc_deliveries (outbox_id, integration_id, event_id, event_type, attempt, at, status, ok, "
                "error, duration_ms, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row["id"],
                    row["integration_id"],
                    row["event_id"],
                    row["event_type"],
                    attempt,
                    now,
                    status,
                    int(ok),
                    error,
                    round(duration_ms, 1),
                    next_at,
                ),
            ),
            (
                "UPDATE soc_outbox SET attempts = ?, state = ?, next_attempt_at = COALESCE(?, next_attempt_at), "
                "finished_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END WHERE id = ?",
                (attempt, state, next_at, state, now, row["id"]),
            ),
        ]
    )


async def prune_soc_outbox(db: Database, before: float) -> int:
    """Forget delivered and failed rows (and their log) that finished before ``before``."""
    return await db.execute("DELETE FROM soc_outbox WHERE state != 'pending' AND finished_at < ?", (before,))


async def row_counts(db: Database) -> dict[str, int]:
    """Rows in the accounts, organizations and cloud_systems tables (the appliance's /metrics)."""
    counts = {}
    for table in ("accounts", "organizations", "cloud_systems"):
        row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
        counts[table] = int(row["n"]) if row is not None else 0
    return counts


# ---- the audit trail (issue 16 item 4; appliance/cloud/audit.py, docs/audit.md) ------------------


async def audit_head(db: Database, org_id: str) -> Row | None:
    """The organization's last audit entry: its seq and hash (None: no entry yet)."""
    return await db.fetchone("SELECT seq, hash FROM audit_log WHERE org_id = ? ORDER BY seq DESC LIMIT 1", (org_id,))


async def add_audit_entry(db: Database, entry: dict[str, Any], canonical: str) -> None:
    """Append a sealed entry (``bwlab.wire.audit``): its canonical JSON as hashed, and the columns the
    filters search. Rows are only ever inserted."""
    await db.execute(*_audit_insert(entry, canonical))


def _audit_insert(entry: dict[str, Any], canonical: str) -> tuple[str, tuple]:
    cam, actor = entry["camera"] or {}, entry["actor"]
    return (
        "INSERT INTO audit_log (org_id, seq, at, actor_id, actor_name, actor_email, action, camera_serial, "
        "camera_user_name, stream_id, entry, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry["org_id"],
            entry["seq"],
            entry["at"],
            actor["id"],
            actor["name"],
            actor["email"],
            entry["action"],
            cam.get("serial"),
            cam.get("user_name"),
            entry["stream_id"],
            canonical,
            entry["hash"],
        ),
    )


async def system_audit_row(db: Database, cloud_system_id: str) -> Row | None:
    """id, org_id, name and audit_seq (the last Manager audit event appended, 0: none) of a system."""
    return await db.fetchone("SELECT id, org_id, name, audit_seq FROM cloud_systems WHERE id = ?", (cloud_system_id,))


async def add_system_audit_entries(
    db: Database, cloud_system_id: str, entries: list[tuple[dict[str, Any], str]], last_seq: int
) -> None:
    """Append a system's Manager audit entries (sealed, with their canonical JSON) and move its
    cursor to ``last_seq``, in one transaction: a resent event is never appended twice."""
    await db.transaction(
        [
            *(_audit_insert(entry, canonical) for entry, canonical in entries),
            ("UPDATE cloud_systems SET audit_seq = ? WHERE id = ?", (last_seq, cloud_system_id)),
        ]
    )


def _audit_where(
    org_id: str,
    actor: str | None = None,
    action: str | None = None,
    camera: str | None = None,
    since: float | None = None,
    until: float | None = None,
) -> tuple[str, list[Any]]:
    """Live's filters: who (part of a name or e-mail, or an account id), what, which camera (part of a
    serial or camera user's name), a time range (lab seconds)."""
    where: list[str] = ["org_id = ?"]
    params: list[Any] = [org_id]
    if actor:
        like = _like(actor)
        where.append("(actor_name LIKE ? ESCAPE '\\' OR actor_email LIKE ? ESCAPE '\\' OR actor_id = ?)")
        params += [like, like, actor]
    if action:
        where.append("action = ?")
        params.append(action)
    if camera:
        like = _like(camera)
        where.append("(camera_serial LIKE ? ESCAPE '\\' OR camera_user_name LIKE ? ESCAPE '\\')")
        params += [like, like]
    if since is not None:
        where.append("at >= ?")
        params.append(since)
    if until is not None:
        where.append("at <= ?")
        params.append(until)
    return " AND ".join(where), params


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


async def audit_entries(
    db: Database, org_id: str, *, newest_first: bool = False, limit: int | None = None, **filters: Any
) -> list[dict[str, Any]]:
    """The entries (with their hash) that match ``filters`` (``_audit_where``), in chain order or newest first."""
    where, params = _audit_where(org_id, **filters)
    sql = f"SELECT entry, hash FROM audit_log WHERE {where} ORDER BY seq {'DESC' if newest_first else 'ASC'}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [{**json.loads(r["entry"]), "hash": r["hash"]} for r in await db.fetchall(sql, params)]


async def audit_count(db: Database, org_id: str, **filters: Any) -> int:
    where, params = _audit_where(org_id, **filters)
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM audit_log WHERE {where}", params)
    return row["n"] if row else 0
