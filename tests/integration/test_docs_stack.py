"""The ```python blocks marked ``<!-- needs-stack -->`` in README.md and docs/*.md, run on the session stack.

Each block runs in its own interpreter (a fresh namespace, and a Spark session that ends with it), in an
empty working directory, with the default settings: only the variables that point at the session stack
(``LAKEHOUSE_NODEPORTS__*``, the state and cache directories) are passed on. What the block prints must be
what its ``#>`` lines say (``Block.check_output``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import run_python
from tests.unit.test_docs import Block, block_params


@pytest.mark.parametrize("block", block_params(needs_stack=True))
def test_stack_block_runs(block: Block, stack: object, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.code)
    proc = run_python(script, home=tmp_path, label=f"{block.id}\n{block.code}", timeout=600)
    block.check_output(proc.stdout)
