"""Trino's JVM starts from an ahead-of-time class cache (JDK 24+, JEP 483): classes loaded and linked once.

Trino is the slowest start of the local stack, and most of it is loading, verifying and linking the same
tens of thousands of classes every time. With a cache the JVM maps them from a file instead (measured on the
2-core machine of the onboarding benchmark: Trino alone to ``SERVER STARTED`` 13 s with the cache, 17.5 s
without, interleaved runs).

The cache is made in two steps, both by the JDK itself, so no start ever waits for more than one of them:

1. *record*: a start without a cache runs with ``-XX:AOTMode=record``; when Trino stops (``lakehouse down``)
   the JVM writes the classes it loaded (a configuration file, written in about a second);
2. *create*: the next start, finding a configuration and no cache, first runs the JDK's ``-XX:AOTMode=create``
   on it (once: a JVM of its own, some 10-20 s), then starts Trino with ``-XX:AOTCache``.

A cache is valid only for the JDK and the class path it was made with: both are part of its file name (a hash of
the JDK's ``release`` file and the jars' names, sizes and times), so another JDK or Trino version records a new
one. A cache the JVM cannot use is ignored by the JVM (``AOTMode=auto``), never an error. ``local.class_cache``
(``LAKEHOUSE_LOCAL__CLASS_CACHE=false``) turns all of it off.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

__all__ = ["ClassCache", "java_feature_version"]

QUIET = ["-Xlog:aot=error", "-Xlog:cds=error"]  # the JVM's notes on classes it skips, not for the service log


def java_feature_version(java_home: Path) -> int | None:
    """``25`` for a JDK whose ``release`` file says ``JAVA_VERSION="25.0.2"``; ``None`` when it does not say."""
    try:
        text = (java_home / "release").read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _non_empty(path: Path) -> bool:
    """A recorded configuration: the JVM creates the file when it starts and fills it when it stops."""
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


class ClassCache:
    """The class cache of one service's JVM (``name``) for a JDK and a class path (jars in ``lib``)."""

    def __init__(self, name: str, java_home: Path, lib: Path, directory: Path) -> None:
        self.name = name
        self.java_home = java_home
        digest = hashlib.sha256()
        try:
            digest.update((java_home / "release").read_bytes())
        except OSError:
            digest.update(str(java_home.resolve()).encode())
        for jar in sorted(lib.glob("*.jar")):
            stat = jar.stat()
            digest.update(f"{jar.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        base = directory / f"{name}-{digest.hexdigest()[:16]}"
        self.configuration = base.with_suffix(".aotconf")
        self.cache = base.with_suffix(".aot")

    @property
    def supported(self) -> bool:
        version = java_feature_version(self.java_home)
        return version is not None and version >= 25

    def prepare(self, java_argv: list[str], timeout: float, say: Callable[[str], None]) -> None:
        """Create the cache from a recorded configuration (``java_argv``: the JVM's command up to, not
        including, the main class). A failure leaves the service to start without a cache."""
        if not self.supported or self.cache.is_file() or not _non_empty(self.configuration):
            return
        partial = self.cache.with_suffix(".aot.partial")
        argv = [
            *java_argv,
            "-XX:AOTMode=create",
            f"-XX:AOTConfiguration={self.configuration}",
            f"-XX:AOTCache={partial}",
            *QUIET,
        ]
        say(f"[up] {self.name}: creating its JVM class cache from the classes its last run loaded (once)")
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(f"[up] {self.name}: no class cache ({exc}); it starts without one")
            partial.unlink(missing_ok=True)
            return
        if proc.returncode != 0 or not partial.is_file():
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            say(f"[up] {self.name}: no class cache ({last[0][:200]}); it starts without one")
            partial.unlink(missing_ok=True)
            self.configuration.unlink(missing_ok=True)  # recorded again at the next start
            return
        partial.replace(self.cache)
        self.configuration.unlink(missing_ok=True)  # as large as the cache, and of no use beside it

    def options(self) -> list[str]:
        """The JVM options of this start: use the cache, or record for one."""
        if not self.supported:
            return []
        self.configuration.parent.mkdir(parents=True, exist_ok=True)
        if self.cache.is_file():
            return ["-XX:AOTMode=auto", f"-XX:AOTCache={self.cache}", *QUIET]
        return ["-XX:AOTMode=record", f"-XX:AOTConfiguration={self.configuration}", *QUIET]
