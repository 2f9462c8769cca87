"""The appliance's errors: the client-error branch of the project's one exception tree (CONVENTIONS 11).

Every error a client can cause is a ``ClientError`` (a branch of the project's one tree,
``bwlab.errors.BwlabError``) with a stable ``code`` and a human message;
the HTTP boundary (``appliance.http.error_middleware``) turns it into
``{"error": {"code", "message"}}`` with the right 4xx status. Nothing a client sends may turn
into a 500.
"""

from __future__ import annotations

from typing import Any

from bwlab.errors import BwlabError


class ClientError(BwlabError):
    """Base of every error the appliance reports to a client."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **details,
    ):
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})  # e.g. Retry-After on a 429
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details

    def as_dict(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(ClientError):
    """A request body or parameter does not have the expected shape (the path says where)."""

    code = "invalid_input"


class PayloadTooLarge(ClientError):
    status = 413
    code = "payload_too_large"


class Unauthenticated(ClientError):
    status = 401
    code = "unauthenticated"


class Forbidden(ClientError):
    status = 403
    code = "forbidden"


class NotFound(ClientError):
    status = 404
    code = "not_found"


class Conflict(ClientError):
    """The request is well-formed but the state does not allow it now."""

    status = 409
    code = "conflict"


class ServiceUnavailable(ClientError):
    """The appliance cannot serve the request now (its database is busy); try again shortly."""

    status = 503
    code = "unavailable"


class TooManyRequests(ClientError):
    """A limit on attempts or connections is reached (a ``Retry-After`` header says when to retry)."""

    status = 429
    code = "too_many_requests"


class InsufficientStorage(ClientError):
    """The data directory's disk is full: nothing was changed; retry once space is freed."""

    status = 507
    code = "insufficient_storage"
