"""Reading the lab network's configuration (SPEC L2, T3, T4; CONVENTIONS 12).

The lab network's configuration dataclasses (access points, cells, SIM cards, the radio models'
tunables, fault changes) are read by the project's one reader, ``bwlab.schema``: unknown keys are
rejected, each value is checked against the field's type and metadata (``min``/``max``,
``nonempty``, ``expected``), and the error is a ``bwlab.schema.SchemaError`` whose ``path`` names
the key (``access_points[2].channel``) and whose ``expected`` says what would have been accepted.
The checks a dataclass makes itself (``__post_init__``) raise ``FieldError`` with the field's
name, which the reader prefixes with the path. The scenario loader puts the file name in front.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from bwlab import schema

T = TypeVar("T", bound="FromMapping")

#: How a position on the site plan is written, for its errors.
POSITION = "a position [x, y] in metres"


class FromMapping:
    """Mixin of the lab network's configuration dataclasses: ``Cls.from_mapping(data, path)``
    reads one with ``bwlab.schema.from_mapping`` (``path`` goes in front of every error's key)."""

    @classmethod
    def from_mapping(cls: type[T], data: Any, path: str = "") -> T:
        return schema.from_mapping(cls, data, path)


def limits(default: Any, *, min: float | None = None, max: float | None = None, **metadata: Any) -> Any:
    """A dataclass field with ``default`` whose value ``from_mapping`` checks against the bounds
    (and any other ``bwlab.schema`` metadata)."""
    bounds = {k: v for k, v in (("min", min), ("max", max)) if v is not None}
    return dataclasses.field(default=default, metadata={**bounds, **metadata})


def site_position(default: tuple[float, float] = (0.0, 0.0)) -> Any:
    """A position field on the site plan: two numbers, ``[x, y]`` in metres."""
    return dataclasses.field(default=default, metadata={"expected": POSITION})


def keys(cls: type) -> tuple[str, ...]:
    """The keys a table for dataclass ``cls`` may hold."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)
