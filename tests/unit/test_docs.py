"""Every ```python block in README.md and docs/*.md runs.

Blocks that need no running stack run here, offline, each in a fresh namespace with the default settings
(the autouse fixture clears ``LAKEHOUSE_*``); a network connection from one of them fails the test. Blocks
that need the stack are marked in the markdown by a preceding ``<!-- needs-stack -->`` line and run in
tests/integration/test_docs_stack.py against the session stack. Anything that must not run is not written
as a python block (use ```text, ```bash or ```toml).

What a block prints is written under the code as ``#>`` comments, the way pydantic's docs do it::

    print(lh.endpoint("trino").url)
    #> http://localhost:30081

Both runners compare the block's standard output with its ``#>`` lines (:meth:`Block.check_output`), so a
page shows the reader what they will see and the test fails with a diff when the two differ. A block with
no ``#>`` line has its output left unchecked; an offline block that prints must show its output.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import os
import re
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDS_STACK = "<!-- needs-stack -->"
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
_OUTPUT = re.compile(r"^\s*#>(?: (?P<text>.*))?$")


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

    @property
    def expected_output(self) -> list[tuple[int, str]]:
        """The ``#>`` lines: (line in the markdown file, the text printed there); ``#>`` alone is a blank line."""
        found = []
        for offset, line in enumerate(self.code.splitlines()):
            match = _OUTPUT.match(line)
            if match:
                found.append((self.line + 1 + offset, (match.group("text") or "").rstrip()))
        return found

    def check_output(self, printed: str) -> None:
        """Fail with a diff naming the file and lines when ``printed`` is not what the ``#>`` lines say."""
        expected = self.expected_output
        if not expected:
            return
        want = [text for _, text in expected]
        got = [line.rstrip() for line in printed.splitlines()]
        while got and not got[-1]:
            got.pop()
        if got == want:
            return
        first, last = expected[0][0], expected[-1][0]
        where = f"{self.path.relative_to(ROOT)}:{first}" + (f"-{last}" if last != first else "")
        diff = "\n".join(
            difflib.unified_diff(want, got, fromfile=f"{where} (the #> lines)", tofile="printed", lineterm="")
        )
        raise AssertionError(f"{self.id}: the block printed something else than its #> lines say\n{diff}")


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
    printed = io.StringIO()
    # a reader's environment: no LAKEHOUSE_* variable (in one pytest run the integration tests set some)
    for name in [n for n in os.environ if n.startswith("LAKEHOUSE_")]:
        del os.environ[name]
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(block.code, block.id, "exec"), {"__name__": "__doc_block__"})
    finally:
        os.environ.clear()
        os.environ.update(saved)
    block.check_output(printed.getvalue())
    if printed.getvalue().strip() and not block.expected_output:
        raise AssertionError(f"{block.id} prints; write what it prints under the code as #> lines")


def test_examples_read_like_user_code() -> None:
    """No asserts, no linter pragmas, no private names: a reader copies the block as it is. (Asserts belong in
    the pytest tests an example shows, ``def test_...``: those are user code too.)"""
    found = []
    for block in python_blocks(needs_stack=False) + python_blocks(needs_stack=True):
        if "noqa" in block.code or "type: ignore" in block.code:
            found.append(f"{block.id}: a linter pragma")
        tree = ast.parse(block.code)
        in_tests = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert) and id(node) not in in_tests:
                found.append(f"{block.id}:+{node.lineno}: assert (print the value and write it as #> lines)")
            name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "module", None) or ""
            if any(part.startswith("_") and not part.startswith("__") for part in name.split(".")):
                found.append(f"{block.id}:+{getattr(node, 'lineno', 0)}: private name {name}")
    assert not found, found


def test_examples_are_formatted(tmp_path: Path) -> None:
    """``ruff format`` leaves every block as it is (markdown is excluded from the project's own ``ruff format``,
    which would turn ``#>`` into ``# >``)."""
    files = {}
    for n, block in enumerate(python_blocks(needs_stack=False) + python_blocks(needs_stack=True)):
        path = tmp_path / f"block_{n}.py"
        lines = [line.replace("#>", "# >", 1) if _OUTPUT.match(line) else line for line in block.code.splitlines()]
        path.write_text("\n".join(lines) + "\n")
        files[path.name] = block.id
    config = str(ROOT / "pyproject.toml")
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--no-cache", "--config", config, "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    unformatted = [block_id for name, block_id in files.items() if name in proc.stdout + proc.stderr]
    assert proc.returncode == 0, f"ruff format would change {unformatted}:\n{proc.stdout}{proc.stderr}"


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
    assert "pip install" in demo and "apt-get" not in demo  # nothing but Python: no system packages
    assert 'lakehouse" components' in demo
    assert "up --local" in demo
    assert "examples/quickstart.py" in demo
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_every_doc_page_is_in_the_index() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if p.name != "index.md" and f"({p.name})" not in index]
    assert not missing, f"docs/index.md does not link {missing}"


def _block(code: str) -> Block:
    return Block(ROOT / "docs" / "page.md", 10, "python", textwrap.dedent(code), "")


def test_output_lines_are_compared_with_what_the_block_prints() -> None:
    block = _block(
        """\
        print("a")
        #> a
        for n in range(2):
            print(n, "")
            #> 0
            #> 1
        print()
        #>
        print("x")
        #> x
        """
    )
    assert [line for line, _ in block.expected_output] == [12, 15, 16, 18, 20]
    block.check_output("a\n0 \n1 \n\nx\n\n")  # trailing spaces and blank lines at the end do not count
    with pytest.raises(AssertionError) as failure:
        block.check_output("a\n0\n2\n\nx\n")
    message = str(failure.value)
    assert "docs/page.md:12-20 (the #> lines)" in message
    assert "-1\n+2" in message


def test_a_block_without_output_lines_is_not_compared() -> None:
    _block('print("anything")\n').check_output("anything\n")


@pytest.mark.usefixtures("offline")
def test_offline_blocks_that_print_show_their_output() -> None:
    with pytest.raises(AssertionError, match="write what it prints"):
        test_offline_block_runs(_block('print("hi")\n'))
    with pytest.raises(AssertionError, match=r"docs/page\.md:12"):
        test_offline_block_runs(_block('print("hi")\n#> ho\n'))
