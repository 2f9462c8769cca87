"""Identifiers the appliance makes for its rows: ``<prefix>_<16 hex digits>`` (``org_…``, ``ctl_…``).

Shared by every part (cloud, controller, hub, lab), so it lives at the appliance level.
"""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """A fresh random identifier with its kind as a prefix."""
    return f"{prefix}_{secrets.token_hex(8)}"
