"""PortForwarder against a real API server: kwok redirects the pods' port-forwards to a local HTTP server.

A ``ThreadingHTTPServer`` on 127.0.0.1 stands in for the process of a pod of the ``trino`` Deployment; a
kwok ``ClusterPortForward`` sends port 8080 of every pod in the test namespace to it. The forwarder only
talks to the API server (pods, Services, ``pods/portforward``), exactly as against a remote cluster.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk.errors import ServiceUnavailableError
from lakehouse_sdk.kube.portforward import PortForwarder
from lakehouse_sdk.settings import LakehouseSettings

pytestmark = pytest.mark.kube

NS = "lh-portforward"
BODY = "hello from the trino pod\n"
PF_RULE = "lh-portforward-test"
SECRET = "pf-Secret-Value-7731"  # a Trino password in the settings: must never reach a log line


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class LocalServer:
    """An HTTP server on a fixed local port that can be stopped and started again (a restarting pod)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        handler = functools.partial(_Quiet, directory=str(self.root))
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _kubectl(kubeconfig: Path, bin_dir: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [str(bin_dir / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def _deployment(name: str, ports: list[tuple[str, int]], *, cpu: str = "10m") -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": f"pf-{name}"}
    container = {
        "name": name,
        "image": "example.invalid/never-pulled:1",
        "ports": [{"name": n, "containerPort": p} for n, p in ports],
        "resources": {"requests": {"cpu": cpu}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def _service(name: str, port: int, target: str | int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": f"pf-{name}"},
            "ports": [{"port": port, "targetPort": target}],
        },
    }


def _ready_pods(kubectl: Callable[..., str], app: str) -> list[str]:
    pods = json.loads(kubectl("-n", NS, "get", "pods", "-l", f"app.kubernetes.io/name={app}", "-o", "json"))
    return [
        p["metadata"]["name"]
        for p in pods["items"]
        if not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    root = tmp_path_factory.mktemp("pod-root")
    (root / "hello.txt").write_text(BODY)
    local = LocalServer(root)
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def kubectl(kube_cluster: Path) -> Callable[..., str]:
    from tests.kube.conftest import BIN_DIR

    return functools.partial(_kubectl, kube_cluster, BIN_DIR)


@pytest.fixture(scope="module")
def workloads(kube_cluster: Path, kubectl: Callable[..., str], server: LocalServer) -> Iterator[None]:
    """trino (Ready, port 8080 forwarded), minio (Ready, no forward rule), postgres (never Ready)."""
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        _deployment("trino", [("http", 8080)]),
        _service("trino", 8080, "http"),  # a named targetPort, resolved from the pod's container ports
        _deployment("minio", [("s3", 9000)]),
        _service("minio", 9000, 9000),
        _deployment("postgres", [("postgres", 5432)], cpu="500"),  # unschedulable: stays Pending
        _service("postgres", 5432, 5432),
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterPortForward",
            "metadata": {"name": PF_RULE},
            "spec": {
                "selector": {"matchNamespaces": [NS]},
                "forwards": [{"ports": [8080], "target": {"address": "127.0.0.1", "port": server.port}}],
            },
        },
    ]
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    kubectl("-n", NS, "wait", "deployment/trino", "deployment/minio", "--for=condition=Available", "--timeout=60s")
    # kwok loads the ClusterPortForward asynchronously ("no forward found" until then): wait for it once here,
    # so that the tests themselves never retry.
    start = time.monotonic()
    settings = LakehouseSettings(kube={"kubeconfig": kube_cluster}, namespace=NS)
    with PortForwarder(settings) as pf:
        assert _get_eventually(pf.local_address("trino"), timeout=30) == (200, BODY)
    print(f"\nkwok forwards port 8080 after {time.monotonic() - start:.2f}s")
    yield
    kubectl("delete", "clusterportforward", PF_RULE, "--ignore-not-found")
    kubectl("delete", "namespace", NS, "--wait=false")


@pytest.fixture
def settings(kube_cluster: Path) -> LakehouseSettings:
    return LakehouseSettings(kube={"kubeconfig": kube_cluster}, namespace=NS, trino={"password": SECRET})


@pytest.fixture
def forwarder(
    settings: LakehouseSettings, workloads: None, caplog: pytest.LogCaptureFixture
) -> Iterator[PortForwarder]:
    caplog.set_level(logging.DEBUG)
    with PortForwarder(settings) as pf:
        yield pf
    assert SECRET not in caplog.text
    key = settings.kube.kubeconfig.read_text() if settings.kube.kubeconfig else ""
    assert "client-key-data" not in caplog.text and key[-200:] not in caplog.text


def _get(address: tuple[str, int], path: str = "/hello.txt") -> tuple[int, str]:
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _get_eventually(address: tuple[str, int], timeout: float) -> tuple[int, str]:
    """GET, retrying while kwok has not yet loaded the ClusterPortForward."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _get(address)
        except (ConnectionError, http.client.HTTPException, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_http_get_through_the_forward(forwarder: PortForwarder) -> None:
    start = time.monotonic()
    address = forwarder.local_address("trino")
    assert address[0] == "127.0.0.1"
    assert _get(address) == (200, BODY)
    print(f"\nfirst GET through the port-forward: {time.monotonic() - start:.2f}s")
    assert forwarder.local_address("trino") == address  # same port on every call
    target = forwarder.target("trino")
    assert target is not None and target.port == 8080 and target.pod.startswith("trino-")

    results: list[tuple[int, str]] = []
    start = time.monotonic()
    threads = [threading.Thread(target=lambda: results.append(_get(address))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    print(f"8 concurrent GETs: {time.monotonic() - start:.2f}s")
    assert results == [(200, BODY)] * 8


def test_a_new_connection_follows_a_replaced_pod(forwarder: PortForwarder, kubectl: Callable[..., str]) -> None:
    address = forwarder.local_address("trino")
    assert _get(address) == (200, BODY)
    old = forwarder.target("trino")
    assert old is not None
    kubectl("-n", NS, "delete", "pod", old.pod, "--wait=true", "--timeout=30s")
    deadline = time.monotonic() + 30
    while not [p for p in _ready_pods(kubectl, "pf-trino") if p != old.pod]:
        assert time.monotonic() < deadline, "the Deployment did not replace the pod"
        time.sleep(0.3)
    start = time.monotonic()
    assert _get(address) == (200, BODY)
    print(f"\nGET after the pod was replaced: {time.monotonic() - start:.2f}s")
    new = forwarder.target("trino")
    assert new is not None and new.pod != old.pod
    assert forwarder.local_address("trino") == address


def test_a_dropped_stream_is_restarted(
    forwarder: PortForwarder, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    address = forwarder.local_address("trino")
    assert _get(address) == (200, BODY)
    server.stop()  # the pod's process goes away: kwok cannot dial it
    try:
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            _get(address)
        assert "ended with an error" in caplog.text and "failed to dial" in caplog.text
    finally:
        server.start()
    assert _get(address) == (200, BODY)


def test_a_port_without_a_forward_logs_the_kubelet_error(
    forwarder: PortForwarder, caplog: pytest.LogCaptureFixture
) -> None:
    address = forwarder.local_address("minio")  # the pod is Ready, so the forward starts
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        _get(address)
    deadline = time.monotonic() + 5
    while "no forward found for port 9000" not in caplog.text:
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.1)
    assert forwarder.target("minio") is None  # dropped: the next connection resolves the pod again


def test_close_frees_the_local_ports(settings: LakehouseSettings, workloads: None) -> None:
    forwarder = PortForwarder(settings)
    address = forwarder.local_address("trino")
    assert _get(address) == (200, BODY)
    conn = socket.create_connection(address, timeout=5)  # an open connection is closed too
    start = time.monotonic()
    forwarder.close()
    print(f"\nclose(): {time.monotonic() - start:.2f}s")
    with contextlib.suppress(ConnectionResetError):  # reset: not accepted yet when the listener closed
        assert conn.recv(10) == b""
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5)
    with socket.socket() as probe:  # the port is free again (SO_REUSEADDR: forwarded connections in TIME_WAIT)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
        probe.listen(1)
    assert not [t for t in threading.enumerate() if t.name.startswith("lakehouse-port-forward")]
    with pytest.raises(ServiceUnavailableError, match="closed"):
        forwarder.local_address("trino")
    forwarder.close()  # idempotent


def test_a_missing_service_is_explained(forwarder: PortForwarder) -> None:
    with pytest.raises(ServiceUnavailableError) as info:
        forwarder.local_address("hive_metastore")
    message = str(info.value)
    assert info.value.service == "hive-metastore"
    assert f"Service {NS}/hive-metastore does not exist" in message
    assert f"kubectl -n {NS} get pods" in message
    assert "hive-metastore" not in forwarder.addresses()


def test_a_service_without_a_ready_pod_is_explained(forwarder: PortForwarder) -> None:
    with pytest.raises(ServiceUnavailableError) as info:
        forwarder.local_address("postgres")
    message = str(info.value)
    assert info.value.service == "postgres"
    assert f"no Ready pod behind Service {NS}/postgres" in message
    assert "Pending" in message
    assert f"kubectl -n {NS} get pods -l app.kubernetes.io/name=pf-postgres" in message


def test_start_all_forwards_the_services_that_exist(forwarder: PortForwarder) -> None:
    forwarder.start()
    assert set(forwarder.addresses()) == {"trino", "minio", "postgres"}
    assert _get(forwarder.addresses()["trino"]) == (200, BODY)


def test_lakehouse_in_port_forward_mode(kube_cluster: Path, workloads: None) -> None:
    from lakehouse_sdk import ConfigurationError, Lakehouse, ServiceUnavailableError

    with Lakehouse(mode="port-forward", namespace=NS, kube={"kubeconfig": kube_cluster}) as lh:
        trino = lh.endpoint("trino")
        assert trino.mode == "port-forward"
        assert trino.host == "127.0.0.1"
        assert f"svc/trino:8080 in namespace {NS!r}" in trino.reason
        assert _get_eventually((trino.host, trino.port), 30)[0] == 200
        assert lh.endpoint("trino") == trino  # one forward per service, reused
        assert "trino" in lh.endpoints()
        # auto: Spark Connect through a forward; this API-level cluster runs no Connect server
        with pytest.raises(ServiceUnavailableError, match="port-forward to spark-connect"):
            lh.spark()
    classic = Lakehouse(mode="port-forward", namespace=NS, kube={"kubeconfig": kube_cluster}, spark={"connect": False})
    with classic, pytest.raises(ConfigurationError, match="cannot work in mode=port-forward"):
        classic.spark()
    with socket.socket() as sock:  # closing the Lakehouse closed the forward
        assert sock.connect_ex((trino.host, trino.port)) != 0
