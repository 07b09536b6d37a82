"""Fixtures of the image smoke tests: the images built by scripts/build-images.sh (cached), loaded into
podman from their archives, and a podman driver per test that removes every container it started."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images.support import PODMAN_GLOBAL, REPO, BuiltImages, Podman, images_dir, load_archives


@pytest.fixture(scope="session")
def built_images() -> BuiltImages:
    """Builds the images (cached: seconds when nothing changed) and loads each archive into podman."""
    # podman with runc (crun refuses this host's cgroup layout) and the CNI plugins for its bridge
    missing = [p for p in ("podman", "runc") if shutil.which(p) is None]
    if not Path("/usr/lib/cni/bridge").exists():
        missing.append("containernetworking-plugins")
    if missing:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    # the build resolves the project's components with this interpreter (lakehouse_sdk importable)
    env = {**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)}
    subprocess.run([str(REPO / "scripts" / "build-images.sh")], check=True, timeout=3600, env=env)
    directory = images_dir()
    archives = load_archives(directory)
    for ref, archive in archives.items():
        proc = subprocess.run(
            ["podman", *PODMAN_GLOBAL, "load", "-q", "-i", str(archive)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, f"podman load {archive}: {proc.stderr}"
        assert ref in proc.stdout, f"podman load {archive} named {proc.stdout.strip()!r}, not {ref}"
    return BuiltImages(directory, archives)


@pytest.fixture
def podman(built_images: BuiltImages) -> Iterator[Podman]:
    driver = Podman()
    try:
        yield driver
    finally:
        driver.remove_all()
