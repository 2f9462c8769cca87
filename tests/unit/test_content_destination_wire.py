"""The Body Worn Content Destination API's wire formats (issue 13): connection file, capabilities,
metadata headers, names, GNSS trail and key objects (decrypted with the openssl command line)."""

# covers: issue-13 (connection file, capabilities Etag, metadata headers, names, key objects)

from __future__ import annotations

import base64
import datetime
import json
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bwlab.wire import content_destination as cd

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def self_signed_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cd.test")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def key_pair():
    return cd.new_key_pair()


@pytest.fixture(scope="module")
def cert_b64():
    return cd.encode_pem(self_signed_pem())


def good_doc(cert_b64: str, public_key: str | None = None) -> dict:
    doc = {
        "ConnectionFileVersion": "1.0",
        "SiteName": "Lab site",
        "ApplicationName": "bwlab content destination",
        "ApplicationVersion": "0.1.0",
        "ContentDestinationAsNTPServer": False,
        "AuthenticationTokenURI": ["https://127.0.0.1:8443/auth/v1.0", "https://cd.test:8443/auth/v1.0"],
        "HTTPSCertificate": [cert_b64],
        "BlobAPIKey": "secret-key",
        "BlobAPIUserName": "bwc",
        "ContainerType": "mp4",
        "FullStoreAndReadSupport": False,
        "WantEncryption": public_key is not None,
    }
    if public_key is not None:
        doc["PublicKey"] = public_key
        doc["PublicKeyId"] = "contentkey"
    return doc


def test_a_good_connection_file_round_trips(cert_b64, key_pair):
    _, public = key_pair
    conn = cd.ConnectionFile.parse(json.dumps(good_doc(cert_b64, public)))
    assert conn.site_name == "Lab site"
    assert conn.authentication_token_uri[1] == "https://cd.test:8443/auth/v1.0"
    assert conn.container_type == "mp4" and conn.want_encryption and conn.public_key_id == "contentkey"
    assert conn.certificates()[0].subject.rfc4514_string() == "CN=cd.test"
    assert "BEGIN CERTIFICATE" in conn.certificates_pem()
    assert conn.rsa_public_key().key_size == 2048
    assert cd.ConnectionFile.parse(conn.to_json()) == conn
    assert "secret-key" not in repr(conn) and conn.summary()["BlobAPIKey"] != "secret-key"


def test_defaults_follow_the_readme(cert_b64):
    doc = good_doc(cert_b64)
    for optional in ("ContainerType", "FullStoreAndReadSupport", "WantEncryption", "HTTPSCertificate"):
        doc.pop(optional)
    doc["AuthenticationTokenURI"] = ["http://127.0.0.1:8080/auth/v1.0"]
    conn = cd.ConnectionFile.parse(json.dumps(doc))
    assert (conn.container_type, conn.full_store_and_read_support, conn.want_encryption) == ("mkv", False, False)
    assert conn.certificates() == [] and conn.rsa_public_key() is None


def test_the_example_servers_file_shape_is_accepted(cert_b64):
    """Axis's example server writes PublicKey "" without encryption and a BlobAPI field."""
    doc = good_doc(cert_b64)
    doc.update({"PublicKey": "", "PublicKeyId": "", "BlobAPI": "Swift 1.0"})
    assert cd.ConnectionFile.parse(json.dumps(doc)).blob_api == "Swift 1.0"


def _refused(doc_or_bytes, field: str, words: str):
    data = doc_or_bytes if isinstance(doc_or_bytes, bytes) else json.dumps(doc_or_bytes).encode()
    with pytest.raises(cd.ContentDestinationError) as err:
        cd.ConnectionFile.parse(data)
    assert err.value.field == field, str(err.value)
    assert words in str(err.value)
    return err.value


def test_bad_connection_files_name_the_field(cert_b64, key_pair):
    _, public = key_pair
    g = lambda **kw: {**good_doc(cert_b64), **kw}  # noqa: E731
    _refused(b"x" * (64 * 1024 + 1), "file", "64 kB")
    _refused(b"{not json", "file", "not JSON")
    _refused(b"[]", "file", "JSON object")
    _refused(g(ConnectionFileVersion="2.0"), "ConnectionFileVersion", '"1.0" is expected')
    doc = good_doc(cert_b64)
    del doc["ConnectionFileVersion"]
    _refused(doc, "ConnectionFileVersion", "missing")
    doc = good_doc(cert_b64)
    del doc["BlobAPIKey"]
    _refused(doc, "BlobAPIKey", "missing")
    _refused(g(SiteName="s" * 65), "SiteName", "at most 64")
    _refused(g(ApplicationName="a" * 257), "ApplicationName", "at most 256")
    _refused(g(ApplicationVersion="v" * 65), "ApplicationVersion", "at most 64")
    _refused(g(BlobAPIKey="k" * 65), "BlobAPIKey", "at most 64")
    _refused(g(BlobAPIUserName="u" * 65), "BlobAPIUserName", "at most 64")
    _refused(g(BlobAPIUserName=""), "BlobAPIUserName", "empty")
    _refused(g(SiteName="a\nb"), "SiteName", "control characters")
    _refused(g(SiteName=5), "SiteName", "a string is expected")
    _refused(g(WantEncryption="yes"), "WantEncryption", "true or false")
    _refused(g(ContainerType="avi"), "ContainerType", '"mkv" or "mp4"')
    _refused(g(AuthenticationTokenURI=[]), "AuthenticationTokenURI", "1 to 10")
    _refused(g(AuthenticationTokenURI=["https://h/auth/v1.0"] * 11), "AuthenticationTokenURI", "1 to 10")
    _refused(g(AuthenticationTokenURI="https://h/auth/v1.0"), "AuthenticationTokenURI", "list of strings")
    _refused(g(AuthenticationTokenURI=["https://h/" + "a" * 510]), "AuthenticationTokenURI[0]", "at most 512")
    _refused(g(AuthenticationTokenURI=["ftp://h/auth"]), "AuthenticationTokenURI[0]", "http(s) URI")
    _refused(g(AuthenticationTokenURI=["http://h/auth/v1.0"]), "AuthenticationTokenURI[0]", "https URI is expected")
    _refused(
        g(HTTPSCertificate=[], AuthenticationTokenURI=["https://h/auth/v1.0"]),
        "AuthenticationTokenURI[0]",
        "certificate",
    )
    _refused(g(HTTPSCertificate=[cert_b64] * 11), "HTTPSCertificate", "at most 10")
    _refused(g(HTTPSCertificate=["!!notbase64"]), "HTTPSCertificate[0]", "not base64")
    _refused(g(HTTPSCertificate=[base64.b64encode(b"hello").decode()]), "HTTPSCertificate[0]", "X.509")
    _refused(g(HTTPSCertificate=["A" * (16 * 1024 + 4)]), "HTTPSCertificate[0]", "16k")
    _refused(g(WantEncryption=True), "PublicKey", "required when WantEncryption")
    _refused(g(WantEncryption=True, PublicKey=public), "PublicKeyId", "required when WantEncryption")
    _refused(g(PublicKey=public, PublicKeyId="k"), "PublicKey", "no value is allowed")
    _refused(g(WantEncryption=True, PublicKey=cert_b64, PublicKeyId="k"), "PublicKey", "PEM public key")
    _refused(g(WantEncryption=True, PublicKey=public, PublicKeyId="k" * 129), "PublicKeyId", "at most 128")
    _refused(g(Surprise=1), "Surprise", "not a connection-file attribute")


def test_replacement_rules(cert_b64, key_pair):
    _, public = key_pair
    plain = cd.ConnectionFile.parse(json.dumps(good_doc(cert_b64)))
    encrypted = cd.ConnectionFile.parse(json.dumps(good_doc(cert_b64, public)))
    cd.check_replacement(None, plain)
    cd.check_replacement(plain, encrypted)  # false → true is allowed
    with pytest.raises(cd.ContentDestinationError) as err:
        cd.check_replacement(encrypted, plain)
    assert err.value.field == "WantEncryption" and "cannot be turned off" in str(err.value)
    full = cd.ConnectionFile.parse(json.dumps({**good_doc(cert_b64), "FullStoreAndReadSupport": True}))
    cd.check_replacement(plain, full)
    with pytest.raises(cd.ContentDestinationError) as err:
        cd.check_replacement(full, plain)
    assert err.value.field == "FullStoreAndReadSupport"
    mkv = cd.ConnectionFile.parse(json.dumps({**good_doc(cert_b64), "ContainerType": "mkv"}))
    with pytest.raises(cd.ContentDestinationError) as err:
        cd.check_replacement(plain, mkv)
    assert err.value.field == "ContainerType"


def test_capabilities_etag_is_the_md5_of_the_body():
    caps = cd.Capabilities(store_and_read=frozenset({cd.STORE_BOOKMARKS, cd.STORE_READ_SYSTEM_ID}))
    body = caps.to_json()
    tag = cd.etag(body)
    assert len(tag) == 32 and tag == __import__("hashlib").md5(body).hexdigest()
    parsed = cd.Capabilities.parse(body, tag)
    assert parsed.supports(cd.STORE_BOOKMARKS) and not parsed.supports(cd.STORE_GNSS_TRACK_RECORDING)
    assert cd.Capabilities.parse(body, f'"{tag}"') == parsed  # a quoted Etag is the same Etag
    for bad in (None, "0" * 32, tag[:-1]):
        with pytest.raises(cd.ContentDestinationError) as err:
            cd.Capabilities.parse(body, bad)
        assert err.value.field == "Etag" and "object corrupt" in str(err.value)
    doc = {"Read": {}, "Store": {"StoreUserIDKey": True, "StoreBookmarks": False}, "StoreAndRead": {}}
    raw = json.dumps(doc).encode()
    parsed = cd.Capabilities.parse(raw, cd.etag(raw))
    assert parsed.names() == ["StoreUserIDKey"]
    bad = json.dumps({"Store": {"StoreBookmarks": "yes"}}).encode()
    with pytest.raises(cd.ContentDestinationError):
        cd.Capabilities.parse(bad, cd.etag(bad))
    assert cd.Capabilities(full=True).supports(cd.STORE_GNSS_TRACK_RECORDING)


def test_categories_round_trip_and_refuse_bad_shapes():
    body = cd.categories_json(cd.DEFAULT_CATEGORIES)
    assert cd.parse_categories(body) == cd.DEFAULT_CATEGORIES
    assert json.loads(body)[0] == {"Id": "1", "Name": "Testimony"}
    with pytest.raises(cd.ContentDestinationError):
        cd.parse_categories(b'[{"Id": 1, "Name": "x"}]')
    with pytest.raises(cd.ContentDestinationError):
        cd.parse_categories(b'{"Id": "1"}')


def test_metadata_headers_follow_the_capitalization_and_encoding_rule():
    assert cd.meta_header("Container", "BWCSerialNumber") == "X-Container-Meta-Bwcserialnumber"
    assert cd.meta_header("Container", "TriggerOnTimeISO") == "X-Container-Meta-Triggerontimeiso"
    assert cd.meta_header("Object", "StartTime") == "X-Object-Meta-Starttime"
    assert cd.meta_header("Object", "some-key") == "X-Object-Meta-Some-Key"
    headers = cd.meta_headers("Object", {"Name": "Åsa Öberg", "Tags": "TriggerOn:Button;Case:42/7"})
    assert headers == {
        "X-Object-Meta-Name": "%C3%85sa%20%C3%96berg",
        "X-Object-Meta-Tags": "TriggerOn%3AButton%3BCase%3A42%2F7",
    }
    assert all(v.isascii() for v in headers.values())
    # read back case-insensitively (Swift and aiohttp may change the case of header names)
    back = cd.read_meta("Object", {k.lower(): v for k, v in headers.items()} | {"Content-Type": "x"})
    assert back == {"Name": "Åsa Öberg", "Tags": "TriggerOn:Button;Case:42/7"}
    assert back[cd.meta_key("Name")] == "Åsa Öberg"
    assert cd.read_meta("Container", headers) == {}
    with pytest.raises(cd.ContentDestinationError) as err:
        cd.meta_headers("Container", {"TriggerOnLocation": "x" * 65})
    assert err.value.field == "TriggerOnLocation"
    with pytest.raises(cd.ContentDestinationError):
        cd.meta_headers("Object", {"Name": "a\rb"})
    # 100 bytes of UTF-8 is within the README's String[100] but 300 characters once encoded: over Swift's 256
    assert len(cd.meta_headers("Object", {"Name": "é" * 42})["X-Object-Meta-Name"]) == 252
    with pytest.raises(cd.ContentDestinationError) as err:
        cd.meta_headers("Object", {"Name": "é" * 50})
    assert err.value.field == "Name" and "URL-encoded" in str(err.value)
    with pytest.raises(cd.ContentDestinationError):
        cd.meta_header("Object", "Bad Key")


def test_names_are_as_the_readme_says():
    assert cd.name_time(NOW) == "20270115_080000"
    assert cd.rfc3339(NOW + 0.9) == "2027-01-15T08:00:00Z" and cd.epoch(NOW + 0.9) == "1800000000"
    user = "3f1c2b9e-8a6d-4c2e-9b1a-0d5e7f6a8b9c"
    assert cd.recording_container_name(user, "B8A44F000001", NOW) == f"{user}_B8A44F000001_20270115_080000"
    assert cd.clip_object_name(NOW + 60, "123456", "mkv") == "20270115_080100_123456.mkv"
    assert cd.key_object_name("20270115_080100_123456.mkv") == "20270115_080100_123456.key"
    trail = cd.gnss_trail_object_name(NOW, "123456", "B8A44F000001")
    assert trail == "20270115_080000_123456_B8A44F000001_gpstrail.json"
    assert cd.key_object_name(trail) == "20270115_080000_123456_B8A44F000001_gpstrail.key"
    assert cd.bookmark_object_name(NOW + 5, "2") == "bookmark_20270115_080005_2"
    rid = cd.new_recording_id()
    assert rid.isdigit() and len(rid) == 6
    with pytest.raises(cd.ContentDestinationError) as err:
        cd.recording_container_name("a/b", "B8A44F000001", NOW)
    assert err.value.field == "UserID"
    with pytest.raises(cd.ContentDestinationError):
        cd.clip_object_name(NOW, "1", "avi")


def test_swift_name_rules():
    assert cd.check_container_name("Users") == "Users"
    for bad in ("", "a/b", ".", "..", "x" * 257, "a\x00"):
        with pytest.raises(cd.ContentDestinationError):
            cd.check_container_name(bad)
    assert cd.check_object_name("a/b.mkv") == "a/b.mkv"
    for bad in ("", "../x", "a//b", "a/./b", "x" * 1025, "a\nb"):
        with pytest.raises(cd.ContentDestinationError):
            cd.check_object_name(bad)


def test_gnss_trail_is_the_documented_json():
    entries = [cd.GnssEntry(13.221184, 55.718409, 64.0, NOW + 64), cd.GnssEntry(13.220701, 55.718702, 82, NOW + 82)]
    body = cd.gnss_trail_json(entries)
    doc = json.loads(body)
    assert doc["CoordinateEntries"][0] == {
        "LocationWKT": "POINT(13.221184 55.718409)",
        "SecondsFromStart": 64.0,
        "Timestamp": "2027-01-15T08:01:04Z",
    }
    assert cd.parse_gnss_trail(body)[1] == cd.GnssEntry(13.220701, 55.718702, 82.0, NOW + 82)
    with pytest.raises(cd.ContentDestinationError):
        cd.parse_gnss_trail(b'{"CoordinateEntries": [{"LocationWKT": "LINE(1 2)"}]}')


def test_key_object_round_trip_streaming(key_pair):
    private, public = key_pair
    pub = cd.load_public_key(public)
    data = bytes(range(256)) * 1000 + b"tail"
    enc = cd.ContentEncryptor(pub, "contentkey")
    cipher = b"".join(enc.update(data[i : i + 4096]) for i in range(0, len(data), 4096)) + enc.finalize()
    assert len(cipher) == cd.ContentEncryptor.encrypted_size(len(data)) and cipher[:64] != data[:64]
    key_object = cd.KeyObject.parse(enc.key_object.to_json())
    assert key_object.public_key_id == "contentkey" and len(key_object.iv) == 16
    assert cd.decrypt_content(cipher, key_object, private) == data
    other, _ = cd.new_key_pair()
    with pytest.raises(cd.ContentDestinationError) as err:
        key_object.unwrap(other)
    assert err.value.field == "EncryptedKey"
    with pytest.raises(cd.ContentDestinationError):
        cd.KeyObject.parse(b'{"EncryptedKey": "AAAA"}')


def test_the_readme_openssl_recipe_decrypts_a_clip(tmp_path, key_pair):
    """The README's decryption steps, run as a shell script with the openssl command line."""
    private, public = key_pair
    (tmp_path / "private_key.pem").write_bytes(cd.private_key_pem(private))
    data = b"\x1aE\xdf\xa3" + b"matroska clip bytes " * 5000
    cipher, key_object = cd.encrypt_content(data, cd.load_public_key(public), "contentkey")
    (tmp_path / "encrypted_videofile.mkv").write_bytes(cipher)
    (tmp_path / "videofile.key").write_bytes(key_object.to_json())
    script = r"""
set -euo pipefail
grep EncryptedKey videofile.key | cut -d'"' -f 4 > wrapped_encryption.key.base64
base64 -d wrapped_encryption.key.base64 > wrapped_encryption.key
openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep -inkey private_key.pem -in wrapped_encryption.key -out encryption.key
od -An -tx1 -v encryption.key | tr -d ' \n' > encryption.key.hex
grep ContentEncryptionIV videofile.key | cut -d'"' -f 4 > encryption.iv.base64
base64 -d encryption.iv.base64 > encryption.iv
od -An -tx1 -v encryption.iv | tr -d ' \n' > encryption.iv.hex
openssl enc -d -aes-256-cbc -iv "$(cat encryption.iv.hex)" -K "$(cat encryption.key.hex)" \
  -in encrypted_videofile.mkv -out decrypted_videofile.mkv
# the README's own unwrap command (deprecated in OpenSSL 3 but still there) gives the same key
openssl rsautl -decrypt -oaep -inkey private_key.pem -in wrapped_encryption.key -out encryption2.key 2>/dev/null
cmp encryption.key encryption2.key
"""
    subprocess.run(["bash", "-c", script], cwd=tmp_path, check=True, timeout=30)
    assert (tmp_path / "decrypted_videofile.mkv").read_bytes() == data
