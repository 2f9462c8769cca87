"""A docked camera's storage, as the dock reads it, belongs to (system, serial): two systems of
the appliance may each have a camera with the same serial (issue 10), and neither sees or
overwrites the other's storage report (issue 13)."""

# covers: D1, S3

from bwlab.wire.device_auth import make_csr, new_device_key


async def _docked(lab, system_id: str, manager, serial: str) -> str:
    api = f"/controller/{system_id}/api"
    await manager.post(api + "/docks", {"name": "Dock", "bays": 2})
    await manager.post(api + "/camera-users", {"name": "Tess Tester"})
    await manager.post(api + "/cameras", {"serial": serial, "model": "W102", "camera_user": "Tess Tester"})
    await lab.post(api + "/docks/Dock/bays/1", {"serial": serial, "csr": make_csr(new_device_key(), serial)})
    return api


async def test_two_systems_cameras_of_one_serial_keep_their_own_storage(lab, new_system):
    north_id, north = await new_system("North")
    south_id, south = await new_system("South")
    north_api = await _docked(lab, north_id, north, "SAME0001")
    south_api = await _docked(lab, south_id, south, "SAME0001")
    await lab.request("PUT", north_api + "/docks/Dock/bays/1/storage", {"capacity": 1000, "used": 100})
    await lab.request("PUT", south_api + "/docks/Dock/bays/1/storage", {"capacity": 2000, "used": 700})

    assert (await north.get(north_api + "/camera-storage"))["cameras"]["SAME0001"]["storage"]["used"] == 100
    assert (await south.get(south_api + "/camera-storage"))["cameras"]["SAME0001"]["storage"]["used"] == 700
