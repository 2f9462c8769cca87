"""The system controller's connection to AXIS Body Worn Live, as a typed state machine (SPEC S3).

Add-on services > AXIS Body Worn Live > Axis-hosted walks through these steps, in this order:
install, enable cloud extensions, accept the licence agreement, sign in to the cloud account,
pick (or create) an organization, choose the storage region (the cloud then issues the
authorization code), paste the code and Finish. ``Connection`` is one frozen value; each step is
a method that checks the order and returns the next value. No I/O, no clock: the caller passes
what the cloud answered and the time.

It is stored as JSON in ``ctl_systems.connection``; ``from_json``/``to_json`` are the one place
that reads and writes it (the keys of the fields that are set, nothing else).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..errors import Conflict

STEPS = (
    "not_installed",
    "installed",
    "extensions_enabled",
    "eula_accepted",
    "signed_in",
    "organization_chosen",
    "storage_chosen",
    "connected",
)

_SECRETS = frozenset({"cloud_token", "system_token", "authorization_code", "authorization_code_expires_at"})
"""What the Manager never shows: the cloud session, the system's token, the authorization code."""


@dataclass(frozen=True)
class Connection:
    """Where a system controller stands in the S3 connection flow, and what each step learnt."""

    state: str = "not_installed"
    hosting: str | None = None
    eula_accepted_at: float | None = None
    cloud_token: str | None = None  # the account's session, only until Finish
    account_email: str | None = None
    org_id: str | None = None
    org_name: str | None = None
    region: str | None = None
    authorization_code: str | None = None
    authorization_code_expires_at: float | None = None
    cloud_system_id: str | None = None
    system_token: str | None = None
    hub_url: str | None = None
    connected_at: float | None = None

    def __post_init__(self) -> None:
        if self.state not in STEPS:
            raise ValueError(f"connection state: expected one of {', '.join(STEPS)}, got {self.state!r}")

    # ---- storage

    @classmethod
    def from_json(cls, text: str | None) -> Connection:
        """The stored connection (an empty or missing one is ``not_installed``); keys this
        version does not know are ignored, a value of the wrong type is a ValueError."""
        data = json.loads(text) if text else {}
        if not isinstance(data, dict):
            raise ValueError("connection: expected a JSON object")
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known or value is None:
                continue
            wanted = (int, float) if key.endswith("_at") else str
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ValueError(f"connection.{key}: unexpected value {value!r}")
            values[key] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set (the stored shape)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def to_json(self) -> str:
        return json.dumps(self.as_dict())

    def public(self) -> dict[str, Any]:
        """What the Manager shows: everything but the tokens and the authorization code."""
        return {k: v for k, v in self.as_dict().items() if k not in _SECRETS}

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def require(self, at_least: str) -> None:
        """Conflict unless the flow is at ``at_least`` or further (and not connected yet, unless
        ``at_least`` is ``connected``)."""
        if self.state == "connected" and at_least != "connected":
            raise Conflict("the system is connected already", code="already_connected")
        if STEPS.index(self.state) < STEPS.index(at_least):
            raise Conflict(
                f"this step needs the connection to be at least at '{at_least}', it is at '{self.state}' (S3 order: "
                + " → ".join(STEPS[1:])
                + ")",
                code="wrong_step",
            )

    def require_connected(self) -> None:
        if not self.connected:
            raise Conflict("the system is not connected to AXIS Body Worn Live (S3)", code="not_connected")

    # ---- the steps

    def install(self, hosting: str) -> Connection:
        self.require("not_installed")
        return replace(self, state="installed", hosting=hosting)

    def enable_extensions(self) -> Connection:
        """After the controller reached the cloud through its network settings."""
        self.require("installed")
        return replace(self, state="extensions_enabled")

    def disable_extensions(self) -> Connection:
        """Back to installed: everything learnt after the install is forgotten."""
        self.require("installed")
        return Connection(state="installed", hosting=self.hosting)

    def accept_eula(self, accepted: bool, now: float) -> Connection:
        self.require("extensions_enabled")
        if not accepted:
            raise Conflict("the licence agreement must be accepted to continue", code="eula_declined")
        return replace(self, state="eula_accepted", eula_accepted_at=now)

    def sign_in(self, cloud_token: str, account_email: str) -> Connection:
        """S3 step 6; a new sign-in forgets the organization and the region chosen before."""
        self.require("eula_accepted")
        return replace(
            self,
            state="signed_in",
            cloud_token=cloud_token,
            account_email=account_email,
            org_id=None,
            org_name=None,
            region=None,
        )

    def choose_organization(self, org_id: str, org_name: str) -> Connection:
        self.require("signed_in")
        return replace(self, state="organization_chosen", org_id=org_id, org_name=org_name)

    def with_authorization_code(self, code: str, expires_at: float) -> Connection:
        """The code the cloud issued for this controller's device CA (S3 step 9)."""
        return replace(self, authorization_code=code, authorization_code_expires_at=expires_at)

    def code_expired(self, now: float) -> bool:
        return now >= (self.authorization_code_expires_at or 0)

    def choose_storage(self, region: str) -> Connection:
        """S3 step 8 (the authorization code is asked for first: ``with_authorization_code``)."""
        self.require("organization_chosen")
        return replace(self, state="storage_chosen", region=region)

    def finish(self, cloud_system_id: str, system_token: str, hub_url: str, now: float) -> Connection:
        """S3 steps 10–11: connected; the account's session and the code are forgotten."""
        return replace(
            self,
            state="connected",
            cloud_system_id=cloud_system_id,
            system_token=system_token,
            hub_url=hub_url,
            connected_at=now,
            cloud_token=None,
            authorization_code=None,
            authorization_code_expires_at=None,
        )
