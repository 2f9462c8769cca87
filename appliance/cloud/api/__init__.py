"""The cloud's HTTP API (AXIS Body Worn Live), mounted at /api/cloud: one module per resource.

``accounts`` (S2, D2: accounts, sessions, ``/me``), ``organizations`` (S2, S10, S13, S14: members,
roles, invitations), ``systems`` (S3: authorization codes, connected systems, the organization's
licence), ``licensing`` (S15: orders and renewals, a system's licence line), ``system_sync``
(issue 10: the camera users a controller sends), ``streams`` (D3–D8, S9, S12: streams, live view,
recordings, remote start, Active streams), ``positions`` (D9, S11: the map's feed and tracks),
``talk`` (issue 16 item 3: talk-back's floor and relay).
``audit`` (issue 16 item 4: the audit trail, its exports, who is watching).
``help`` (issue 16: help requests and their acknowledgement).
The SOC integrations' handlers live with their worker in ``appliance/cloud/soc.py``.
"""

from __future__ import annotations

from aiohttp.web import AbstractRouteDef

from . import accounts, audit, help, licensing, organizations, positions, streams, system_sync, systems, talk

routes: list[AbstractRouteDef] = [
    *accounts.routes,
    *organizations.routes,
    *systems.routes,
    *streams.routes,
    *positions.routes,
    *system_sync.routes,
    *licensing.routes,
    *talk.routes,
    *audit.routes,
    *help.routes,
]
"""Every route of the cloud API but the SOC integrations' (``soc.routes``)."""
