"""Paths under the data directory: the one check every write and delete goes through.

Evidence lives at ``evidence/<region>/<org>/<stream or track>/<seq>.bwc``; the names come from
the database, and some were chosen by a camera. ``under(root, *names)`` joins plain names only
(no separator, no ``.``/``..``, no NUL, nothing empty), resolves the result (symbolic links
included) and refuses it unless it is inside ``root``. It touches the file system (resolving),
so call it where the write or delete happens: in the worker thread, not on the event loop.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ClientError


class UnsafePath(ClientError):
    """A name that would put a file outside its place in the data directory."""

    status = 400
    code = "unsafe_path"


def _plain(name: str) -> bool:
    return (
        bool(name)
        and name not in (".", "..")
        and "\0" not in name
        and os.sep not in name
        and (os.altsep is None or os.altsep not in name)
    )


def under(root: Path, *names: str) -> Path:
    """``root / names…``, resolved and checked to stay strictly inside ``root``."""
    if not names:
        raise UnsafePath("no file name")
    for name in names:
        if not isinstance(name, str) or not _plain(name):
            raise UnsafePath(f"{name!r} is not a plain file name")
    base = root.resolve()
    target = base.joinpath(*names).resolve()
    if base not in target.parents:
        raise UnsafePath(f"{'/'.join(names)!r} leads outside {root}")
    return target
