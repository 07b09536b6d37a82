"""The per-test overhead of the pytest plugin's ``lakehouse_schema`` fixture: create + drop of a scratch schema.

An inner pytest session (one process, as a user runs it) with the plugin: a warm-up test takes the session
fixture ``lakehouse`` (its health check is not per test), then ``--tests`` tests each take a fresh
``lakehouse_schema`` and ``--tests`` tests take only ``lakehouse`` (the baseline: pytest's own setup and
teardown). A conftest records each test's setup and teardown durations from pytest's reports, so the numbers
are the fixture's as the user pays them. Two kinds of schema test: an empty schema, and one in which the test
wrote a table with Trino (the drop then deletes its data files too). The first schema test also opens the
session's metastore connection and S3 client (reported apart as ``first``).

Goal (issue 15): ``lakehouse_schema`` create + drop ≤ 0.5 s per test (median).

Run (with `lakehouse up --local` running): python -m benchmarks.bench_schema_fixture [--tests 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from benchmarks._common import summary, write

GOAL_SECONDS = 0.5
PLUGIN = "lakehouse_sdk.pytest_plugin"

CONFTEST = """
import json

RECORD = {record!r}


def pytest_runtest_logreport(report):
    if report.when in ("setup", "teardown"):
        with open(RECORD, "a") as fh:
            fh.write(json.dumps({{"test": report.nodeid.split("::")[-1], "when": report.when,
                                  "seconds": report.duration, "outcome": report.outcome}}) + "\\n")
"""

TESTS = """
import pytest

N = {tests}


def test_0_warm_up(lakehouse):
    pass


@pytest.mark.parametrize("i", range(N))
def test_1_empty_schema(lakehouse, lakehouse_schema, i):
    pass


@pytest.mark.parametrize("i", range(N))
def test_2_schema_with_a_table(lakehouse, lakehouse_schema, i):
    lakehouse.query(f"CREATE TABLE {{lakehouse_schema.table('t')}} AS SELECT {{i}} AS x")


@pytest.mark.parametrize("i", range(N))
def test_3_baseline(lakehouse, i):
    pass
"""


def _plugin_args() -> list[str]:
    registered = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return [] if registered else ["-p", PLUGIN]


def run(tests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-schema-fixture-") as tmp:
        root = Path(tmp)
        record = root / "durations.jsonl"
        (root / "conftest.py").write_text(CONFTEST.format(record=str(record)))
        (root / "test_overhead.py").write_text(TESTS.format(tests=tests))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *_plugin_args(), "-p", "no:cacheprovider", "-q", str(root)],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the inner session failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
        rows = [json.loads(line) for line in record.read_text().splitlines()]
    per_test: dict[str, float] = {}
    for row in rows:
        per_test[row["test"]] = per_test.get(row["test"], 0.0) + row["seconds"]

    def group(prefix: str) -> list[float]:
        return [seconds for test, seconds in per_test.items() if test.startswith(prefix)]

    empty, with_table, baseline = group("test_1_"), group("test_2_"), group("test_3_")
    baseline_median = summary(baseline)["median"]
    return {
        "tests_per_kind": tests,
        "warm_up_setup_seconds": per_test["test_0_warm_up"],
        "first_schema_seconds": empty[0],
        "empty_schema": summary(empty[1:]),
        "schema_with_a_table": summary(with_table),
        "baseline_without_schema": summary(baseline),
        "overhead_median_seconds": {
            "empty_schema": summary(empty[1:])["median"] - baseline_median,
            "schema_with_a_table": summary(with_table)["median"] - baseline_median,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=20, help="tests per kind")
    args = parser.parse_args()
    result = run(args.tests)
    worst = max(result["overhead_median_seconds"].values())
    write(
        "schema_fixture",
        {
            **result,
            "goal": f"lakehouse_schema create + drop <= {GOAL_SECONDS} s per test (median)",
            "goal_met": worst <= GOAL_SECONDS,
        },
    )


if __name__ == "__main__":
    main()
