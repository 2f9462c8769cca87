"""``bwlab content-destination``: the lab destination's own rules, in process over loopback HTTPS
with its pinned certificate (issue 13): tokens that expire, accounts, names kept under the
directory, Swift's metadata limits, durability across a restart, a full destination, the browse
pages with decryption, and the connection-file and decrypt commands."""

# covers: issue-13 (lab content destination: access token, store, browse, connection file, decrypt)

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import ssl
import stat
import subprocess
import sys

import aiohttp
import pytest
import yarl

from bwlab.clock import ManualClock, system_time
from bwlab.content_destination.service import ServeOptions, start
from bwlab.wire import content_destination as cd


class Client:
    def __init__(self, running, session: aiohttp.ClientSession):
        self.running = running
        self.session = session
        self.base = running.url
        self.token = None
        self.storage = None

    async def login(self, user=None, key=None) -> aiohttp.ClientResponse:
        conn = self.running.connection
        async with self.session.get(
            conn.authentication_token_uri[0],
            headers={"X-Auth-User": user or conn.blob_api_user_name, "X-Auth-Key": key or conn.blob_api_key},
        ) as r:
            await r.read()
            if r.status == 200:
                self.token, self.storage = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
            return r

    async def call(self, method: str, path: str, headers=None, data=None, token=...):
        h = {"X-Auth-Token": self.token if token is ... else token, **(headers or {})}
        if h["X-Auth-Token"] is None:
            del h["X-Auth-Token"]
        url = yarl.URL(self.storage + path, encoded=True)  # sent as written: no '..' resolved by the client
        async with self.session.request(method, url, headers=h, data=data) as r:
            return r.status, r.headers, await r.read()


@pytest.fixture
async def destination(tmp_path):
    clock = ManualClock(system_time())  # TLS stacks check certificates against real time
    opened = []

    async def make(**kw):
        running = await start(ServeOptions(directory=tmp_path / "cd", port=0, **kw), clock)
        pinned = running.connection.certificates_pem()
        ctx = ssl.create_default_context(cadata=pinned) if pinned else False
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))
        opened.append((running, session))
        client = Client(running, session)
        assert (await client.login()).status == 200
        return client

    make.clock = clock
    yield make
    for running, session in opened:
        await session.close()
        await running.close()


async def test_tokens_expire_and_bad_credentials_get_401(destination):
    c = await destination(token_lifetime=600)
    assert c.storage == c.running.url + "/v1/AUTH_bwc"
    assert (await c.login(key="wrong")).status == 401
    assert (await c.login(user="other")).status == 401
    status, _, _ = await c.call("HEAD", "")
    assert status == 204
    destination.clock.advance(599)
    assert (await c.call("PUT", "/Users"))[0] == 201
    destination.clock.advance(2)
    status, _, body = await c.call("PUT", "/Devices")
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
    assert (await c.call("PUT", "/Devices", token=None))[0] == 401
    assert (await c.login()).status == 200  # the client logs in again
    assert (await c.call("PUT", "/Devices"))[0] == 201


async def test_another_account_is_forbidden_and_unknown_methods_refused(destination):
    c = await destination()
    async with c.session.put(c.running.url + "/v1/AUTH_other/x", headers={"X-Auth-Token": c.token}) as r:
        assert r.status == 403
    assert (await c.call("PUT", "/rec"))[0] == 201
    assert (await c.call("DELETE", "/rec"))[0] == 405
    assert (await c.call("GET", "/rec"))[0] == 204  # an empty listing


async def test_names_stay_under_the_directory(destination, tmp_path):
    c = await destination()
    assert (await c.call("PUT", "/rec"))[0] == 201
    for path in (
        "/rec/..%2F..%2F..%2Fescape",
        "/rec/a/../../../escape",
        "/rec/a//b",
        "/..%2Fescape",
        "/rec/" + "x" * 1025,
        "/" + "c" * 257,
    ):
        status, _, body = await c.call("PUT", path, data=b"x")
        assert status == 400, (path, status, body)
        assert "error" in json.loads(body)
    assert not list(tmp_path.glob("**/escape*"))
    # a long name is stored under a hashed file name and read back by its name
    long_name = "z" * 600
    assert (await c.call("PUT", f"/rec/{long_name}", data=b"long"))[0] == 201
    status, _, body = await c.call("GET", f"/rec/{long_name}")
    assert (status, body) == (200, b"long")
    for f in (tmp_path / "cd").rglob("*"):
        assert len(f.name) <= 255


async def test_swift_metadata_limits_give_400_and_change_nothing(destination):
    c = await destination()
    assert (await c.call("PUT", "/rec", {"X-Container-Meta-Status": "Transferring"}))[0] == 201
    status, _, body = await c.call("POST", "/rec", {"X-Container-Meta-Status": "x" * 257})
    assert status == 400 and b"256" in body
    status, _, body = await c.call("POST", "/rec", {f"X-Container-Meta-K{i}": "v" for i in range(91)})
    assert status == 400
    _, headers, _ = await c.call("HEAD", "/rec")
    assert cd.read_meta("Container", headers) == {"Status": "Transferring"}
    # an empty value (or X-Remove-…) removes a container key, as in Swift
    await c.call("POST", "/rec", {"X-Container-Meta-A": "1", "X-Container-Meta-B": "2"})
    await c.call("POST", "/rec", {"X-Container-Meta-A": "", "X-Remove-Container-Meta-B": "x"})
    _, headers, _ = await c.call("HEAD", "/rec")
    assert cd.read_meta("Container", headers) == {"Status": "Transferring"}


async def test_objects_survive_a_restart_and_old_tokens_do_not(destination):
    c = await destination()
    await c.call("PUT", "/rec", cd.meta_headers("Container", {"Status": "Transferring"}))
    body = b"clip" * 50000
    status, headers, _ = await c.call(
        "PUT", "/rec/20270115_080000_1.mkv", cd.meta_headers("Object", {"StartTime": "1"}), data=body
    )
    assert status == 201 and headers["Etag"] == hashlib.md5(body).hexdigest()
    # replaced: the old data file goes, the new one is read back
    body2 = b"clip2" * 1000
    assert (await c.call("PUT", "/rec/20270115_080000_1.mkv", data=body2))[0] == 201
    old_token, old_conn = c.token, c.running.connection
    await c.running.close()

    c2 = await destination()
    assert c2.running.connection.blob_api_key == old_conn.blob_api_key  # the connection file stays good
    assert c2.running.connection.https_certificate == old_conn.https_certificate
    assert (await c2.call("HEAD", "", token=old_token))[0] == 401
    status, headers, got = await c2.call("GET", "/rec/20270115_080000_1.mkv")
    assert status == 200 and got == body2 and cd.read_meta("Object", headers) == {}
    data_files = list((c2.running.store.root).rglob("*.data"))
    assert len([f for f in data_files if "20270115" in f.name]) == 1


async def test_a_full_destination_answers_507_and_keeps_nothing(destination):
    c = await destination(quota_bytes=200_000)
    assert (await c.call("PUT", "/rec"))[0] == 201
    assert (await c.call("PUT", "/rec/a.mkv", data=b"a" * 150_000))[0] == 201
    status, _, body = await c.call("PUT", "/rec/b.mkv", data=b"b" * 100_000)
    assert status == 507 and json.loads(body)["error"]["code"] == "insufficient_storage"
    assert (await c.call("HEAD", "/rec/b.mkv"))[0] == 404

    async def chunks():  # a chunked upload (no Content-Length) is cut off once over the quota
        for _ in range(10):
            yield b"c" * 10_000

    status, _, _ = await c.call("PUT", "/rec/c.mkv", data=chunks())
    assert status == 507
    assert (await c.call("HEAD", "/rec/c.mkv"))[0] == 404
    assert not [f for f in (c.running.store.root).rglob("*.data") if f.name.startswith("c.mkv")]
    _, listing_headers, _ = await c.call("HEAD", "/rec")
    assert listing_headers["X-Container-Object-Count"] == "1"


async def test_capabilities_and_categories_are_served_with_their_etag(destination):
    c = await destination(capabilities=frozenset({cd.STORE_BOOKMARKS}))
    status, headers, body = await c.call("GET", "/System/Capabilities.json")
    assert status == 200 and headers["Etag"] == hashlib.md5(body).hexdigest()
    caps = cd.Capabilities.parse(body, headers["Etag"])
    assert caps.names() == [cd.STORE_BOOKMARKS]
    status, headers, body = await c.call("GET", "/System/Categories.json")
    assert cd.etag_matches(body, headers["Etag"]) and cd.parse_categories(body) == cd.DEFAULT_CATEGORIES


async def test_browse_pages_show_recordings_and_decrypt_clips(destination):
    c = await destination(encrypt=True)
    conn = c.running.connection
    assert conn.want_encryption and conn.public_key_id
    private_path = c.running.private_key_path
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(c.running.connection_path.stat().st_mode) == 0o600
    name = cd.recording_container_name("user-1", "B8A44F000003", 1_800_000_000)
    await c.call(
        "PUT",
        f"/{name}",
        cd.meta_headers(
            "Container",
            {
                "UserID": "user-1",
                "BWCSerialNumber": "B8A44F000003",
                "TriggerOnTimeISO": "2027-01-15T08:00:00Z",
                "Status": "Complete",
            },
        ),
    )
    clip = cd.clip_object_name(1_800_000_000, "42", "mkv")
    plain = b"\x1aE\xdf\xa3 a clip " * 3000
    cipher, key_object = cd.encrypt_content(plain, conn.rsa_public_key(), conn.public_key_id)
    await c.call("PUT", f"/{name}/{clip}", cd.meta_headers("Object", {"StartTime": "1800000000"}), data=cipher)
    await c.call("PUT", f"/{name}/{cd.key_object_name(clip)}", data=key_object.to_json())
    await c.call("PUT", "/Users")
    await c.call("PUT", "/Users/user-1", cd.meta_headers("Object", {"Name": "Åsa", "Active": "True"}), data=b"")

    async with c.session.get(c.base + "/") as r:
        assert r.status == 401 and "Basic" in r.headers["WWW-Authenticate"]
    auth = _basic(conn.blob_api_user_name, conn.blob_api_key)
    async with c.session.get(c.base + "/", headers=_basic("bwc", "wrong")) as r:
        assert r.status == 401
    async with c.session.get(c.base + "/", headers=auth) as r:
        page = await r.text()
    assert name in page and "B8A44F000003" in page and "Complete" in page and "Åsa (user-1)" in page
    async with c.session.get(f"{c.base}/browse/{name}", headers=auth) as r:
        page = await r.text()
    assert clip in page and "decrypted" in page and "StartTime".lower() in page.lower()
    async with c.session.get(f"{c.base}/browse/{name}/{clip}", headers=auth) as r:
        assert await r.read() == cipher
    async with c.session.get(f"{c.base}/browse/{name}/{clip}?decrypt=1", headers=auth) as r:
        assert r.status == 200 and await r.read() == plain


def _basic(user: str, key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def _cli(*args, check=True):
    return subprocess.run(
        [sys.executable, "-m", "bwlab", "content-destination", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def test_connection_file_for_a_real_swift_and_decrypt(tmp_path):
    out = tmp_path / "swift.json"
    done = _cli(
        "connection-file",
        "--auth-url",
        "http://127.0.0.1:8080/auth/v1.0",
        "--user",
        "test:tester",
        "--key",
        "testing",
        "--full-store-and-read",
        "--container-type",
        "mp4",
        "--encrypt",
        "-o",
        str(out),
    )
    assert done.stdout.strip() == str(out)
    conn = cd.ConnectionFile.parse(out.read_bytes())
    assert (conn.blob_api_user_name, conn.container_type, conn.want_encryption) == ("test:tester", "mp4", True)
    assert conn.full_store_and_read_support and conn.https_certificate == ()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    private = tmp_path / "swift.private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600

    # decrypt an object encrypted for that key
    plain = b"trail" * 999
    cipher, key_object = cd.encrypt_content(plain, conn.rsa_public_key(), conn.public_key_id)
    (tmp_path / "t_gpstrail.json").write_bytes(cipher)
    (tmp_path / "t_gpstrail.key").write_bytes(key_object.to_json())
    done = _cli(
        "decrypt", str(tmp_path / "t_gpstrail.key"), str(tmp_path / "t_gpstrail.json"), "--private-key", str(private)
    )
    assert (tmp_path / "decrypted_t_gpstrail.json").read_bytes() == plain

    # turning encryption off again is refused, naming the field, and writes nothing
    again = tmp_path / "again.json"
    done = _cli(
        "connection-file",
        "--auth-url",
        "http://127.0.0.1:8080/auth/v1.0",
        "--user",
        "test:tester",
        "--key",
        "testing",
        "--container-type",
        "mp4",
        "--full-store-and-read",
        "--previous",
        str(out),
        "-o",
        str(again),
        check=False,
    )
    assert done.returncode == 2 and "WantEncryption" in done.stderr and not again.exists()
    # an https URI without the server's certificate is refused
    done = _cli(
        "connection-file",
        "--auth-url",
        "https://swift.test/auth/v1.0",
        "--user",
        "u",
        "--key",
        "k",
        "-o",
        str(again),
        check=False,
    )
    assert done.returncode == 2 and "AuthenticationTokenURI[0]" in done.stderr and not again.exists()


async def test_encryption_stays_on_once_on(destination):
    c = await destination(encrypt=True)
    await c.running.close()
    c2 = await destination()  # without --encrypt
    assert c2.running.connection.want_encryption
    assert c2.running.connection.public_key == c.running.connection.public_key


def test_serve_refuses_a_busy_port_clearly(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = _cli("serve", "--dir", str(tmp_path / "cd"), "--port", str(port), check=False)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr


async def test_lab_faults_on_the_destination_path(destination):
    c = await destination()
    auth = _basic(c.running.connection.blob_api_user_name, c.running.connection.blob_api_key)
    faults = c.base + "/lab/faults"

    async def arm(doc):
        async with c.session.put(faults, json=doc, headers=auth) as r:
            return r.status, await r.json()

    async with c.session.put(faults, json={"status": 503}) as r:
        assert r.status == 401  # the fault API needs the destination's credentials
    status, body = await arm({"status": 999})
    assert status == 400 and "status" in body["error"]["message"]
    status, body = await arm({"surprise": 1})
    assert status == 400 and "surprise" in body["error"]["message"]
    assert (await arm({}))[1]["status"] is None  # nothing was armed by the refused ones

    # a status on the next N requests, nothing stored meanwhile
    status, body = await arm({"status": 503, "count": 2})
    assert status == 200 and body["count"] == 2
    assert (await c.call("PUT", "/rec"))[0] == 503
    assert (await c.call("PUT", "/rec"))[0] == 503
    assert (await c.call("HEAD", "/rec"))[0] == 404
    assert (await c.call("PUT", "/rec"))[0] == 201

    # a wrong capabilities Etag: "object corrupt"
    await arm({"corrupt_capabilities_etag": True})
    _, headers, body = await c.call("GET", "/System/Capabilities.json")
    with pytest.raises(cd.ContentDestinationError, match="object corrupt"):
        cd.Capabilities.parse(body, headers["Etag"])

    # token expiry: every token forgotten, the client logs in again
    await arm({"revoke_tokens": True})
    assert (await c.call("HEAD", "/rec"))[0] == 401
    assert (await c.login()).status == 200

    # a full destination, until the faults are cleared
    await arm({"full": True})
    assert (await c.call("PUT", "/rec/a.mkv", data=b"a"))[0] == 507
    async with c.session.delete(faults, headers=auth) as r:
        assert (await r.json())["corrupt_capabilities_etag"] is False
    assert (await c.call("PUT", "/rec/a.mkv", data=b"a"))[0] == 201
    _, headers, body = await c.call("GET", "/System/Capabilities.json")
    assert cd.Capabilities.parse(body, headers["Etag"]).supports(cd.STORE_BOOKMARKS)


async def test_a_put_without_length_or_chunking_gets_411(destination):
    c = await destination(https=False)
    assert (await c.call("PUT", "/rec"))[0] == 201
    port = c.running.runner.addresses[0][1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"PUT /v1/AUTH_bwc/rec/x.mkv HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {c.token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    assert status_line.split()[1] == b"411"
    assert (await c.call("HEAD", "/rec/x.mkv"))[0] == 404


async def test_custom_categories_and_decrypt_with_the_destinations_own_key(destination, tmp_path):
    mine = (cd.Category("7", "Trafic routier"), cd.Category("8", "Témoignage"))
    c = await destination(encrypt=True, categories=mine)
    _, headers, body = await c.call("GET", "/System/Categories.json")
    assert cd.parse_categories(body) == mine and cd.etag_matches(body, headers["Etag"])
    conn = c.running.connection
    cipher, key_object = cd.encrypt_content(b"clip" * 1000, conn.rsa_public_key(), conn.public_key_id)
    (tmp_path / "c.mkv").write_bytes(cipher)
    (tmp_path / "c.key").write_bytes(key_object.to_json())
    done = await asyncio.to_thread(
        _cli,
        "decrypt",
        str(tmp_path / "c.key"),
        str(tmp_path / "c.mkv"),
        "--dir",
        str(tmp_path / "cd"),
        "-o",
        str(tmp_path / "plain.mkv"),
    )
    assert done.stdout.strip() == str(tmp_path / "plain.mkv")
    assert (tmp_path / "plain.mkv").read_bytes() == b"clip" * 1000
    # a key object for another key pair does not decrypt, and says so
    other, other_public = cd.new_key_pair()
    _, wrong = cd.encrypt_content(b"x", cd.load_public_key(other_public), "other")
    (tmp_path / "w.key").write_bytes(wrong.to_json())
    done = await asyncio.to_thread(
        _cli, "decrypt", str(tmp_path / "w.key"), str(tmp_path / "c.mkv"), "--dir", str(tmp_path / "cd"), check=False
    )
    assert done.returncode == 2 and "EncryptedKey" in done.stderr


def test_serve_refuses_bad_categories_naming_the_file(tmp_path):
    bad = tmp_path / "categories.json"
    bad.write_text('[{"Id": 1}]')
    done = _cli("serve", "--dir", str(tmp_path / "cd"), "--port", "0", "--categories", str(bad), check=False)
    assert done.returncode == 2 and str(bad) in done.stderr and "Categories.json[0]" in done.stderr
    assert not (tmp_path / "cd").exists()


def test_serve_refuses_a_bad_site_name_and_keeps_nothing(tmp_path):
    done = _cli("serve", "--dir", str(tmp_path / "cd"), "--port", "0", "--site-name", "s" * 65, check=False)
    assert done.returncode == 2 and "--site-name" in done.stderr
    assert not (tmp_path / "cd" / "destination.json").exists()


async def test_every_api_request_is_logged_with_its_status(destination, caplog):
    caplog.set_level("INFO", logger="bwlab.content_destination.server")
    c = await destination()
    await c.call("PUT", "/rec")
    await c.call("HEAD", "/rec", token="AUTH_tkbad")
    lines = [r.getMessage() for r in caplog.records if r.name == "bwlab.content_destination.server"]
    assert "GET /auth/v1.0 200" in lines and "PUT /v1/AUTH_bwc/rec 201" in lines
    assert "HEAD /v1/AUTH_bwc/rec 401" in lines
