"""Scenario files (SPEC L1; DESIGN "Scenarios").

A scenario is a TOML file that declares the lab: accounts, the organization, systems with their
keys, Wi-Fi networks, profiles, camera users, docks and cameras, the site plan and the GPS routes
the camera users walk, and a timeline of actions with expectations. ``load_scenario(path)`` returns frozen dataclasses; every error names the file,
the key path and what was expected, e.g.
``demo.toml: systems[0].profiles[1].remote_mode: expected one of 'while_recording', 'always', got string 'never'``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from bwlab.errors import InputError
from bwlab.expect import check_expectation
from bwlab.models import MODELS
from bwlab.passwords import password_problem
from bwlab.regions import REGIONS
from bwlab.schema import SchemaError, from_mapping
from labnet.faults import parse_fault
from labnet.mobile import Cell, MobileConfig, Sim
from labnet.radio_config import RadioConfig, access_points_from_list

#: The longest a timeline may run, in real seconds: a step later than this can never be reached.
MAX_TIMELINE_S = 3600.0


class ScenarioError(InputError, ValueError):
    """A scenario file that cannot be used; the message names file, key and expectation."""


@dataclass(frozen=True)
class Account:
    email: str
    name: str
    password: str

    def __post_init__(self) -> None:  # the appliance's policy, said here with the file and key
        problem = password_problem(self.password, (self.email, self.name))
        if problem:
            raise ValueError(f"password: {problem}")


@dataclass(frozen=True)
class Member:
    email: str
    role: Literal["user", "operator", "admin"] = "operator"


@dataclass(frozen=True)
class Organization:
    name: str
    owner: str
    members: list[Member] = field(default_factory=list)


@dataclass(frozen=True)
class WifiNetwork:
    ssid: str
    password: str = ""


@dataclass(frozen=True)
class Location:
    enabled: bool = False
    mode: Literal["while_recording_or_streaming", "always"] = "while_recording_or_streaming"


@dataclass(frozen=True)
class Profile:
    name: str
    streaming: bool = False
    live_stream_on_record: bool = False
    remote_activation: bool = False
    remote_mode: Literal["while_recording", "always"] = "while_recording"
    location: dict[str, Location] = field(default_factory=dict)
    wifi_networks: list[str] = field(default_factory=list)
    help_gesture: Literal["function_long"] | None = None  # issue 16: the help request gesture (null: off)
    help_stream: bool = True  # a help request also starts a stream (with streaming on)


@dataclass(frozen=True)
class CameraUser:
    name: str
    profile: str | None = None
    network: WifiNetwork | None = None


@dataclass(frozen=True)
class Dock:
    name: str
    bays: int = field(default=8, metadata={"min": 1, "max": 8})


def _check_latlon(point: list[float], what: str) -> None:
    if len(point) != 2 or not (-90.0 <= point[0] <= 90.0 and -180.0 <= point[1] <= 180.0):
        raise ValueError(f"{what}: expected [latitude, longitude] in degrees, got {point!r}")


@dataclass(frozen=True)
class RoutePause:
    """Seconds the walker stops at waypoint ``at`` (0 = the first) each time it passes."""

    at: int = field(metadata={"min": 0})
    seconds: float = field(metadata={"min": 0, "max": 86400})


@dataclass(frozen=True)
class GpsRoute:
    """L1: a route a camera user walks (``[[routes]]``), see firmware_stub/gps.py."""

    name: str = field(metadata={"nonempty": True, "max_len": 80})
    waypoints: list[list[float]] = field(metadata={"max_items": 1000})
    speed_mps: float = field(default=1.4, metadata={"min": 0.01, "max": 70})
    loop: bool = True
    pauses: list[RoutePause] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.waypoints:
            raise ValueError("waypoints: expected at least one [latitude, longitude]")
        for i, point in enumerate(self.waypoints):
            _check_latlon(point, f"waypoints[{i}]")
        for i, pause in enumerate(self.pauses):
            if pause.at >= len(self.waypoints):
                raise ValueError(
                    f"pauses[{i}].at: expected a waypoint index below {len(self.waypoints)}, got {pause.at}"
                )


@dataclass(frozen=True)
class SiteFeature:
    """A street (a polyline) or a building (a polygon) of the site plan, in [lat, lon] points."""

    points: list[list[float]] = field(metadata={"max_items": 1000})
    name: str = field(default="", metadata={"max_len": 80})

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError("points: expected at least two [latitude, longitude]")
        for i, point in enumerate(self.points):
            _check_latlon(point, f"points[{i}]")


@dataclass(frozen=True)
class Site:
    """The site plan the map draws when no tile server is configured (D9, L4).

    ``origin`` ([lat, lon]) is the (0, 0) of the lab's metre grid in which access points are
    placed (x east, y north); ``tile_url`` (``https://host/{z}/{x}/{y}.png``) replaces the
    drawn plan with a tile server's map.
    """

    origin: list[float]
    name: str = field(default="Lab site", metadata={"max_len": 80})
    streets: list[SiteFeature] = field(default_factory=list)
    buildings: list[SiteFeature] = field(default_factory=list)
    tile_url: str | None = field(default=None, metadata={"max_len": 500})

    def __post_init__(self) -> None:
        _check_latlon(self.origin, "origin")


@dataclass(frozen=True)
class Camera:
    serial: str
    model: str = field(metadata={"choices": tuple(MODELS)})
    camera_user: str | None = None
    self_assign: bool = False
    dock: str | None = None
    bay: int | None = field(default=None, metadata={"min": 1, "max": 8})
    docked: bool = True
    # provisioned in its bay at the start, then taken out by its camera user: ready to stream
    taken_out: bool = False
    imei: str | None = None
    sim_pin: str | None = None
    route: str | None = None  # the name of a [[routes]] table the camera user walks (L1)
    route_offset_s: float = field(default=0.0, metadata={"min": 0})  # start this far into the route
    gps_fix: bool = True  # whether the GPS has a fix at the start (D9)
    # The lab network (L1, L2): where the camera is on the site's metre grid while docked (and
    # out of the dock without a route), the SIM card in it (W120; keys of labnet.mobile.Sim),
    # and a clock that runs off lab time from the start and does not sync with NTP (S1).
    position: list[float] | None = field(default=None, metadata={"max_items": 2})
    sim: dict[str, Any] | None = None
    clock_skew_s: float = field(default=0.0, metadata={"min": -10 * 86400, "max": 10 * 86400})


@dataclass(frozen=True)
class Key:
    """S4/S5: generate a key in this system, or import the link with key of another system."""

    generate: bool = True
    name: str = "Key"
    import_from: str | None = None


@dataclass(frozen=True)
class System:
    name: str
    admin_password: str
    region: str = field(default="eu", metadata={"choices": tuple(REGIONS)})
    connect: bool = True
    key: Key | None = field(default_factory=Key)
    link_passphrase: str | None = None
    allow_troubleshooting: bool = False
    ntp_server: str | None = None
    country: str | None = None  # where the system is (Manager Settings > System; T2 row 7)
    apn: str | None = None  # Settings > Camera > Mobile networks > Show advanced: every LTE camera's APN
    wifi_networks: list[WifiNetwork] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    camera_users: list[CameraUser] = field(default_factory=list)
    docks: list[Dock] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    content_destination: str | None = field(default=None, metadata={"max_len": 1024})
    """A connection file (issue 13) the system's admin imports; a path relative to the scenario."""

    def __post_init__(self) -> None:
        problem = password_problem(self.admin_password, (self.name,))
        if problem:
            raise ValueError(f"admin_password: {problem}")


#: Every timeline action, the keys it takes (besides ``action``, ``at`` and ``camera``) and what it does.
ACTIONS: dict[str, tuple[str, str]] = {
    "dock": ("dock, bay", "put the camera in a dock bay (D1: it is provisioned and its certificate renewed)"),
    "undock": ("", "take the camera out of its dock"),
    "press": ("button, gesture", "press the camera's record, function or top button (press, double, long)"),
    "travel": ("seconds", "move lab time forward by that many seconds (the timeline's own time does not move)"),
    "gps": ("fix", "the camera's GPS gets (true) or loses (false) its fix (D9)"),
    "move": ("position, seconds", "put the camera at [x, y] metres on the site, walking there in `seconds` if given"),
    "fault": (
        "fault",
        "inject a lab fault {kind, target, set, id} (`bwlab fault list` lists the kinds), "
        'or {kind = "hostname", target = <a T5 name>} to stop answering for a host name',
    ),
    "clear": ("fault_id", "clear the fault named by `fault_id` (its `id`), or every fault without one"),
    "expect": (
        "expect, within | eventually",
        "wait until every key of `expect` holds for the camera, up to "
        "`within` real seconds (10 by default) or `eventually` lab seconds",
    ),
    "bookmark": (
        "text, tags",
        "the camera user bookmarks the recording now (issue 13; as in the Assistant app): "
        "a description and key:value;… tags",
    ),
    "category": ("category_id, category_name", "the camera user sets the recording's category (issue 13)"),
    "remote_start": (
        "refusal",
        "an operator starts the camera user's live stream from Live (D4); with `refusal` "
        'the start must be refused with that code (e.g. "streaming_disabled")',
    ),
    "acknowledge": ("refusal", "an operator acknowledges the camera user's live stream (the camera vibrates)"),
    "watch": (
        "seconds, expect",
        "an operator watches the camera user's live stream for `seconds` (3 by default) "
        "with the reference viewer; `expect` judges what it saw (the watch keys below)",
    ),
    "manager": (
        "system, change, target, set",
        "an administrator changes a setting in the Manager of `system` "
        "(the camera's, or the only one): `change` is profile, wifi_network, "
        "camera or settings, `target` the profile name, SSID or serial, and "
        "`set` the values (the manual's fixes: a profile's streaming, a Wi-Fi "
        "password, a SIM PIN, the APN, the NTP server)",
    ),
}

#: What a ``watch`` step's ``expect`` may judge: the reference viewer's report (bwlab/viewer.py).
WATCH_KEYS = {
    "refusal": 'null when the stream played; "no_stream" (none appeared in 10 s) or "clock_mismatch" (S1)',
    "video_frames": "video frames decoded",
    "audio_frames": "audio frames decoded",
    "chunks": "chunks received",
    "ended": "the stream ended while watched",
    "latency_ms.p50": "glass-to-glass latency, median (ms)",
    "latency_ms.p95": "… 95th percentile (ms)",
    "latency_ms.p99": "… 99th percentile (ms)",
    "latency_ms.mean": "… mean (ms)",
    "max_gap_ms": "the longest gap between two consecutive video frames' capture times (ms)",
}


@dataclass(frozen=True)
class CameraChange:
    """A ``manager`` step's ``set`` for ``change = "camera"``: Manager > Cameras > the camera
    (its camera user, and the SIM PIN of T2 row 4a / T4 row 5)."""

    camera_user: str | None = None
    self_assign: bool | None = None
    sim_pin: str | None = field(default=None, metadata={"max_len": 8})


@dataclass(frozen=True)
class SettingsChange:
    """A ``manager`` step's ``set`` for ``change = "settings"``: Settings > System > Date and time
    (S1, T2 row 6), the system's country (T2 row 7) and Settings > Camera > Mobile networks > Show
    advanced, the APN (T2 row 4c, T4 row 7)."""

    ntp_server: str | None = field(default=None, metadata={"max_len": 253})
    time_zone: str | None = field(default=None, metadata={"max_len": 64})
    country: str | None = field(default=None, metadata={"max_len": 2})
    apn: str | None = field(default=None, metadata={"max_len": 100})


@dataclass(frozen=True)
class Step:
    """One timeline entry: ``at`` seconds after the timeline starts, do ``action``.

    Steps run in file order; ``at`` may not go back (a step earlier than the one before it could
    never run at its time). Without ``at`` a step runs as soon as the one before it is done.
    The timeline's seconds are real seconds (``bwlab/timeline.py``): a ``travel`` moves lab time
    forward but not the timeline. ``fault`` adds ``fault`` (``{kind, target, set, id}``, see
    labnet/faults.py); ``clear`` clears the fault ``fault_id`` (all faults without one);
    ``move`` puts ``camera`` at ``position`` (metres), walking there in ``seconds`` if given;
    ``expect`` waits up to ``within`` real seconds (default 10) for every key of ``expect`` to hold,
    or, with ``eventually``, until that many seconds of *lab* time have passed (a ``travel`` in
    between counts), polling; the keys and value forms are those of bwlab/expect.py.
    """

    action: Literal[
        "dock",
        "undock",
        "press",
        "travel",
        "expect",
        "gps",
        "fault",
        "clear",
        "move",
        "remote_start",
        "acknowledge",
        "watch",
        "manager",
        "bookmark",
        "category",
    ]
    at: float | None = field(default=None, metadata={"min": 0})
    camera: str | None = None
    button: Literal["record", "function", "top"] | None = None
    gesture: Literal["press", "double", "long"] | None = None
    dock: str | None = None
    bay: int | None = None
    seconds: float | None = None
    fix: bool | None = None  # action "gps": the camera's GPS gets (true) or loses (false) its fix
    expect: dict[str, Any] = field(default_factory=dict)
    fault: dict[str, Any] | None = None
    fault_id: str | None = None
    position: list[float] | None = field(default=None, metadata={"max_items": 2})
    within: float | None = field(default=None, metadata={"min": 0.1, "max": 600})
    eventually: float | None = field(default=None, metadata={"min": 0.1, "max": 30 * 86400})
    refusal: str | None = field(default=None, metadata={"max_len": 80})  # remote_start, acknowledge
    system: str | None = None  # manager: the system's name
    change: Literal["profile", "wifi_network", "camera", "settings"] | None = None
    target: str | None = field(default=None, metadata={"max_len": 80})
    set: dict[str, Any] | None = None
    text: str | None = field(default=None, metadata={"max_len": 1024})  # bookmark: its description
    tags: str | None = field(default=None, metadata={"max_len": 256})  # bookmark: key:value;… tags
    category_id: str | None = field(default=None, metadata={"max_len": 64})  # category
    category_name: str | None = field(default=None, metadata={"max_len": 64})


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    tags: list[str] = field(default_factory=list)  # for ``bwlab test -k``
    accounts: list[Account] = field(default_factory=list)
    organization: Organization | None = None
    systems: list[System] = field(default_factory=list)
    site: Site | None = None
    routes: list[GpsRoute] = field(default_factory=list)
    # The lab network (L1, L4): access points and mobile cells on the site's metre grid (keys of
    # labnet.radio_config.AccessPoint and labnet.mobile.Cell), and the radio models' tunables.
    access_points: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    radio: dict[str, Any] = field(default_factory=dict)
    mobile: dict[str, Any] = field(default_factory=dict)
    timeline: list[Step] = field(default_factory=list)

    def account(self, email: str) -> Account:
        return next(a for a in self.accounts if a.email == email)

    def route(self, name: str | None) -> GpsRoute | None:
        return next((r for r in self.routes if r.name == name), None)


def _check_references(s: Scenario) -> None:
    emails = {a.email for a in s.accounts}
    if s.organization:
        if s.organization.owner not in emails:
            raise SchemaError(
                "organization.owner",
                f"the e-mail of an account in [[accounts]] ({', '.join(sorted(emails))})",
                s.organization.owner,
            )
        for i, mem in enumerate(s.organization.members):
            if mem.email not in emails:
                raise SchemaError(
                    f"organization.members[{i}].email", "the e-mail of an account in [[accounts]]", mem.email
                )
    system_names = [sys.name for sys in s.systems]
    route_names = [r.name for r in s.routes]
    for ri, name in enumerate(route_names):
        if name in route_names[:ri]:
            raise SchemaError(f"routes[{ri}].name", "a route name used once in the scenario", name)
    serials: set[str] = set()
    for si, sys in enumerate(s.systems):
        p = f"systems[{si}]"
        if sys.connect and s.organization is None:
            raise SchemaError(f"{p}.connect", "an [organization] table to connect the system to")
        if (
            sys.key
            and sys.key.import_from is not None
            and (sys.key.import_from not in system_names or sys.key.import_from == sys.name)
        ):
            raise SchemaError(f"{p}.key.import_from", "the name of another system", sys.key.import_from)
        ssids = {n.ssid for n in sys.wifi_networks}
        profiles = {pr.name for pr in sys.profiles}
        for pi, prof in enumerate(sys.profiles):
            for ni, ssid in enumerate(prof.wifi_networks):
                if ssid not in ssids:
                    raise SchemaError(
                        f"{p}.profiles[{pi}].wifi_networks[{ni}]", "the SSID of a [[systems.wifi_networks]]", ssid
                    )
            for model, loc in prof.location.items():
                if model not in MODELS:
                    raise SchemaError(f"{p}.profiles[{pi}].location.{model}", "a camera model: " + ", ".join(MODELS))
                if loc.enabled and not MODELS[model].gps:
                    raise SchemaError(
                        f"{p}.profiles[{pi}].location.{model}.enabled", f"false: the {model} has no GPS (S11)", True
                    )
        users = {u.name for u in sys.camera_users}
        for ui, user in enumerate(sys.camera_users):
            if user.profile is not None and user.profile not in profiles:
                raise SchemaError(
                    f"{p}.camera_users[{ui}].profile", "the name of a profile of this system", user.profile
                )
        docks = {d.name: d for d in sys.docks}
        taken: set[tuple[str, int]] = set()
        for ci, cam in enumerate(sys.cameras):
            cp = f"{p}.cameras[{ci}]"
            if cam.serial.upper() in serials:
                raise SchemaError(f"{cp}.serial", "a serial number used once in the scenario", cam.serial)
            serials.add(cam.serial.upper())
            if cam.route is not None and cam.route not in route_names:
                raise SchemaError(f"{cp}.route", "the name of a [[routes]] table", cam.route)
            if cam.camera_user is not None and cam.camera_user not in users:
                raise SchemaError(f"{cp}.camera_user", "the name of a camera user of this system", cam.camera_user)
            if cam.taken_out and not cam.docked:
                raise SchemaError(
                    f"{cp}.taken_out",
                    "docked = true: a camera is provisioned in its bay before it is taken out",
                    cam.taken_out,
                )
            if cam.docked:
                if cam.dock not in docks:
                    raise SchemaError(
                        f"{cp}.dock", "the name of a dock of this system (the camera starts docked)", cam.dock
                    )
                if cam.bay is None or cam.bay > docks[cam.dock].bays:
                    raise SchemaError(f"{cp}.bay", f"a bay from 1 to {docks[cam.dock].bays}", cam.bay)
                if (cam.dock, cam.bay) in taken:
                    raise SchemaError(f"{cp}.bay", "a bay no other camera starts in", cam.bay)
                taken.add((cam.dock, cam.bay))
    for ti, step in enumerate(s.timeline):
        if step.camera is not None and step.camera.upper() not in serials:
            raise SchemaError(f"timeline[{ti}].camera", "the serial of a camera in the scenario", step.camera)
        if step.action == "gps" and (step.camera is None or step.fix is None):
            raise SchemaError(
                f"timeline[{ti}].{'camera' if step.camera is None else 'fix'}",
                "a camera and fix = true or false for a gps step",
            )


def _check_network(s: Scenario) -> None:
    """The lab network's parts, checked by the radio models themselves (paths name the key)."""
    access_points_from_list(s.access_points, "access_points")
    cell_names: set[str] = set()
    for i, cell in enumerate(s.cells):
        name = Cell.from_mapping(cell, f"cells[{i}]").name
        if name in cell_names:
            raise SchemaError(f"cells[{i}].name", "a cell name used once in the scenario", name)
        cell_names.add(name)
    RadioConfig.from_mapping(s.radio, "radio")
    MobileConfig.from_mapping(s.mobile, "mobile")
    for si, sys in enumerate(s.systems):
        for ci, cam in enumerate(sys.cameras):
            cp = f"systems[{si}].cameras[{ci}]"
            if cam.position is not None and len(cam.position) != 2:
                raise SchemaError(f"{cp}.position", "a position [x, y] in metres", cam.position)
            if cam.sim is not None:
                if not MODELS[cam.model].lte:
                    raise SchemaError(f"{cp}.sim", f"no SIM: the {cam.model} has no LTE modem (only the W120 has one)")
                Sim.from_mapping(cam.sim, f"{cp}.sim")
    for ti, step in enumerate(s.timeline):
        p = f"timeline[{ti}]"
        if step.action == "fault":
            if step.fault is None:
                raise SchemaError(f"{p}.fault", "a fault table {kind, target, set} for a fault step")
            if step.fault.get("kind") == "hostname":  # the lab's blocked T5 names (appliance/lab/api/dns.py)
                if set(step.fault) - {"kind", "target", "id"} or not isinstance(step.fault.get("target"), str):
                    raise SchemaError(f"{p}.fault", '{kind = "hostname", target = "<a T5 host name>"}')
                continue
            parse_fault(step.fault, fault_id="f", now=0.0, path=f"{p}.fault")
        if step.action == "move" and (step.camera is None or step.position is None or len(step.position) != 2):
            raise SchemaError(
                f"{p}.{'camera' if step.camera is None else 'position'}",
                "a camera and a position [x, y] in metres for a move step",
            )
        if step.action in ("bookmark", "category") and step.camera is None:
            raise SchemaError(f"{p}.camera", f"the camera whose user adds the {step.action} (issue 13)")
        if step.action == "category" and (not step.category_id or not step.category_name):
            raise SchemaError(f"{p}.category_id", "category_id and category_name for a category")
        if step.action in ("dock", "undock", "press") and step.camera is None:
            raise SchemaError(f"{p}.camera", f"the serial of the camera to {step.action}")
        if step.action == "travel" and (step.seconds is None or step.seconds <= 0):
            raise SchemaError(f"{p}.seconds", "the seconds to travel forward (> 0)", step.seconds)
        if step.action == "expect":
            if not step.expect:
                raise SchemaError(f"{p}.expect", "at least one expectation")
            if step.within is not None and step.eventually is not None:
                raise SchemaError(
                    f"{p}.eventually", "either within (real seconds) or eventually (lab seconds), not both"
                )
            for key, value in step.expect.items():
                why = check_expectation(key, value)
                if why is not None:
                    raise SchemaError(f"{p}.expect.{key}", why, value)
                if key != "viewer" and step.camera is None:
                    raise SchemaError(f"{p}.camera", f"the camera whose {key} to check")
        elif step.action == "watch":
            _check_watch(step, p)
        elif step.expect or step.within is not None or step.eventually is not None:
            raise SchemaError(
                f"{p}.{'expect' if step.expect else 'within' if step.within is not None else 'eventually'}",
                "nothing: only an expect or watch step takes expect, within and eventually",
            )
        if step.action in ("remote_start", "acknowledge", "watch") and step.camera is None:
            raise SchemaError(
                f"{p}.camera", f"the camera whose camera user's stream to {step.action.replace('_', ' ')}"
            )
        if step.action in ("remote_start", "acknowledge", "watch") and s.organization is None:
            raise SchemaError(f"{p}.action", f"an [organization] with an operator or admin member to {step.action}")
        if step.action == "manager":
            _check_manager(s, step, p)
        else:
            for key in ("system", "change", "target", "set"):
                if getattr(step, key) is not None:
                    raise SchemaError(f"{p}.{key}", "nothing: only a manager step takes system, change, target and set")
    last = 0.0
    for ti, step in enumerate(s.timeline):
        if step.at is None:
            continue
        if step.at < last:
            raise SchemaError(
                f"timeline[{ti}].at",
                f"a time no earlier than the step before it ({last:g} s): "
                "steps run in file order, so this one could never run at its time",
                step.at,
            )
        if step.at > MAX_TIMELINE_S:
            raise SchemaError(f"timeline[{ti}].at", f"at most {MAX_TIMELINE_S:g} s (a timeline's longest run)", step.at)
        last = step.at


def _check_watch(step: Step, p: str) -> None:
    if step.within is not None or step.eventually is not None:
        raise SchemaError(f"{p}.seconds", "how long to watch, in seconds (a watch step takes no within or eventually)")
    if step.seconds is not None and not 0.5 <= step.seconds <= 120:
        raise SchemaError(f"{p}.seconds", "from 0.5 to 120 seconds of watching", step.seconds)
    for key, value in step.expect.items():
        if key not in WATCH_KEYS:
            raise SchemaError(f"{p}.expect.{key}", "one of " + ", ".join(WATCH_KEYS))
        if key == "refusal":
            if value not in ("", "no_stream", "clock_mismatch"):
                raise SchemaError(f"{p}.expect.refusal", '"" (it played), "no_stream" or "clock_mismatch"', value)
            continue
        why = check_expectation(f"state.{key}", value)
        if why is not None:
            raise SchemaError(f"{p}.expect.{key}", why, value)


def _check_manager(s: Scenario, step: Step, p: str) -> None:
    """A Manager change is checked like the scenario's own tables: an invalid value never reaches
    the Manager, and nothing starts."""
    systems = {sys.name: sys for sys in s.systems}
    if step.system is not None:
        system = systems.get(step.system)
        if system is None:
            raise SchemaError(f"{p}.system", "the name of a system of the scenario", step.system)
    else:
        owner = [
            sys
            for sys in s.systems
            if step.camera and any(c.serial.upper() == step.camera.upper() for c in sys.cameras)
        ]
        if not owner and len(s.systems) != 1:
            raise SchemaError(f"{p}.system", "the name of the system whose Manager to change")
        system = (owner or s.systems)[0]
    if step.change is None:
        raise SchemaError(f"{p}.change", "one of 'profile', 'wifi_network', 'camera', 'settings'")
    if step.set is None or not step.set:
        raise SchemaError(f"{p}.set", "a table of the values to set")
    target = step.target
    if step.change == "camera":
        target = target or step.camera
        if target is None or target.upper() not in {c.serial.upper() for c in system.cameras}:
            raise SchemaError(f"{p}.target", f"the serial of a camera of system {system.name!r}", target)
    elif step.change != "settings" and not target:
        raise SchemaError(f"{p}.target", "the profile name" if step.change == "profile" else "the network's SSID")
    kind = {"profile": Profile, "wifi_network": WifiNetwork, "camera": CameraChange, "settings": SettingsChange}
    body = dict(step.set)
    if step.change == "profile":
        body = {"name": target, **body}
    elif step.change == "wifi_network":
        body = {"ssid": target, **body}
    try:
        value: object = from_mapping(kind[step.change], body)
    except SchemaError as exc:
        raise SchemaError(f"{p}.set.{exc.path.removeprefix('(top level)')}".rstrip("."), exc.expected) from None
    if isinstance(value, Profile):
        ssids = {n.ssid for n in system.wifi_networks}
        for ni, ssid in enumerate(value.wifi_networks):
            if ssid not in ssids:
                raise SchemaError(
                    f"{p}.set.wifi_networks[{ni}]", f"the SSID of a Wi-Fi network of {system.name!r}", ssid
                )
    if (
        isinstance(value, CameraChange)
        and value.camera_user is not None
        and value.camera_user not in {u.name for u in system.camera_users}
    ):
        raise SchemaError(f"{p}.set.camera_user", f"the name of a camera user of {system.name!r}", value.camera_user)


def manager_system(s: Scenario, step: Step) -> System:
    """The system a ``manager`` step changes (checked when the scenario loaded)."""
    if step.system is not None:
        return next(sys for sys in s.systems if sys.name == step.system)
    return next(
        (sys for sys in s.systems if step.camera and any(c.serial.upper() == step.camera.upper() for c in sys.cameras)),
        s.systems[0],
    )


def parse_scenario(data: dict, source: str = "<scenario>") -> Scenario:
    try:
        scenario = from_mapping(Scenario, data)
        _check_references(scenario)
        _check_network(scenario)
    except SchemaError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    return scenario


def load_scenario(path: str | Path | None) -> tuple[Scenario, str]:
    """The scenario at ``path`` (the built-in demo when None) and the name of its source."""
    if path is None:
        source = "demo.toml (built in)"
        text = resources.files("bwlab").joinpath("scenarios/demo.toml").read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{source}: cannot read the scenario file: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ScenarioError(f"{source}: the scenario file is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    scenario = parse_scenario(data, source)
    if path is not None:  # connection files are relative to the scenario file
        base = Path(path).resolve().parent
        scenario = replace(
            scenario,
            systems=[
                replace(s, content_destination=str(base / s.content_destination)) if s.content_destination else s
                for s in scenario.systems
            ],
        )
    return scenario, source
