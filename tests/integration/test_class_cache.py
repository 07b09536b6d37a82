"""Trino's ahead-of-time class cache on the session stack: a graceful stop records it, the next start creates
it once and starts from it, and Trino answers as before (see :mod:`lakehouse_sdk.local._jvm_cache`)."""

from __future__ import annotations

from pathlib import Path

from lakehouse_sdk import Lakehouse, LakehouseSettings, LocalStack
from lakehouse_sdk.local._jvm_cache import ClassCache
from lakehouse_sdk.local.artifacts import Artifacts

from .conftest import Stack
from .fault_support import restore


def _trino_argv() -> list[str]:
    info = LocalStack().handle("trino").info()
    assert info is not None, "trino is not running"
    return Path(f"/proc/{info.pid}/cmdline").read_bytes().decode().split("\0")


def _stop_trino() -> None:
    settings = LakehouseSettings()
    result = LocalStack().handle("trino").stop(settings.local.stop_timeout * 3)
    assert "killed" not in result, result  # a graceful stop: the JVM writes what it recorded as it exits


def test_trino_records_its_class_cache_then_starts_from_it(stack: Stack) -> None:
    settings = LakehouseSettings()
    artifacts = Artifacts(settings)
    home, java_home = artifacts.trino_home(), artifacts.trino_java_home()
    cache = ClassCache("trino", java_home, home / "lib", artifacts.cache / "jvm")
    assert cache.supported, f"Trino's JDK {java_home} should be 25 or newer"

    # from nothing: the next start records
    _stop_trino()
    cache.cache.unlink(missing_ok=True)
    cache.configuration.unlink(missing_ok=True)
    restore()
    argv = _trino_argv()
    assert "-XX:AOTMode=record" in argv and f"-XX:AOTConfiguration={cache.configuration}" in argv
    assert Lakehouse().query("SELECT count(*) AS n FROM iceberg.information_schema.schemata")["n"][0] > 0

    _stop_trino()
    assert cache.configuration.stat().st_size > 1_000_000, "the stopped JVM wrote no class configuration"

    # the start after: the cache is created once, then used; the configuration is gone
    restore()
    argv = _trino_argv()
    assert f"-XX:AOTCache={cache.cache}" in argv and "-XX:AOTMode=auto" in argv
    assert cache.cache.stat().st_size > 1_000_000 and not cache.configuration.exists()
    frame = Lakehouse().query("SELECT 6 * 7 AS answer, count(*) AS n FROM iceberg.information_schema.schemata")
    assert frame["answer"][0] == 42 and frame["n"][0] > 0
