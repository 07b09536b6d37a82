"""The pytest plugin against the real stack: inner pytest sessions (pytester) that use its fixtures.

Each inner session runs in its own process, as a user's ``pytest`` would, with the plugin loaded through its
``pytest11`` entry point (or ``-p`` where the installed metadata predates it). The inner tests record the
schemas they were given; the outer test then checks in the metastore and the object store that the
schemas are gone with their data, or kept for a failed test with ``--lakehouse-keep-failed``.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk import Lakehouse
from lakehouse_sdk.stack.endpoints import ENDPOINT_KEYS
from lakehouse_sdk.testing import ScratchSchema, ScratchSchemas
from tests.integration.conftest import Stack, lakehouse_cli
from tests.plugin_support import plugin_args

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

INNER_TIMEOUT = 900

RECORDER = """
import json

RECORD = {record!r}


def record(test, schema):
    with open(RECORD, "a") as fh:
        fh.write(json.dumps({{"test": test, "name": schema.name, "bucket": schema.bucket, "prefix": schema.prefix}}))
        fh.write("\\n")
"""

EVERY_FIXTURE = """
def test_trino_and_pyiceberg(lakehouse, lakehouse_schema):
    record("trino", lakehouse_schema)
    orders = lakehouse_schema.table("orders")
    lakehouse.query(f"CREATE TABLE {orders} AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, name)")
    assert sorted(lakehouse.read_table(orders)["id"]) == [1, 2]


def test_spark(lakehouse, lakehouse_spark, lakehouse_schema):
    record("spark", lakehouse_schema)
    numbers = lakehouse_schema.table("numbers")
    lakehouse_spark.range(5).writeTo(numbers).create()
    assert int(lakehouse.query(f"SELECT count(*) AS n FROM {numbers}")["n"][0]) == 5
    lakehouse.query(f"CREATE TABLE {lakehouse_schema.table('from_trino')} AS SELECT 7 AS x")
    assert lakehouse_spark.table(lakehouse_schema.table("from_trino")).collect()[0]["x"] == 7


def test_fails_on_purpose(lakehouse, lakehouse_schema):
    record("failing", lakehouse_schema)
    lakehouse.query(f"CREATE TABLE {lakehouse_schema.table('partial')} AS SELECT 1 AS x")
    assert False, "this test fails on purpose"
"""

KEEP_FAILED = """
def test_passes(lakehouse, lakehouse_schema):
    record("passing", lakehouse_schema)
    lakehouse.query(f"CREATE TABLE {lakehouse_schema.table('t')} AS SELECT 1 AS x")


def test_fails_on_purpose(lakehouse, lakehouse_schema):
    record("failing", lakehouse_schema)
    lakehouse.query(f"CREATE TABLE {lakehouse_schema.table('t')} AS SELECT 2 AS x")
    assert False, "this test fails on purpose"


def test_drops_its_own_schema(lakehouse, lakehouse_schema):
    record("self-dropping", lakehouse_schema)
    lakehouse.query(f"CREATE TABLE {lakehouse_schema.table('t')} AS SELECT 3 AS x")
    lakehouse.query(f"DROP SCHEMA {lakehouse_schema.qualified} CASCADE")  # the fixture's drop must not mind
"""

SAME_TABLE = """
import pytest


@pytest.mark.parametrize("value", [1, 2])
def test_same_table_name(lakehouse, lakehouse_schema, value):
    record(f"value-{value}", lakehouse_schema)
    table = lakehouse_schema.table("results")
    lakehouse.query(f"CREATE TABLE {table} AS SELECT {value} AS value")
    lakehouse.query(f"INSERT INTO {table} VALUES ({value} * 10)")
    assert sorted(lakehouse.query(f"SELECT value FROM {table}")["value"]) == [value, value * 10]
"""

NEEDS_STACK = """
def test_needs_the_stack(lakehouse):
    raise AssertionError("must not run: the stack is down")
"""


@pytest.fixture
def scratch(stack: Stack) -> Iterator[ScratchSchemas]:
    schemas = ScratchSchemas(Lakehouse())
    yield schemas
    schemas.close()


def run_inner(pytester: pytest.Pytester, body: str, *args: str) -> tuple[pytest.RunResult, list[dict[str, str]]]:
    """Run ``body`` (with the ``record`` helper) as an inner pytest session; return it and its records."""
    record = pytester.path / "schemas.jsonl"
    pytester.makepyfile(test_inner=RECORDER.format(record=str(record)) + body)
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", *args, timeout=INNER_TIMEOUT)
    rows = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return result, rows


def schema_of(row: dict[str, str]) -> ScratchSchema:
    return ScratchSchema(row["name"], row["bucket"], row["prefix"])


def assert_gone(scratch: ScratchSchemas, rows: list[dict[str, str]]) -> None:
    for row in rows:
        schema = schema_of(row)
        assert not scratch.exists(schema), f"schema of {row['test']} is still in the metastore: {schema.name}"
        assert scratch.objects(schema) == [], f"objects of {row['test']} left under {schema.location}"


def test_every_fixture_on_the_real_stack_and_the_schemas_are_dropped(
    pytester: pytest.Pytester, scratch: ScratchSchemas
) -> None:
    result, rows = run_inner(pytester, EVERY_FIXTURE, "-v")
    result.assert_outcomes(passed=2, failed=1)
    assert sorted(row["test"] for row in rows) == ["failing", "spark", "trino"]
    assert len({row["name"] for row in rows}) == 3
    assert all(row["name"].startswith("pytest_") and "_main_" in row["name"] for row in rows)
    assert_gone(scratch, rows)  # the failing test's schema too: no --lakehouse-keep-failed
    assert "schemas kept for failed tests" not in result.stdout.str()


def test_keep_failed_keeps_the_failed_tests_schema_and_prints_its_name(
    pytester: pytest.Pytester, scratch: ScratchSchemas
) -> None:
    result, rows = run_inner(pytester, KEEP_FAILED, "--lakehouse-keep-failed")
    result.assert_outcomes(passed=2, failed=1)
    by_test = {row["test"]: schema_of(row) for row in rows}
    kept = by_test["failing"]
    try:
        assert_gone(scratch, [row for row in rows if row["test"] != "failing"])
        assert scratch.exists(kept)
        assert any(key.endswith(".metadata.json") for key in scratch.objects(kept)), "its table's data was deleted"
        output = result.stdout.str()
        assert "schemas kept for failed tests (--lakehouse-keep-failed)" in output
        assert f"{kept.qualified} at {kept.location}" in output
        assert by_test["passing"].name not in output
    finally:
        scratch.drop(kept)
    assert_gone(scratch, rows)


def test_two_tests_write_the_same_table_name_under_xdist(pytester: pytest.Pytester, scratch: ScratchSchemas) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is a dev dependency: scripts/setup.sh installs it")
    result, rows = run_inner(pytester, SAME_TABLE, "-n", "2")  # xdist loads through its entry point
    result.assert_outcomes(passed=2)
    names = [row["name"] for row in rows]
    assert len(names) == 2 and len(set(names)) == 2, names
    assert all("_gw" in name for name in names), f"not named per worker: {names}"
    assert_gone(scratch, rows)


def test_the_example_tests_of_the_etl_job_pass_and_leave_nothing(
    pytester: pytest.Pytester, scratch: ScratchSchemas
) -> None:
    """examples/tests/test_etl_job.py, run as its docstring says (`pytest examples/tests`)."""
    with scratch.lh.metastore() as hms:
        before = set(hms.databases())
    result = pytester.run(
        sys.executable,
        "-m",
        "pytest",
        *plugin_args(),
        "-p",
        "no:cacheprovider",
        str(ROOT / "examples" / "tests"),
        timeout=INNER_TIMEOUT,
    )
    assert result.ret == 0, result.stdout.str()[-6000:]
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2 and set(outcomes) <= {"passed", "warnings"}, outcomes
    # A warning that third-party code issues is not the example's (seen once: urllib3's SOCKS
    # DependencyWarning, which requests normally silences, when requests was first imported across a
    # phase boundary); one from the SDK or the example is.
    ours = [line for line in _warning_sources(result.stdout.lines) if "site-packages" not in line]
    assert ours == [], f"warnings from the SDK or the example: {ours}"
    with scratch.lh.metastore() as hms:
        left = sorted(set(hms.databases()) - before)
    assert left == [], f"schemas left by the example tests: {left}"
    raw = scratch.lh.s3().list_objects_v2(Bucket=scratch.lh.settings.s3.warehouse_bucket, Prefix="raw/pytest_")
    assert raw.get("Contents", []) == [], "raw files left by the example tests"


def _warning_sources(lines: list[str]) -> list[str]:
    """The ``path:line: Category: message`` lines of pytest's warnings summary."""
    sources: list[str] = []
    inside = False
    for line in lines:
        if "warnings summary" in line and line.startswith("="):
            inside = True
        elif inside and (line.startswith("-- Docs:") or line.startswith("=")):
            break
        elif inside and line.startswith("  ") and not line.startswith("    ") and "Warning" in line:
            sources.append(line.strip())
    return sources


def _closed_ports(count: int, start: int = 32600) -> list[int]:
    """Ports in the NodePort range where nothing listens (a connection is refused)."""
    ports: list[int] = []
    port = start
    while len(ports) < count:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                ports.append(port)
        port += 1
    return ports


@pytest.fixture
def stack_down(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Settings pointed at ports where nothing listens: the stack is 'down' for the inner session."""
    ports = dict(zip(ENDPOINT_KEYS, _closed_ports(len(ENDPOINT_KEYS)), strict=True))
    for key, port in ports.items():
        monkeypatch.setenv(f"LAKEHOUSE_NODEPORTS__{key.upper().replace('-', '_')}", str(port))
    return ports


def test_stack_down_fails_with_the_doctors_report(pytester: pytest.Pytester, stack_down: dict[str, int]) -> None:
    result, _ = run_inner(pytester, NEEDS_STACK)
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "the lakehouse stack is not reachable (" in output and "as `lakehouse doctor` reports" in output
    assert "UNHEALTHY" in output  # the doctor's table, with its hints
    assert f"localhost:{stack_down['minio']}" in output  # where it looked (doctor names it in the detail)
    assert "lakehouse up --local" in output and "--lakehouse-skip-if-down" in output
    assert "must not run" not in output


def test_stack_down_skips_with_skip_if_down(pytester: pytest.Pytester, stack_down: dict[str, int]) -> None:
    result, _ = run_inner(pytester, NEEDS_STACK, "--lakehouse-skip-if-down", "-rs")
    result.assert_outcomes(skipped=1)
    assert "the lakehouse stack is not reachable" in result.stdout.str()


def test_lakehouse_up_reuses_a_running_stack_and_stops_only_what_it_started(
    pytester: pytest.Pytester, stack: Stack
) -> None:
    """The stack is up: --lakehouse-up starts nothing and so stops nothing. With one service stopped:
    --lakehouse-up --lakehouse-keep starts it and leaves it running; --lakehouse-up starts it and stops only
    it at the end. The rest of the stack runs throughout."""
    body = "def test_up(lakehouse):\n    assert lakehouse.health().ok\n"
    result, _ = run_inner(pytester, body, "--lakehouse-up")
    result.assert_outcomes(passed=1)
    assert "this run started" not in result.stdout.str()
    assert _running() == set(_all_services())

    _stop("spark-worker")  # the quickest service to start again
    try:
        result, _ = run_inner(pytester, body, "--lakehouse-up", "--lakehouse-keep")
        result.assert_outcomes(passed=1)
        assert "lakehouse: --lakehouse-keep: left running the services this run started: spark-worker" in (
            result.stdout.str()
        )
        assert _running() == set(_all_services())

        _stop("spark-worker")
        result, _ = run_inner(pytester, body, "--lakehouse-up")
        result.assert_outcomes(passed=1)
        output = result.stdout.str()
        assert "lakehouse: stopped the services this run started:" in output
        stopped = output.split("stopped the services this run started:")[1].split("=")[0]
        assert [line.split()[0] for line in stopped.strip().splitlines()] == ["spark-worker"]
        assert _running() == set(_all_services()) - {"spark-worker"}
    finally:
        lakehouse_cli("up", "--local")


def _all_services() -> list[str]:
    from lakehouse_sdk.local.services import SERVICE_ORDER

    return list(SERVICE_ORDER)


def _running() -> set[str]:
    from lakehouse_sdk.local.runtime import LocalStack

    return {status.service for status in LocalStack().status() if status.running}


def _stop(name: str) -> Any:
    from lakehouse_sdk.local.runtime import LocalStack

    stack = LocalStack()
    return stack.handle(name).stop(stack.settings.local.stop_timeout)
