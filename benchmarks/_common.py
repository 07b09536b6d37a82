"""Shared helpers for the benchmarks: machine facts and writing results as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def summary(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def write(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))
    return path


def run_child(module: str, step: str, rows: int, expected_rows: int) -> dict[str, Any]:
    """Run ``python -m <module> --child <step> --rows <rows>`` (one measured step in a fresh process) and
    return the JSON it printed last; it must report ``expected_rows`` rows."""
    proc = subprocess.run(
        [sys.executable, "-m", module, "--child", step, "--rows", str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{step} failed: {proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rows"] != expected_rows:
        raise RuntimeError(f"{step} returned {result['rows']} rows, expected {expected_rows}")
    return result
