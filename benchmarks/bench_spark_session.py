"""A notebook's first Spark result: classic `lh.spark()` (a JVM driver in the notebook) against Spark Connect.

Each sample is a fresh Python process that times `import lakehouse_sdk` -> `Lakehouse().spark()` ->
`spark.range(1000).count()` returning, while this process samples the RSS of it and of every process it starts
(the classic driver's JVM is a child of the notebook) every 50 ms. Rounds interleave classic and Connect. The
Connect server releases its executors after 60 s idle: the first Connect sample may wait for an executor to
start, later ones find it warm (reported apart). Goal (issue 11): Connect at most 1/3 of classic's time and
1/4 of its memory (medians, process trees).

Run (with `lakehouse up --local` running): python -m benchmarks.bench_spark_session [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import summary, write

NOTEBOOK = """
import time
start = time.perf_counter()
import lakehouse_sdk
lh = lakehouse_sdk.Lakehouse(spark={{"connect": "{connect}"}})
spark = lh.spark()
count = spark.range(1000).count()
seconds = time.perf_counter() - start
assert count == 1000
import json, resource
print(json.dumps({{"seconds": seconds, "self_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "session": type(spark).__module__}}))
spark.stop()
"""


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def sample(connect: str) -> dict[str, Any]:
    """One fresh notebook process: its own timing, its peak RSS, and the peak RSS of its process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", NOTEBOOK.format(connect=connect)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    peak_tree = 0
    while proc.poll() is None:
        peak_tree = max(peak_tree, sum(_rss_kib(pid) for pid in _tree(proc.pid)))
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"the {connect=} notebook failed:\n{err.decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return {
        "seconds": result["seconds"],
        "process_seconds": wall,
        "self_peak_mib": result["self_peak_kib"] / 1024,
        "tree_peak_mib": peak_tree / 1024,
        "session": result["session"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"classic": [], "connect": []}
    for _ in range(args.runs):
        runs["connect"].append(sample("true"))
        runs["classic"].append(sample("false"))
    stats: dict[str, Any] = {}
    for name, samples in runs.items():
        warm = samples[1:] if name == "connect" and len(samples) > 1 else samples
        stats[name] = {key: summary([s[key] for s in warm]) for key in ("seconds", "self_peak_mib", "tree_peak_mib")}
        stats[name]["samples"] = samples
    stats["connect"]["note"] = "the first Connect sample (it may wait for an executor to start) is not in the medians"
    time_ratio = stats["connect"]["seconds"]["median"] / stats["classic"]["seconds"]["median"]
    memory_ratio = stats["connect"]["tree_peak_mib"]["median"] / stats["classic"]["tree_peak_mib"]["median"]
    write(
        "spark_session",
        {
            "cases": stats,
            "connect_to_classic_time": time_ratio,
            "connect_to_classic_memory": memory_ratio,
            "goal": {"max_time_ratio": 1 / 3, "max_memory_ratio": 1 / 4},
            "meets_goal": time_ratio <= 1 / 3 and memory_ratio <= 1 / 4,
        },
    )


if __name__ == "__main__":
    main()
