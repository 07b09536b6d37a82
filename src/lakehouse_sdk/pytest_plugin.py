"""The pytest plugin: test your own jobs against the real stack (``pip install 'lakehouse-sdk[pytest]'``).

Registered through the ``pytest11`` entry point, so installing the extra is all it takes. It is inert
until a test asks for one of its fixtures: it adds options and a few cheap hooks, and imports no client
library and opens no connection at collection.

Fixtures:

- ``lakehouse`` (session): a :class:`~lakehouse_sdk.Lakehouse` for the stack the settings point at, checked
  like ``lakehouse doctor``. A stack that is not reachable fails the tests that use it with the doctor's
  report and hints; ``--lakehouse-skip-if-down`` skips them instead; ``--lakehouse-up`` runs
  ``lakehouse up --local`` first and at the end stops the services it started (``--lakehouse-keep`` leaves
  them running).
- ``lakehouse_schema`` (function): a fresh :class:`~lakehouse_sdk.testing.ScratchSchema` in the ``iceberg``
  catalog with its own object store prefix, dropped with its data after the test (kept, and its name
  printed, when the test failed and ``--lakehouse-keep-failed`` is given).
- ``lakehouse_spark`` (session): the session from ``lh.spark()``, stopped at the end.

Under pytest-xdist every worker uses the same stack (``--lakehouse-up`` starts it once, under a lock) and
its own schema names.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse_sdk.health import HealthReport
    from lakehouse_sdk.lakehouse import Lakehouse
    from lakehouse_sdk.testing import ScratchSchema, ScratchSchemas

__all__ = [
    "KEPT",
    "OPTIONS",
    "down_message",
    "lakehouse",
    "lakehouse_schema",
    "lakehouse_spark",
    "stop_services",
    "worker_id",
]

OPTIONS = {
    "--lakehouse-up": "run `lakehouse up --local` when the stack is not up; stop what it started at the end",
    "--lakehouse-keep": "with --lakehouse-up: leave the stack running at the end",
    "--lakehouse-skip-if-down": "skip the tests that need the stack when it is not reachable (default: fail)",
    "--lakehouse-keep-failed": "keep the lakehouse_schema of a failed test, and print its name",
}
KEPT = "lakehouse_kept_schema"
"""The user property (on the teardown report) that names a schema kept for a failed test."""

_RUN_DIR = pytest.StashKey[Path]()
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lakehouse", "lakehouse-sdk: the real stack in tests")
    for flag, help_text in OPTIONS.items():
        group.addoption(flag, action="store_true", default=False, help=help_text)


def _worker_input(config: pytest.Config) -> dict[str, Any] | None:
    return getattr(config, "workerinput", None)


def worker_id(config: pytest.Config) -> str:
    """``gw0``, ``gw1``... under pytest-xdist, ``main`` otherwise."""
    workerinput = _worker_input(config)
    return str(workerinput["workerid"]) if workerinput else "main"


def pytest_configure(config: pytest.Config) -> None:
    workerinput = _worker_input(config)
    if workerinput is None:
        # Where the controller and its workers record what --lakehouse-up started; created only if it does.
        path = Path(tempfile.gettempdir()) / f"lakehouse-pytest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    else:
        given = workerinput.get("lakehouse_run_dir")
        path = Path(given) if given else Path(tempfile.gettempdir()) / f"lakehouse-pytest-{workerinput['testrunuid']}"
    config.stash[_RUN_DIR] = path


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the controller: tell each worker where the run's records are."""
    node.workerinput["lakehouse_run_dir"] = str(node.config.stash[_RUN_DIR])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_kept_lines: list[str] = []  # the hook below gets no config to stash them on; emptied by the summary


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # in the controller under xdist too: the workers' reports carry their user properties
    for name, value in report.user_properties:
        if name == KEPT:
            _kept_lines.append(f"{value}  (kept for {report.nodeid})")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _kept_lines:
        terminalreporter.section("lakehouse: schemas kept for failed tests (--lakehouse-keep-failed)")
        for line in _kept_lines:
            terminalreporter.write_line(line)
        _kept_lines.clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    """In the controller (or a run without xdist): stop what --lakehouse-up started, unless --lakehouse-keep."""
    if _worker_input(config) is not None or _RUN_DIR not in config.stash:
        return
    run_dir = config.stash[_RUN_DIR]
    record = run_dir / "started.json"
    try:
        started = json.loads(record.read_text()) if record.exists() else []
        if not started:
            return
        if config.getoption("--lakehouse-keep"):
            message = f"lakehouse: --lakehouse-keep: left running the services this run started: {', '.join(started)}"
        else:
            message = "lakehouse: stopped the services this run started:\n" + stop_services(started)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def stop_services(names: list[str]) -> str:
    """Stop these services of the local stack (in reverse start order); the rest keep running."""
    from lakehouse_sdk.local.runtime import LocalStack
    from lakehouse_sdk.local.services import SERVICE_ORDER

    stack = LocalStack()
    lines = []
    for name in reversed(SERVICE_ORDER):
        if name in names:
            lines.append(f"  {name:<16} {stack.handle(name).stop(stack.settings.local.stop_timeout)}")
    return "\n".join(lines)


# -- the stack --------------------------------------------------------------------------------------------


def down_message(report: HealthReport, *, tried_up: bool) -> str:
    """What a test that needs the stack says when it is not reachable: the doctor's report and what to do."""
    todo = (
        "`lakehouse up --local` ran and the stack is still not healthy; `lakehouse status` and `lakehouse logs "
        "<service>` say why."
        if tried_up
        else "Start it with `lakehouse up --local` (or run pytest with --lakehouse-up), point the settings at a "
        "running stack (`lakehouse endpoints` shows where they point), or pass --lakehouse-skip-if-down to skip "
        "these tests instead."
    )
    failing = ", ".join(r.service for r in report.results + report.client_checks if not r.ok)
    return f"the lakehouse stack is not reachable ({failing} failed, as `lakehouse doctor` reports):\n{report}\n{todo}"


def _bring_up(lh: Lakehouse, run_dir: Path) -> HealthReport:
    """`lakehouse up --local`, once for all xdist workers (under a file lock), recording what it started.

    What it started is what runs afterwards and did not before, so that a failed ``up`` (which leaves what
    did start running) is stopped at the end as well.
    """
    import fcntl

    from lakehouse_sdk.local.runtime import LocalStack

    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "up.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be starting it: wait, then check again
        report = lh.health()
        if report.ok:
            return report
        stack = LocalStack(lh.settings)
        before = {status.service for status in stack.status() if status.running}
        try:
            stack.up(progress=False)
        finally:
            started = {status.service for status in stack.status() if status.running} - before
            record = run_dir / "started.json"
            previous = set(json.loads(record.read_text())) if record.exists() else set()
            record.write_text(json.dumps(sorted(previous | started)))
    return lh.health()


@pytest.fixture(scope="session")
def lakehouse(request: pytest.FixtureRequest) -> Iterator[Lakehouse]:
    """A :class:`~lakehouse_sdk.Lakehouse` on a stack that answers, checked once per session (per worker)."""
    from lakehouse_sdk.lakehouse import Lakehouse

    config = request.config
    lh = Lakehouse()
    report = lh.health()
    tried_up = False
    if not report.ok and config.getoption("--lakehouse-up"):
        report, tried_up = _bring_up(lh, config.stash[_RUN_DIR]), True
    if not report.ok:
        message = down_message(report, tried_up=tried_up)
        if config.getoption("--lakehouse-skip-if-down"):
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    try:
        yield lh
    finally:
        lh.close()


# -- schemas and Spark ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _lakehouse_schemas(request: pytest.FixtureRequest, lakehouse: Lakehouse) -> Iterator[ScratchSchemas]:
    from lakehouse_sdk.testing import ScratchSchemas

    schemas = ScratchSchemas(lakehouse, worker=worker_id(request.config))
    try:
        yield schemas
    finally:
        schemas.close()


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(report.failed for report in reports.values())


@pytest.fixture
def lakehouse_schema(request: pytest.FixtureRequest, _lakehouse_schemas: ScratchSchemas) -> Iterator[ScratchSchema]:
    """A fresh schema ``iceberg.<name>`` with its own prefix, dropped with its data after the test."""
    schema = _lakehouse_schemas.create(request.node.name)
    yield schema
    if request.config.getoption("--lakehouse-keep-failed") and _failed(request.node):
        request.node.user_properties.append((KEPT, f"{schema.qualified} at {schema.location}"))
        return
    _lakehouse_schemas.drop(schema)


@pytest.fixture(scope="session")
def lakehouse_spark(request: pytest.FixtureRequest, lakehouse: Lakehouse) -> Iterator[SparkSession]:
    """The session from ``lh.spark()`` (over Spark Connect where the settings choose it), stopped at the end."""
    spark = lakehouse.spark(app_name=f"pytest-{worker_id(request.config)}")
    try:
        yield spark
    finally:
        spark.stop()
