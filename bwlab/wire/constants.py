"""Constants the Python side and the web client share (CONVENTIONS 5; SPEC S1, D7, D9, S4, D6).

Each is defined once, in Python: here, or in the wire module of the format it belongs to
(``chunk``, ``envelope``). ``JS_CONSTANTS`` lists, per web client module, the constants that
module must export with the same value; ``tests/vectors/make_constants.py`` writes them to
``tests/vectors/constants.json`` and ``tests/js/constants.test.mjs`` checks the JavaScript
modules against that file.
"""

from __future__ import annotations

from . import chunk, envelope

CLOCK_TOLERANCE_S = 5.0
"""S1: a stream whose camera clock and viewer clock differ by more than this many seconds is
refused (the manual's "a few seconds"; docs/decisions.md). The reference viewer, the web
client's player and the lab's diagnosis all use it."""

GROUP_MAX_MEMBERS = 4
"""D7: a multi-view group holds at most four camera users (the web client enforces it)."""

MAP_TRAIL_SECONDS = 25
"""D9: a camera's trail on the map shows its last 20 to 30 seconds of positions."""

JS_CONSTANTS: dict[str, dict[str, int | float | str]] = {
    "webui/js/live/player.js": {"CLOCK_TOLERANCE": CLOCK_TOLERANCE_S},
    "webui/js/live/groups.js": {"MAX_MEMBERS": GROUP_MAX_MEMBERS},
    "webui/js/map.js": {"TRAIL_SECONDS": MAP_TRAIL_SECONDS},
    "webui/js/chunk.js": {
        "MAGIC": chunk.MAGIC.decode("ascii"),
        "HEADER_SIZE": chunk.HEADER_SIZE,
        "MAX_STREAM_ID": chunk.MAX_STREAM_ID,
    },
    "webui/js/e2e.js": {
        "VERSION": envelope.VERSION,
        "CONTENT_KEY_SIZE": envelope.CONTENT_KEY_SIZE,
        "DEFAULT_PBKDF2_ITERATIONS": envelope.DEFAULT_PBKDF2_ITERATIONS,
        "MIN_PBKDF2_ITERATIONS": envelope.MIN_PBKDF2_ITERATIONS,
        "MAX_PBKDF2_ITERATIONS": envelope.MAX_PBKDF2_ITERATIONS,
        "MAX_STREAM_ID_BYTES": envelope.MAX_STREAM_ID_BYTES,
        "MAX_LINK_NAME_BYTES": envelope.MAX_LINK_NAME_BYTES,
    },
}
"""Per web client module (path from the repository root), the exports it must have, and their values."""
