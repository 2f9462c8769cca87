"""The Swift test harness itself: a real OpenStack Swift on loopback that python-swiftclient
talks to (issue 13: a plain Swift is a valid content destination)."""

# covers: issue-13 (a real Swift as the content destination)

from __future__ import annotations

import pytest
from swiftclient.exceptions import ClientException

from bwlab.wire import content_destination as cd


def test_swift_stores_objects_and_metadata(swift_cluster):
    conn = swift_cluster.connection()
    try:
        url, token = conn.get_auth()
        assert url == swift_cluster.storage_url and token
        meta = cd.meta_headers("Container", {"BWCSerialNumber": "B8A44F000001", "Status": cd.STATUS_TRANSFERRING})
        conn.put_container("harness", headers=meta)
        head = conn.head_container("harness")
        assert cd.read_meta("Container", head) == {"Bwcserialnumber": "B8A44F000001", "Status": "Transferring"}
        obj_meta = cd.meta_headers("Object", {"StartTime": "1800000000", "Name": "Åsa"})
        conn.put_object("harness", "20270115_080000_1.mkv", b"clip bytes", headers=obj_meta)
        headers, body = conn.get_object("harness", "20270115_080000_1.mkv")
        assert body == b"clip bytes" and cd.etag_matches(body, headers["etag"])
        assert cd.read_meta("Object", headers) == {"Starttime": "1800000000", "Name": "Åsa"}
        with pytest.raises(ClientException) as err:
            conn.get_object("harness", "missing")
        assert err.value.http_status == 404
    finally:
        conn.close()


def test_a_wrong_key_gets_401(swift_cluster):
    from swiftclient.client import Connection

    conn = Connection(authurl=swift_cluster.auth_url, user=swift_cluster.auth_user, key="wrong", retries=0)
    try:
        with pytest.raises(ClientException) as err:
            conn.get_auth()
        assert err.value.http_status == 401
    finally:
        conn.close()


def test_an_outage_and_a_recovery(tmp_path):
    """A server taken down (the destination unreachable) and brought back keeps what it stored."""
    from swift_harness import start_swift
    from swiftclient.exceptions import ClientException as SwiftError

    cluster = start_swift(tmp_path / "swift")
    try:
        conn = cluster.connection()
        conn.put_container("rec")
        conn.put_object("rec", "a.mkv", b"before")
        conn.close()
        cluster.stop_server("proxy")
        down = cluster.connection()
        with pytest.raises((SwiftError, OSError)) as err:
            down.get_auth()
        assert getattr(err.value, "http_status", None) is None  # no answer at all: connection refused
        down.close()
        cluster.start_server("proxy")
        conn = cluster.connection()
        assert conn.get_object("rec", "a.mkv")[1] == b"before"
        conn.close()
    finally:
        cluster.stop()
    assert not cluster.processes
