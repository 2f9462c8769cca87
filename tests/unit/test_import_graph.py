"""The import graph of the project's own code keeps the arrows docs/architecture.md allows.

Reads every module under the packages with `ast` (no import is executed), so a forbidden arrow
fails here whatever the test run imported before. The rules are the page's "Arrows" section.
"""

# covers: issue 11 (structure)
from __future__ import annotations

import ast
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("appliance", "bwlab", "firmware_stub", "labnet", "webui")
PARTS = ("cloud", "controller", "hub", "lab")
# what one appliance part may use of another: its store (SQL owned by that part) and nothing else
PART_PUBLIC = ("store",)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted (an `from a import b` is a.b when a.b is a module)
    line: int
    top_level: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(source: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _own(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _imports() -> list[Import]:
    found: list[Import] = []
    for source, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top = {id(node) for node in tree.body}
        # imports under `if TYPE_CHECKING:` at module level count as top level
        for node in tree.body:
            if isinstance(node, ast.If):
                top.update(id(n) for n in ast.walk(node))
            if isinstance(node, ast.Try):
                top.update(id(n) for n in node.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(source, path, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
            else:
                continue
            for target in targets:
                if _own(target):
                    found.append(Import(source, target, node.lineno, id(node) in top))
    return found


IMPORTS = _imports()


def _where(imp: Import) -> str:
    return f"{MODULES[imp.source].relative_to(ROOT)}:{imp.line} imports {imp.target}"


def _part(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "appliance" and parts[1] in PARTS:
        return parts[1]
    return None


def test_the_graph_was_read() -> None:
    # the rules below would pass on an empty graph: make sure the reader found the code
    assert len(MODULES) > 100
    assert any(i.source.startswith("firmware_stub") and i.target.startswith("labnet") for i in IMPORTS)
    assert any(_part(i.source) == "lab" for i in IMPORTS)


PAGE = ROOT / "docs" / "architecture.md"


def _allowed_arrows() -> dict[str, tuple[str, ...]]:
    """The page's "Allowed imports" table: a row per package, `| `package` | `target`, `target` |`."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("## Allowed imports", 1)[1].split("\n## ", 1)[0]
    arrows: dict[str, tuple[str, ...]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            arrows[cells[0].strip("`")] = tuple(t.strip().strip("`") for t in cells[1].split(",") if t.strip())
    return arrows


def _allowed(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def test_the_page_lists_every_package() -> None:
    assert sorted(_allowed_arrows()) == sorted(PACKAGES)


def test_no_arrow_the_page_forbids() -> None:
    arrows = _allowed_arrows()
    bad = [_where(i) for i in IMPORTS if not _allowed(i.target, arrows[i.source.split(".")[0]])]
    assert not bad, "\n".join(bad)


def test_the_fleet_side_never_imports_the_appliance() -> None:
    # bwlab (client, CLI, wire), labnet (the lab network) and firmware_stub (cameras) install without it
    bad = [
        _where(i)
        for i in IMPORTS
        if i.source.split(".")[0] in ("bwlab", "labnet", "firmware_stub") and i.target.startswith("appliance")
    ]
    assert not bad, "\n".join(bad)


def test_a_part_reaches_another_only_through_its_store() -> None:
    bad = []
    for imp in IMPORTS:
        source, target = _part(imp.source), _part(imp.target)
        if source and target and source != target:
            rest = imp.target.split(".")[2:]
            if not rest or rest[0] not in PART_PUBLIC:
                bad.append(_where(imp))
    assert not bad, "\n".join(bad)


def test_no_function_level_import_of_the_project() -> None:
    bad = [_where(i) for i in IMPORTS if not i.top_level]
    assert not bad, "\n".join(bad)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        target = imp.target
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target != imp.source:
            graph[imp.source].add(target)
    return graph


def test_no_import_cycle() -> None:
    try:
        TopologicalSorter(_graph()).prepare()
    except CycleError as cycle:
        pytest.fail("import cycle: " + " -> ".join(cycle.args[1]))
