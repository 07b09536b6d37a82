"""Endpoint resolution: modes, in-cluster detection, namespaces, explicit overrides (all offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse
from lakehouse_sdk.stack.endpoints import ENDPOINTS

REFERENCE_NODEPORTS = {
    "minio": 30900,
    "minio-console": 30901,
    "postgres": 30432,
    "hive-metastore": 30083,
    "spark-master": 30077,
    "spark-master-ui": 30082,
    "spark-worker-ui": 30084,
    "spark-connect": 30152,
    "trino": 30081,
}
REFERENCE_PORTS = {
    "minio": 9000,
    "minio-console": 9001,
    "postgres": 5432,
    "hive-metastore": 9083,
    "spark-master": 7077,
    "spark-master-ui": 8080,
    "spark-worker-ui": 8081,
    "spark-connect": 15002,
    "trino": 8080,
}


def test_default_is_nodeport_on_localhost_with_reference_ports() -> None:
    endpoints = Lakehouse().endpoints()
    assert set(endpoints) == set(REFERENCE_NODEPORTS)
    for name, endpoint in endpoints.items():
        assert (endpoint.host, endpoint.port, endpoint.mode) == ("localhost", REFERENCE_NODEPORTS[name], "nodeport")
        assert "KUBERNETES_SERVICE_HOST is not set" in endpoint.reason
    assert endpoints["trino"].url == "http://localhost:30081"
    assert endpoints["hive-metastore"].url == "thrift://localhost:30083"
    assert endpoints["spark-connect"].url == "sc://localhost:30152"


def test_nodeport_host_and_port_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_NODEPORT_HOST", "172.18.0.2")
    monkeypatch.setenv("LAKEHOUSE_NODEPORTS__TRINO", "31081")
    lh = Lakehouse()
    assert lh.endpoint("trino").url == "http://172.18.0.2:31081"
    assert "LAKEHOUSE_NODEPORTS__TRINO" in lh.endpoint("trino").reason
    assert lh.endpoint("minio").url == "http://172.18.0.2:30900"


def test_in_cluster_mode_uses_namespace_qualified_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_MODE", "in-cluster")
    monkeypatch.setenv("LAKEHOUSE_NAMESPACE", "data")
    endpoints = Lakehouse().endpoints()
    assert endpoints["trino"].url == "http://trino.data.svc.cluster.local:8080"
    assert endpoints["minio-console"].url == "http://minio.data.svc.cluster.local:9001"
    for name, endpoint in endpoints.items():
        assert endpoint.port == REFERENCE_PORTS[name]
        assert endpoint.host == f"{ENDPOINTS[name].dns_name}.data.svc.cluster.local"


def test_auto_detects_a_pod(monkeypatch: pytest.MonkeyPatch, sa_dir: Path) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    lh = Lakehouse(serviceaccount_dir=sa_dir, namespace="jobs")
    endpoint = lh.endpoint("postgres")
    assert endpoint.mode == "in-cluster"
    assert endpoint.host == "postgres"  # same namespace as the pod: short name
    assert "service-account token" in endpoint.reason
    other = Lakehouse(serviceaccount_dir=sa_dir, namespace="lakehouse").endpoint("postgres")
    assert other.host == "postgres.lakehouse.svc.cluster.local"


def test_auto_needs_both_token_and_env(monkeypatch: pytest.MonkeyPatch, sa_dir: Path) -> None:
    assert Lakehouse(serviceaccount_dir=sa_dir).endpoint("trino").mode == "nodeport"  # no env var
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    no_token = Lakehouse(serviceaccount_dir=sa_dir / "missing").endpoint("trino")
    assert no_token.mode == "nodeport"
    assert "no service-account token" in no_token.reason


def test_explicit_url_overrides_one_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_MODE", "in-cluster")
    monkeypatch.setenv("LAKEHOUSE_ENDPOINTS__TRINO", "https://trino.example.com")
    lh = Lakehouse()
    trino = lh.endpoint("trino")
    assert (trino.scheme, trino.host, trino.port, trino.mode) == ("https", "trino.example.com", 443, "explicit")
    assert "LAKEHOUSE_ENDPOINTS__TRINO" in trino.reason
    assert lh.endpoint("minio").mode == "in-cluster"


def test_explicit_mode_requires_urls() -> None:
    lh = Lakehouse(mode="explicit", endpoints={"trino": "http://t:8080"})
    assert list(lh.endpoints()) == ["trino"]
    with pytest.raises(ConfigurationError) as info:
        lh.endpoint("minio")
    assert "LAKEHOUSE_ENDPOINTS__MINIO" in str(info.value)
    assert "mode=explicit (keyword argument)" in str(info.value)


def test_endpoint_keys_accept_aliases() -> None:
    lh = Lakehouse(endpoints={"hive_metastore": "thrift://h:9083", "s3": "http://s3:9000"})
    assert lh.endpoint("hive-metastore").url == "thrift://h:9083"
    assert lh.endpoint("minio").url == "http://s3:9000"


def test_bad_port_in_explicit_url() -> None:
    with pytest.raises(ConfigurationError, match="invalid port") as info:
        Lakehouse(endpoints={"trino": "http://t:99999"})
    assert "LAKEHOUSE_ENDPOINTS__TRINO" in str(info.value)


def test_endpoints_do_not_touch_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    Lakehouse(nodeport_host="unresolvable.invalid").endpoints()


def test_port_forward_mode_needs_the_facade() -> None:
    from lakehouse_sdk.endpoints import resolve_endpoint

    lh = Lakehouse(mode="port-forward", endpoints={"minio": "http://s3:9000"})
    with pytest.raises(ConfigurationError, match="opens forwards through the Kubernetes API"):
        resolve_endpoint(lh.settings, "trino")
    assert lh.endpoint("minio").url == "http://s3:9000"  # an explicit URL needs no forward
    lh.close()
    lh.close()
