"""Importing a content destination's connection file in the Manager (issue 13 "must show"): bad
files are refused with the field named and change nothing; only the system's admin may import."""

# covers: issue-13 (item 3: connection file import)

from __future__ import annotations

import base64
import json

import pytest

from bwlab.client import ApiError
from bwlab.wire import content_destination as cd
from tests.integration.offload_support import connection_file

GOOD = connection_file("http://127.0.0.1:9/auth/v1.0", "test:tester", "testing")


def mutate(**changes) -> bytes:
    doc = json.loads(GOOD)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


BAD = [
    ("too big", GOOD[:-2] + b" " * (64 * 1024) + b"}\n", 413, "64 kB"),
    ("wrong version", mutate(ConnectionFileVersion="2.0"), 400, "ConnectionFileVersion"),
    ("missing key", mutate(BlobAPIKey=None), 400, "BlobAPIKey"),
    ("too long site name", mutate(SiteName="x" * 65), 400, "SiteName"),
    (
        "eleven token URIs",
        mutate(AuthenticationTokenURI=["http://127.0.0.1:9/auth/v1.0"] * 11),
        400,
        "AuthenticationTokenURI",
    ),
    (
        "bad certificate",
        mutate(
            HTTPSCertificate=[base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnope\n").decode()],
            AuthenticationTokenURI=["https://127.0.0.1:9/auth/v1.0"],
        ),
        400,
        "HTTPSCertificate[0]",
    ),
    ("encryption without key", mutate(WantEncryption=True), 400, "PublicKey"),
    ("not JSON", b"{not json", 400, "file"),
]


@pytest.mark.parametrize("why, raw, status, field", BAD, ids=[b[0] for b in BAD])
async def test_a_bad_connection_file_is_refused_with_the_field_named_and_changes_nothing(
    appliance, new_system, why, raw, status, field
):
    system_id, mgr = await new_system("Import station")
    api = f"/controller/{system_id}/api/content-destination"
    before = await mgr.request("POST", api, raw=GOOD)
    with pytest.raises(ApiError) as err:
        await mgr.request("POST", api, raw=raw)
    assert err.value.status == status and field in err.value.message
    assert err.value.code in ("invalid_connection_file", "payload_too_large")
    after = await mgr.get(api)
    assert after["connection"] == before["connection"] and after["imported_at"] == before["imported_at"]


async def test_only_the_systems_admin_imports(appliance, new_system):
    system_id, _ = await new_system("Station A")
    _, other = await new_system("Station B")
    with pytest.raises(ApiError) as err:
        await other.request("POST", f"/controller/{system_id}/api/content-destination", raw=GOOD)
    assert err.value.status == 403
    async with appliance.session() as anonymous:
        with pytest.raises(ApiError) as err:
            await anonymous.request("POST", f"/controller/{system_id}/api/content-destination", raw=GOOD)
    assert err.value.status == 401


async def test_a_new_file_keeps_the_connection_id_and_container_type_cannot_change(appliance, new_system):
    system_id, mgr = await new_system("Station C")
    api = f"/controller/{system_id}/api/content-destination"
    first = await mgr.request("POST", api, raw=GOOD)
    second = await mgr.request("POST", api, raw=mutate(SiteName="Renamed site"))
    assert second["connection_id"] == first["connection_id"] and second["connection"]["SiteName"] == "Renamed site"
    with pytest.raises(ApiError) as err:
        await mgr.request("POST", api, raw=mutate(ContainerType="mp4"))
    assert err.value.status == 409 and "ContainerType" in err.value.message
    assert cd.ConnectionFile.parse(GOOD).container_type == (await mgr.get(api))["connection"]["ContainerType"]
