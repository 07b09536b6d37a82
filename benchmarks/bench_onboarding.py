"""Onboarding with nothing but Python, timed: from ``pip install`` in a fresh venv to the quickstart's result,
with an empty pip cache and an empty component cache, then ``lakehouse up --local`` with a warm cache.

Phases: ``pip install '<repo>[local,trino]'`` (pinned; pyspark may come as an sdist that pip builds),
``lakehouse components`` (Maven artifacts and Trino's Java 25 fetched), ``lakehouse up --local`` to all
healthy, ``python examples/quickstart.py``. Then, with the component cache warm: ``up`` on a purged state
(a fresh stack; this second ``up`` ever also makes Trino's class cache, once), ``up`` after ``down`` (a
restart) and ``up`` on a purged state again (every cache warm). Goals: 3 minutes to the quickstart's result,
30 s to a healthy stack with warm caches, on a fresh state and on a restart. Everything runs as
:mod:`tests.onboarding` sets it up: its own PATH without system JDKs, PostgreSQL, Go or Maven, its own ports
and directories, deleted at the end.

Run: python -m benchmarks.bench_onboarding [--work DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.onboarding import QUICKSTART_ROWS, Onboarding, printed_rows

from benchmarks._common import write

# "with a warm cache": the downloaded components and Trino's class cache, which the second `up` ever makes once
# (from the classes the first run recorded; reported apart as up_warm_cache_seconds); on a fresh state (initdb,
# the metastore's schema, the buckets) and on a restart of existing data
GOALS = {
    "pip_install_to_quickstart_seconds": 180.0,
    "up_warm_caches_fresh_state_seconds": 30.0,
    "up_restart_seconds": 30.0,
}


def _pip_sources(report: Path) -> dict[str, Any]:
    """Which installed distributions pip built from an sdist, and how many came as wheels."""
    data = json.loads(report.read_text())
    built = []
    for item in data.get("install", []):
        url = item.get("download_info", {}).get("url", "")
        if not url.endswith(".whl") and not url.startswith("file:"):
            built.append(f"{item['metadata']['name']} {item['metadata']['version']}")
    return {"installed": len(data.get("install", [])), "built_from_sdist": built}


def _healthy_after(up_output: str) -> float | None:
    """The stack's own 'all healthy in N s' (from its first start, without the CLI's start-up)."""
    match = re.search(r"all healthy in ([\d.]+)s", up_output)
    return float(match.group(1)) if match else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=None, help="working directory (default: a new one in /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the venv, the caches and the state")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lakehouse-bench-onboarding-", dir="/tmp"))
    onboarding = Onboarding(work, pip_cache=work / "pip-cache")  # empty: every wheel and sdist is downloaded
    result: dict[str, Any] = {}
    try:
        onboarding.prepare()
        start = time.monotonic()
        onboarding.install(report=work / "pip-report.json")
        fetched = onboarding.components()
        up = onboarding.lakehouse("up", "up", "--local")
        out = onboarding.quickstart()
        total = time.monotonic() - start
        if printed_rows(out, "a table written by Spark and queried by Trino") != QUICKSTART_ROWS:
            raise RuntimeError(f"the quickstart printed something else:\n{out}")
        first = dict(onboarding.seconds)

        onboarding.lakehouse("down (purge)", "down", "--purge", timeout=300)
        warm = onboarding.lakehouse("up, warm cache", "up", "--local")
        onboarding.lakehouse("down", "down", timeout=300)
        restart = onboarding.lakehouse("up, restart", "up", "--local")
        # the second up above also made Trino's class cache (once; recorded by the first run, at its down): a
        # fresh state again shows the warm-cache up without that one-time step
        onboarding.lakehouse("down (purge) again", "down", "--purge", timeout=300)
        fresh = onboarding.lakehouse("up, warm cache, class cache made", "up", "--local")
        result = {
            "goals": GOALS,
            "pip_install_to_quickstart_seconds": total,
            "phases_seconds": {phase: first[phase] for phase in ("pip install", "components", "up", "quickstart")},
            "venv_seconds": first["venv"],
            "first_up_all_healthy_seconds": _healthy_after(up),
            "up_warm_cache_seconds": onboarding.seconds["up, warm cache"],
            "up_warm_cache_all_healthy_seconds": _healthy_after(warm),
            "up_restart_seconds": onboarding.seconds["up, restart"],
            "up_restart_all_healthy_seconds": _healthy_after(restart),
            "up_warm_caches_fresh_state_seconds": onboarding.seconds["up, warm cache, class cache made"],
            "up_warm_caches_fresh_state_all_healthy_seconds": _healthy_after(fresh),
            "trino_class_cache_made_by": [
                name
                for name, out in (("first up", up), ("up, warm cache", warm))
                if "creating its JVM class cache" in out
            ],
            "up_tables": {
                "first": _table(up),
                "warm_cache": _table(warm),
                "restart": _table(restart),
                "fresh": _table(fresh),
            },
            "pip": _pip_sources(work / "pip-report.json"),
            "downloaded": [
                f"{row['name']} {row['version']} ({row['source']})" for row in fetched if row["source"] != "wheel"
            ],
            "sizes_mib": {
                "pip_cache": _mib(onboarding.pip_cache),
                "venv": _mib(onboarding.venv),
                "component_cache": _mib(onboarding.cache),
            },
        }
        result["goals_met"] = {name: result[name] <= goal for name, goal in GOALS.items()}
    finally:
        if (onboarding.venv / "bin" / "lakehouse").exists():
            onboarding.down()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    write("onboarding", result)


def _table(up_output: str) -> list[str]:
    """The per-service lines `up` printed (service, action, ready after, took)."""
    lines = up_output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("service ")), len(lines))
    return [line for line in lines[start:] if line.strip()]


def _mib(path: Path | None) -> float:
    if path is None or not path.exists():
        return 0.0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


if __name__ == "__main__":
    main()
