"""The system controllers' tables (``ctl_*`` in controller.sqlite3): the only SQL on them.

The Manager API (``appliance/controller/api/``) and the other parts of the appliance (the lab's
status and diagnosis) read and change the controllers' state through these functions.
Each takes the controllers' database first. Rows are returned as they are stored
(``aiosqlite.Row``); the S3 connection comes back parsed (``connection.Connection``).
"""

from __future__ import annotations

import json
from typing import Any

from aiosqlite import Row

from ..db import Database
from .connection import Connection

# ---- systems


async def system(db: Database, system_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM ctl_systems WHERE id = ?", (system_id,))


async def system_names(db: Database) -> list[Row]:
    """Every system controller (id, name), oldest first."""
    return await db.fetchall("SELECT id, name FROM ctl_systems ORDER BY created_at")


async def systems_with_connection(db: Database) -> list[tuple[Row, Connection]]:
    """Every system controller (id, name, connection, settings) with its parsed connection, oldest first."""
    rows = await db.fetchall("SELECT id, name, connection, settings FROM ctl_systems ORDER BY created_at")
    return [(r, Connection.from_json(r["connection"])) for r in rows]


async def system_ids(db: Database) -> list[str]:
    return [r["id"] for r in await db.fetchall("SELECT id FROM ctl_systems")]


async def connection_of(db: Database, system_id: str) -> Connection | None:
    row = await db.fetchone("SELECT connection FROM ctl_systems WHERE id = ?", (system_id,))
    return Connection.from_json(row["connection"]) if row is not None else None


async def settings_json(db: Database, system_id: str) -> str | None:
    """The system's stored settings (JSON of ``settings.SystemSettings``), None for no such system."""
    row = await db.fetchone("SELECT settings FROM ctl_systems WHERE id = ?", (system_id,))
    return row["settings"] if row is not None else None


async def create_system(
    db: Database,
    system_id: str,
    name: str,
    password_hash: str,
    settings: dict[str, Any],
    ca_key: str,
    ca_cert: str,
    now: float,
) -> None:
    await db.execute(
        "INSERT INTO ctl_systems (id, name, admin_password_hash, settings, connection, device_ca_key_pem, "
        "device_ca_cert_pem, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (system_id, name, password_hash, json.dumps(settings), Connection().to_json(), ca_key, ca_cert, now),
    )


async def save_connection(db: Database, system_id: str, connection: Connection) -> None:
    await db.execute("UPDATE ctl_systems SET connection = ? WHERE id = ?", (connection.to_json(), system_id))


async def save_settings(db: Database, system_id: str, settings: dict[str, Any]) -> None:
    await db.execute("UPDATE ctl_systems SET settings = ? WHERE id = ?", (json.dumps(settings), system_id))


async def set_troubleshooting(db: Database, system_id: str, allow: bool) -> None:
    await db.execute("UPDATE ctl_systems SET allow_troubleshooting = ? WHERE id = ?", (int(allow), system_id))


async def add_session(db: Database, token_hash: str, system_id: str, now: float) -> None:
    await db.execute(
        "INSERT INTO ctl_sessions (token_hash, system_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
        (token_hash, system_id, now, now),
    )


async def session(db: Database, token_hash: str) -> Row | None:
    """system_id and last_used_at of a Manager session; None for no such session."""
    return await db.fetchone("SELECT system_id, last_used_at FROM ctl_sessions WHERE token_hash = ?", (token_hash,))


async def delete_session(db: Database, token_hash: str) -> None:
    await db.execute("DELETE FROM ctl_sessions WHERE token_hash = ?", (token_hash,))


async def touch_session(db: Database, token_hash: str, now: float) -> None:
    await db.execute("UPDATE ctl_sessions SET last_used_at = ? WHERE token_hash = ?", (now, token_hash))


# ---- end-to-end keys (S4–S6)


async def add_active_key(
    db: Database,
    key_id: str,
    system_id: str,
    name: str,
    public_key: str,
    private_key: str,
    fingerprint: str,
    origin: str,
    now: float,
) -> Row:
    """A new key becomes the system's active one (the others stay, inactive); its row."""
    await db.transaction(
        [
            ("UPDATE ctl_keys SET active = 0 WHERE system_id = ?", (system_id,)),
            (
                "INSERT INTO ctl_keys (id, system_id, name, public_key, private_key, fingerprint, origin, active, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (key_id, system_id, name, public_key, private_key, fingerprint, origin, now),
            ),
        ]
    )
    row = await db.fetchone("SELECT * FROM ctl_keys WHERE id = ?", (key_id,))
    assert row is not None  # written just above
    return row


async def keys(db: Database, system_id: str) -> list[Row]:
    return await db.fetchall("SELECT * FROM ctl_keys WHERE system_id = ? ORDER BY created_at", (system_id,))


async def key(db: Database, system_id: str, key_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM ctl_keys WHERE id = ? AND system_id = ?", (key_id, system_id))


async def active_key(db: Database, system_id: str) -> Row | None:
    return await db.fetchone(
        "SELECT public_key, fingerprint FROM ctl_keys WHERE system_id = ? AND active = 1", (system_id,)
    )


# ---- Wi-Fi networks (S8 option 1)


async def wifi_networks(db: Database, system_id: str) -> list[Row]:
    """id and SSID of each network, by SSID."""
    return await db.fetchall("SELECT id, ssid FROM ctl_wifi_networks WHERE system_id = ? ORDER BY ssid", (system_id,))


async def wifi_passwords(db: Database, system_id: str) -> dict[str, str]:
    """SSID → password of each network of the system."""
    rows = await db.fetchall("SELECT ssid, password FROM ctl_wifi_networks WHERE system_id = ?", (system_id,))
    return {r["ssid"]: r["password"] for r in rows}


async def wifi_exists(db: Database, system_id: str, ssid: str) -> bool:
    return (
        await db.fetchone("SELECT 1 FROM ctl_wifi_networks WHERE system_id = ? AND ssid = ?", (system_id, ssid))
        is not None
    )


async def add_wifi(db: Database, net_id: str, system_id: str, ssid: str, password: str) -> None:
    await db.execute(
        "INSERT INTO ctl_wifi_networks (id, system_id, ssid, password) VALUES (?, ?, ?, ?)",
        (net_id, system_id, ssid, password),
    )


async def wifi_by_ref(db: Database, system_id: str, ref: str) -> Row | None:
    return await db.fetchone(
        "SELECT ssid FROM ctl_wifi_networks WHERE system_id = ? AND (id = ? OR ssid = ?)", (system_id, ref, ref)
    )


async def delete_wifi(db: Database, system_id: str, ssid: str) -> None:
    await db.execute("DELETE FROM ctl_wifi_networks WHERE system_id = ? AND ssid = ?", (system_id, ssid))


# ---- camera profiles (S7, S8, S11)


async def profile_by_ref(db: Database, system_id: str, ref: str) -> Row | None:
    return await db.fetchone(
        "SELECT * FROM ctl_profiles WHERE system_id = ? AND (id = ? OR name = ?)", (system_id, ref, ref)
    )


async def profiles(db: Database, system_id: str) -> list[Row]:
    return await db.fetchall("SELECT * FROM ctl_profiles WHERE system_id = ? ORDER BY name", (system_id,))


async def profile_settings(db: Database, profile_id: str) -> dict[str, Any] | None:
    """The profile's settings (``provisioning.ProfileSettings`` as JSON), None for no such profile."""
    row = await db.fetchone("SELECT settings FROM ctl_profiles WHERE id = ?", (profile_id,))
    return json.loads(row["settings"]) if row is not None else None


async def profile_name(db: Database, profile_id: str) -> str | None:
    row = await db.fetchone("SELECT name FROM ctl_profiles WHERE id = ?", (profile_id,))
    return row["name"] if row is not None else None


async def profile_name_taken(db: Database, system_id: str, name: str, other_than: str | None = None) -> bool:
    if other_than is None:
        return (
            await db.fetchone("SELECT 1 FROM ctl_profiles WHERE system_id = ? AND name = ?", (system_id, name))
            is not None
        )
    return (
        await db.fetchone(
            "SELECT 1 FROM ctl_profiles WHERE system_id = ? AND name = ? AND id != ?", (system_id, name, other_than)
        )
        is not None
    )


async def add_profile(db: Database, profile_id: str, system_id: str, name: str, settings: dict[str, Any]) -> None:
    await db.execute(
        "INSERT INTO ctl_profiles (id, system_id, name, settings) VALUES (?, ?, ?, ?)",
        (profile_id, system_id, name, json.dumps(settings)),
    )


async def update_profile(db: Database, profile_id: str, name: str, settings: dict[str, Any]) -> None:
    await db.execute(
        "UPDATE ctl_profiles SET name = ?, settings = ? WHERE id = ?", (name, json.dumps(settings), profile_id)
    )


async def delete_profile(db: Database, profile_id: str) -> None:
    await db.execute("DELETE FROM ctl_profiles WHERE id = ?", (profile_id,))


async def profile_using_ssid(db: Database, system_id: str, ssid: str) -> str | None:
    """The name of a profile of the system that lists the network, if any."""
    for p in await db.fetchall("SELECT name, settings FROM ctl_profiles WHERE system_id = ?", (system_id,)):
        if ssid in json.loads(p["settings"]).get("wifi_networks", []):
            return p["name"]
    return None


async def user_streaming(db: Database, user_id: str) -> bool | None:
    """Whether the camera user's profile has streaming on; None when the user has no profile."""
    row = await db.fetchone(
        "SELECT p.settings FROM ctl_camera_users u JOIN ctl_profiles p ON p.id = u.profile_id WHERE u.id = ?",
        (user_id,),
    )
    return bool(json.loads(row["settings"]).get("streaming")) if row is not None else None


# ---- camera users (S8 option 2)


async def user_by_ref(db: Database, system_id: str, ref: str) -> Row | None:
    return await db.fetchone(
        "SELECT * FROM ctl_camera_users WHERE system_id = ? AND (id = ? OR name = ?)", (system_id, ref, ref)
    )


async def user(db: Database, user_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM ctl_camera_users WHERE id = ?", (user_id,))


async def users_with_profile_names(db: Database, system_id: str) -> list[Row]:
    return await db.fetchall(
        "SELECT u.*, p.name AS profile_name FROM ctl_camera_users u LEFT JOIN ctl_profiles p ON p.id = u.profile_id "
        "WHERE u.system_id = ? ORDER BY u.name",
        (system_id,),
    )


async def user_name_taken(db: Database, system_id: str, name: str) -> bool:
    return (
        await db.fetchone("SELECT 1 FROM ctl_camera_users WHERE system_id = ? AND name = ?", (system_id, name))
        is not None
    )


async def profile_in_use(db: Database, profile_id: str) -> bool:
    return await db.fetchone("SELECT 1 FROM ctl_camera_users WHERE profile_id = ?", (profile_id,)) is not None


async def add_user(
    db: Database, user_id: str, system_id: str, name: str, profile_id: str | None, manager_network: str | None
) -> None:
    await db.execute(
        "INSERT INTO ctl_camera_users (id, system_id, name, profile_id, manager_network) VALUES (?, ?, ?, ?, ?)",
        (user_id, system_id, name, profile_id, manager_network),
    )


async def update_user(
    db: Database, user_id: str, name: str | None, profile_id: str | None, manager_network: str | None
) -> None:
    """Rename (``name`` None keeps it), set the profile and the Manager-assigned network."""
    await db.execute(
        "UPDATE ctl_camera_users SET name = COALESCE(?, name), profile_id = ?, manager_network = ? WHERE id = ?",
        (name, profile_id, manager_network, user_id),
    )


async def set_assistant_network(db: Database, user_id: str, network: str | None) -> None:
    await db.execute("UPDATE ctl_camera_users SET assistant_network = ? WHERE id = ?", (network, user_id))


# ---- what the cloud is told (issue 10: appliance/controller/cloud_sync.py)


async def camera_user_list(db: Database, system_id: str) -> list[dict[str, Any]]:
    """The list the cloud gets: every camera user with profile settings and assigned cameras."""
    users = await db.fetchall(
        "SELECT u.id, u.name, p.settings FROM ctl_camera_users u LEFT JOIN ctl_profiles p ON p.id = u.profile_id "
        "WHERE u.system_id = ? ORDER BY u.name",
        (system_id,),
    )
    cameras = await db.fetchall(
        "SELECT serial, model, COALESCE(camera_user_id, docked_user_id) AS user_id FROM ctl_cameras "
        "WHERE system_id = ? ORDER BY serial",
        (system_id,),
    )
    out = []
    for u in users:
        profile = json.loads(u["settings"]) if u["settings"] else {}
        streaming = bool(profile.get("streaming"))
        remote = (
            profile.get("remote_mode", "while_recording") if streaming and profile.get("remote_activation") else None
        )
        out.append(
            {
                "id": u["id"],
                "name": u["name"],
                "streaming": streaming,
                "remote_activation": remote,
                "cameras": [{"serial": c["serial"], "model": c["model"]} for c in cameras if c["user_id"] == u["id"]],
            }
        )
    return out


async def camera_list(db: Database, system_id: str) -> list[dict[str, str]]:
    """Every camera registered in the system, assigned or not."""
    rows = await db.fetchall("SELECT serial, model FROM ctl_cameras WHERE system_id = ? ORDER BY serial", (system_id,))
    return [{"serial": r["serial"], "model": r["model"]} for r in rows]


# ---- cameras and docks (D1, T4)


async def cameras(db: Database, system_id: str) -> list[Row]:
    return await db.fetchall("SELECT * FROM ctl_cameras WHERE system_id = ? ORDER BY serial", (system_id,))


async def camera(db: Database, system_id: str, serial: str) -> Row | None:
    return await db.fetchone("SELECT * FROM ctl_cameras WHERE serial = ? AND system_id = ?", (serial, system_id))


async def camera_anywhere(db: Database, serial: str) -> Row | None:
    """A camera of that serial in any system (the lab's view: the first one found)."""
    return await db.fetchone("SELECT * FROM ctl_cameras WHERE serial = ?", (serial,))


async def camera_count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM ctl_cameras")
    return int(row["n"]) if row is not None else 0


async def all_serials(db: Database) -> set[str]:
    return {r["serial"] for r in await db.fetchall("SELECT serial FROM ctl_cameras")}


async def cameras_for_status(db: Database) -> list[Row]:
    """Every camera of every system with its camera user's and dock's names (the lab's status)."""
    return await db.fetchall(
        "SELECT c.*, u.name AS user_name, d.name AS dock_name "
        "FROM ctl_cameras c LEFT JOIN ctl_camera_users u ON u.id = COALESCE(c.docked_user_id, c.camera_user_id) "
        "LEFT JOIN ctl_docks d ON d.id = c.dock_id ORDER BY c.system_id, c.serial"
    )


async def add_camera(
    db: Database,
    serial: str,
    system_id: str,
    model: str,
    imei: str | None,
    sim_pin: str | None,
    camera_user_id: str | None,
    self_assign: bool,
    now: float,
) -> None:
    await db.execute(
        "INSERT INTO ctl_cameras (serial, system_id, model, imei, sim_pin, camera_user_id, self_assign, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (serial, system_id, model, imei, sim_pin, camera_user_id, int(self_assign), now),
    )


async def update_camera(
    db: Database, system_id: str, serial: str, camera_user_id: str | None, self_assign: bool, sim_pin: str | None
) -> None:
    """Set the assignment; a ``sim_pin`` of None keeps the stored one."""
    await db.execute(
        "UPDATE ctl_cameras SET camera_user_id = ?, self_assign = ?, sim_pin = COALESCE(?, sim_pin) "
        "WHERE system_id = ? AND serial = ?",
        (camera_user_id, int(self_assign), sim_pin, system_id, serial),
    )


async def delete_camera(db: Database, system_id: str, serial: str) -> None:
    await db.execute("DELETE FROM ctl_cameras WHERE system_id = ? AND serial = ?", (system_id, serial))


async def docks(db: Database, system_id: str) -> list[Row]:
    return await db.fetchall("SELECT * FROM ctl_docks WHERE system_id = ? ORDER BY name", (system_id,))


async def docked_cameras(db: Database, system_id: str) -> list[Row]:
    """serial, dock_id and bay of each docked camera of the system."""
    return await db.fetchall(
        "SELECT serial, dock_id, bay FROM ctl_cameras WHERE system_id = ? AND dock_id IS NOT NULL", (system_id,)
    )


async def dock_name_taken(db: Database, system_id: str, name: str) -> bool:
    return await db.fetchone("SELECT 1 FROM ctl_docks WHERE system_id = ? AND name = ?", (system_id, name)) is not None


async def add_dock(db: Database, dock_id: str, system_id: str, name: str, bays: int) -> None:
    await db.execute(
        "INSERT INTO ctl_docks (id, system_id, name, bays) VALUES (?, ?, ?, ?)", (dock_id, system_id, name, bays)
    )


async def dock_by_ref(db: Database, system_id: str, ref: str) -> Row | None:
    return await db.fetchone(
        "SELECT * FROM ctl_docks WHERE system_id = ? AND (id = ? OR name = ?)", (system_id, ref, ref)
    )


async def bay_occupant(db: Database, dock_id: str, bay: int) -> str | None:
    """The serial of the camera in the bay, None when it is empty."""
    row = await db.fetchone("SELECT serial FROM ctl_cameras WHERE dock_id = ? AND bay = ?", (dock_id, bay))
    return row["serial"] if row is not None else None


async def record_docking(
    db: Database,
    system_id: str,
    serial: str,
    dock_id: str,
    bay: int,
    user_id: str | None,
    now: float,
    cert_serial: str,
    cert_not_after: float,
) -> None:
    await db.execute(
        "UPDATE ctl_cameras SET dock_id = ?, bay = ?, docked_user_id = ?, last_docked_at = ?, cert_serial = ?, "
        "cert_not_after = ? WHERE system_id = ? AND serial = ?",
        (dock_id, bay, user_id, now, cert_serial, cert_not_after, system_id, serial),
    )


async def record_modem(
    db: Database, system_id: str, serial: str, sim_status: str | None, alert: str | None, now: float
) -> None:
    """T4: the SIM state the dock read, and the alert it raised (None: none)."""
    await db.execute(
        "UPDATE ctl_cameras SET sim_status = ?, sim_alert = ?, sim_alert_at = ? WHERE system_id = ? AND serial = ?",
        (sim_status, alert, now if alert else None, system_id, serial),
    )


async def undock(db: Database, system_id: str, serial: str) -> None:
    await db.execute(
        "UPDATE ctl_cameras SET dock_id = NULL, bay = NULL WHERE system_id = ? AND serial = ?", (system_id, serial)
    )


# ---- the Manager's admin actions on their way to the cloud's audit trail (``manager_audit.py``)


async def queue_audit_event(db: Database, system_id: str, cloud_system_id: str, event: str, now: float) -> None:
    """Keep one event (JSON of ``bwlab.wire.audit.ManagerEvent`` without its ``seq``) until the cloud has it."""
    await db.execute(
        "INSERT INTO ctl_audit_outbox (system_id, cloud_system_id, event, created_at) VALUES (?, ?, ?, ?)",
        (system_id, cloud_system_id, event, now),
    )


async def audit_outbox(db: Database, system_id: str, limit: int) -> list[Row]:
    """The system's oldest events not sent yet (id, cloud_system_id, event), in order."""
    return await db.fetchall(
        "SELECT id, cloud_system_id, event FROM ctl_audit_outbox WHERE system_id = ? ORDER BY id LIMIT ?",
        (system_id, limit),
    )


async def audit_outbox_systems(db: Database) -> list[str]:
    """The systems with events waiting."""
    return [r["system_id"] for r in await db.fetchall("SELECT DISTINCT system_id FROM ctl_audit_outbox")]


async def forget_audit_events(db: Database, system_id: str, up_to: int) -> int:
    """The cloud has the system's events up to id ``up_to`` (or they can never go anywhere)."""
    return await db.execute("DELETE FROM ctl_audit_outbox WHERE system_id = ? AND id <= ?", (system_id, up_to))


async def audit_outbox_count(db: Database, system_id: str) -> int:
    """How many of the system's events wait for the cloud."""
    row = await db.fetchone("SELECT COUNT(*) AS n FROM ctl_audit_outbox WHERE system_id = ?", (system_id,))
    return 0 if row is None else int(row["n"])
