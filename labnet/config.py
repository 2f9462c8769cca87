"""Reading the lab network's configuration: the error and the reader every ``from_mapping`` of
``labnet`` uses (SPEC L2, T3, T4; CONVENTIONS 12).

``ConfigError`` is a ``ValueError`` whose ``path`` names the key (``access_points[2].channel``)
and whose ``expected`` says what would have been accepted; the scenario loader reports it with
the file name in front.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

from bwlab.schema import SchemaError



class ConfigError(SchemaError):
    """Bad lab-network configuration: ``path`` says where, ``expected`` what would fit. The same
    error, with the same wording, as every other schema error of a scenario (bwlab.schema)."""

    def __init__(self, path: str, expected: str, got: Any = ...):
        super().__init__(path, expected, dataclasses.MISSING if got is ... else got)
        self.got = got


class MappingReader:
    """Reads typed values out of one table of a scenario or request body.

    ``MappingReader(d, "access_points[2]", allowed={...})`` rejects unknown keys at once; each
    ``text()``/``integer()``/... call names ``access_points[2].<key>`` in its error. Used by the
    ``from_mapping`` class methods of ``radio.py`` and ``mobile.py``.
    """

    _MISSING = object()

    def __init__(self, data: Any, path: str, allowed: Iterable[str]):
        if not isinstance(data, Mapping):
            raise ConfigError(path, "a table", data)
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                raise ConfigError(
                    self._join(path, str(key)), f"a known key (unknown key; expected one of {', '.join(allowed)})"
                )
        self.data = data
        self.path = path

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def at(self, key: str) -> str:
        return self._join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: Any, what: str) -> Any:
        if key in self.data:
            return self.data[key]
        if default is self._MISSING:
            raise ConfigError(self.at(key), f"{what} (required key is missing)")
        return default

    def text(self, key: str, default: Any = _MISSING, *, choices: Iterable[str] | None = None, nonempty: bool = False):
        choices = tuple(choices) if choices is not None else None
        what = "one of " + ", ".join(repr(c) for c in choices) if choices is not None else "a string"
        value = self._get(key, default, what)
        if value is default and key not in self.data:
            return value
        if not isinstance(value, str):
            raise ConfigError(self.at(key), what, value)
        if choices is not None and value not in choices:
            raise ConfigError(self.at(key), what, value)
        if nonempty and not value.strip():
            raise ConfigError(self.at(key), "a non-empty string", value)
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(self.at(key), "a string", value)
        return value

    def integer(self, key: str, default: Any = _MISSING, *, min: int | None = None, max: int | None = None):
        value = self._get(key, default, "an integer")
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.at(key), "an integer", value)
        self._range(key, value, min, max)
        return value

    def number(self, key: str, default: Any = _MISSING, *, min: float | None = None, max: float | None = None):
        value = self._get(key, default, "a number")
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(self.at(key), "a number", value)
        self._range(key, value, min, max)
        return float(value)

    def optional_number(self, key: str, *, min: float | None = None) -> float | None:
        if self.data.get(key) is None:
            return None
        return self.number(key, min=min)

    def flag(self, key: str, default: Any = _MISSING):
        value = self._get(key, default, "a boolean")
        if value is default and key not in self.data:
            return value
        if not isinstance(value, bool):
            raise ConfigError(self.at(key), "a boolean", value)
        return value

    def position(self, key: str, default: Any = _MISSING) -> tuple[float, float]:
        what = "a position [x, y] in metres"
        value = self._get(key, default, what)
        if value is default and key not in self.data:
            return value
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
        ):
            raise ConfigError(self.at(key), what, value)
        return (float(value[0]), float(value[1]))

    def items(self, key: str, default: Any = _MISSING) -> list[Any]:
        value = self._get(key, default, "a list")
        if value is default and key not in self.data:
            return value
        if not isinstance(value, (list, tuple)):
            raise ConfigError(self.at(key), "a list", value)
        return list(value)

    def _range(self, key: str, value: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and value < lo:
            raise ConfigError(self.at(key), f"a value ≥ {lo}", value)
        if hi is not None and value > hi:
            raise ConfigError(self.at(key), f"a value ≤ {hi}", value)


def build(cls: type, path: str, kwargs: dict[str, Any]) -> Any:
    """Construct ``cls(**kwargs)``; a ConfigError from its own checks (which name the field only)
    gets ``path`` in front, so it reads ``access_points[2].channel``."""
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{path}.{exc.path}" if path else exc.path, exc.expected, exc.got) from None
