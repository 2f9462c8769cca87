"""What the generators in tests/vectors/ share: the repository on ``sys.path`` (they run as
scripts from anywhere, bwlab not installed) and their command line — write the generated file, or
with ``--check`` exit 1 if the committed one is not up to date (the unit tests run the check).

A generator imports this module first, then the project's modules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def write_or_check(path: Path, text: str, argv: list[str] | None, doc: str | None, script: str) -> int:
    """``main`` of a generator: ``path`` should hold ``text``; ``doc`` is the generator's
    docstring (its first line describes the command), ``script`` its ``__file__``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(
                f"{path} is not up to date; run python {Path(script).resolve().relative_to(REPO_ROOT)}", file=sys.stderr
            )
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
