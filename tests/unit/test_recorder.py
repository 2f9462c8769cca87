"""The camera's local recordings: clips, GNSS, bookmarks, finite storage (issue 13).

Real files in a temporary directory, real H.264/AAC (the shared loop); time is passed in.
"""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from bwlab.wire.recordings import Bookmark, Category, Location, Manifest
from firmware_stub.recorder import CameraStorage, Recording, StorageError

T0 = 1_790_000_000.0


def ffprobe_duration(path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def record(
    storage: CameraStorage, seconds: float, *, clip_seconds: float = 10.0, step: float = 0.5, start: float = T0
) -> Recording:
    rec = Recording(
        storage,
        start,
        trigger="record",
        serial="ACCC8E0A0001",
        model="W100",
        user_id="usr_1",
        user_name="Anna",
        timezone="Europe/Stockholm",
        clip_seconds=clip_seconds,
    )
    t = start
    while t < start + seconds:
        t = min(t + step, start + seconds)
        assert rec.feed(t)
    return rec


def test_a_recording_is_split_into_clips_that_play_for_their_times(tmp_path):
    # covers: issue 13 (recording on the camera, clip length)
    storage = CameraStorage(tmp_path / "cam")
    rec = record(storage, 25.0)
    manifest = rec.stop(T0 + 25.0, "user")
    assert manifest.complete and manifest.trigger_on == "Button" and manifest.trigger_off == "Button"
    assert manifest.trigger_off_time == T0 + 25.0 and manifest.timezone == "Europe/Stockholm"
    assert [c.file for c in manifest.clips] == ["clip-0000.mp4", "clip-0001.mp4", "clip-0002.mp4"]
    assert [(c.start_time - T0, round(c.stop_time - T0, 3)) for c in manifest.clips] == [
        (0.0, 10.0),
        (10.0, 20.0),
        (20.0, 25.0),
    ]
    for clip in manifest.clips:
        path = storage.file(manifest.id, clip.file)
        data = path.read_bytes()
        assert len(data) == clip.size and hashlib.sha256(data).hexdigest() == clip.sha256
        assert ffprobe_duration(path) == pytest.approx(clip.stop_time - clip.start_time, abs=0.05)
    assert storage.used == sum(c.size for c in manifest.clips)
    # what is on disk is what the manifest says, read back through the wire schema
    assert storage.finished() == [Manifest.from_mapping(manifest.as_dict())]


def test_a_clock_jump_ends_the_clip_and_the_next_starts_at_the_new_time(tmp_path):
    storage = CameraStorage(tmp_path / "cam")
    rec = record(storage, 4.0)
    for k in range(7):  # lab time travel by an hour while recording, then on as before
        rec.feed(T0 + 3600.0 + k * 0.5)
    manifest = rec.stop(T0 + 3603.0, "docked")
    assert manifest.trigger_off == "Docked"
    assert [(c.start_time - T0, round(c.stop_time - T0, 3)) for c in manifest.clips] == [(0.0, 4.0), (3600.0, 3603.0)]


def test_a_driver_that_falls_behind_loses_no_media(tmp_path):
    # a loaded machine: the recording loop is fed 10 s late; the media is caught up, one clip
    storage = CameraStorage(tmp_path / "cam")
    rec = record(storage, 2.0, clip_seconds=60)
    rec.feed(T0 + 12.0)
    manifest = rec.stop(T0 + 12.0, "user")
    assert [(c.start_time - T0, round(c.stop_time - T0, 3)) for c in manifest.clips] == [(0.0, 12.0)]
    assert ffprobe_duration(storage.file(manifest.id, "clip-0000.mp4")) == pytest.approx(12.0, abs=0.05)


def test_gnss_bookmarks_and_category_go_into_the_manifest(tmp_path):
    storage = CameraStorage(tmp_path / "cam")
    rec = record(storage, 2.0)
    assert rec.gnss_due(T0)
    rec.add_position(Location(55.718409, 13.221184, 5.0, T0))
    assert not rec.gnss_due(T0 + 1) and rec.gnss_due(T0 + 5)
    rec.annotate(bookmark=Bookmark(id="b1", at=T0 + 1, text="suspect ran north"))
    manifest = rec.stop(T0 + 2.0, "user")
    storage.annotate(manifest.id, category=Category("c2", "Traffic"))  # after the stop, in the Assistant app
    stored = storage.manifest(manifest.id)
    assert stored.gnss == (Location(55.718409, 13.221184, 5.0, T0),)
    assert stored.bookmarks[0].text == "suspect ran north"
    assert stored.category == Category("c2", "Traffic")


def test_a_full_storage_says_so_and_deleting_frees_it(tmp_path):
    storage = CameraStorage(tmp_path / "cam", capacity=200_000)
    rec = Recording(
        storage,
        T0,
        trigger="remote",
        serial="S",
        model="W100",
        user_id="u",
        user_name="n",
        timezone="UTC",
        clip_seconds=60,
    )
    t, room = T0, True
    while room and t < T0 + 60:
        t += 0.5
        room = rec.feed(t)
    assert not room and storage.full and storage.summary()["full"]
    manifest = rec.stop(t, "storage_full")
    assert manifest.trigger_on == "RemoteActivation" and manifest.trigger_off == "StorageFull"
    storage.delete(manifest.id)
    assert storage.used == 0 and not storage.full and storage.manifests() == []


def test_an_unfinished_recording_is_finished_after_a_power_loss(tmp_path):
    storage = CameraStorage(tmp_path / "cam")
    rec = record(storage, 12.0)  # one whole clip, a second being written
    rec.power_off()
    again = CameraStorage(tmp_path / "cam")
    assert again.recover(T0 + 100) == [rec.id]
    manifest = again.manifest(rec.id)
    assert manifest.complete and manifest.trigger_off == "Interrupted" and len(manifest.clips) == 1
    assert [f.name for f in again.directory(rec.id).glob("*.mp4")] == ["clip-0000.mp4"]
    assert again.used == manifest.clips[0].size


def test_paths_stay_inside_the_storage(tmp_path):
    storage = CameraStorage(tmp_path / "cam")
    with pytest.raises(StorageError):
        storage.directory("../../etc")
    with pytest.raises(StorageError):
        storage.file("0" * 32, "../recording.json")
