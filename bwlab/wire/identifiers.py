"""Identifiers that reach a file path or a database key, and the lab-time bounds of timestamps.

A camera names its streams and location tracks; the hub stores their evidence under
``evidence/<region>/<org>/<stream id>/``. Every such identifier is checked here, where it enters
(the message schemas of ``bwlab.wire.messages`` and ``bwlab.wire.positions``, and the chunk
header in ``bwlab.wire.chunk``), against one strict pattern: letters, digits, ``_`` and ``-``,
starting with a letter or digit, at most 64 characters — never ``/``, ``.``, ``..`` or a NUL.
The appliance checks each path it builds again before writing or deleting (defence in depth).

Timestamps a device sends (its clock, seconds since the POSIX epoch) must be finite and lie
between 2000-01-01 and 2200-01-01: a camera's clock may be skewed and lab time may travel, but
not by centuries, and a value like ``1e308`` or ``NaN`` must never be stored.
"""

from __future__ import annotations

import re

ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
SERIAL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9-]{0,31}"
_ID = re.compile(ID_PATTERN)

EARLIEST = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST = 7_258_118_400.0  # 2200-01-01T00:00:00Z
MAX_SEQ = 2**63 - 1  # a sequence number SQLite can store

ID = {"max_len": 64, "nonempty": True, "pattern": ID_PATTERN}
"""Field metadata (``bwlab.schema``) for a stream, track or request id."""
SERIAL = {"max_len": 32, "nonempty": True, "pattern": SERIAL_PATTERN}
TIMESTAMP = {"min": EARLIEST, "max": LATEST}
SEQ = {"min": 0, "max": MAX_SEQ}


def is_id(value: object) -> bool:
    """Whether ``value`` is an identifier that may name a directory or file."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def is_timestamp(value: object) -> bool:
    """Whether ``value`` is a finite number of seconds within the bounds above."""
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and EARLIEST <= value <= LATEST
    )  # NaN fails both comparisons
