"""The same client-side checks against a real OpenStack Swift and against ``bwlab content-destination
serve``: the lab destination behaves like Swift for the subset a body-worn system uses (issue 13).

Driven with python-swiftclient, as an integrator would: the access token, container PUT/POST with
metadata, object PUT/POST with metadata (POST replaces it), GET/HEAD with the Etag, and
``System/Capabilities.json`` read with its Etag checked.
"""

# covers: issue-13 (content destination API subset, Swift compatibility of the lab destination)

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException

from bwlab.wire import content_destination as cd


@dataclass
class Destination:
    kind: str
    auth_url: str
    user: str
    key: str
    cacert: str | None

    def connection(self, key: str | None = None) -> swift.Connection:
        return swift.Connection(
            authurl=self.auth_url, user=self.user, key=key or self.key, retries=0, timeout=10, cacert=self.cacert
        )


@pytest.fixture(scope="module")
def lab_destination(tmp_path_factory):
    """``bwlab content-destination serve --port 0`` in a subprocess; its connection file says
    where it is and carries its certificate."""
    directory = tmp_path_factory.mktemp("lab-destination")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bwlab", "content-destination", "serve", "--dir", str(directory), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        if not line:
            proc.wait(10)
            pytest.fail(f"bwlab content-destination serve did not start: {proc.stderr.read()}")
        conn = cd.ConnectionFile.parse(Path(line).read_bytes())
        cacert = directory / "pinned.pem"
        cacert.write_text(conn.certificates_pem())
        yield Destination(
            "lab", conn.authentication_token_uri[0], conn.blob_api_user_name, conn.blob_api_key, str(cacert)
        )
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()


@pytest.fixture(scope="module")
def swift_destination(swift_cluster):
    """The real Swift, with the capabilities an integrator publishes (``swift upload System
    Capabilities.json``)."""
    dest = Destination("swift", swift_cluster.auth_url, swift_cluster.auth_user, swift_cluster.key, None)
    conn = dest.connection()
    try:
        conn.put_container(cd.SYSTEM_CONTAINER)
        caps = cd.Capabilities(store_and_read=frozenset(cd.KNOWN_CAPABILITIES))
        conn.put_object(cd.SYSTEM_CONTAINER, cd.CAPABILITIES_OBJECT, caps.to_json(), content_type="application/json")
    finally:
        conn.close()
    return dest


@pytest.fixture(params=["swift", "lab"])
def destination(request) -> Destination:
    return request.getfixturevalue(f"{request.param}_destination")


@pytest.fixture
def conn(destination):
    c = destination.connection()
    yield c
    c.close()


def test_access_token(destination, conn):
    url, token = conn.get_auth()
    assert token and url.endswith("/v1/AUTH_" + destination.user.split(":")[0])
    assert url.startswith(destination.auth_url.split("/auth/")[0])
    bad = destination.connection(key="wrong-key")
    try:
        with pytest.raises(ClientException) as err:
            bad.get_auth()
        assert err.value.http_status == 401
    finally:
        bad.close()
    # a token the destination never gave out
    http_conn = swift.http_connection(url, cacert=destination.cacert)
    try:
        for name in (None, "Users"):
            with pytest.raises(ClientException) as err:
                if name is None:
                    swift.head_account(url, "AUTH_tk" + "0" * 32, http_conn=http_conn)
                else:
                    swift.put_container(url, "AUTH_tk" + "0" * 32, name, http_conn=http_conn)
            assert err.value.http_status == 401
    finally:
        http_conn[1].close()


def test_recording_container_and_metadata(destination, conn):
    name = cd.recording_container_name(str(uuid.uuid4()), "B8A44F000001", 1_800_000_000)
    first = cd.meta_headers(
        "Container",
        {
            "BWCSerialNumber": "B8A44F000001",
            "UserID": "3f1c2b9e",
            "TriggerOn": "Button",
            "TriggerOnTimeISO": "2027-01-15T08:00:00Z",
            "Status": cd.STATUS_TRANSFERRING,
        },
    )
    rd: dict = {}
    conn.put_container(name, headers=first, response_dict=rd)
    assert rd["status"] == 201
    rd = {}
    conn.put_container(name, headers=first, response_dict=rd)
    assert rd["status"] == 202
    rd = {}
    conn.post_container(
        name, cd.meta_headers("Container", {"TriggerOff": "Button", "Status": cd.STATUS_COMPLETE}), response_dict=rd
    )
    assert rd["status"] == 204
    meta = cd.read_meta("Container", conn.head_container(name))
    assert meta == {
        "Bwcserialnumber": "B8A44F000001",
        "Userid": "3f1c2b9e",
        "Triggeron": "Button",
        "Triggerontimeiso": "2027-01-15T08:00:00Z",
        "Triggeroff": "Button",
        "Status": "Complete",
    }
    with pytest.raises(ClientException) as err:
        conn.post_container("no-such-" + uuid.uuid4().hex, {"X-Container-Meta-Status": "Complete"})
    assert err.value.http_status == 404
    with pytest.raises(ClientException) as err:
        conn.head_container("no-such-" + uuid.uuid4().hex)
    assert err.value.http_status == 404


def test_clip_objects_and_metadata(destination, conn):
    container = f"{uuid.uuid4()}_B8A44F000002_20270115_080000"
    conn.put_container(container)
    clip = cd.clip_object_name(1_800_000_000, "123456", "mkv")
    body = b"\x1aE\xdf\xa3" + bytes(range(256)) * 400
    meta = {
        "StartTime": "1800000000",
        "StartTimeISO": "2027-01-15T08:00:00Z",
        "StopTime": "1800000060",
        "StopTimeISO": "2027-01-15T08:01:00Z",
        "ContainerType": "mkv",
    }
    rd: dict = {}
    etag = conn.put_object(
        container,
        clip,
        body,
        headers=cd.meta_headers("Object", meta),
        content_type="video/x-matroska",
        response_dict=rd,
    )
    assert rd["status"] == 201 and etag == hashlib.md5(body).hexdigest()
    headers, got = conn.get_object(container, clip)
    assert got == body and cd.etag_matches(got, headers["etag"]) and int(headers["content-length"]) == len(body)
    assert cd.read_meta("Object", headers) == {cd.meta_key(k): v for k, v in meta.items()}
    # POST replaces the object's metadata as a whole
    rd = {}
    conn.post_object(container, clip, cd.meta_headers("Object", {"Name": "Åsa Öberg"}), response_dict=rd)
    assert rd["status"] == 202
    head = conn.head_object(container, clip)
    assert cd.read_meta("Object", head) == {"Name": "Åsa Öberg"}
    assert int(head["content-length"]) == len(body) and head["etag"] == hashlib.md5(body).hexdigest()
    # a streamed (chunked) upload
    chunks = iter([b"a" * 70000, b"b" * 5])
    etag = conn.put_object(container, "bookmark_20270115_080005_1", chunks)
    assert etag == hashlib.md5(b"a" * 70000 + b"b" * 5).hexdigest()
    # an Etag that does not match what arrived is refused
    with pytest.raises(ClientException) as err:
        conn.put_object(container, "x.key", b"key", etag="0" * 32)
    assert err.value.http_status == 422
    with pytest.raises(ClientException) as err:
        conn.put_object("no-such-" + uuid.uuid4().hex, clip, body)
    assert err.value.http_status == 404
    with pytest.raises(ClientException) as err:
        conn.post_object(container, "missing.mkv", {"X-Object-Meta-Name": "x"})
    assert err.value.http_status == 404
    head = conn.head_container(container)
    assert head["x-container-object-count"] == "2"
    _, listing = conn.get_container(container)
    assert [(o["name"], o["hash"]) for o in listing] == [
        ("20270115_080000_123456.mkv", hashlib.md5(body).hexdigest()),
        ("bookmark_20270115_080005_1", etag),
    ]


def test_capabilities_with_their_etag(destination, conn):
    headers, body = conn.get_object(cd.SYSTEM_CONTAINER, cd.CAPABILITIES_OBJECT)
    caps = cd.Capabilities.parse(body, headers["etag"])
    assert caps.supports(cd.STORE_READ_SYSTEM_ID) and caps.supports(cd.STORE_GNSS_TRACK_RECORDING)
    with pytest.raises(ClientException) as err:
        conn.get_object(cd.SYSTEM_CONTAINER, "no-such-object")
    assert err.value.http_status == 404


def test_swift_metadata_limits(destination, conn):
    """A value over 256 characters as sent (e.g. a 100-byte non-ASCII name, URL-encoded) is refused
    by Swift with 400, and so by the lab destination; the shared wire refuses to build it."""
    container = "limits-" + uuid.uuid4().hex
    conn.put_container(container)
    with pytest.raises(ClientException) as err:
        conn.post_container(container, {"X-Container-Meta-Name": "%C3%A9" * 50})
    assert err.value.http_status == 400
    with pytest.raises(ClientException) as err:
        conn.put_object(container, "o", b"x", headers={"X-Object-Meta-Name": "v" * 257})
    assert err.value.http_status == 400
    conn.post_container(container, cd.meta_headers("Container", {"Name": "é" * 42}))
    assert cd.read_meta("Container", conn.head_container(container)) == {"Name": "é" * 42}
