"""Lab settings: what the trainer allows on this lab box that a hosted service never would.

``soc_private_targets`` (default off, docs/security.md item 4): SOC integrations may then send to
addresses of the lab network or of this machine (loopback, private, link-local, …) and over plain
``http://``, e.g. to ``bwlab soc-receiver`` on the trainer's laptop. Off, an integration's URL must
be ``https://`` and every address its host name has must be a public one, checked when the URL is
entered and again at every delivery, after DNS resolution (appliance/cloud/soc_targets.py).

Set with ``GET``/``PUT /api/lab/settings`` (lab token) or ``bwlab up --soc-private-targets``
(turns it on at start). Kept in the cloud database's ``lab_state`` (key ``settings``), so a
restart keeps it, like the lab's faults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from aiohttp import web

from bwlab import schema

from ..context import APPLIANCE, SOC_PRIVATE_TARGETS
from ..db import Database
from . import store as lab_store

STATE_KEY = "settings"


@dataclass(frozen=True)
class LabSettings:
    soc_private_targets: bool = False


@dataclass(frozen=True)
class SettingsChange:
    soc_private_targets: bool | None = None


@dataclass
class LabSettingsStore:
    """The settings in force (read by the cloud's SOC routes and delivery worker)."""

    current: LabSettings = field(default_factory=LabSettings)

    async def load(self, db: Database) -> LabSettings:
        value = await lab_store.get(db, STATE_KEY)
        if value is not None:
            try:
                self.current = schema.from_mapping(LabSettings, json.loads(value))
            except (ValueError, schema.SchemaError):
                self.current = LabSettings()  # a bad row never stops a start: the safe defaults
        return self.current

    async def save(self, db: Database, settings: LabSettings) -> LabSettings:
        await lab_store.put(db, STATE_KEY, json.dumps(schema.as_json(settings)))
        self.current = settings
        return settings


LAB_SETTINGS = web.AppKey("lab_settings", LabSettingsStore)


def setup_lab_settings(app: web.Application) -> None:
    """The store (loaded at start; ``config.soc_private_targets`` turns that setting on)."""
    app[LAB_SETTINGS] = store = LabSettingsStore()
    app[SOC_PRIVATE_TARGETS] = lambda: store.current.soc_private_targets  # what the cloud's SOC routes read

    async def load(app: web.Application):
        ctx = app[APPLIANCE]
        store = app[LAB_SETTINGS]
        settings = await store.load(ctx.db)
        if ctx.config.soc_private_targets and not settings.soc_private_targets:
            await store.save(ctx.db, replace(settings, soc_private_targets=True))
        yield

    app.cleanup_ctx.append(load)
