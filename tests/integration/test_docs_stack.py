"""The ```python blocks marked ``<!-- needs-stack -->`` in README.md and docs/*.md, run on the session stack.

Each block runs in its own interpreter (a fresh namespace, and a Spark session that ends with it), in an
empty working directory, with the default settings: only the variables that point at the session stack
(``LAKEHOUSE_NODEPORTS__*``, the state and cache directories) are passed on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import STANDARD_VARS
from tests.unit.test_docs import Block, block_params

KEEP = ("LAKEHOUSE_NODEPORTS__", "LAKEHOUSE_LOCAL__STATE_DIR", "LAKEHOUSE_LOCAL__CACHE_DIR")


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


@pytest.mark.parametrize("block", block_params(needs_stack=True))
def test_stack_block_runs(block: Block, stack: object, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.code)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=stack_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{block.id} failed (exit {proc.returncode}):\n{block.code}\n--- stdout\n{proc.stdout[-3000:]}"
        f"\n--- stderr\n{proc.stderr[-5000:]}"
    )
