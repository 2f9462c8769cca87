"""One exception tree for the whole project (CONVENTIONS 11).

Every error bwlab raises on purpose is a ``BwlabError`` with a human message and a stable
``code``; the few families below say what kind of failure it is, so a boundary (the CLI, the
HTTP error middleware, a WebSocket handler) can treat a family alike:

* ``InputError`` — a configuration file, scenario, argument or request field is not what is
  expected (the message names the file, key or field and the expectation).
* ``WireError`` — bytes or a message that do not follow a wire format both ends speak (chunk
  frames, envelopes, fMP4, WebSocket messages).
* ``Refused`` — the input is well-formed but the other party or the rules refuse it (a clock
  mismatch under S1, a certificate or a token refused, a chunk rejected).
* ``Unavailable`` — something the operation needs is not there or not working now (a lab command
  failed, storage full, a process already running).

The appliance's HTTP errors (``appliance.errors.ClientError`` and its 4xx subclasses) are a
branch of the same tree. An error that was a ``ValueError`` (or ``RuntimeError``, ``OSError``,
``AssertionError``) before it joined the tree keeps that built-in base beside its family, so the
handlers that catch it stay as they were.
"""

from __future__ import annotations


class BwlabError(Exception):
    """Root of every error the project raises on purpose: a message and a stable ``code``."""

    code = "error"

    def __init__(self, message: object = "", *args: object, code: str | None = None) -> None:
        super().__init__(message, *args)
        self.message = str(message)
        if code is not None:
            self.code = code


class InputError(BwlabError):
    """A file, scenario, argument or field is not what is expected."""

    code = "invalid_input"


class WireError(BwlabError):
    """Bytes or a message that do not follow a wire format."""

    code = "protocol_error"


class Refused(BwlabError):
    """Well-formed, but refused by the other party or the rules."""

    code = "refused"


class Unavailable(BwlabError):
    """Something the operation needs is not there or not working now."""

    code = "unavailable"
