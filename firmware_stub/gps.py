"""A camera's GPS as a pure model: routes walked along polylines, fixes lost and regained
(SPEC S11, D9, L1, L4).

Nothing here does I/O or reads the time (CONVENTIONS 1, 3): every call takes ``now`` (lab
seconds) and the answers depend only on the arguments, so a scenario's walk is the same on every
run.

* **Route** — a polyline of ``(lat, lon)`` waypoints walked at ``speed_mps``, with optional
  pauses (seconds stopped at a waypoint, by its index). With ``loop`` the walker goes from the
  last waypoint back to the first and starts again (a patrol); without it, it stops at the last
  waypoint and stays there. One waypoint is a camera user who stands still. Leg lengths are
  great-circle distances (haversine); along a leg the position is interpolated linearly in
  latitude and longitude, which over the few hundred metres of a lab site is exact to
  millimetres.
* **GpsReceiver** — the camera's receiver on a route: ``position(now)`` is where the camera user
  is, ``read(now)`` what the receiver reports: a fix (position, accuracy) or, after
  ``handle_event(FixLost(now))``, no fix — together with the last good fix and its time, which is
  what the map shows on hover (D9). ``FixRegained`` brings the fix back; a receiver without a
  route, on a model without GPS (``bwlab.models``), or before its first fix has nothing to
  report (D9: "a camera user with no position yet is not shown").
* **SiteFrame** — the lab's metre grid (x east, y north, from an origin) that access points and
  the radio model use, to convert a GPS position into radio coordinates and back (L4).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bwlab.errors import InputError
from bwlab.models import CameraModel, get_model

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
DEFAULT_SPEED_MPS = 1.4  # a walking camera user
DEFAULT_ACCURACY_M = 4.0  # a good consumer GNSS fix in the open


class RouteError(InputError, ValueError):
    """A route that cannot be walked; the message names the bad value."""


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two ``(lat, lon)`` points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Initial bearing from ``a`` to ``b``, degrees clockwise from north, in [0, 360)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360.0


@dataclass(frozen=True)
class SiteFrame:
    """The lab's local metre grid: x metres east and y metres north of ``origin`` (lat, lon).

    An equirectangular projection at the origin's latitude: over a site of a few hundred
    metres it is exact to centimetres, and it is what the radio model's positions mean.
    """

    origin: tuple[float, float]

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        lat0, lon0 = self.origin
        x = math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
        y = math.radians(lat - lat0) * EARTH_RADIUS_M
        return x, y

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        lat0, lon0 = self.origin
        lat = lat0 + math.degrees(y / EARTH_RADIUS_M)
        lon = lon0 + math.degrees(x / (EARTH_RADIUS_M * math.cos(math.radians(lat0))))
        return lat, lon


@dataclass(frozen=True)
class RoutePoint:
    """Where a route puts the walker at some moment."""

    lat: float
    lon: float
    heading: float  # degrees from north; the heading of the current or last leg
    speed: float  # m/s now (0 while paused or after the end)
    leg: int  # index of the waypoint the walker last passed


@dataclass(frozen=True)
class _Segment:
    start: float  # seconds since the route began
    end: float
    a: tuple[float, float]
    b: tuple[float, float]
    waypoint: int  # index of the waypoint at the start of the segment
    moving: bool


@dataclass(frozen=True)
class Route:
    """A walk along ``waypoints`` (lat, lon in degrees) at ``speed_mps``.

    ``pauses`` maps a waypoint index to the seconds the walker stops there each time it passes
    (index 0 pauses at the start of every lap). ``loop`` closes the polyline and repeats it.
    """

    name: str
    waypoints: tuple[tuple[float, float], ...]
    speed_mps: float = DEFAULT_SPEED_MPS
    loop: bool = True
    pauses: Mapping[int, float] = field(default_factory=dict)
    _segments: tuple[_Segment, ...] = field(init=False, repr=False, compare=False)
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        points = tuple((float(lat), float(lon)) for lat, lon in self.waypoints)
        if not points:
            raise RouteError(f"route {self.name!r}: at least one waypoint is needed")
        for i, (lat, lon) in enumerate(points):
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or math.isnan(lat) or math.isnan(lon):
                raise RouteError(f"route {self.name!r}: waypoint {i} ({lat}, {lon}) is not a latitude/longitude")
        if not (self.speed_mps > 0 and math.isfinite(self.speed_mps)):
            raise RouteError(f"route {self.name!r}: speed_mps must be a positive number, got {self.speed_mps!r}")
        pauses = {}
        for index, seconds in dict(self.pauses).items():
            index = int(index)
            if not 0 <= index < len(points):
                raise RouteError(
                    f"route {self.name!r}: a pause at waypoint {index}, but it has {len(points)} waypoints"
                )
            if not (seconds >= 0 and math.isfinite(seconds)):
                raise RouteError(f"route {self.name!r}: the pause at waypoint {index} must be ≥ 0 seconds")
            pauses[index] = float(seconds)
        object.__setattr__(self, "waypoints", points)
        object.__setattr__(self, "pauses", pauses)
        segments: list[_Segment] = []
        t = 0.0

        def pause(i: int) -> None:
            nonlocal t
            wait = pauses.get(i, 0.0)
            if wait > 0:
                segments.append(_Segment(t, t + wait, points[i], points[i], i, False))
                t += wait

        def walk(i: int, j: int) -> None:
            nonlocal t
            length = haversine_m(points[i], points[j])
            if length > 0:
                segments.append(_Segment(t, t + length / self.speed_mps, points[i], points[j], i, True))
                t += length / self.speed_mps

        # One pass: stop at waypoint 0, then walk to each next waypoint and stop there. A loop
        # walks back to waypoint 0, where the next lap's stop at waypoint 0 begins.
        pause(0)
        for i in range(1, len(points)):
            walk(i - 1, i)
            pause(i)
        if self.loop and len(points) > 1:
            walk(len(points) - 1, 0)
        object.__setattr__(self, "_segments", tuple(segments))
        object.__setattr__(self, "_starts", tuple(s.start for s in segments))

    @property
    def length_m(self) -> float:
        """Metres walked in one pass (one lap when looping)."""
        return sum(haversine_m(s.a, s.b) for s in self._segments if s.moving)

    @property
    def duration(self) -> float:
        """Seconds of one pass (one lap, with its pauses, when looping)."""
        return self._segments[-1].end if self._segments else 0.0

    def at(self, elapsed: float) -> RoutePoint:
        """Where the walker is ``elapsed`` seconds after starting the route (before 0: the start)."""
        segments = self._segments
        if not segments:
            lat, lon = self.waypoints[0]
            return RoutePoint(lat, lon, 0.0, 0.0, 0)
        elapsed = max(0.0, elapsed)
        if self.loop and self.duration > 0:
            elapsed = math.fmod(elapsed, self.duration)
        elif elapsed >= self.duration:
            last = segments[-1]
            heading = next((bearing_deg(s.a, s.b) for s in reversed(segments) if s.moving), 0.0)
            return RoutePoint(last.b[0], last.b[1], heading, 0.0, len(self.waypoints) - 1)
        i = max(0, bisect.bisect_right(self._starts, elapsed) - 1)
        s = segments[i]
        if not s.moving:
            heading = next(
                (bearing_deg(p.a, p.b) for p in reversed(segments[:i]) if p.moving),
                next((bearing_deg(p.a, p.b) for p in segments if p.moving), 0.0),
            )
            return RoutePoint(s.a[0], s.a[1], heading, 0.0, s.waypoint)
        f = min(1.0, (elapsed - s.start) / (s.end - s.start))
        lat = s.a[0] + (s.b[0] - s.a[0]) * f
        lon = s.a[1] + (s.b[1] - s.a[1]) * f
        return RoutePoint(lat, lon, bearing_deg(s.a, s.b), self.speed_mps, s.waypoint)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Route:
        """From a scenario's ``[[routes]]`` table (already schema-checked)."""
        pauses = {int(p["at"]): float(p["seconds"]) for p in data.get("pauses", ())}
        return cls(
            name=data["name"],
            waypoints=tuple(tuple(w) for w in data["waypoints"]),
            speed_mps=data.get("speed_mps", DEFAULT_SPEED_MPS),
            loop=data.get("loop", True),
            pauses=pauses,
        )


# ---------------------------------------------------------------- the receiver


@dataclass(frozen=True)
class FixLost:
    """The receiver stops getting satellites (indoors, a tunnel, a fault from the timeline)."""

    now: float


@dataclass(frozen=True)
class FixRegained:
    """The receiver gets satellites again."""

    now: float


GpsEvent = FixLost | FixRegained


@dataclass(frozen=True)
class GpsReading:
    """What the receiver reports at ``t``.

    With a fix: ``lat``/``lon`` are the position now. Without: they are the last good fix's,
    ``accuracy`` is ``None`` and ``last_fix_t`` is when that fix was taken (D9's hover text).
    """

    t: float
    lat: float
    lon: float
    accuracy: float | None
    fix: bool
    last_fix_t: float

    def as_record(self) -> dict[str, Any]:
        """The JSON object a camera seals as a position chunk (docs/decisions.md "Map and positions")."""
        record: dict[str, Any] = {
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "accuracy": self.accuracy,
            "t": round(self.t, 3),
            "fix": self.fix,
        }
        if not self.fix:
            record["last_fix_t"] = round(self.last_fix_t, 3)
        return record


class GpsReceiver:
    """One camera's GPS receiver walking ``route`` from ``started_at`` (lab seconds).

    ``offset`` starts the walker that many seconds into the route (cameras sharing a route are
    spread along it). ``fix`` is whether it has satellites at ``started_at``. ``model``: a model
    without GPS never reports (S11).
    """

    def __init__(
        self,
        route: Route | None,
        *,
        started_at: float,
        offset: float = 0.0,
        fix: bool = True,
        accuracy: float = DEFAULT_ACCURACY_M,
        model: CameraModel | str | None = None,
    ) -> None:
        if isinstance(model, str):
            model = get_model(model)
        self.route = route if model is None or model.gps else None
        self.started_at = started_at
        self.offset = offset
        self.accuracy = accuracy
        self._fix = fix and self.route is not None
        self._last_fix: tuple[float, float, float] | None = None  # (t, lat, lon) of the last good fix

    @property
    def has_gps(self) -> bool:
        return self.route is not None

    @property
    def fix(self) -> bool:
        return self._fix

    def handle_event(self, event: GpsEvent) -> None:
        """Feed a fix loss or regain; repeating the current state changes nothing."""
        if self.route is None:
            return
        fix = isinstance(event, FixRegained)
        if fix == self._fix:
            return
        if not fix:
            p = self.position(event.now)
            self._last_fix = (event.now, p.lat, p.lon)
        self._fix = fix

    def position(self, now: float) -> RoutePoint:
        """Where the camera user really is (the receiver may not know it)."""
        if self.route is None:
            raise RouteError("this camera has no GPS route")
        return self.route.at(now - self.started_at + self.offset)

    def read(self, now: float) -> GpsReading | None:
        """The receiver's report now, or ``None`` before any fix (or without GPS)."""
        if self.route is None:
            return None
        if self._fix:
            p = self.position(now)
            return GpsReading(t=now, lat=p.lat, lon=p.lon, accuracy=self.accuracy, fix=True, last_fix_t=now)
        if self._last_fix is None:
            return None
        t, lat, lon = self._last_fix
        return GpsReading(t=now, lat=lat, lon=lon, accuracy=None, fix=False, last_fix_t=t)


def routes_by_name(routes: Iterable[Route]) -> dict[str, Route]:
    return {r.name: r for r in routes}
