"""A new user's first hour, with nothing but Python: a fresh venv, ``pip install 'lakehouse-sdk[local,trino]'``,
``lakehouse up --local`` from an empty component cache, the quickstart, ``lakehouse down --purge``.

Every step runs with a ``PATH`` of the venv's ``bin`` and a directory of links to a few shell tools (the
Spark launch scripts need ``bash``, ``dirname``, ``ps``...): no ``java``, ``go``, ``mvn``, ``initdb``,
``postgres`` or ``psql`` can be found, and ``LAKEHOUSE_LOCAL__SYSTEM_COMPONENTS=false`` keeps the SDK from
looking in ``/usr/lib/jvm`` and ``/usr/lib/postgresql``. The stack gets its own ports, state directory and
component cache. Used by ``tests/integration/test_onboarding.py`` and ``benchmarks/bench_onboarding.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# the onboarding stack's ports: none of the reference NodePorts (the session stack holds those), none of the
# docs' example of a second stack (327xx, 32432...), none of a developer's usual 31xxx; the object store also
# opens its port + 10..24, the worker its UI port + 1
PORTS = {
    "MINIO": 32500,
    "MINIO_CONSOLE": 32501,
    "POSTGRES": 32532,
    "HIVE_METASTORE": 32583,
    "SPARK_MASTER": 32577,
    "SPARK_MASTER_UI": 32582,
    "SPARK_WORKER_UI": 32584,
    "SPARK_CONNECT": 32552,
    "TRINO": 32581,
}
# what the Spark launch scripts (bash, ps, dirname) and pip's builds call; nothing else of the machine's
TOOLS: tuple[str, ...] = ("bash", "sh", "env", "dirname", "basename", "ps", "head", "tail", "cat", "ls", "grep")
TOOLS += ("sed", "uname", "id", "hostname", "tr", "readlink", "mkdir", "rm", "cp", "mv", "chmod", "sleep")
HIDDEN = ("java", "javac", "go", "mvn", "initdb", "pg_ctl", "postgres", "psql", "pg_isready")
# the quickstart's table, as Trino prints it
QUICKSTART_ROWS = [["ES", "3", "4823000"], ["PT", "2", "777000"], ["FR", "1", "522000"]]


@dataclass
class Onboarding:
    """One onboarding in ``work`` (venv, cache, state, home); ``pip_cache`` empty means pip's usual cache."""

    work: Path
    pip_cache: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def venv(self) -> Path:
        return self.work / "venv"

    @property
    def cache(self) -> Path:
        return self.work / "component-cache"

    @property
    def state(self) -> Path:
        return self.work / "state"

    @property
    def home(self) -> Path:
        return self.work / "home"

    @property
    def tools(self) -> Path:
        return self.work / "tools"

    def prepare(self) -> None:
        for path in (self.work, self.home, self.tools, self.state):
            path.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o755)  # as root, PostgreSQL runs as its own user: it enters the state directory
        self.state.chmod(0o755)
        for tool in TOOLS:
            found = shutil.which(tool)
            if found is not None and not (self.tools / tool).exists():
                (self.tools / tool).symlink_to(found)
        self.check_hidden()

    def check_hidden(self) -> None:
        """No JDK, PostgreSQL, Go or Maven on the user's PATH (the venv's bin included)."""
        search = self.env()["PATH"]
        visible = {name: shutil.which(name, path=search) for name in HIDDEN}
        assert not any(visible.values()), f"the onboarding PATH must hide them: {visible}"

    def env(self) -> dict[str, str]:
        """A user's environment: no LAKEHOUSE_* of this process, no JAVA_HOME, no PYTHONPATH, the short PATH."""
        drop = ("LAKEHOUSE_", "JAVA_", "PG", "PYTHON", "VIRTUAL_ENV", "SPARK_", "PYSPARK_", "CONDA")
        env = {name: value for name, value in os.environ.items() if not name.startswith(drop)}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{self.tools}"
        env["XDG_CONFIG_HOME"] = str(self.home / "config")
        env["PYTHONUNBUFFERED"] = "1"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        if self.pip_cache is not None:
            env["PIP_CACHE_DIR"] = str(self.pip_cache)
        env["LAKEHOUSE_LOCAL__CACHE_DIR"] = str(self.cache)
        env["LAKEHOUSE_LOCAL__STATE_DIR"] = str(self.state)
        env["LAKEHOUSE_LOCAL__SYSTEM_COMPONENTS"] = "false"
        env.update({f"LAKEHOUSE_NODEPORTS__{key}": str(port) for key, port in PORTS.items()})
        return env

    def run(self, phase: str, argv: list[str], *, timeout: float, check: bool = True) -> str:
        """Run one step in the user's environment, timed as ``phase``; its output (stdout, then stderr)."""
        start = time.monotonic()
        proc = subprocess.run(
            argv, cwd=self.home, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        self.seconds[phase] = self.seconds.get(phase, 0.0) + time.monotonic() - start
        output = proc.stdout + ("\n--- stderr\n" + proc.stderr if proc.stderr else "")
        self.outputs[phase] = output
        if check and proc.returncode != 0:
            raise AssertionError(f"{phase}: {' '.join(argv[:6])} failed (exit {proc.returncode}):\n{output[-6000:]}")
        return proc.stdout

    def install(self, report: Path | None = None) -> None:
        """A fresh venv and ``pip install '<this repository>[local,trino]'`` (built as a wheel, pinned by
        scripts/constraints.txt); ``report``: where pip writes what it installed, from which files."""
        self.run("venv", [sys.executable, "-m", "venv", str(self.venv)], timeout=300)
        pip = [str(self.venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        if report is not None:
            pip += ["--report", str(report)]
        spec = f"{ROOT}[local,trino]"
        self.run("pip install", [*pip, "-c", str(ROOT / "scripts" / "constraints.txt"), spec], timeout=1800)
        self.check_hidden()

    def lakehouse(self, phase: str, *args: str, timeout: float = 1800, check: bool = True) -> str:
        return self.run(phase, [str(self.venv / "bin" / "lakehouse"), *args], timeout=timeout, check=check)

    def components(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.lakehouse("components", "components", "--json", "--quiet"))
        return rows

    def quickstart(self) -> str:
        python = str(self.venv / "bin" / "python")
        return self.run("quickstart", [python, str(ROOT / "examples" / "quickstart.py")], timeout=900)

    def down(self) -> str:
        return self.lakehouse("down", "down", "--purge", timeout=300, check=False)


def printed_table(stdout: str, title: str) -> list[list[str]]:
    """The rows of the DataFrame printed after the line starting with ``title`` (header first)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("total:"):
            break
        rows.append(line.split())
    return rows


def printed_rows(stdout: str, title: str) -> list[list[str]]:
    """The rows of the table printed after the line starting with ``title`` (without its header)."""
    return printed_table(stdout, title)[1:]
