"""Fault injection into the lab network: what a fault is, how faults combine, and what they do
to the lab's world (SPEC L2; T2, T3, T4, S1; DESIGN "Lab network").

A sans-I/O core. A ``Fault`` is one change a trainer (or a scenario's timeline, or ``bwlab fault``)
makes to the physical world, with an ``id`` to list and clear it:

==============  ============  ====================================================================
kind            target        ``set`` keys (what changes)
==============  ============  ====================================================================
``ap``          AP name       ``ssid``, ``band``, ``channel``, ``security``, ``password``,
                              ``country``, ``position``, ``tx_power_dbm``, ``enabled`` — security
                              / password / SSID changes (T2 3c, 3e; T3 2a, 2b, 3), 5 GHz only
                              (T2 3d), channel 12/13 in Europe (T2 7), power and position (T3 4)
``cell``        cell name     ``bands``, ``position``, ``tx_power_dbm``, ``operator``, ``enabled``
                              (T4 6a, 6b, 8)
``sim``         camera        any key of ``mobile.Sim``: ``state`` (absent, PIN, PUK, dead,
                              incompatible), a new ``iccid`` (a swap), ``apn_required``,
                              ``roaming_allowed``, ``credit_mb``, ``imei_blocked``, ``activated``
                              (T2 4a–4e, T3 1, T4)
``link``        camera        ``latency_ms``, ``loss`` (0–1), ``bandwidth_kbps``, ``up`` — on top
                              of what the radio gives (L2 link impairments)
``clock_skew``  camera        ``seconds``: the camera's clock runs that far off lab time and does
                              not correct itself while the fault holds (S1, T2 6)
``ntp``         —             ``offset_s``, ``mode`` (serve, outage, kiss-o-death), ``kiss_code``
``travel``      —             ``seconds``: lab time moves forward (D1 six days, S15 licence)
==============  ============  ====================================================================

Faults apply in the order they were added; a later fault on the same target overrides the keys it
sets. Clearing a fault re-computes the world from the scenario's base without it, so clearing is
exact. ``travel`` is the exception: lab time never goes back, so clearing a travel only removes it
from the list (``reversible: false``).

The appliance keeps the ``FaultBook`` (the HTTP API, the CLI and the Lab panel go there) and
serves NTP with ``ntp_settings``; the fleets receive the list and apply ``apply_world``,
``camera_impairment`` and ``camera_clock_skew`` to their cameras' radios and uplinks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bwlab import schema
from bwlab.schema import FieldError, SchemaError, join_path

from .config import keys, limits
from .mobile import NO_SIM, Cell, Sim
from .ntp import KISS_CODES, MODES
from .propagation import LinkQuality
from .radio_config import AccessPoint

#: What each kind of fault is for (shown by ``bwlab fault kinds`` and the API).
FAULT_KINDS: dict[str, str] = {
    "ap": "change an access point: SSID, security, password, band, channel, country, position, power, on/off",
    "cell": "change a mobile cell (mast): LTE bands, position, power, operator, on/off",
    "sim": "change the SIM card in a camera: state, ICCID (a swap), APN, roaming, credit, IMEI blocked",
    "link": "impair a camera's uplink: extra latency, loss, a bandwidth cap, or cut it",
    "clock_skew": "set a camera's clock off lab time (it stays off while the fault holds)",
    "ntp": "make the lab NTP server lie by an offset, go silent (outage) or answer kiss-o'-death",
    "travel": "move lab time forward (six days undocked, licence expiry); cannot be undone",
}
TARGETED = {
    "ap": "access point name",
    "cell": "cell name",
    "sim": "camera serial",
    "link": "camera serial",
    "clock_skew": "camera serial",
}

_AP_KEYS = ("ssid", "band", "channel", "security", "password", "country", "position", "tx_power_dbm", "enabled")
_CELL_KEYS = ("bands", "position", "tx_power_dbm", "operator", "enabled")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
MAX_TRAVEL_S = 400 * 86400
MAX_SKEW_S = 10 * 86400


@dataclass(frozen=True)
class Fault:
    """One injected fault (see the module docstring for kinds, targets and keys)."""

    id: str
    kind: str
    target: str | None
    set: Mapping[str, Any] = field(default_factory=dict)
    added_at: float = 0.0

    @property
    def reversible(self) -> bool:
        return self.kind != "travel"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "set": dict(self.set),
            "added_at": self.added_at,
            "reversible": self.reversible,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        what = ", ".join(f"{k}={v!r}" for k, v in self.set.items())
        where = f" {self.target}" if self.target else ""
        return f"{self.kind}{where}: {what}"


# --------------------------------------------------------------------------------------------
# Parsing (request bodies, scenario steps, CLI)


@dataclass(frozen=True)
class FaultTable:
    """A fault as a request body, a scenario step or the CLI writes it (before ``parse_fault``)."""

    kind: str = field(metadata={"choices": tuple(FAULT_KINDS)})
    target: str | None = None
    set: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class LinkChange:
    """The ``set`` of a ``link`` fault."""

    latency_ms: float | None = limits(None, min=0.0, max=60_000.0)
    loss: float | None = limits(None, min=0.0, max=1.0)
    bandwidth_kbps: float | None = limits(None, min=1.0, max=10_000_000.0)
    up: bool | None = None


@dataclass(frozen=True)
class ClockSkewChange:
    """The ``set`` of a ``clock_skew`` fault."""

    seconds: float | None = limits(None, min=-MAX_SKEW_S, max=MAX_SKEW_S)


@dataclass(frozen=True)
class NtpChange:
    """The ``set`` of an ``ntp`` fault."""

    offset_s: float | None = limits(None, min=-MAX_SKEW_S, max=MAX_SKEW_S)
    mode: str | None = limits(None, choices=MODES)
    kiss_code: str | None = limits(None, choices=KISS_CODES)


@dataclass(frozen=True)
class TravelChange:
    """The ``set`` of a ``travel`` fault."""

    seconds: float | None = limits(None, min=1.0, max=MAX_TRAVEL_S)


_CHANGES: dict[str, type] = {
    "link": LinkChange,
    "clock_skew": ClockSkewChange,
    "ntp": NtpChange,
    "travel": TravelChange,
}


def parse_fault(data: Any, *, fault_id: str, now: float, path: str = "fault") -> Fault:
    """A ``Fault`` from ``{"kind", "target", "set", "id"}``; ``SchemaError`` names the bad key.

    Checks what can be checked without the world (kinds, keys, types, ranges); whether the target
    exists and whether the change makes a valid AP, cell or SIM is ``check_against``'s job.
    """
    table = schema.from_mapping(FaultTable, data, path)
    kind, target = table.kind, table.target
    if kind in TARGETED:
        if not target:
            raise SchemaError(
                join_path(path, "target"), f"the {TARGETED[kind]} this {kind} fault applies to (required)"
            )
    elif target is not None:
        raise SchemaError(join_path(path, "target"), f"no target: a {kind} fault applies to the whole lab", target)
    if table.id is not None:
        fault_id = table.id
        if not _ID.fullmatch(fault_id):
            raise SchemaError(join_path(path, "id"), "an id of letters, digits, '.', '_' or '-' (at most 40)", fault_id)
    where = join_path(path, "set")
    values = _parse_set(kind, table.set, where)
    if not values:
        raise SchemaError(where, f"at least one change for a {kind} fault")
    return Fault(
        fault_id, kind, target.upper() if kind in ("sim", "link", "clock_skew") and target else target, values, now
    )


def _parse_set(kind: str, raw: dict[str, Any], path: str) -> dict[str, Any]:
    if kind in _CHANGES:
        change: Any = schema.from_mapping(_CHANGES[kind], raw, path)
        return {k: getattr(change, k) for k in raw if getattr(change, k) is not None}
    # AP, cell and SIM values are checked by AccessPoint / Cell / Sim when applied to the base.
    schema.check_table(raw, path, {"ap": _AP_KEYS, "cell": _CELL_KEYS, "sim": keys(Sim)}[kind])
    return dict(raw)


# --------------------------------------------------------------------------------------------
# The world the faults change


@dataclass(frozen=True)
class World:
    """The lab network's physical side: APs, cells, and each camera's SIM (``serial → Sim``)."""

    access_points: tuple[AccessPoint, ...] = ()
    cells: tuple[Cell, ...] = ()
    sims: Mapping[str, Sim] = field(default_factory=dict)

    def access_point(self, name: str) -> AccessPoint | None:
        return next((ap for ap in self.access_points if ap.name == name), None)

    def cell(self, name: str) -> Cell | None:
        return next((c for c in self.cells if c.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_points": [ap_mapping(ap) for ap in self.access_points],
            "cells": [cell_mapping(c) for c in self.cells],
            "sims": {serial: sim_mapping(sim) for serial, sim in self.sims.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "world") -> World:
        table = schema.from_mapping(WorldTable, data, path)
        aps = tuple(
            AccessPoint.from_mapping(a, f"{path}.access_points[{i}]") for i, a in enumerate(table.access_points)
        )
        cells = tuple(Cell.from_mapping(c, f"{path}.cells[{i}]") for i, c in enumerate(table.cells))
        sims = {k.upper(): Sim.from_mapping(v, f"{path}.sims.{k}") for k, v in table.sims.items()}
        return cls(aps, cells, sims)


@dataclass(frozen=True)
class WorldTable:
    """A ``World`` as a fleet declares it (JSON): each part is read by its own dataclass."""

    access_points: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    sims: dict[str, dict[str, Any]] = field(default_factory=dict)


def ap_mapping(ap: AccessPoint) -> dict[str, Any]:
    return {
        "name": ap.name,
        "ssid": ap.ssid,
        "band": ap.band,
        "channel": ap.channel,
        "security": ap.security,
        "password": ap.password,
        "country": ap.country,
        "position": list(ap.position),
        "tx_power_dbm": ap.tx_power_dbm,
        "bssid": ap.bssid,
        "subnet": ap.subnet,
        "dns": list(ap.dns),
        "enabled": ap.enabled,
    }


def cell_mapping(cell: Cell) -> dict[str, Any]:
    return {
        "name": cell.name,
        "bands": list(cell.bands),
        "position": list(cell.position),
        "tx_power_dbm": cell.tx_power_dbm,
        "operator": cell.operator,
        "enabled": cell.enabled,
    }


def sim_mapping(sim: Sim) -> dict[str, Any]:
    out = {k: getattr(sim, k) for k in keys(Sim)}
    return {k: v for k, v in out.items() if v is not None}


def _changed_ap(ap: AccessPoint, changes: Mapping[str, Any], path: str) -> AccessPoint:
    merged = {k: v for k, v in ap_mapping(ap).items() if v is not None}
    merged.update(changes)
    if merged.get("security") == "open" and "password" not in changes:
        merged.pop("password", None)
    if "ssid" in changes and "subnet" not in changes:
        merged.pop("subnet", None)  # the DHCP scope follows the SSID
        merged.pop("dns", None)
    return AccessPoint.from_mapping(merged, path)


def _changed_cell(cell: Cell, changes: Mapping[str, Any], path: str) -> Cell:
    merged = cell_mapping(cell)
    merged.update(changes)
    return Cell.from_mapping(merged, path)


def _changed_sim(sim: Sim, changes: Mapping[str, Any], path: str) -> Sim:
    merged = sim_mapping(sim)
    merged.update(changes)
    if merged.get("state") == "absent":
        return NO_SIM
    return Sim.from_mapping(merged, path)


def check_against(fault: Fault, world: World, cameras: Iterable[str]) -> None:
    """Raise ``SchemaError`` unless ``fault`` applies to something in ``world``/``cameras`` and
    the change makes a valid AP, cell or SIM there."""
    if fault.kind == "ap":
        ap = world.access_point(fault.target or "")
        if ap is None:
            names = ", ".join(a.name for a in world.access_points) or "none: no running fleet declares one"
            raise SchemaError("target", f"the name of an access point of the running lab ({names})", fault.target)
        _changed_ap(ap, fault.set, "set")
    elif fault.kind == "cell":
        cell = world.cell(fault.target or "")
        if cell is None:
            names = ", ".join(c.name for c in world.cells) or "none: no running fleet declares one"
            raise SchemaError("target", f"the name of a mobile cell of the running lab ({names})", fault.target)
        _changed_cell(cell, fault.set, "set")
    elif fault.kind in ("sim", "link", "clock_skew"):
        known = {c.upper() for c in cameras}
        if (fault.target or "").upper() not in known:
            raise SchemaError("target", "the serial of a camera a running fleet has", fault.target)
        if fault.kind == "sim":
            sim = world.sims.get(fault.target or "")
            if sim is None:
                raise SchemaError("target", "a camera with an LTE modem (only those take a SIM card)", fault.target)
            _changed_sim(sim, fault.set, "set")


def apply_world(world: World, faults: Iterable[Fault]) -> World:
    """The world with ``faults`` applied in order. Faults for things this world does not hold
    (another fleet's AP) and changes that no longer fit are skipped."""
    aps = {ap.name: ap for ap in world.access_points}
    cells = {c.name: c for c in world.cells}
    sims = dict(world.sims)
    for f in faults:
        try:
            if f.kind == "ap" and f.target in aps:
                aps[f.target] = _changed_ap(aps[f.target], f.set, f"fault {f.id}")
            elif f.kind == "cell" and f.target in cells:
                cells[f.target] = _changed_cell(cells[f.target], f.set, f"fault {f.id}")
            elif f.kind == "sim" and f.target is not None and f.target in sims:
                sims[f.target] = _changed_sim(sims[f.target], f.set, f"fault {f.id}")
        except (SchemaError, FieldError):
            continue
    return World(tuple(aps.values()), tuple(cells.values()), sims)


# --------------------------------------------------------------------------------------------
# Per-camera and NTP effects


@dataclass(frozen=True)
class Impairment:
    """Extra latency, loss, a bandwidth cap or a cut, applied on top of the radio's link."""

    latency_ms: float = 0.0
    loss: float = 0.0
    bandwidth_kbps: float | None = None
    up: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "loss": self.loss, "bandwidth_kbps": self.bandwidth_kbps, "up": self.up}


def camera_impairment(serial: str, faults: Iterable[Fault]) -> Impairment | None:
    values: dict[str, Any] = {}
    for f in faults:
        if f.kind == "link" and f.target == serial.upper():
            values.update(f.set)
    return Impairment(**values) if values else None


def impair(link: LinkQuality, imp: Impairment | None) -> LinkQuality:
    """``link`` with ``imp`` on top: latencies add, losses compound, the lower rate wins."""
    if imp is None:
        return link
    if not imp.up or not link.up:
        return LinkQuality(False, link.latency_ms, 1.0, 0.0)
    loss = 1.0 - (1.0 - link.loss_ratio) * (1.0 - imp.loss)
    rate = link.throughput_kbps if imp.bandwidth_kbps is None else min(link.throughput_kbps, imp.bandwidth_kbps)
    return LinkQuality(True, round(link.latency_ms + imp.latency_ms, 3), round(loss, 5), rate)


def camera_clock_skew(serial: str, faults: Iterable[Fault]) -> float | None:
    skew = None
    for f in faults:
        if f.kind == "clock_skew" and f.target == serial.upper():
            skew = float(f.set["seconds"])
    return skew


@dataclass(frozen=True)
class NtpSettings:
    offset_s: float = 0.0
    mode: str = "serve"
    kiss_code: str = "RATE"

    def as_dict(self) -> dict[str, Any]:
        return {"offset_s": self.offset_s, "mode": self.mode, "kiss_code": self.kiss_code}


def ntp_settings(faults: Iterable[Fault]) -> NtpSettings:
    values: dict[str, Any] = {}
    for f in faults:
        if f.kind == "ntp":
            values.update(f.set)
    return NtpSettings(**values)


# --------------------------------------------------------------------------------------------
# The book the appliance keeps


class FaultBook:
    """The faults injected now, in order; ids are ``f1``, ``f2`` … unless the caller names one."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._counter = 0

    def __iter__(self):
        return iter(list(self._faults.values()))

    def __len__(self) -> int:
        return len(self._faults)

    def get(self, fault_id: str) -> Fault | None:
        return self._faults.get(fault_id)

    def next_id(self) -> str:
        self._counter += 1
        while f"f{self._counter}" in self._faults:
            self._counter += 1
        return f"f{self._counter}"

    def add(self, fault: Fault) -> Fault:
        if fault.id in self._faults:
            raise SchemaError("id", "an id no injected fault has", fault.id)
        self._faults[fault.id] = fault
        return fault

    def remove(self, fault_id: str) -> Fault | None:
        return self._faults.pop(fault_id, None)

    def clear(self) -> list[Fault]:
        gone = list(self._faults.values())
        self._faults.clear()
        return gone

    def as_list(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self._faults.values()]


def faults_from_list(items: Iterable[Mapping[str, Any]]) -> list[Fault]:
    """Faults as the appliance sends them to fleets (``Fault.as_dict``), back into ``Fault``."""
    out = []
    for item in items:
        out.append(
            Fault(
                str(item["id"]),
                str(item["kind"]),
                item.get("target"),
                dict(item.get("set") or {}),
                float(item.get("added_at") or 0.0),
            )
        )
    return out
