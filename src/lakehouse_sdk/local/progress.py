"""A one-line progress display for long component steps (downloads, builds).

On a terminal it redraws a bar with the elapsed time and, when it watches a directory, the megabytes that
have arrived there (a Maven download lands in the artifact's folder of the local repository). Elsewhere,
in CI logs for example, it prints one line when a step starts and one when it ends.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TextIO

__all__ = ["StepProgress", "directory_bytes"]

WIDTH = 24


def directory_bytes(path: Path) -> int:
    """Total size of the files below ``path`` (0 if it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


class StepProgress:
    """Show progress of one step; use it as a context manager around the step."""

    def __init__(
        self, label: str, *, watch: Path | None = None, stream: TextIO | None = None, interval: float = 0.5
    ) -> None:
        self.label = label
        self.watch = watch
        self.stream = stream or sys.stderr
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0
        self._base = 0

    @property
    def interactive(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def _arrived(self) -> int:
        return directory_bytes(self.watch) - self._base if self.watch is not None else 0

    def line(self, tick: int) -> str:
        """The bar as drawn at ``tick`` (an indeterminate bar: sizes are not known in advance)."""
        elapsed = time.monotonic() - self._start
        pos = tick % (2 * WIDTH - 2)
        pos = pos if pos < WIDTH else 2 * WIDTH - 2 - pos
        bar = "".join("=" if abs(i - pos) < 3 else " " for i in range(WIDTH))
        size = f" {self._arrived() / 2**20:7.1f} MB" if self.watch is not None else ""
        return f"[components] {self.label} [{bar}]{size} {elapsed:5.0f}s"

    def _run(self) -> None:
        for tick in itertools.count():
            if self._stop.wait(self.interval):
                return
            self.stream.write("\r" + self.line(tick))
            self.stream.flush()

    def __enter__(self) -> StepProgress:
        self._start = time.monotonic()
        self._base = directory_bytes(self.watch) if self.watch is not None else 0
        if self.interactive:
            self._thread = threading.Thread(target=self._run, name="lakehouse-progress", daemon=True)
            self._thread.start()
        else:
            self.stream.write(f"[components] {self.label} ...\n")
            self.stream.flush()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self.stream.write("\r\x1b[K")
        state = "failed" if exc_type is not None else "done"
        size = f", {self._arrived() / 2**20:.1f} MB" if self.watch is not None else ""
        self.stream.write(f"[components] {self.label}: {state} in {time.monotonic() - self._start:.1f}s{size}\n")
        self.stream.flush()
