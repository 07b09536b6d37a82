"""Spark Connect without a server: when lh.spark() uses it, the token, the versions, the server's configuration."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse, LakehouseSettings, ServiceUnavailableError
from lakehouse_sdk._sections import SPARK_CONNECT_DEV_TOKEN
from lakehouse_sdk.clients import spark_connect
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.kube._spark import spark_connect_conf
from lakehouse_sdk.kube.credentials import SECRET_NAME, Credentials
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import render_objects
from lakehouse_sdk.stack import probes
from lakehouse_sdk.stack.config import StackContext, StackValues
from lakehouse_sdk.stack.spark_config import spark_connect_properties
from tests.unit.blackhole import silent_server

TOKEN = "planted-connect-token-Vb93"
ENDPOINT = Endpoint("spark-connect", "sc", "127.0.0.1", 30152, "nodeport", "test")


# -- when lh.spark() goes over Connect ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "mode", "classic", "expected"),
    [
        ("auto", "nodeport", True, False),
        ("auto", "in-cluster", True, False),
        ("auto", "port-forward", True, True),
        ("auto", "nodeport", False, True),
        ("true", "nodeport", True, True),
        ("false", "port-forward", True, False),
    ],
)
def test_auto_uses_connect_where_a_classic_driver_cannot_work(
    monkeypatch: pytest.MonkeyPatch, setting: str, mode: str, classic: bool, expected: bool
) -> None:
    monkeypatch.setattr(spark_connect, "classic_driver_available", lambda: (classic, "as the test says"))
    use, why = spark_connect.use_connect(LakehouseSettings(spark={"connect": setting}), mode)
    assert use is expected
    assert f"spark.connect={setting}" in why


def test_the_setting_takes_booleans_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_SPARK__CONNECT", "True")
    assert LakehouseSettings().spark.connect == "true"
    assert LakehouseSettings(spark={"connect": False}).spark.connect == "false"
    with pytest.raises(ConfigurationError, match=r"spark\.connect"):
        LakehouseSettings(spark={"connect": "sometimes"})


def test_a_thin_client_is_told_from_full_pyspark(monkeypatch: pytest.MonkeyPatch) -> None:
    assert spark_connect.classic_driver_available()[0] is True  # this environment has full pyspark
    import sys

    monkeypatch.setitem(sys.modules, "pyspark.core", None)  # what pyspark-client lacks
    assert spark_connect.classic_driver_available() == (False, "only the thin client (pyspark-client) is installed")


# -- versions ----------------------------------------------------------------------------------------------


def test_a_client_of_the_servers_minor_version_passes() -> None:
    spark_connect.check_versions("4.1.3", "4.1.4", ENDPOINT)


def test_a_newer_minor_client_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigurationError) as info:
        spark_connect.check_versions("4.2.0", "4.1.4", ENDPOINT)
    text = str(info.value)
    assert "4.2.0" in text and "4.1.4" in text and "sc://127.0.0.1:30152" in text
    assert "pyspark-client==4.1.*" in text and "lakehouse-sdk[spark-connect]" in text


# -- the token -----------------------------------------------------------------------------------------------


def test_the_token_is_a_secret_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_SPARK__CONNECT_TOKEN", TOKEN)
    settings = LakehouseSettings()
    assert settings.spark.connect_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings) and TOKEN not in settings.explain_text()
    assert "connect_token" not in repr(settings)  # not even the field's name
    assert LakehouseSettings(spark={"connect": "true"}).spark.connect == "true"
    assert TOKEN not in str(ConfigurationError(f"the token {TOKEN} leaked"))
    builder = spark_connect._builder_class()(f"sc://{ENDPOINT.address}", TOKEN)
    assert TOKEN not in repr(builder) and TOKEN not in repr(builder._lakehouse_auth)


@pytest.mark.parametrize("token", ["short", "has space in it", "tab\tinside-it", ""])
def test_a_token_that_cannot_travel_as_a_header_is_refused(token: str) -> None:
    with pytest.raises(ConfigurationError, match="connect_token"):
        LakehouseSettings(spark={"connect_token": token})


def test_the_default_token_is_the_manifests_placeholder() -> None:
    assert LakehouseSettings().spark.connect_token.get_secret_value() == SPARK_CONNECT_DEV_TOKEN
    assert Credentials.placeholder().spark_connect_token == SPARK_CONNECT_DEV_TOKEN


def test_generated_credentials_have_a_strong_token_kept_across_provisioning() -> None:
    first, second = Credentials.generate(), Credentials.generate()
    assert first.spark_connect_token != second.spark_connect_token
    assert len(first.spark_connect_token) >= 40
    secret = {"data": first.secret_data(), "metadata": {"annotations": {}}}
    assert Credentials.from_secret(secret).spark_connect_token == first.spark_connect_token
    # a Secret from before the Connect server: the other values are kept, a token is generated
    old = {k: v for k, v in first.secret_data().items() if k != "spark-connect-token"}
    upgraded = Credentials.from_secret({"data": old})
    assert upgraded.s3_secret_key == first.s3_secret_key and len(upgraded.spark_connect_token) >= 40
    applied = first.apply_to(LakehouseSettings())
    assert applied.spark.connect_token.get_secret_value() == first.spark_connect_token


def test_the_server_gets_the_token_from_the_secret_and_no_file_holds_it() -> None:
    creds = Credentials("AKIDTEST", "s3-secret-value-xyz", "pg-pass-value", "settings", TOKEN)
    objects = render_objects(ProvisionOptions(), credentials=creds)
    secret = next(o for o in objects if o["kind"] == "Secret")
    assert base64.b64decode(secret["data"]["spark-connect-token"]).decode() == TOKEN
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "spark-connect")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    ref = env["SPARK_CONNECT_AUTHENTICATE_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": SECRET_NAME, "key": "spark-connect-token"}
    others = [o for o in objects if o["kind"] != "Secret"]
    assert TOKEN not in repr(others)
    # no other workload gets the token
    tokened = {
        o["metadata"]["name"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet") and "spark-connect-token" in repr(o)
    }
    assert tokened == {"spark-connect"}


# -- the server's configuration ------------------------------------------------------------------------------


def _local_context() -> StackContext:
    ports = {"minio": 30900, "hive-metastore": 30083, "postgres": 30432, "trino": 30081}
    ports |= {"spark-master": 30077, "spark-connect": 30152}
    return StackContext.local(StackValues("us-east-1", "warehouse", "metastore", "hive", "2G", "lake"), ports,
                              trino_data_dir="/tmp/t")  # fmt: skip


def test_the_server_is_configured_like_a_classic_session_without_secrets() -> None:
    conf = spark_connect_properties(_local_context(), jars=["/c/a.jar", "/c/b.jar"], executors_share_files=True)
    assert conf["spark.master"] == "spark://127.0.0.1:30077"
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert conf["spark.connect.grpc.binding.port"] == "30152"
    assert conf["spark.sql.catalog.lake"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.lake.uri"] == "thrift://127.0.0.1:30083"
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert conf["spark.hadoop.fs.s3a.secret.key"] == "${env.LAKEHOUSE_S3_SECRET_KEY}"
    assert conf["spark.executor.extraClassPath"] == "/c/a.jar:/c/b.jar"
    assert conf["spark.dynamicAllocation.enabled"] == "true" and conf["spark.dynamicAllocation.minExecutors"] == "0"
    assert not any("token" in key for key in conf)
    # the classic session's SQL setup is the same, except that it carries the credentials themselves
    classic = Lakehouse(iceberg={"catalog_name": "lake"}).spark_conf()
    shared = {k for k in conf if k.startswith(("spark.sql.", "spark.hadoop.")) and "s3a.secret" not in k}
    shared -= {k for k in shared if "s3a.access" in k or "endpoint" in k or "metastore" in k or ".uri" in k}
    assert {k: conf[k] for k in shared} == {k: classic[k] for k in shared}


def test_in_a_cluster_executors_fetch_the_jars_from_the_server() -> None:
    conf = spark_connect_conf(StackContext.in_cluster(ProvisionOptions().stack_values()))
    assert conf["spark.master"] == "spark://spark-master:7077"
    assert conf["spark.jars"].count("/opt/spark/extra-jars/") == 3
    assert "spark.executor.extraClassPath" not in conf
    assert conf["spark.connect.grpc.binding.address"] == "0.0.0.0"


# -- failures --------------------------------------------------------------------------------------------------


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_stopped_server_fails_at_once_naming_service_endpoint_and_mode(free_port: int) -> None:
    lh = Lakehouse(spark={"connect": "true"}, nodeports={"spark-connect": free_port}, nodeport_range="1-65535")
    start = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as info:
        lh.spark()
    assert time.monotonic() - start < lh.settings.connect_timeout
    text = str(info.value)
    assert info.value.service == "spark-connect"
    assert f"sc://localhost:{free_port}" in text and "mode 'nodeport'" in text
    assert "lakehouse up --local" in text


def test_a_hung_server_fails_within_the_connect_timeout() -> None:
    with silent_server() as port:
        lh = Lakehouse(
            spark={"connect": "true"}, nodeports={"spark-connect": port}, nodeport_range="1-65535", connect_timeout=1
        )
        start = time.monotonic()
        with pytest.raises(ServiceUnavailableError, match="no answer within 1 s"):
            lh.spark()
        assert time.monotonic() - start < 3


@pytest.fixture
def h2_server() -> Iterator[int]:
    """Answers the HTTP/2 preface with an empty SETTINGS frame, as a gRPC server does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(64)
            conn.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_the_grpc_probe_speaks_http2(h2_server: int) -> None:
    assert "HTTP/2" in probes.grpc_answers("127.0.0.1", h2_server, 2)


def test_the_grpc_probe_refuses_something_else() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(64)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    with pytest.raises(ConnectionError, match="not an HTTP/2"):
        probes.grpc_answers("127.0.0.1", server.getsockname()[1], 2)
    server.close()
