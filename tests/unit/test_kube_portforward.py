"""PortForwarder offline: pod resolution, piping, re-resolution, errors and closing, with a fake cluster.

The fake cluster's streams are real TCP connections to a local echo server, so the listener, the accept
thread and the byte pipes are the production code; only the Kubernetes calls are replaced.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lakehouse_sdk.errors import ConfigurationError, ServiceUnavailableError, register_secret
from lakehouse_sdk.kube.portforward import PodTarget, PortForwarder, Stream, pod_is_ready, resolve_target
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.endpoints import ENDPOINTS

NS = "lh"
Obj = dict[str, Any]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def echo() -> Iterator[tuple[str, int]]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[0], server.server_address[1]  # type: ignore[misc]
    server.shutdown()
    server.server_close()


def _pod(
    name: str, *, ready: bool = True, phase: str = "Running", created: str = "2026-01-01T00:00:00Z", **extra: Any
) -> Obj:
    meta: Obj = {"name": name, "creationTimestamp": created, **extra}
    status = "True" if ready else "False"
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": status}]},
    }


def _service(name: str, ports: list[tuple[int, Any]], selector: dict[str, str] | None = None) -> Obj:
    return {
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "selector": {"app": name} if selector is None else selector,
            "ports": [{"port": p, "targetPort": t} for p, t in ports],
        },
    }


class FakeStream:
    def __init__(self, address: tuple[str, int], error: str | None) -> None:
        self.sock = socket.create_connection(address)
        self._error = error
        if error:  # like the kubelet: report on the error channel and close the data channel
            self.sock.shutdown(socket.SHUT_WR)

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, size: int) -> bytes:
        return self.sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def error(self) -> str | None:
        return self._error

    def close(self) -> None:
        self.sock.close()


class FakeCluster:
    """Services and pods in memory; streams go to the echo server."""

    where = "fake cluster"

    def __init__(self, echo: tuple[str, int]) -> None:
        self.echo = echo
        self.services: dict[str, Obj] = {}
        self.pods: dict[str, list[Obj]] = {}  # by selector string
        self.gone: set[str] = set()  # pods whose stream cannot be opened (deleted)
        self.errors: dict[str, str] = {}  # pod -> error on the error channel
        self.opened: list[tuple[str, int]] = []
        self.lookups = 0
        self.fail_api: Exception | None = None
        self.lock = threading.Lock()

    def get_service(self, namespace: str, name: str) -> Obj | None:
        assert namespace == NS
        with self.lock:
            self.lookups += 1
        if self.fail_api:
            raise self.fail_api
        return self.services.get(name)

    def list_pods(self, namespace: str, selector: str) -> list[Obj]:
        return list(self.pods.get(selector, []))

    def open_stream(self, namespace: str, pod: str, port: int) -> Stream:
        with self.lock:
            self.opened.append((pod, port))
        if pod in self.gone:
            raise RuntimeError(f"Handshake status 404 Not Found: pods {pod!r} not found")
        return FakeStream(self.echo, self.errors.get(pod))

    def add(self, name: str, port: int, pods: list[Obj], target: Any = None) -> None:
        self.services[name] = _service(name, [(port, port if target is None else target)])
        self.pods[f"app={name}"] = pods


@pytest.fixture
def cluster(echo: tuple[str, int]) -> FakeCluster:
    fake = FakeCluster(echo)
    fake.add("trino", 8080, [_pod("trino-a")])
    return fake


@pytest.fixture
def forwarder(cluster: FakeCluster) -> Iterator[PortForwarder]:
    with PortForwarder(LakehouseSettings(namespace=NS), cluster=cluster) as pf:
        yield pf


def _roundtrip(address: tuple[str, int], payload: bytes = b"ping") -> bytes:
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def _closed_at_once(address: tuple[str, int]) -> bool:
    with socket.create_connection(address, timeout=5) as conn:
        try:
            return conn.recv(10) == b""
        except ConnectionResetError:
            return True


# -- resolution ---------------------------------------------------------------------------------------------


def test_pod_is_ready() -> None:
    assert pod_is_ready(_pod("a"))
    assert not pod_is_ready(_pod("a", ready=False))
    assert not pod_is_ready(_pod("a", phase="Pending"))
    assert not pod_is_ready(_pod("a", deletionTimestamp="2026-01-01T00:00:00Z"))
    assert not pod_is_ready({"metadata": {"name": "a"}})


def test_resolve_picks_the_newest_ready_pod_and_a_named_port() -> None:
    service = _service("trino", [(8080, "http")])
    pods = [
        _pod("old", created="2026-01-01T00:00:00Z"),
        _pod("new", created="2026-01-02T00:00:00Z"),
        _pod("newest-unready", created="2026-01-03T00:00:00Z", ready=False),
    ]
    assert resolve_target(ENDPOINTS["trino"], NS, service, pods) == PodTarget("trino", NS, "new", 8080)
    numeric = _service("trino", [(8080, 18080)])
    assert resolve_target(ENDPOINTS["trino"], NS, numeric, pods).port == 18080


@pytest.mark.parametrize(
    ("service", "pods", "expected"),
    [
        (None, [], "Service lh/trino does not exist"),
        (_service("trino", [(9999, 9999)]), [], "Service lh/trino has no port 8080 (its ports: 9999)"),
        (_service("trino", [(8080, 8080)], selector={}), [], "Service lh/trino has no selector"),
        (_service("trino", [(8080, 8080)]), [], "no Ready pod behind Service lh/trino (selector app=trino: no pods"),
        (
            _service("trino", [(8080, 8080)]),
            [_pod("trino-x", phase="Pending", ready=False)],
            "selector app=trino: trino-x (Pending, Ready=False)",
        ),
        (_service("trino", [(8080, "web")]), [_pod("trino-x")], "targets the named port 'web'"),
    ],
)
def test_resolve_errors_name_the_service_and_the_next_step(service: Obj | None, pods: list[Obj], expected: str) -> None:
    with pytest.raises(ServiceUnavailableError) as info:
        resolve_target(ENDPOINTS["trino"], NS, service, pods)
    assert expected in str(info.value)
    assert str(info.value).startswith("port-forward to trino: ")
    assert f"kubectl -n {NS} get pods" in str(info.value)
    assert info.value.service == "trino"
    assert info.value.endpoint == "svc/trino:8080 in namespace lh"
    assert isinstance(info.value, ConnectionError)


# -- forwarding -----------------------------------------------------------------------------------------------


def test_local_address_forwards_bytes_both_ways(forwarder: PortForwarder, cluster: FakeCluster) -> None:
    address = forwarder.local_address("trino")
    assert address[0] == "127.0.0.1" and address[1] > 0
    assert _roundtrip(address) == b"ping"
    big = bytes(range(256)) * 8192  # 2 MiB
    assert _roundtrip(address, big) == big
    assert forwarder.local_address("TRINO") == address
    assert forwarder.addresses() == {"trino": address}
    assert cluster.opened == [("trino-a", 8080), ("trino-a", 8080)]  # one stream per connection
    assert cluster.lookups == 1  # the pod is resolved once and remembered


def test_aliases_and_unknown_services(forwarder: PortForwarder, cluster: FakeCluster) -> None:
    cluster.add("minio", 9000, [_pod("minio-0")])
    assert _roundtrip(forwarder.local_address("s3")) == b"ping"
    assert cluster.opened[-1] == ("minio-0", 9000)
    with pytest.raises(ConfigurationError, match="unknown service 'nosuch'"):
        forwarder.local_address("nosuch")


def test_a_deleted_pod_is_resolved_again(forwarder: PortForwarder, cluster: FakeCluster) -> None:
    address = forwarder.local_address("trino")
    assert _roundtrip(address) == b"ping"
    cluster.gone.add("trino-a")
    cluster.pods["app=trino"] = [_pod("trino-b")]
    assert _roundtrip(address) == b"ping"
    assert cluster.opened == [("trino-a", 8080), ("trino-a", 8080), ("trino-b", 8080)]
    assert forwarder.target("trino") == PodTarget("trino", NS, "trino-b", 8080)
    assert forwarder.local_address("trino") == address


def test_an_error_on_the_stream_drops_the_pod(
    forwarder: PortForwarder, cluster: FakeCluster, caplog: pytest.LogCaptureFixture
) -> None:
    address = forwarder.local_address("trino")
    cluster.errors["trino-a"] = "error forwarding port 8080 to pod trino-a: connection refused"
    assert _closed_at_once(address)
    forwarder.close()  # joins the connection threads, so the log line is there
    assert forwarder.target("trino") is None
    assert "ended with an error: error forwarding port 8080 to pod trino-a: connection refused" in caplog.text


def test_a_connection_while_no_pod_is_ready_is_closed_and_explained(
    forwarder: PortForwarder, cluster: FakeCluster, caplog: pytest.LogCaptureFixture
) -> None:
    address = forwarder.local_address("trino")
    cluster.gone.add("trino-a")
    cluster.pods["app=trino"] = [_pod("trino-b", phase="Pending", ready=False)]
    assert _closed_at_once(address)
    forwarder.close()
    assert "port-forward to trino: no Ready pod behind Service lh/trino" in caplog.text
    assert "trino-b (Pending, Ready=False)" in caplog.text
    with pytest.raises(ServiceUnavailableError, match="closed"):
        forwarder.local_address("trino")


def test_local_address_checks_the_service_first(forwarder: PortForwarder, cluster: FakeCluster) -> None:
    with pytest.raises(ServiceUnavailableError, match=r"Service lh/postgres does not exist") as info:
        forwarder.local_address("postgres")
    assert info.value.service == "postgres"
    assert forwarder.addresses() == {}  # nothing listens for a service that is not there


def test_api_failures_become_service_unavailable(forwarder: PortForwarder, cluster: FakeCluster) -> None:
    cluster.fail_api = OSError("connection refused by 10.0.0.1:6443")
    with pytest.raises(
        ServiceUnavailableError, match=r"the Kubernetes API \(fake cluster\) failed .* connection refused"
    ) as info:
        forwarder.local_address("trino")
    assert f"kubectl -n {NS} get pods" in str(info.value)
    with pytest.raises(ServiceUnavailableError, match=r"the Kubernetes API \(fake cluster\) failed"):
        forwarder.start()


def test_start_all_skips_missing_services_and_explicit_endpoints(cluster: FakeCluster) -> None:
    cluster.add("minio", 9000, [])  # exists, no pod yet: started without a check
    cluster.add("spark-master", 7077, [_pod("spark-master-0")])  # the UI port 8080 is not on this Service
    settings = LakehouseSettings(namespace=NS, endpoints={"trino": "http://trino.example:8080"})
    with PortForwarder(settings, cluster=cluster) as pf:
        pf.start()
        assert set(pf.addresses()) == {"minio", "spark-master"}
        pf.start(["trino"])  # named: started even with an explicit endpoint, and checked
        assert set(pf.addresses()) == {"minio", "spark-master", "trino"}
        with pytest.raises(ServiceUnavailableError, match=r"Service lh/minio has no port 9001 \(its ports: 9000\)"):
            pf.start(["minio-console"])
        with pytest.raises(ServiceUnavailableError, match="no Ready pod behind Service lh/minio"):
            pf.local_address("minio")  # listening already, but checked for a Ready pod when asked for


def test_concurrent_callers_share_one_forward(forwarder: PortForwarder, cluster: FakeCluster) -> None:
    results: list[tuple[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(forwarder.local_address("trino"))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(set(results)) == 1 and len(results) == 16
    assert cluster.lookups == 1
    echoes: list[bytes] = []
    threads = [
        threading.Thread(target=lambda i=i: echoes.append(_roundtrip(results[0], b"x%d" % i))) for i in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(echoes) == sorted(b"x%d" % i for i in range(16))


def test_close_frees_the_port_and_ends_open_connections(cluster: FakeCluster) -> None:
    pf = PortForwarder(LakehouseSettings(namespace=NS), cluster=cluster)
    address = pf.local_address("trino")
    open_conn = socket.create_connection(address, timeout=5)
    open_conn.sendall(b"hi")
    assert open_conn.recv(2) == b"hi"
    pf.close()
    assert open_conn.recv(10) == b""
    open_conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    assert not [t for t in threading.enumerate() if t.name.startswith("lakehouse-port-forward")]
    pf.close()
    assert "closed" in repr(pf)


def test_secret_values_never_reach_the_log(
    forwarder: PortForwarder, cluster: FakeCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "pf-unit-Secret-4242"
    register_secret(secret)
    address = forwarder.local_address("trino")
    cluster.errors["trino-a"] = f"error forwarding port 8080: token {secret} rejected"
    assert _closed_at_once(address)
    forwarder.close()
    assert "token *** rejected" in caplog.text
    assert secret not in caplog.text


def test_importing_the_module_does_not_import_kubernetes() -> None:
    code = (
        "import sys, json\nimport lakehouse_sdk.kube.portforward as m\n"
        "from lakehouse_sdk.settings import LakehouseSettings\n"
        "m.PortForwarder(LakehouseSettings())\nprint(json.dumps('kubernetes' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False
