"""Licence arithmetic, without I/O (SPEC S15).

The manual: "The number of cameras assigned to users with a camera profile enabled for live
streaming, during a 24-hour period, averaged over the last week, determines the number of
licences you need. The licence model is the same whether you use fixed or self-assigned
cameras." Here that sentence is a pure function of the assignment history:

* An ``Assignment`` says that from ``start`` until ``end`` (``None``: still so) a camera was
  assigned to a camera user whose profile had streaming on or off. Fixed and self-assigned
  cameras are both just assignments; a self-assigned camera has one per time it is taken.
* A **24-hour period** is a UTC calendar day ``[d·86400, (d+1)·86400)``. A camera counts on a day
  when at least one of its streaming-enabled assignments overlaps that day, however briefly;
  it counts once per day, whoever it was assigned to and however often it changed hands.
  An assignment that begins and ends at the same instant counts on the day of that instant.
* The **last week** is the seven days ending with today (today included, so the figure moves as
  soon as a camera is used), but not before the day the organization's licensing began (its
  first trial or subscription): a two-day-old organization averages over two days, so the
  trial does not start with a seventh of the truth.
* Licences are whole: ``needed`` is the average rounded up.

``usage(assignments, now, since)`` returns the daily counts of the window, the average and
``needed``. Where the facts come from (the assignments each connected controller sends) is
``appliance.cloud.store``.

What the organization holds (S3, S15) is a list of ``Licence`` rows: the 30-day trial that S3
starts, and subscriptions an organization admin orders or renews, each a quantity of licences
for a term of whole calendar months. ``standing(licences, now)`` says where the organization is:
``trial``, ``purchased`` (a subscription covers now), ``expired`` or ``none``, with the quantity
held now and until when it is covered without a gap (``covered_until``: consecutive and
overlapping licences join). An order starts now; a renewal continues a licence from its end (or
now, when it has ended). The counting rule above is not touched: the quantity held is shown next
to ``needed``, and exceeding it has no effect (the manual says nothing about it); only the end of
cover matters (T2 row 2b).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

DAY = 86400
WINDOW_DAYS = 7


@dataclass(frozen=True)
class Assignment:
    """A camera assigned to a camera user, with the streaming setting of the user's profile."""

    camera: str
    user_id: str | None
    streaming: bool
    start: float
    end: float | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"assignment of {self.camera} ends ({self.end}) before it starts ({self.start})")

    @property
    def counts(self) -> bool:
        """Whether this assignment needs a licence at all (S15: a user with streaming on)."""
        return self.streaming and self.user_id is not None

    def overlaps(self, day: int, now: float) -> bool:
        """Whether the assignment touches day ``day`` (until ``now`` when it is still open)."""
        lo, hi = day * DAY, (day + 1) * DAY
        end = now if self.end is None else self.end
        if end <= self.start:  # an instant (or an open assignment seen at its own start)
            return lo <= self.start < hi
        return self.start < hi and end > lo


@dataclass(frozen=True)
class DayCount:
    day: int  # days since 1970-01-01 (UTC)
    cameras: int

    @property
    def start(self) -> float:
        return self.day * DAY


@dataclass(frozen=True)
class Usage:
    days: tuple[DayCount, ...]
    average: float
    needed: int


def day_of(t: float) -> int:
    """The UTC day number of POSIX time ``t``."""
    return math.floor(t / DAY)


def cameras_on_day(assignments: Iterable[Assignment], day: int, now: float) -> set[str]:
    """The cameras that needed a licence on ``day``."""
    return {a.camera for a in assignments if a.counts and a.overlaps(day, now)}


def daily_counts(assignments: Iterable[Assignment], first_day: int, last_day: int, now: float) -> tuple[DayCount, ...]:
    """The number of licensed cameras per day from ``first_day`` to ``last_day`` inclusive."""
    relevant = [a for a in assignments if a.counts]
    return tuple(DayCount(d, len(cameras_on_day(relevant, d, now))) for d in range(first_day, last_day + 1))


def rolling_average(counts: Iterable[int]) -> float:
    """The mean of the daily counts of the window (0 for an empty window)."""
    values = list(counts)
    return sum(values) / len(values) if values else 0.0


def licences_needed(average: float) -> int:
    """Whole licences covering ``average`` (a hair of float noise does not add one)."""
    return max(0, math.ceil(round(average, 9)))


def window(now: float, since: float | None = None, days: int = WINDOW_DAYS) -> tuple[int, int]:
    """The first and last day of the averaging window ending today."""
    today = day_of(now)
    first = today - days + 1
    if since is not None:
        first = min(today, max(first, day_of(since)))
    return first, today


def usage(assignments: Iterable[Assignment], now: float, since: float | None = None, days: int = WINDOW_DAYS) -> Usage:
    """S15 for one organization at ``now``: daily counts over the window, average, licences needed."""
    first, last = window(now, since, days)
    counts = daily_counts(list(assignments), first, last, now)
    average = rolling_average(c.cameras for c in counts)
    return Usage(counts, average, licences_needed(average))


# ---- what the organization holds (S3, S15) ---------------------------------------------------

TERMS_MONTHS = (1, 12, 24, 36)
"""The subscription terms an organization admin may order or renew, in calendar months."""

MAX_QUANTITY = 10000


@dataclass(frozen=True)
class Licence:
    id: str
    kind: Literal["trial", "subscription"]
    starts_at: float
    ends_at: float
    quantity: int | None = None  # None for the trial (it is not a count of licences)

    def covers(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class Standing:
    state: Literal["trial", "purchased", "expired", "none"]
    valid: bool
    quantity: int  # subscribed licences that cover now
    covered_until: float | None  # the end of the cover that holds now, without a gap; None when not valid
    last_ended_at: float | None  # when the last cover ended (for "expired since")


def add_months(t: float, months: int) -> float:
    """``t`` moved ``months`` calendar months on (UTC), the day clamped to the month's length."""
    d = dt.datetime.fromtimestamp(t, tz=dt.UTC)
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day).timestamp()


def covered_until(licences: Iterable[Licence], now: float) -> float | None:
    """The end of the uninterrupted cover that holds at ``now``, or None if nothing covers now."""
    spans = sorted((lic.starts_at, lic.ends_at) for lic in licences)
    end: float | None = None
    for start, stop in spans:
        if end is None:
            if start <= now < stop:
                end = stop
        elif start <= end:
            end = max(end, stop)
    return end


def standing(licences: Iterable[Licence], now: float) -> Standing:
    """S15 at ``now``: trial, purchased, expired (or none yet), with the quantity held now."""
    held = list(licences)
    current = [lic for lic in held if lic.covers(now)]
    until = covered_until(held, now)
    quantity = sum(lic.quantity or 0 for lic in current if lic.kind == "subscription")
    ended = [lic.ends_at for lic in held if lic.ends_at <= now]
    state: Literal["trial", "purchased", "expired", "none"]
    if any(lic.kind == "subscription" for lic in current):
        state = "purchased"
    elif current:
        state = "trial"
    else:
        state = "expired" if held else "none"
    return Standing(state, bool(current), quantity, until, max(ended) if ended else None)


def order_period(now: float, term_months: int) -> tuple[float, float]:
    """A new order: from now for ``term_months`` months."""
    return now, add_months(now, term_months)


def renewal_period(renewed: Licence, now: float, term_months: int) -> tuple[float, float]:
    """A renewal continues ``renewed`` from its end, or from now when it has ended."""
    start = max(renewed.ends_at, now)
    return start, add_months(start, term_months)
