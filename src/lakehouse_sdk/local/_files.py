"""Files of the local stack's artifacts: checksums, archives, JDK versions, and the metastore's Hadoop POM."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

from lakehouse_sdk.errors import ComponentError

__all__ = [
    "HMS_POM",
    "HMS_SINGLE",
    "JVM_DIRS",
    "java_version",
    "link_or_copy",
    "unpack_tar",
    "unpack_zip",
    "verify_sha1",
]

JVM_DIRS = (Path("/usr/lib/jvm"), Path("/usr/local/lib/jvm"), Path("/opt/java"))

# Hadoop for the standalone metastore (its archive has none), resolved transitively by Maven.
HMS_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lakehouse-sdk</groupId><artifactId>metastore-hadoop</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-common</artifactId>
      <version>{hadoop}</version>
      <exclusions>
        <exclusion><groupId>org.slf4j</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>ch.qos.reload4j</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>log4j</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.eclipse.jetty</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>com.sun.jersey</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>javax.servlet.jsp</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.apache.zookeeper</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.apache.curator</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.apache.kerby</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>
    {single}
  </dependencies>
</project>
"""
HMS_SINGLE = [
    ("org.apache.hadoop", "hadoop-mapreduce-client-core", "{hadoop}"),
    ("org.apache.hadoop", "hadoop-hdfs", "{hadoop}"),
    ("org.apache.hadoop", "hadoop-aws", "{hadoop}"),
    ("software.amazon.awssdk", "bundle", "{aws}"),
    ("org.postgresql", "postgresql", "{jdbc}"),
    ("org.slf4j", "slf4j-api", "1.7.36"),
    ("commons-collections", "commons-collections", "3.2.2"),
]


def java_version(java_home: Path) -> int | None:
    """The feature version of the JDK at ``java_home`` (from its ``release`` file), or ``None``."""
    try:
        text = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'JAVA_VERSION="(\d+)(?:\.(\d+))?', text)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def verify_sha1(path: Path) -> None:
    checksum = path.with_name(path.name + ".sha1")
    if not path.is_file():
        raise ComponentError(f"{path} is missing after the download; run `lakehouse components` again.")
    if not checksum.is_file():
        return  # nothing published to check against
    expected = checksum.read_text().split()[0].strip().lower()
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        path.unlink()
        raise ComponentError(f"{path.name} does not match its published SHA-1 and was deleted; fetch it again.")


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _strip_top(names: list[str]) -> str | None:
    tops = {n.split("/", 1)[0] for n in names if n}
    return tops.pop() if len(tops) == 1 else None


def unpack_tar(archive: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="tar")
        top = _strip_top(tar.getnames())
    source = tmp / top if top and (tmp / top).is_dir() else tmp
    shutil.rmtree(target, ignore_errors=True)
    source.replace(target)
    shutil.rmtree(tmp, ignore_errors=True)


def unpack_zip(archive: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp)
        top = _strip_top(zf.namelist())
    source = tmp / top if top and (tmp / top).is_dir() else tmp
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    source.replace(target)
    shutil.rmtree(tmp, ignore_errors=True)
