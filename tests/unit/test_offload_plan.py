"""The controller's upload plan for a recording and the meaning of each answer (issue 13; the
Body Worn Content Destination API's File upload API and error table)."""

# covers: issue-13 (item 3: names, metadata, capabilities, encryption, error semantics)

from __future__ import annotations

import pytest

from appliance.controller.offload import plan
from bwlab.wire import content_destination as cd
from bwlab.wire.recordings import Bookmark, Category, Clip, Location, Manifest

T0 = 1_790_000_000.0


def manifest(**kw) -> Manifest:
    base = dict(
        id="0" * 31 + "1",
        recording_id="123456",
        serial="B8A44F000102",
        model="W101",
        firmware_version="11.11",
        user_id="usr_0123",
        user_name="Ben",
        timezone="Europe/Paris",
        trigger_on="Button",
        trigger_on_time=T0,
        trigger_on_location=Location(55.6, 13.0, 4.6, T0),
        trigger_off="Docked",
        trigger_off_time=T0 + 9,
        clips=(
            Clip(0, "clip-0000.mp4", T0 + 0.5, T0 + 5.5, 10, "a" * 64),
            Clip(1, "clip-0001.mp4", T0 + 5.5, T0 + 9, 10, "b" * 64),
        ),
        gnss=(Location(55.6, 13.0, 5.0, T0 + 1), Location(55.61, 13.01, 5.0, T0 + 6)),
        bookmarks=(Bookmark("b1", T0 + 2, "note", tags="K:V"),),
        category=Category("4", "Traffic"),
        complete=True,
    )
    base.update(kw)
    return Manifest(**base)


def target(full=True, encrypt=False, **caps) -> plan.Target:
    return plan.Target("sys_1", "mp4", cd.Capabilities(full=full, **caps), encrypt)


def test_the_plan_is_container_clips_trail_bookmarks_then_complete():
    requests = plan.recording_plan(manifest(), target())
    assert [r.step for r in requests] == ["container", "clip", "clip", "gnss", "bookmark", "complete"]
    container = requests[0].container
    assert container == f"{plan.user_uuid('usr_0123')}_B8A44F000102_{cd.name_time(T0)}"
    assert [r.object for r in requests[1:3]] == [
        f"{cd.name_time(T0 + 0.5)}_123456.mp4",
        f"{cd.name_time(T0 + 5.5)}_123456.mp4",
    ]
    assert requests[0].headers["X-Container-Meta-Status"] == "Transferring"
    assert requests[-1].method == "POST" and requests[-1].headers["X-Container-Meta-Status"] == "Complete"
    assert requests[0].headers["X-Container-Meta-Triggeronlocation"] == "%2B55.600000%2B013.000000%2B5%2B" + str(
        int(T0)
    )
    assert "X-Container-Meta-Triggerofflocation" not in requests[0].headers  # no fix when it stopped
    clip = requests[1].headers
    assert clip["X-Object-Meta-Starttime"] == str(int(T0 + 0.5)) and clip["X-Object-Meta-Containertype"] == "mp4"
    trail = requests[3]
    assert trail.object.endswith("_123456_B8A44F000102_gpstrail.json")
    entries = cd.parse_gnss_trail(trail.data)
    assert [e.seconds_from_start for e in entries] == [0.5, 5.5]  # from the first clip's start (pre-buffer rule)
    mark = requests[4]
    assert mark.object == f"bookmark_{cd.name_time(T0 + 2)}_b1" and mark.data == b"note"
    assert mark.headers["X-Object-Meta-Tags"] == "TriggerOn%3AButton%3BK%3AV"
    assert mark.headers["X-Object-Meta-Categoryname"] == "Traffic"


def test_the_same_manifest_always_gives_the_same_names():
    # a retry after a restart overwrites the same objects: nothing is stored twice
    a = [r.name for r in plan.recording_plan(manifest(), target())]
    b = [r.name for r in plan.recording_plan(manifest(), target())]
    assert a == b and len(set(a)) == len(a)  # each confirmation is kept under its own name
    assert a[-1] == a[0] + "#Complete"  # the container's Status: Complete is not its first PUT


def test_capabilities_decide_trail_and_bookmarks():
    only_clips = plan.recording_plan(manifest(), target(full=False))
    assert [r.step for r in only_clips] == ["container", "clip", "clip", "complete"]
    with_trail = plan.recording_plan(manifest(), target(full=False, store=frozenset({cd.STORE_GNSS_TRACK_RECORDING})))
    assert [r.step for r in with_trail] == ["container", "clip", "clip", "gnss", "complete"]


def test_a_category_without_bookmarks_travels_in_one_bookmark_object():
    requests = plan.recording_plan(manifest(bookmarks=()), target())
    (mark,) = [r for r in requests if r.step == "bookmark"]
    assert mark.data == b"" and mark.headers["X-Object-Meta-Categoryid"] == "4"


def test_with_encryption_clips_and_trail_are_encrypted_but_not_bookmarks():
    requests = plan.recording_plan(manifest(), target(encrypt=True))
    assert {r.step: r.encrypt for r in requests} == {
        "container": False,
        "clip": True,
        "gnss": True,
        "bookmark": False,
        "complete": False,
    }


@pytest.mark.parametrize(
    "status, outcome",
    [
        (201, "confirmed"),
        (202, "confirmed"),
        (204, "confirmed"),
        (400, "not_transferred"),
        (401, "reauth"),
        (402, "surfaced"),
        (403, "surfaced"),
        (404, "surfaced"),
        (500, "retry"),
        (503, "retry_soon"),
        (507, "insufficient_storage"),
        (None, "connection"),
    ],
)
def test_each_answer_of_the_readme_table_has_its_outcome(status, outcome):
    assert plan.outcome(status) == outcome


def test_backoff_grows_for_busy_and_waits_long_for_full_or_refused():
    assert [plan.retry_delay("retry_soon", n) for n in (1, 2, 3, 9)] == [1.0, 2.0, 4.0, 60.0]
    assert plan.retry_delay("connection", 50) == 60.0  # connection errors: tried for ever
    assert plan.retry_delay("insufficient_storage", 1) == plan.RETRY_LATER
    assert plan.retry_delay("surfaced", 1) == plan.RETRY_LATER
