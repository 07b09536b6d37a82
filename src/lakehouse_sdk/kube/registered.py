"""Waiting until scaled workers have joined: Spark workers at the master, Trino workers at the coordinator.

A worker pod that is ready has started; it counts for the stack once the master or the coordinator lists it.
:class:`lakehouse_sdk.Lakehouse` asks through its own endpoints (NodePorts, port-forwards or in-cluster
names), so these checks see what its clients will see.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lakehouse_sdk.errors import ProvisionTimeoutError
from lakehouse_sdk.stack.probes import http_json

__all__ = ["TRINO_WORKERS_SQL", "active_trino_workers", "alive_spark_workers", "wait_for_workers"]

TRINO_WORKERS_SQL = "SELECT count(*) AS n FROM system.runtime.nodes WHERE NOT coordinator AND state = 'active'"


def alive_spark_workers(master_ui_url: str, timeout: float) -> int:
    """How many workers the Spark master lists as ``ALIVE`` (its web UI's ``/json/``)."""
    doc = http_json(f"{master_ui_url.rstrip('/')}/json/", timeout=timeout)
    return sum(1 for worker in doc.get("workers", []) if worker.get("state") == "ALIVE")


def active_trino_workers(query: Callable[[str], Any]) -> int:
    """How many workers (not the coordinator) ``system.runtime.nodes`` lists as active; ``query`` returns a
    pandas DataFrame (``Lakehouse.query``)."""
    return int(query(TRINO_WORKERS_SQL)["n"][0])


def wait_for_workers(
    count: Callable[[], int], where: str, replicas: int, timeout: float, *, hint: str, poll: float = 1.0
) -> int:
    """Wait until ``count()`` is exactly ``replicas``; return it.

    A worker that stopped stays listed for a while (Spark marks it dead after its heartbeat timeout, Trino
    after its failure detector gives up), so scaling down waits for that too.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            seen: int | None = count()
        except Exception:  # the master or coordinator is restarting, or a query failed: ask again
            seen = None
        if seen == replicas:
            return seen
        if time.monotonic() > deadline:
            raise ProvisionTimeoutError(
                f"{where} list{'' if seen is None else f' {seen}'} worker(s) instead of {replicas} after "
                f"{timeout:.0f}s{' (no answer)' if seen is None else ''}, although the worker pods are ready. "
                f"{hint}"
            )
        time.sleep(poll)
