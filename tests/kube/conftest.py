"""A real Kubernetes control plane for the ``kube`` tests: kwok's binary runtime with locally built binaries.

kube-apiserver, kube-controller-manager, kube-scheduler and etcd are real; kwok simulates the node and the
kubelet, so Deployments become available and Jobs complete without containers. (``real_node`` is the other
kind: a real kubelet, containerd and CoreDNS, see realnode.py.) The binaries come from
``scripts/build-kube-tools.sh`` (``~/.cache/lakehouse-sdk/kube/bin``, or ``LAKEHOUSE_KUBE_BIN``). If they
are missing the fixture fails: these tests never skip. kwok's ``PortForward`` and ``ClusterPortForward``
CRDs are enabled, so a test can redirect a pod's port-forward to a local address.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_sdk.settings import LakehouseSettings, default_cache_dir
from tests.kube.realnode import RealNode, RealNodeError, default_image_dir, start_real_node

# Read at import, before the autouse fixture clears LAKEHOUSE_* for each test.
BIN_DIR = Path(os.environ.get("LAKEHOUSE_KUBE_BIN") or default_cache_dir() / "kube" / "bin")
REALNODE_IMAGES = default_image_dir()
BINARIES = ("kwokctl", "kwok", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")


def _kwokctl(workdir: Path, *args: str, timeout: float = 180) -> str:
    env = {**os.environ, "KWOK_WORKDIR": str(workdir), "PATH": f"{BIN_DIR}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(BIN_DIR / "kwokctl"), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kwokctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A kwok cluster with one fake node; yields its kubeconfig path and deletes the cluster afterwards."""
    missing = [name for name in BINARIES if not (BIN_DIR / name).is_file()]
    if missing:
        pytest.fail(
            f"the Kubernetes test binaries {', '.join(missing)} are missing from {BIN_DIR}. "
            "Build them with scripts/build-kube-tools.sh (or point LAKEHOUSE_KUBE_BIN at them).",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("kwok")
    name = f"lakehouse-test-{os.getpid()}"
    start = time.monotonic()
    _kwokctl(
        workdir,
        "create", "cluster", "--name", name, "--runtime", "binary", "--wait", "2m",
        "--kube-apiserver-binary", str(BIN_DIR / "kube-apiserver"),
        "--kube-controller-manager-binary", str(BIN_DIR / "kube-controller-manager"),
        "--kube-scheduler-binary", str(BIN_DIR / "kube-scheduler"),
        "--etcd-binary", str(BIN_DIR / "etcd"),
        "--kwok-controller-binary", str(BIN_DIR / "kwok"),
        # kwok redirects `kubectl port-forward` (and the SDK's port-forward mode) by these objects
        "--enable-crds", "PortForward,ClusterPortForward",
    )  # fmt: skip
    try:
        _kwokctl(workdir, "scale", "node", "--replicas", "1", "--name", name)
        print(f"\nkwok cluster {name} up in {time.monotonic() - start:.1f}s")
        yield workdir / "clusters" / name / "kubeconfig.yaml"
    finally:
        _kwokctl(workdir, "delete", "cluster", "--name", name)


@pytest.fixture(scope="session")
def real_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealNode]:
    """A real single-node cluster (tests/kube/realnode.py): pods run. Stopped, and checked clean, at the end."""
    workdir = tmp_path_factory.mktemp("realnode")
    start = time.monotonic()
    try:
        node = start_real_node(workdir, bin_dir=BIN_DIR, image_dir=REALNODE_IMAGES)
    except RealNodeError as exc:
        pytest.fail(f"the real node did not start: {exc}", pytrace=False)
    print(f"\nreal node up in {time.monotonic() - start:.1f}s: {node.timings}")
    try:
        yield node
    finally:
        node.stop()
    assert node.leftovers() == [], "stopping the real node left things behind"


@pytest.fixture
def kube_bin(kube_cluster: Path) -> Path:
    """The directory of the built binaries (kubectl among them)."""
    return BIN_DIR


@pytest.fixture
def kube_settings(kube_cluster: Path) -> LakehouseSettings:
    """Settings that point at the test cluster."""
    return LakehouseSettings(kube={"kubeconfig": kube_cluster})


@pytest.fixture
def api(kube_settings: LakehouseSettings):  # type: ignore[no-untyped-def]
    """A :class:`KubeAPI` on the test cluster."""
    from lakehouse_sdk.kube._api import connect

    return connect(kube_settings)
