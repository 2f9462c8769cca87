"""The system controller's Manager API ("AXIS Body Worn Manager"), mounted at /controller.

One appliance emulates several system controllers, each at ``/controller/{system_id}/api``
with its own administrator login. One module per resource: the systems and the Manager's
sign-in (``systems``), Settings (S1, S3, T1: ``settings``), the connection flow to the cloud
(S3: ``addon``), end-to-end keys (S4–S6: ``keys``), Wi-Fi networks (S8: ``wifi``), camera
profiles (S7, S11: ``profiles``), camera users (S8: ``camera_users``), cameras (``cameras``)
and docks and docking (D1: ``docks``). The SQL is ``appliance/controller/store.py``; the S3
state machine ``connection.py``; the docking rules ``docking.py``.
"""

from __future__ import annotations

from aiohttp.web import AbstractRouteDef

from . import addon, camera_users, cameras, docks, keys, profiles, settings, systems, wifi

routes: list[AbstractRouteDef] = [
    *systems.routes,
    *settings.routes,
    *addon.routes,
    *keys.routes,
    *wifi.routes,
    *profiles.routes,
    *camera_users.routes,
    *cameras.routes,
    *docks.routes,
]
"""Every route of the Manager API, for ``app.add_subapp("/controller", ...)``."""
