"""The audit trail's entry format and its chain (issue 16 item 4; docs/audit.md).

One organization's audit log is a hash chain: each entry is a JSON object

    {"v": 1, "org_id", "seq", "at", "actor": {"id", "name", "email", "role"}, "action",
     "camera": {"serial", "system_id", "user_id", "user_name"} | null, "stream_id", "details", "prev"}

``seq`` counts from 1 per organization, ``at`` is lab time (POSIX seconds), ``prev`` is the hash
of the entry before (64 zeros for the first). The entry's hash is the SHA-256, in lowercase hex, of
its RFC 8785 canonical JSON (JCS, the ``rfc8785`` package) — the object above, without ``hash``.
An export carries each entry with its ``hash`` (JSON Lines: one object a line; CSV: one row an
entry, ``details`` as canonical JSON), so anyone can check it with a JCS library and SHA-256.

The appliance writes entries here; ``bwlab audit verify`` checks an export here. Pure: no I/O.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from bwlab.clock import isoformat
from bwlab.errors import InputError
from bwlab.schema import FieldError

VERSION = 1
GENESIS = "0" * 64

STREAM_VIEWED = "stream_viewed"
RECORDING_DOWNLOADED = "recording_downloaded"
ACKNOWLEDGED = "acknowledged"
REMOTE_STARTED = "remote_started"
TALKED = "talked"
KEY_IMPORTED = "key_imported"
SETTING_CHANGED = "setting_changed"
USER_INVITED = "user_invited"
ACTIONS = (
    STREAM_VIEWED,
    RECORDING_DOWNLOADED,
    ACKNOWLEDGED,
    REMOTE_STARTED,
    TALKED,
    KEY_IMPORTED,
    SETTING_CHANGED,
    USER_INVITED,
)

# What a Manager (a system controller's admin interface) may report: the admin actions it has.
MANAGER_ACTIONS = (SETTING_CHANGED, USER_INVITED, KEY_IMPORTED, RECORDING_DOWNLOADED)
MANAGER_BATCH = 100  # events in one request
_DETAIL_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MANAGER_DETAILS = 12  # keys of an event's details
MANAGER_DETAIL_LEN = 200  # characters of a detail's text

ENTRY_KEYS = frozenset({"v", "org_id", "seq", "at", "actor", "action", "camera", "stream_id", "details", "prev"})
ACTOR_KEYS = ("id", "name", "email", "role")
CAMERA_KEYS = ("serial", "system_id", "user_id", "user_name")
CSV_COLUMNS = (
    "seq",
    "at",
    "time",
    "org_id",
    "actor_id",
    "actor_name",
    "actor_email",
    "actor_role",
    "action",
    "camera_serial",
    "camera_system_id",
    "camera_user_id",
    "camera_user_name",
    "stream_id",
    "details",
    "prev",
    "hash",
)


@dataclass(frozen=True)
class ManagerCamera:
    """The camera or camera user a Manager action concerns (an entry's ``camera``)."""

    serial: str | None = field(default=None, metadata={"max_len": 32, "nonempty": True})
    user_id: str | None = field(default=None, metadata={"max_len": 64, "nonempty": True})
    user_name: str | None = field(default=None, metadata={"max_len": 120, "nonempty": True})


@dataclass(frozen=True)
class ManagerEvent:
    """One Manager administrator's action, as the system controller sends it to the cloud over its
    authenticated link (``POST /api/cloud/systems/{id}/audit-events``; docs/audit.md "The Manager").
    ``seq`` is the controller's order: strictly increasing per system, so a resend is recognised
    and nothing is appended out of order. The cloud names the actor and the source itself, from the
    system's token: a controller cannot speak for anyone but its own administrator."""

    seq: int = field(metadata={"min": 1})
    at: float = field(metadata={"min": 0})  # lab time of the action, on the controller's clock
    action: str = field(metadata={"choices": MANAGER_ACTIONS})
    setting: str | None = field(default=None, metadata={"pattern": _DETAIL_KEY.pattern})
    camera: ManagerCamera | None = None
    details: dict[str, str | int | bool | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.details) > MANAGER_DETAILS:
            raise FieldError("details", f"at most {MANAGER_DETAILS} keys")
        for key, value in self.details.items():
            if _DETAIL_KEY.fullmatch(key) is None:
                raise FieldError(f"details.{key}", f"a key matching {_DETAIL_KEY.pattern}")
            if key in ("setting", "source", "system_id", "system_name"):
                raise FieldError(f"details.{key}", "a key the cloud does not set itself")
            if isinstance(value, str) and not 0 < len(value) <= MANAGER_DETAIL_LEN:
                raise FieldError(f"details.{key}", f"a non-empty string of at most {MANAGER_DETAIL_LEN} characters")
        if self.action == SETTING_CHANGED and self.setting is None:
            raise FieldError("setting", "the setting changed (required for setting_changed)")

    def entry_fields(self, system_id: str, system_name: str) -> dict[str, Any]:
        """What ``new_entry`` takes of this event (but org, seq and prev): the actor is the Manager's
        administrator of the system and the source the system, as the cloud knows it from its token."""
        cam = self.camera
        return {
            "at": self.at,
            "actor": {
                "id": f"manager:{system_id}",
                "name": f"Manager administrator ({system_name})",
                "role": "manager",
            },
            "action": self.action,
            "camera": None
            if cam is None
            else {"serial": cam.serial, "system_id": system_id, "user_id": cam.user_id, "user_name": cam.user_name},
            "stream_id": None,
            "details": {
                "source": "manager",
                "system_id": system_id,
                "system_name": system_name,
                **({"setting": self.setting} if self.setting else {}),
                **self.details,
            },
        }


@dataclass(frozen=True)
class ManagerEvents:
    """A batch of Manager events, oldest first."""

    events: list[ManagerEvent] = field(metadata={"max_items": MANAGER_BATCH})

    def __post_init__(self) -> None:
        seqs = [e.seq for e in self.events]
        if any(b <= a for a, b in zip(seqs, seqs[1:], strict=False)):
            raise FieldError("events", "events in the order of their seq, each seq once")


class AuditFormatError(InputError, ValueError):
    """An export that cannot be read as audit entries (names the line and what was expected)."""


def _text(value: Any) -> str | None:
    """A string field: None for missing or empty (an entry never holds an empty string, so CSV's
    empty cell means null without ambiguity)."""
    if value is None:
        return None
    text = str(value)
    return text or None


def _details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"details.{key}: not a finite number")
        out[str(key)] = _text(value) if isinstance(value, str) else value
    return out


def new_entry(
    *,
    org_id: str,
    seq: int,
    at: float,
    actor: Mapping[str, Any],
    action: str,
    camera: Mapping[str, Any] | None,
    stream_id: str | None,
    details: Mapping[str, Any] | None,
    prev: str,
) -> dict[str, Any]:
    """The entry ``seq`` of ``org_id``'s chain (without its hash)."""
    if action not in ACTIONS:
        raise ValueError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
    cam = {k: _text(camera.get(k)) for k in CAMERA_KEYS} if camera else None
    if cam is not None and not any(cam.values()):
        cam = None
    return {
        "v": VERSION,
        "org_id": org_id,
        "seq": int(seq),
        "at": float(at),
        "actor": {k: _text(actor.get(k)) for k in ACTOR_KEYS},
        "action": action,
        "camera": cam,
        "stream_id": _text(stream_id),
        "details": _details(details),
        "prev": prev,
    }


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The entry's RFC 8785 canonical JSON, without its ``hash``."""
    return rfc8785.dumps({k: v for k, v in entry.items() if k != "hash"})


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def sealed(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry with its ``hash``, as exported."""
    return {**entry, "hash": entry_hash(entry)}


# ---- exports ----------------------------------------------------------------------------------


def to_jsonl(entries: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(dict(e), ensure_ascii=False, separators=(",", ":")) + "\n" for e in entries)


def to_csv(entries: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        actor, cam = e["actor"], e["camera"] or {}
        writer.writerow(
            [
                e["seq"],
                repr(float(e["at"])),
                isoformat(e["at"]),
                e["org_id"],
                *(actor.get(k) or "" for k in ACTOR_KEYS),
                e["action"],
                *(cam.get(k) or "" for k in CAMERA_KEYS),
                e["stream_id"] or "",
                rfc8785.dumps(e["details"]).decode("utf-8"),
                e["prev"],
                e["hash"],
            ]
        )
    return out.getvalue()


def read_jsonl(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, entry) for each non-empty line of a JSON Lines export."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise AuditFormatError(f"line {number}: not JSON ({exc.args[0]})") from None
        if not isinstance(entry, dict):
            raise AuditFormatError(f"line {number}: expected a JSON object, one entry a line")
        yield number, entry


def read_csv(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, entry) for each row of a CSV export, rebuilt as the entry that was hashed."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise AuditFormatError(f"line 1: expected the header {','.join(CSV_COLUMNS)}")
    for row in reader:
        number = reader.line_num
        try:
            details = json.loads(row["details"])
            seq, at = int(row["seq"]), float(row["at"])
        except (TypeError, ValueError):
            raise AuditFormatError(f"line {number}: seq, at or details cannot be read") from None
        camera = {k: row[f"camera_{k}"] or None for k in CAMERA_KEYS}
        yield (
            number,
            {
                "v": VERSION,
                "org_id": row["org_id"],
                "seq": seq,
                "at": at,
                "actor": {k: row[f"actor_{k}"] or None for k in ACTOR_KEYS},
                "action": row["action"],
                "camera": camera if any(camera.values()) else None,
                "stream_id": row["stream_id"] or None,
                "details": details,
                "prev": row["prev"],
                "hash": row["hash"],
            },
        )


def read_export(text: str) -> list[tuple[int, dict[str, Any]]]:
    """An export in either format (CSV starts with its header)."""
    if text.startswith(CSV_COLUMNS[0] + ","):
        return list(read_csv(text))
    return list(read_jsonl(text))


# ---- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The result of checking a chain: ``ok``, how many entries, the head, or the first bad entry."""

    ok: bool
    entries: int
    head: str | None = None
    line: int | None = None
    seq: int | None = None
    problem: str | None = None

    def message(self) -> str:
        if self.ok:
            return f"intact: {self.entries} entries, head {self.head}"
        where = f"line {self.line}" if self.line is not None else "the chain"
        where += f" (entry seq {self.seq})" if self.seq is not None else ""
        return f"{where}: {self.problem}"


def verify(
    entries: Iterable[tuple[int, Mapping[str, Any]]], *, head: str | None = None, partial: bool = False
) -> Verdict:
    """Check a chain of (line, entry): every hash matches its entry's canonical JSON, each entry
    names the hash of the one before and the next ``seq``, the chain starts at seq 1 from the
    genesis (unless ``partial``: a run of consecutive entries from anywhere) and, given ``head``,
    ends at that hash (so no entry was cut off the end). The first bad entry is named."""
    previous: Mapping[str, Any] | None = None
    count = 0
    org = None
    for line, entry in entries:
        seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None

        def bad(problem: str, line: int = line, seq: int | None = seq, count: int = count) -> Verdict:
            return Verdict(False, count, line=line, seq=seq, problem=problem)

        missing = sorted((ENTRY_KEYS | {"hash"}) - set(entry))
        extra = sorted(set(entry) - ENTRY_KEYS - {"hash"})
        if missing or extra:
            return bad(
                f"not an audit entry: {'missing ' + ', '.join(missing) if missing else ''}"
                f"{'; ' if missing and extra else ''}{'unknown ' + ', '.join(extra) if extra else ''}"
            )
        if seq is None or entry.get("v") != VERSION:
            return bad(f"not an audit entry of version {VERSION} with a whole-number seq")
        try:
            computed = entry_hash(entry)
        except (TypeError, ValueError) as exc:
            return bad(f"cannot be canonicalised: {exc}")
        if computed != entry["hash"]:
            return bad("changed: its hash does not match its content")
        if org is not None and entry["org_id"] != org:
            return bad(f"belongs to organization {entry['org_id']}, not {org}")
        org = entry["org_id"]
        if previous is None:
            if not partial and (seq != 1 or entry["prev"] != GENESIS):
                return bad(
                    f"the chain does not start at its first entry (seq 1, prev {GENESIS[:8]}…): "
                    "entries before it were removed"
                )
        else:
            if seq != previous["seq"] + 1:
                how = "removed or reordered" if seq > previous["seq"] + 1 else "reordered or repeated"
                return bad(f"follows entry seq {previous['seq']}: entries were {how}")
            if entry["prev"] != previous["hash"]:
                return bad(
                    f"its prev does not match the hash of entry seq {previous['seq']}: the chain was "
                    "changed, entries removed or reordered"
                )
        previous = entry
        count += 1
    if previous is None:
        return Verdict(False, 0, problem="no entries")
    if head is not None and previous["hash"] != head:
        return Verdict(
            False,
            count,
            line=None,
            seq=previous["seq"],
            problem=f"the chain ends at {previous['hash']}, not at the head {head}: entries were "
            "removed from its end or it was changed",
        )
    return Verdict(True, count, head=previous["hash"])
