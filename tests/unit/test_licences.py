"""S15 licence arithmetic against tables computed by hand (appliance/cloud/licences.py).

The week below runs over days 0–6 (UTC days counted from ``D0``); "now" is day 6 at noon.
Each camera's assignments, and the days it must count on:

==========  ===========================================================  ==================
camera      assignments (user, streaming on/off, from → to)              counts on days
==========  ===========================================================  ==================
A (fixed)   Anna, on, day 0 00:00 → still                                0 1 2 3 4 5 6
B (fixed)   Ben added mid-week: on, day 2 10:00 → still                  2 3 4 5 6
C (fixed)   Chloe removed mid-week: on, day 0 00:00 → day 3 13:00        0 1 2 3
D (fixed)   David: off d0 → d3 08:00, on → d4 18:00, off → still         3 4
E (self)    Emma d1 08–16, Felix d1 17–23 (both on), Emma d5 09–17       1 5
F (self)    Felix's "Record only" profile (off), every day 08–16         —
G (fixed)   Gina, on, day 1 20:00 → day 2 00:00 exactly                  1
H (self)    Hugo, on, picked up and put back at day 6 09:00 (an instant) 6
==========  ===========================================================  ==================

Per day: d0 A C = 2; d1 A C E G = 4; d2 A B C = 3; d3 A B C D = 4; d4 A B D = 3; d5 A B E = 3;
d6 A B H = 3. Sum 22, average 22/7 = 3.142857…, licences needed 4.
"""

# covers: S15

import pytest

from appliance.cloud.licences import (
    DAY,
    Assignment,
    cameras_on_day,
    daily_counts,
    licences_needed,
    rolling_average,
    usage,
    window,
)

D0 = 20_000  # a UTC day number (2024-10-04)
H = 3600


def t(day: int, hour: float = 0.0) -> float:
    return (D0 + day) * DAY + hour * H


NOW = t(6, 12)

WEEK = [
    Assignment("A", "anna", True, t(0)),
    Assignment("B", "ben", True, t(2, 10)),
    Assignment("C", "chloe", True, t(0), t(3, 13)),
    Assignment("D", "david", False, t(0), t(3, 8)),
    Assignment("D", "david", True, t(3, 8), t(4, 18)),
    Assignment("D", "david", False, t(4, 18)),
    Assignment("E", "emma", True, t(1, 8), t(1, 16)),
    Assignment("E", "felix", True, t(1, 17), t(1, 23)),
    Assignment("E", "emma", True, t(5, 9), t(5, 17)),
    *[Assignment("F", "felix", False, t(d, 8), t(d, 16)) for d in range(7)],
    Assignment("G", "gina", True, t(1, 20), t(2)),
    Assignment("H", "hugo", True, t(6, 9), t(6, 9)),
]

EXPECTED_CAMERAS = {
    0: {"A", "C"},
    1: {"A", "C", "E", "G"},
    2: {"A", "B", "C"},
    3: {"A", "B", "C", "D"},
    4: {"A", "B", "D"},
    5: {"A", "B", "E"},
    6: {"A", "B", "H"},
}


@pytest.mark.parametrize("day", range(7))
def test_which_cameras_count_each_day(day):
    assert cameras_on_day(WEEK, D0 + day, NOW) == EXPECTED_CAMERAS[day]


def test_the_week_by_hand():
    u = usage(WEEK, NOW)
    assert [(c.day - D0, c.cameras) for c in u.days] == [(0, 2), (1, 4), (2, 3), (3, 4), (4, 3), (5, 3), (6, 3)]
    assert u.average == pytest.approx(22 / 7)
    assert u.needed == 4


def test_a_camera_counts_once_a_day_however_often_it_changes_hands():
    """Self-assigned: E went to Emma and then to Felix on day 1 — one camera, one licence."""
    assert daily_counts(WEEK, D0 + 1, D0 + 1, NOW)[0].cameras == 4
    shuffled = [Assignment("S", f"user{h}", True, t(0, h), t(0, h + 0.5)) for h in range(0, 24, 2)]
    assert [c.cameras for c in daily_counts(shuffled, D0, D0, NOW)] == [1]


def test_fixed_and_self_assigned_cameras_follow_the_same_model():
    """A fixed camera in service Monday–Friday and a self-assigned one taken each of those days
    count the same (S15: "the same whether you use fixed or self-assigned cameras")."""
    fixed = [Assignment("X", "xavier", True, t(0, 7), t(4, 19))]
    taken = [Assignment("Y", f"shift{d}", True, t(d, 7), t(d, 19)) for d in range(5)]
    counts = lambda a: [c.cameras for c in daily_counts(a, D0, D0 + 6, NOW)]  # noqa: E731
    assert counts(fixed) == counts(taken) == [1, 1, 1, 1, 1, 0, 0]
    assert usage(fixed, NOW).average == usage(taken, NOW).average == pytest.approx(5 / 7)
    assert usage(fixed, NOW).needed == 1


def test_switching_streaming_off_stops_counting_from_the_next_day():
    """David's profile lost streaming at day 4 18:00: day 4 still counts, day 5 no longer."""
    david = [a for a in WEEK if a.camera == "D"]
    assert [c.cameras for c in daily_counts(david, D0, D0 + 6, NOW)] == [0, 0, 0, 1, 1, 0, 0]


def test_an_assignment_ending_at_midnight_does_not_count_the_next_day():
    g = [a for a in WEEK if a.camera == "G"]
    assert [c.cameras for c in daily_counts(g, D0 + 1, D0 + 2, NOW)] == [1, 0]


def test_without_a_camera_user_nothing_counts():
    pool = [Assignment("P", None, True, t(0), None)]
    assert usage(pool, NOW).needed == 0


def test_the_window_is_the_last_seven_days_including_today():
    assert window(NOW) == (D0, D0 + 6)
    old = [Assignment("Z", "zoe", True, t(-10), t(-1, 23))]  # last used the day before the window
    u = usage(old + WEEK, NOW)
    assert u.needed == 4 and u.average == pytest.approx(22 / 7)


def test_a_young_organization_averages_over_the_days_it_has_existed():
    """Licensing began on day 5 at 15:00: the window is days 5 and 6 (3 and 3 cameras)."""
    u = usage(WEEK, NOW, since=t(5, 15))
    assert [(c.day - D0, c.cameras) for c in u.days] == [(5, 3), (6, 3)]
    assert (u.average, u.needed) == (3.0, 3)
    assert window(NOW, since=t(9)) == (D0 + 6, D0 + 6)  # a start in the future still shows today


def test_an_open_assignment_counts_only_up_to_now():
    """B is open: it counts up to today and nothing is said about tomorrow."""
    assert daily_counts([WEEK[1]], D0 + 6, D0 + 7, NOW)[1].cameras == 0


def test_whole_licences_and_float_noise():
    assert rolling_average([]) == 0.0
    assert rolling_average([5] * 7) == 5.0 and licences_needed(5.0) == 5
    assert licences_needed(sum([0.1] * 30)) == 3  # 3.0000000000000004 is still three licences
    assert licences_needed(2.01) == 3
    assert licences_needed(0.0) == 0


def test_an_assignment_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="ends"):
        Assignment("A", "anna", True, t(2), t(1))


# ---- what the organization holds: trial, orders, renewals (S3, S15) ---------------------------

from appliance.cloud.licences import Licence, add_months, covered_until, order_period, renewal_period, standing  # noqa: E402

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def test_add_months_counts_calendar_months_and_clamps_the_day():
    # covers: S15
    assert add_months(T0, 12) == 1_798_761_600.0  # 2027-01-01
    jan31 = T0 + 30 * DAY
    assert add_months(jan31, 1) == T0 + (31 + 27) * DAY  # 2026-02-28: February has no 31st
    assert add_months(T0, 1) == T0 + 31 * DAY


def test_standing_trial_expired_purchased_and_the_cover_without_a_gap():
    # covers: S15, S3, T2
    trial = Licence("lic_t", "trial", T0, T0 + 30 * DAY)
    assert standing([], T0).state == "none"
    s = standing([trial], T0 + DAY)
    assert (s.state, s.valid, s.quantity, s.covered_until) == ("trial", True, 0, T0 + 30 * DAY)
    s = standing([trial], T0 + 31 * DAY)
    assert (s.state, s.valid, s.covered_until, s.last_ended_at) == ("expired", False, None, T0 + 30 * DAY)
    # an order after the trial: purchased, with its quantity, from now for the term
    start, end = order_period(T0 + 31 * DAY, 12)
    sub = Licence("lic_a", "subscription", start, end, 5)
    s = standing([trial, sub], T0 + 31 * DAY)
    assert (s.state, s.valid, s.quantity, s.covered_until) == ("purchased", True, 5, end)
    # a renewal continues from the end: the cover runs on without a gap; quantities of licences
    # that cover now add up, a renewal not started yet does not count now
    r_start, r_end = renewal_period(sub, T0 + 40 * DAY, 12)
    assert r_start == end and r_end == add_months(end, 12)
    renewal = Licence("lic_b", "subscription", r_start, r_end, 7)
    extra = Licence("lic_c", "subscription", T0 + 40 * DAY, T0 + 100 * DAY, 2)
    s = standing([trial, sub, renewal, extra], T0 + 41 * DAY)
    assert (s.quantity, s.covered_until) == (7, r_end)
    assert standing([trial, sub, renewal, extra], r_start + 1).quantity == 7
    # a renewal of a licence that has ended starts now
    assert renewal_period(sub, end + 5 * DAY, 1)[0] == end + 5 * DAY


def test_cover_with_a_gap_ends_at_the_gap():
    # covers: S15
    a = Licence("a", "subscription", T0, T0 + 10 * DAY, 1)
    b = Licence("b", "subscription", T0 + 11 * DAY, T0 + 20 * DAY, 1)
    assert covered_until([a, b], T0 + DAY) == T0 + 10 * DAY
    assert covered_until([a, b], T0 + 10.5 * DAY) is None
