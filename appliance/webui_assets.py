"""Where the web client's files come from: webui/ in this package, and front-end libraries
from installed xstatic packages (never copied into the repo)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_PAGES = {"": "index.html", "live": "live.html", "manager": "manager.html", "lab": "lab.html", "map": "map.html"}


def _webui_root() -> Path:
    return Path(str(resources.files("webui")))


def vendor_roots() -> dict[str, Path]:
    """Front-end libraries by name, from xstatic packages that are installed."""
    roots: dict[str, Path] = {}
    try:
        import xstatic.pkg.leaflet as leaflet

        roots["leaflet"] = Path(leaflet.BASE_DIR)
    except ImportError:
        pass
    try:
        import xstatic.pkg.leaflet_markercluster as markercluster

        roots["leaflet-markercluster"] = Path(markercluster.BASE_DIR)
    except ImportError:
        pass
    return roots


def resolve(path: str) -> Path | None:
    """The file a web client path names, or None; never a file outside the allowed roots, and
    None for a path with a NUL or another control character (``%00``), which no file has."""
    if not path.isprintable():
        return None
    path = path.strip("/")
    head, _, rest = path.partition("/")
    if path in _PAGES or (head in _PAGES and not rest):
        root, rel = _webui_root(), _PAGES[head if head in _PAGES else path]
    elif head == "vendor":
        name, _, rel = rest.partition("/")
        vendor = vendor_roots().get(name)
        if vendor is None:
            return None
        root = vendor
    elif head in ("js", "css"):
        root, rel = _webui_root() / head, rest
    else:
        return None
    try:
        target = (root / rel).resolve()
        if not target.is_file() or root.resolve() not in target.parents:
            return None
    except OSError:  # a name longer than the file system allows, a loop of links
        return None
    return target
