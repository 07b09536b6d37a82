"""Trino's class cache, offline: which JVM options a start gets, and the create step's outcomes (with a stand-in
for ``java`` that does what the JDK's create mode does to files; the real JDK runs in the integration test)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakehouse_sdk.local._jvm_cache import ClassCache, java_feature_version


def _jdk(tmp_path: Path, version: str) -> Path:
    home = tmp_path / f"jdk-{version}"
    home.mkdir(exist_ok=True)
    (home / "release").write_text(f'IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="{version}"\n')
    return home


def _lib(tmp_path: Path, *jars: str) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    for jar in jars:
        (lib / jar).write_bytes(b"PK" + jar.encode())
    return lib


def _fake_java(tmp_path: Path, exit_code: int, writes: bool) -> list[str]:
    """A `java` that, like -XX:AOTMode=create, writes the file named by -XX:AOTCache= (or fails)."""
    script = tmp_path / "java"
    body = 'for a in "$@"; do case "$a" in -XX:AOTCache=*) out="${a#-XX:AOTCache=}";; esac; done\n'
    if writes:
        body += 'printf cache > "$out"\n'
    body += f'echo "Error: something the JDK said" >&2\nexit {exit_code}\n'
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return [str(script), "-cp", "lib/*"]


def test_the_jdks_feature_version_comes_from_its_release_file(tmp_path: Path) -> None:
    assert java_feature_version(_jdk(tmp_path, "25.0.2")) == 25
    assert java_feature_version(_jdk(tmp_path, "21.0.8")) == 21
    assert java_feature_version(tmp_path / "nowhere") is None


def test_a_jdk_before_25_gets_no_options_and_nothing_is_created(tmp_path: Path) -> None:
    cache = ClassCache("trino", _jdk(tmp_path, "21.0.8"), _lib(tmp_path, "a.jar"), tmp_path / "jvm")
    assert not cache.supported and cache.options() == []
    cache.configuration.parent.mkdir(parents=True)
    cache.configuration.write_bytes(b"recorded")
    lines: list[str] = []
    cache.prepare(_fake_java(tmp_path, 0, writes=True), timeout=10, say=lines.append)
    assert not cache.cache.exists() and lines == []


def test_the_first_start_records_and_the_next_one_creates_then_uses(tmp_path: Path) -> None:
    cache = ClassCache("trino", _jdk(tmp_path, "25.0.2"), _lib(tmp_path, "a.jar"), tmp_path / "jvm")
    assert cache.options()[:2] == ["-XX:AOTMode=record", f"-XX:AOTConfiguration={cache.configuration}"]
    lines: list[str] = []
    cache.configuration.write_bytes(b"")  # the JVM creates it empty when it starts, fills it as it exits
    cache.prepare(_fake_java(tmp_path, 0, writes=True), timeout=10, say=lines.append)
    assert not cache.cache.exists() and lines == []  # an empty (unfinished) recording is not used

    cache.configuration.write_bytes(b"recorded")
    cache.prepare(_fake_java(tmp_path, 0, writes=True), timeout=10, say=lines.append)
    assert cache.cache.read_bytes() == b"cache" and not cache.configuration.exists()
    assert lines == ["[up] trino: creating its JVM class cache from the classes its last run loaded (once)"]
    assert cache.options()[:2] == ["-XX:AOTMode=auto", f"-XX:AOTCache={cache.cache}"]


@pytest.mark.parametrize(("exit_code", "writes"), [(1, False), (0, False), (1, True)])
def test_a_failed_create_starts_without_a_cache_and_records_again(tmp_path: Path, exit_code: int, writes: bool) -> None:
    cache = ClassCache("trino", _jdk(tmp_path, "25.0.2"), _lib(tmp_path, "a.jar"), tmp_path / "jvm")
    cache.configuration.parent.mkdir(parents=True)
    cache.configuration.write_bytes(b"recorded")
    lines: list[str] = []
    cache.prepare(_fake_java(tmp_path, exit_code, writes), timeout=10, say=lines.append)
    assert not cache.cache.exists() and not list(cache.cache.parent.glob("*.partial"))
    assert not cache.configuration.exists()  # recorded afresh by the next start
    assert lines[-1].startswith("[up] trino: no class cache (") and lines[-1].endswith("it starts without one")
    assert cache.options()[0] == "-XX:AOTMode=record"


def test_another_jdk_or_another_jar_means_another_cache(tmp_path: Path) -> None:
    lib = _lib(tmp_path, "a.jar")
    first = ClassCache("trino", _jdk(tmp_path, "25.0.2"), lib, tmp_path / "jvm")
    assert ClassCache("trino", _jdk(tmp_path, "25.0.3"), lib, tmp_path / "jvm").cache != first.cache
    jar = lib / "a.jar"
    os.utime(jar, ns=(jar.stat().st_atime_ns, jar.stat().st_mtime_ns + 10**9))
    assert ClassCache("trino", _jdk(tmp_path, "25.0.2"), lib, tmp_path / "jvm").cache != first.cache
    _lib(tmp_path, "b.jar")
    assert ClassCache("trino", _jdk(tmp_path, "25.0.2"), lib, tmp_path / "jvm").cache != first.cache
