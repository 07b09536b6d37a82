"""Files of the local stack's artifacts: archives, links and JDK versions."""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

__all__ = [
    "JVM_DIRS",
    "java_version",
    "link_or_copy",
    "unpack_tar",
    "unpack_zip",
]

JVM_DIRS = (Path("/usr/lib/jvm"), Path("/usr/local/lib/jvm"), Path("/opt/java"))


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
