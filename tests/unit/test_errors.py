"""One exception tree for the whole project (CONVENTIONS 11; issue 11): every exception class
bwlab, firmware_stub and the appliance define descends from ``bwlab.errors.BwlabError``, through
one of its families, with its message and code kept.

covers: none (structure: CONVENTIONS 11)
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from appliance.errors import NotFound
from bwlab.client import ApiError
from bwlab.errors import BwlabError, InputError, Refused, Unavailable, WireError
from bwlab.wire.chunk import ChunkError

PACKAGES = ("bwlab", "firmware_stub", "labnet", "appliance")


def _project_exceptions() -> list[type[BaseException]]:
    found = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            found += [
                obj
                for _, obj in inspect.getmembers(module, inspect.isclass)
                if issubclass(obj, BaseException) and obj.__module__ == info.name
            ]
    return found


def test_every_project_exception_is_in_the_tree() -> None:
    classes = _project_exceptions()
    assert len(classes) > 30  # the walk did find the project's errors
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes if not issubclass(cls, BwlabError))
    assert outside == []


@pytest.mark.parametrize(
    ("name", "family", "builtin"),
    [
        ("bwlab.scenario.ScenarioError", InputError, ValueError),
        ("bwlab.schema.SchemaError", InputError, ValueError),
        ("bwlab.wire.chunk.ChunkError", WireError, ValueError),
        ("bwlab.wire.envelope.EnvelopeError", WireError, Exception),
        ("bwlab.wire.fmp4.Mp4Error", WireError, ValueError),
        ("bwlab.viewer.ClockMismatch", Refused, Exception),
        ("bwlab.client.ApiError", Refused, Exception),
        ("bwlab.realnet.runner.NetError", Unavailable, RuntimeError),
        ("firmware_stub.recorder.StorageError", Unavailable, RuntimeError),
        ("appliance.errors.ClientError", BwlabError, Exception),
        ("appliance.cloud.soc_targets.RefusedTarget", Refused, OSError),
    ],
)
def test_families_keep_the_builtin_bases_handlers_catch(name: str, family: type, builtin: type) -> None:
    module, _, cls_name = name.rpartition(".")
    cls = getattr(importlib.import_module(module), cls_name)
    assert issubclass(cls, family) and issubclass(cls, builtin)


def test_messages_and_codes_are_kept() -> None:
    assert str(ChunkError("chunk too short", "short_chunk")) == "chunk too short"
    assert ChunkError("chunk too short", "short_chunk").code == "short_chunk"
    api = ApiError(404, "not_found", "no such stream", "GET", "/api/x")
    assert (str(api), api.message, api.code, api.status) == (
        "GET /api/x → 404 not_found: no such stream",
        "no such stream",
        "not_found",
        404,
    )
    missing = NotFound("no such camera")
    assert (missing.as_dict(), missing.status) == ({"error": {"code": "not_found", "message": "no such camera"}}, 404)
    assert BwlabError("x", code="special").code == "special" and BwlabError("x").code == "error"
