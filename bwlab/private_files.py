"""The lab's data directory and its secret-bearing files: 0700 and 0600 from the moment they exist.

The data directory holds the lab token (``lab-token``, ``lab.json``), the lab CA's and the
server's private keys, the cloud's database (password hashes, session tokens, SOC signing
secrets) and the controllers' (device CA private keys, the end-to-end system private key, Wi-Fi
passwords, SIM PINs, system tokens). On a lab box shared by several people none of it may be
readable by another local user, so the modes are set when each file or directory is *created*
(``os.open``/``mkdir`` with the mode), never by a ``chmod`` after the secret was written.
SQLite gives a database's ``-wal`` and ``-shm`` files the mode of the database file, so a
database pre-created here as 0600 keeps its journal files 0600 too (docs/security.md, item 9).

A directory or file left by an older bwlab with wider modes is narrowed (and said so in the log)
before anything secret is written to it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with the directory itself 0700; narrow an existing
    one that other users can enter or read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            log.warning("%s was mode %o; narrowing it to %o (it holds the lab's secrets)", path, mode, DIR_MODE)
            os.chmod(path, DIR_MODE)
    return path


def _open_private(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:  # an older file: narrow it before writing a secret
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private(path: Path, *companions: str) -> Path:
    """Make sure ``path`` exists as a 0600 file (empty if new), e.g. before SQLite opens it; the
    ``companions`` (suffixes such as ``-wal``) are narrowed too if an older run left them wide."""
    os.close(_open_private(path, os.O_WRONLY))
    for suffix in companions:
        other = path.with_name(path.name + suffix)
        if other.exists() and stat.S_IMODE(other.stat().st_mode) & 0o077:
            os.chmod(other, FILE_MODE)
    return path


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path``, a 0600 file from its creation."""
    raw = data.encode() if isinstance(data, str) else data
    fd = _open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
