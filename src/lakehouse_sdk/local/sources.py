"""Where each component of the local stack came from: ``lakehouse components`` shows it as a table or JSON."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Component", "Source", "format_components", "postgres_version"]

# setting: a path given in settings; wheel: an installed Python package; system: found on this machine;
# cache: in the component cache from an earlier run; downloaded: fetched now; built: compiled now (go)
Source = Literal["setting", "wheel", "system", "cache", "downloaded", "built"]


@dataclass(frozen=True)
class Component:
    """One component: its name, version, source, path, and a detail (which setting, wheel or URL)."""

    name: str
    version: str | None
    source: Source
    path: Path
    detail: str = ""

    def to_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "detail": self.detail,
            "path": str(self.path),
        }


def format_components(components: list[Component]) -> str:
    """A table: component, version, source (with its detail), path."""
    rows = [("COMPONENT", "VERSION", "SOURCE", "PATH")]
    for c in components:
        source = f"{c.source} ({c.detail})" if c.detail else c.source
        rows.append((c.name, c.version or "?", source, str(c.path)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


def postgres_version(bin_dir: Path) -> str | None:
    """The PostgreSQL server's version (``postgres --version``), or ``None``."""
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return match.group(1) if match else None
