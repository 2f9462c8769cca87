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

from typing import Any

from aiosqlite import Row

from ..db import Database
from . import licences

KEEP_PERIODS = (licences.WINDOW_DAYS + 1) * licences.DAY
"""Closed periods older than the averaging window (plus a day) are pruned."""


async def assignment_statements(db: Database, org_id: str, cloud_system_id: str, serials_before: set[str],
                                assigned: dict[str, tuple[str, bool]], now: float) -> list[tuple[str, tuple]]:
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
                f"AND cloud_system_id = ? AND serial IN ({marks})", (cloud_system_id, *serials)):
            open_rows[r["serial"]] = (r["org_id"], r["user_id"], bool(r["streaming"]))
    statements: list[tuple[str, tuple]] = [
        ("DELETE FROM licence_periods WHERE ended_at IS NOT NULL AND ended_at < ?", (now - KEEP_PERIODS,))]
    for serial in serials:
        fact = assigned.get(serial)
        if fact is not None and open_rows.get(serial) == (org_id, *fact):
            continue
        statements.append(("UPDATE licence_periods SET ended_at = MAX(started_at, ?) WHERE cloud_system_id = ? "
                           "AND serial = ? AND ended_at IS NULL", (now, cloud_system_id, serial)))
        if fact is not None:
            statements.append((
                "INSERT INTO licence_periods (org_id, cloud_system_id, serial, user_id, streaming, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (org_id, cloud_system_id, serial, fact[0], int(fact[1]), now)))
    return statements


async def organization_usage(db: Database, org_id: str, now: float) -> licences.Usage:
    """S15 for one organization at ``now``."""
    first = await db.fetchone("SELECT MIN(starts_at) AS t FROM licences WHERE org_id = ?", (org_id,))
    since = first["t"] if first is not None else None
    lo, _ = licences.window(now, since)
    rows = await db.fetchall(
        "SELECT serial, user_id, streaming, started_at, ended_at FROM licence_periods "
        "WHERE org_id = ? AND (ended_at IS NULL OR ended_at >= ?)", (org_id, lo * licences.DAY))
    periods = [licences.Assignment(r["serial"], r["user_id"], bool(r["streaming"]), r["started_at"],
                                   None if r["ended_at"] is None else max(r["ended_at"], r["started_at"]))
               for r in rows]
    return licences.usage(periods, now, since)


async def organization_licences(db: Database, org_id: str) -> list[licences.Licence]:
    rows = await db.fetchall("SELECT id, kind, starts_at, ends_at, quantity FROM licences WHERE org_id = ? "
                             "ORDER BY starts_at, id", (org_id,))
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
    row = await db.fetchone("SELECT 1 FROM system_cameras WHERE cloud_system_id = ? AND serial = ?",
                            (cloud_system_id, serial))
    return row is not None


# ---- accounts and sessions (S2, D2)


async def create_account(db: Database, account_id: str, email: str, name: str, password_hash: str,
                         now: float) -> None:
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
    await db.transaction([
        ("INSERT INTO organizations (id, name, owner_account_id, created_at) VALUES (?, ?, ?, ?)",
         (org_id, name, owner_account_id, now)),
        ("INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, 'admin')", (org_id, owner_account_id)),
    ])


async def organization(db: Database, org_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM organizations WHERE id = ?", (org_id,))


async def members(db: Database, org_id: str) -> list[Row]:
    """id, email, name and role of each member, by e-mail."""
    return await db.fetchall(
        "SELECT a.id, a.email, a.name, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.org_id = ? ORDER BY a.email", (org_id,))


async def pending_invitations(db: Database, org_id: str) -> list[Row]:
    return await db.fetchall(
        "SELECT id, email, role, accepted_at FROM invitations WHERE org_id = ? AND accepted_at IS NULL", (org_id,))


async def is_member_email(db: Database, org_id: str, email: str) -> bool:
    return await db.fetchone(
        "SELECT 1 FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.org_id = ? AND a.email = ?",
        (org_id, email)) is not None


async def is_invited(db: Database, org_id: str, email: str) -> bool:
    return await db.fetchone("SELECT 1 FROM invitations WHERE org_id = ? AND email = ?", (org_id, email)) is not None


async def add_invitation(db: Database, inv_id: str, org_id: str, email: str, role: str, invited_by: str,
                         now: float) -> None:
    await db.execute(
        "INSERT INTO invitations (id, org_id, email, role, invited_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (inv_id, org_id, email, role, invited_by, now))


async def withdraw_invitation(db: Database, inv_id: str, org_id: str) -> bool:
    """Delete a pending invitation; False when there is no such pending invitation."""
    return bool(await db.execute("DELETE FROM invitations WHERE id = ? AND org_id = ? AND accepted_at IS NULL",
                                 (inv_id, org_id)))


async def invitations_for(db: Database, email: str) -> list[Row]:
    """The pending invitations of an address, with the organization's name."""
    return await db.fetchall(
        "SELECT i.id, i.org_id, o.name AS org_name, i.role FROM invitations i JOIN organizations o ON o.id = i.org_id "
        "WHERE i.email = ? AND i.accepted_at IS NULL", (email,))


async def invitation(db: Database, inv_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM invitations WHERE id = ?", (inv_id,))


async def accept_invitation(db: Database, inv_id: str, org_id: str, account_id: str, role: str, now: float) -> None:
    await db.transaction([
        ("UPDATE invitations SET accepted_at = ? WHERE id = ?", (now, inv_id)),
        ("INSERT INTO memberships (org_id, account_id, role) VALUES (?, ?, ?)", (org_id, account_id, role)),
    ])


async def organization_owner(db: Database, org_id: str) -> str | None:
    row = await db.fetchone("SELECT owner_account_id FROM organizations WHERE id = ?", (org_id,))
    return row["owner_account_id"] if row is not None else None


async def set_role(db: Database, org_id: str, account_id: str, role: str) -> bool:
    """False when the account is not a member."""
    return bool(await db.execute("UPDATE memberships SET role = ? WHERE org_id = ? AND account_id = ?",
                                 (role, org_id, account_id)))


async def remove_member(db: Database, org_id: str, account_id: str) -> bool:
    """False when the account is not a member."""
    return bool(await db.execute("DELETE FROM memberships WHERE org_id = ? AND account_id = ?", (org_id, account_id)))
