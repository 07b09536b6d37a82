"""Stack start-up with components cached: time to all-healthy, each service's ready time, the critical path.

Two cases: a fresh state directory (initdb, bucket and schema creation) and a restart of existing data.
The critical path is the longest chain of dependent services, each weighted by its own start-up time;
`critical_path_over_wall` above 1 means overlapping start-ups beat the chain (Trino's JVM boots while the
metastore starts), 1 means parallel start reaches the chain exactly, below 1 means time lost to waiting.

Run: python -m benchmarks.bench_startup [--state-dir DIR]   (uses the default ports: stop other stacks)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import write
from lakehouse_sdk import LakehouseSettings, LocalStack


def _case(stack: LocalStack) -> dict[str, Any]:
    report = stack.up(progress=False)
    data = report.to_dict()
    data["critical_path_over_wall"] = data["critical_path_seconds"] / data["total_seconds"]
    data["sum_of_service_seconds"] = sum(s["seconds"] for s in data["services"])
    data["health_ok"] = stack.lakehouse().health().ok
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="lakehouse-bench-", dir="/tmp"))
    state.chmod(0o755)
    stack = LocalStack(LakehouseSettings(local={"state_dir": state}))
    stack.artifacts.ensure_all(progress=False)  # cached components: not part of the measurement
    try:
        stack.down(purge=True)
        fresh = _case(stack)
        stack.down()
        restart = _case(stack)
    finally:
        stack.down(purge=True)
    write("startup", {"fresh_state": fresh, "restart": restart})


if __name__ == "__main__":
    main()
