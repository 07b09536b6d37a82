"""The real stack for integration tests: `lakehouse up --local` once per session, `down --purge` after.

Nothing here skips: when a service cannot start, the fixture fails and so does every test that needs it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse_sdk import Lakehouse
from tests.conftest import STANDARD_VARS

STATE_ENV = "LAKEHOUSE_LOCAL__STATE_DIR"
KEEP = ("LAKEHOUSE_NODEPORTS__", "LAKEHOUSE_NODEPORT_RANGE", "LAKEHOUSE_LOCAL__STATE_DIR", "LAKEHOUSE_LOCAL__CACHE_DIR")


def stack_environment(home: Path) -> dict[str, str]:
    """The environment of a user with the default settings, pointed at the session stack."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not (name.startswith("LAKEHOUSE_") and not name.startswith(KEEP)) and name not in STANDARD_VARS
    }
    env["XDG_CONFIG_HOME"] = str(home / "config")  # no user config file
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_python(script: Path, *args: str, home: Path, label: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a Python script as a user would, against the session stack; fail with its output if it fails."""
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=home,
        env=stack_environment(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{label} failed (exit {proc.returncode}):\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-6000:]}"
    )
    return proc


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What each kill of test_faults.py did to its write (``record_property("fault", run)``: a FaultRun, read
    at the end, so that what the test found after recording it shows too, also when it failed)."""
    lines: dict[str, str] = {}
    for category in ("passed", "failed"):
        for report in terminalreporter.stats.get(category, []):
            for name, value in getattr(report, "user_properties", ()):
                if name == "fault":
                    text = value.report() if hasattr(value, "report") else value
                    lines[report.nodeid] = f"{report.nodeid.rpartition('::')[2]}: {text}"
    if lines:
        terminalreporter.section("faults: what a kill -9 did to each write")
        for line in lines.values():
            terminalreporter.write_line(line)


def lakehouse_cli(
    *args: str, check: bool = True, timeout: float = 1800, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `lakehouse` command of this environment (``env``: variables added to this process's)."""
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse_sdk.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"lakehouse {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Stack:
    state_dir: Path
    up_output: str

    def lakehouse(self, **overrides: object) -> Lakehouse:
        return Lakehouse(**overrides)  # type: ignore[arg-type]


def _child_of_this_process(entry: Path) -> bool:
    """This test process's own Spark driver JVM (pyspark's gateway, a child of pytest) names the state dir
    (its log configuration lives there) but is not a service of the stack."""
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return False
    return int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid()


def _our_processes(state_dir: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(state_dir) in cmdline and "pytest" not in cmdline and not _child_of_this_process(entry):
            found.append(f"{entry.name}: {cmdline[:160]}")
    return found


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    given = os.environ.get(STATE_ENV)
    state_dir = Path(given or tempfile.mkdtemp(prefix="lakehouse-it-", dir="/tmp"))
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o755)  # PostgreSQL runs as its own user when the tests run as root
    os.environ[STATE_ENV] = str(state_dir)
    start = time.monotonic()
    try:  # a failed `up` leaves what did start running: stop that too
        up = lakehouse_cli("up", "--local")
        print(f"\n[stack] up in {time.monotonic() - start:.1f}s\n{up.stdout}", file=sys.stderr)
        yield Stack(state_dir, up.stdout)
    finally:
        down = lakehouse_cli("down", "--purge", check=False)
        print(f"\n[stack] down:\n{down.stdout}{down.stderr}", file=sys.stderr)
        leftovers = []
        for _ in range(20):
            leftovers = _our_processes(state_dir)
            if not leftovers:
                break
            time.sleep(0.5)
        assert not leftovers, f"`lakehouse down` left processes behind: {leftovers}"
        if not given:
            with contextlib.suppress(OSError):
                state_dir.rmdir()  # ours, empty after `down --purge`


@pytest.fixture
def lh(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Lakehouse:
    monkeypatch.setenv(STATE_ENV, str(stack.state_dir))
    return Lakehouse()
