"""Every ```python block in README.md and docs/*.md runs.

Blocks that need no running stack run here, offline, each in a fresh namespace with the default settings
(the autouse fixture clears ``LAKEHOUSE_*``); a network connection from one of them fails the test. Blocks
that need the stack are marked in the markdown by a preceding ``<!-- needs-stack -->`` line and run in
tests/integration/test_docs_stack.py against the session stack. Anything that must not run is not written
as a python block (use ```text, ```bash or ```toml).
"""

from __future__ import annotations

import os
import re
import socket
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDS_STACK = "<!-- needs-stack -->"
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str  # the previous non-blank line

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def needs_stack(self) -> bool:
        return self.marker == NEEDS_STACK


def doc_files() -> list[Path]:
    """README.md and every page in docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def extract_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order (indented fences in lists included, dedented)."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent = match.group("indent")
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            raise AssertionError(f"{path}:{i + 1}: code fence is never closed")
        previous = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        code = textwrap.dedent("\n".join(line.removeprefix(indent) for line in lines[i + 1 : end])) + "\n"
        blocks.append(Block(path, i + 1, match.group("lang"), code, previous))
        i = end + 1
    return blocks


def python_blocks(*, needs_stack: bool) -> list[Block]:
    """The ```python blocks of every page, with or without the needs-stack marker."""
    return [
        block
        for path in doc_files()
        for block in extract_blocks(path)
        if block.lang == "python" and block.needs_stack == needs_stack
    ]


def block_params(*, needs_stack: bool) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in python_blocks(needs_stack=needs_stack)]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any TCP/UDP connection fails with a message that says how to mark the block."""

    def refuse(self: socket.socket, address: Any, *args: Any) -> None:
        raise AssertionError(
            f"this block connected to {address}: it needs the stack; put {NEEDS_STACK} on the line before it"
        )

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.mark.parametrize("block", block_params(needs_stack=False))
@pytest.mark.usefixtures("offline")
def test_offline_block_runs(block: Block) -> None:
    saved = dict(os.environ)
    try:
        exec(compile(block.code, block.id, "exec"), {"__name__": "__doc_block__"})
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_docs_have_python_blocks_of_both_kinds() -> None:
    assert len(python_blocks(needs_stack=False)) >= 10
    assert len(python_blocks(needs_stack=True)) >= 10
    readme = [b for b in extract_blocks(ROOT / "README.md") if b.lang == "python"]
    assert readme, "the README's quickstart is a python block"
    assert all(b.needs_stack for b in readme)


def test_needs_stack_marks_only_python_blocks() -> None:
    for path in doc_files():
        markers = sum(1 for line in path.read_text().splitlines() if line.strip() == NEEDS_STACK)
        marked = [b for b in extract_blocks(path) if b.needs_stack]
        assert markers == len(marked), f"{path}: a {NEEDS_STACK} line is not right before a code block"
        wrong = [b.id for b in marked if b.lang != "python"]
        assert not wrong, f"{NEEDS_STACK} only marks ```python blocks: {wrong}"


def test_code_blocks_name_their_language() -> None:
    bare = [b.id for path in doc_files() for b in extract_blocks(path) if not b.lang]
    assert not bare, f"say ```python, ```text, ```bash or ```toml: {bare}"


def test_relative_links_resolve() -> None:
    link = re.compile(r"\]\((?!https?://|mailto:|#)([^)#\s]+)(?:#[^)]*)?\)")
    broken = []
    for path in doc_files():
        for target in link.findall(path.read_text()):
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/demo.sh" in readme
    assert "scripts/test.sh" in readme
    assert (ROOT / "scripts" / "demo.sh").stat().st_mode & 0o111, "scripts/demo.sh is executable"
    demo = (ROOT / "scripts" / "demo.sh").read_text()
    assert "scripts/setup.sh" in demo
    assert "up --local" in demo
    assert "examples/quickstart.py" in demo
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_every_doc_page_is_in_the_index() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if p.name != "index.md" and f"({p.name})" not in index]
    assert not missing, f"docs/index.md does not link {missing}"
