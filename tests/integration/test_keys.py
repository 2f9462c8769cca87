"""End-to-end keys through the Manager API (S4–S6): generate, copy the link with key plain and
with a passphrase, import it into other systems, and check that every fingerprint — in each
Manager's key list, in the link itself and in what docked cameras receive — is the same."""

# covers: S4, S5, S6, S16

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bwlab.client import ApiError
from bwlab.wire import envelope
from bwlab.wire.device_auth import make_csr, new_device_key

PASSPHRASE = "correct horse battery staple"


async def expect_error(coro, status: int, code: str) -> ApiError:
    with pytest.raises(ApiError) as info:
        await coro
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


async def dock_new_camera(mgr, lab, system_id: str, serial: str) -> dict:
    """Register a camera, put it in a bay (the lab plays the dock) and return its provisioning."""
    api = f"/controller/{system_id}/api"
    docks = (await mgr.get(api + "/docks"))["docks"]
    if not docks:
        await mgr.post(api + "/docks", {"name": "Dock", "bays": 4})
    await mgr.post(api + "/cameras", {"serial": serial, "model": "W110"})
    bay = 1 + sum(1 for c in (await mgr.get(api + "/cameras"))["cameras"] if c["docked"])
    csr = make_csr(new_device_key(), serial)
    return await lab.post(f"{api}/docks/Dock/bays/{bay}", {"serial": serial, "csr": csr})


def active(keys: list[dict]) -> dict:
    (key,) = [k for k in keys if k["active"]]
    return key


async def test_link_with_key_round_trips_plain_and_with_passphrase(appliance, lab, new_system):
    a_id, a = await new_system("Key source")
    b_id, b = await new_system("Plain importer")
    c_id, c = await new_system("Passphrase importer")
    a_api, b_api, c_api = (f"/controller/{s}/api" for s in (a_id, b_id, c_id))

    # S4: generate.
    assert (await a.get(a_api + "/keys"))["keys"] == []
    key = await a.post(a_api + "/keys", {"name": "Night shift"})
    assert key["active"] and key["origin"] == "generated" and key["name"] == "Night shift"
    pub = envelope.public_key_from_b64(key["public_key"])
    assert envelope.key_fingerprint(pub) == key["fingerprint"]
    listed = (await a.get(a_api + "/keys"))["keys"]
    assert listed == [key]
    assert not any("private" in field for k in listed for field in k), "the key list never carries the private key"

    # S5: copy link plain and with passphrase; the key is only in the URL fragment.
    plain = await a.post(a_api + f"/keys/{key['id']}/link", {})
    protected = await a.post(a_api + f"/keys/{key['id']}/link", {"passphrase": PASSPHRASE})
    assert plain["protected"] is False and protected["protected"] is True
    for link in (plain["link"], protected["link"]):
        parts = urlsplit(link)
        assert link.startswith(appliance.url + "/live/")
        assert parts.fragment and not parts.query, "the key travels in the fragment, never sent to a server"
    assert envelope.link_kind(plain["link"]) is envelope.LinkKind.PLAIN
    assert envelope.link_kind(protected["link"]) is not envelope.LinkKind.PLAIN
    opened_plain = envelope.read_link(plain["link"])
    opened_protected = envelope.read_link(protected["link"], PASSPHRASE)
    with pytest.raises(envelope.PassphraseRequired):
        envelope.read_link(protected["link"])
    assert opened_plain.fingerprint == opened_protected.fingerprint == key["fingerprint"]
    assert plain["fingerprint"] == protected["fingerprint"] == key["fingerprint"]

    # Failed imports: each a clear 400, and the importer's key list stays empty.
    for body, code in [
        ({"name": "K", "link": protected["link"], "passphrase": "wrong horse"}, "wrong_passphrase"),
        ({"name": "K", "link": protected["link"]}, "passphrase_required"),
        ({"name": "K", "link": protected["link"], "passphrase": ""}, "passphrase_required"),
        ({"name": "K", "link": "https://example.test/live/#k1=AAAA"}, "bad_link"),
        ({"name": "K", "link": "not a link at all"}, "bad_link"),
        ({"name": "K", "link": plain["link"].split("#")[0]}, "bad_link"),
        ({"name": "K", "link": plain["link"].split("&name=")[0][:-10]}, "bad_link"),
    ]:
        err = await expect_error(c.post(c_api + "/keys/import", body), 400, code)
        assert err.message
    assert (await c.get(c_api + "/keys"))["keys"] == []

    # S5: import each link into another system.
    imported_plain = await b.post(b_api + "/keys/import", {"name": "From source", "link": plain["link"]})
    imported_protected = await c.post(
        c_api + "/keys/import", {"name": "From source (protected)", "link": protected["link"], "passphrase": PASSPHRASE}
    )
    for imported in (imported_plain, imported_protected):
        assert imported["origin"] == "imported" and imported["active"]

    # S6: the fingerprints in all key lists are equal, and equal to the link's.
    fingerprints = {
        active((await s.get(api + "/keys"))["keys"])["fingerprint"] for s, api in ((a, a_api), (b, b_api), (c, c_api))
    }
    assert fingerprints == {opened_plain.fingerprint}
    publics = {
        active((await s.get(api + "/keys"))["keys"])["public_key"] for s, api in ((a, a_api), (b, b_api), (c, c_api))
    }
    assert publics == {key["public_key"]}

    # S4: the public key that docked cameras receive is that key, in every system.
    received = []
    for i, (s, system_id) in enumerate(((a, a_id), (b, b_id), (c, c_id))):
        prov = await dock_new_camera(s, lab, system_id, f"KEYCAM{i}")
        received.append(prov["e2e"])
    assert {r["public_key"] for r in received} == {key["public_key"]}
    assert {r["fingerprint"] for r in received} == {key["fingerprint"]}
    assert {envelope.key_fingerprint(envelope.public_key_from_b64(r["public_key"])) for r in received} == {
        opened_plain.fingerprint
    }
    assert all("private" not in field for r in received for field in r)

    # A link made by an importer opens to the same key again.
    relink = await b.post(b_api + f"/keys/{imported_plain['id']}/link", {"passphrase": "another one"})
    assert envelope.read_link(relink["link"], "another one").fingerprint == key["fingerprint"]


async def test_generating_a_new_key_replaces_the_one_cameras_receive(new_system, lab):
    system_id, mgr = await new_system("Rotation")
    api = f"/controller/{system_id}/api"
    first = await mgr.post(api + "/keys", {})
    second = await mgr.post(api + "/keys", {"name": "Second"})
    assert first["fingerprint"] != second["fingerprint"]
    keys = (await mgr.get(api + "/keys"))["keys"]
    assert [(k["id"], k["active"]) for k in keys] == [(first["id"], False), (second["id"], True)]
    prov = await dock_new_camera(mgr, lab, system_id, "ROTCAM1")
    assert prov["e2e"]["fingerprint"] == second["fingerprint"]
    # The old key's link still opens to the old key (operators may keep watching old recordings).
    old = await mgr.post(api + f"/keys/{first['id']}/link", {})
    assert envelope.read_link(old["link"]).fingerprint == first["fingerprint"]


async def test_a_system_without_a_key_docks_cameras_without_one(new_system, lab):
    system_id, mgr = await new_system("Keyless")
    prov = await dock_new_camera(mgr, lab, system_id, "NOKEY1")
    assert prov["e2e"] is None


async def test_keys_of_another_system_are_not_reachable(new_system):
    a_id, a = await new_system("Owner of key")
    b_id, b = await new_system("Neighbour")
    key = await a.post(f"/controller/{a_id}/api/keys", {})
    await expect_error(b.post(f"/controller/{b_id}/api/keys/{key['id']}/link", {}), 404, "not_found")
