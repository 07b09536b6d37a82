"""Stack start-up with components cached: time to all-healthy, each service's ready time, the critical path.

Two cases: a fresh state directory (initdb, bucket and schema creation) and a restart of existing data.
The critical path is the longest chain of dependent services, each weighted by its own start-up time;
`critical_path_over_wall` above 1 means overlapping start-ups beat the chain (Trino's JVM boots while the
metastore starts), 1 means parallel start reaches the chain exactly, below 1 means time lost to waiting.

Then `--restarts N` pairs of restarts, interleaved: the stack as shipped, and a baseline whose Spark daemons (master,
worker, Connect server) run with the JVM's default compiler and collector instead of the stack's
`SPARK_DAEMON_JAVA_OPTS` (the variable of that name, set for the baseline, comes after the stack's options and
wins). Reported: each case's medians and the ratio baseline / shipped.

Run: python -m benchmarks.bench_startup [--state-dir DIR] [--restarts 3]   (uses the default ports: stop other
stacks)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import write
from lakehouse_sdk import LakehouseSettings, LocalStack
from lakehouse_sdk.stack.spark_config import SPARK_DAEMON_JAVA_OPTS

# undoes SPARK_DAEMON_JAVA_OPTS: the JVM's defaults (tiered compilation up to C2, G1)
JVM_DEFAULTS = "-XX:TieredStopAtLevel=4 -XX:-UseSerialGC -XX:+UseG1GC"


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
    parser.add_argument("--restarts", type=int, default=3, help="interleaved pairs: shipped and JVM defaults")
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
        walls: dict[str, list[float]] = {"shipped": [], "spark_jvm_defaults": []}
        for _ in range(args.restarts):
            for case in walls:
                stack.down()
                if case == "spark_jvm_defaults":
                    os.environ["SPARK_DAEMON_JAVA_OPTS"] = JVM_DEFAULTS
                try:
                    data = _case(stack)
                finally:
                    os.environ.pop("SPARK_DAEMON_JAVA_OPTS", None)
                if not data["health_ok"]:
                    raise RuntimeError(f"{case}: the stack was not healthy after up")
                walls[case].append(data["total_seconds"])
    finally:
        stack.down(purge=True)
    medians = {case: statistics.median(values) for case, values in walls.items()}
    write(
        "startup",
        {
            "fresh_state": fresh,
            "restart": restart,
            "spark_daemon_java_opts": SPARK_DAEMON_JAVA_OPTS,
            "restarts": {case: {"seconds": values, "median": medians[case]} for case, values in walls.items()},
            "jvm_defaults_over_shipped": medians["spark_jvm_defaults"] / medians["shipped"],
        },
    )


if __name__ == "__main__":
    main()
