"""What each client factory builds from the settings, checked offline."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse, MissingDependencyError, ServiceUnavailableError
from lakehouse_sdk.clients.iceberg import iceberg_properties
from lakehouse_sdk.clients.postgres import postgres_connect_kwargs
from lakehouse_sdk.clients.s3 import s3_client_config
from lakehouse_sdk.clients.trino import sqlalchemy_url, trino_connect_kwargs


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_s3_client_is_path_style_sigv4_with_timeouts_and_retries() -> None:
    lh = Lakehouse(connect_timeout=3, s3={"read_timeout": 30, "max_attempts": 7, "region": "eu-central-1"})
    cfg = s3_client_config(lh.settings)
    assert cfg["s3"] == {"addressing_style": "path"}
    assert cfg["signature_version"] == "s3v4"
    assert (cfg["connect_timeout"], cfg["read_timeout"]) == (3, 30)
    assert cfg["retries"] == {"mode": "standard", "max_attempts": 7}
    client = lh.s3(check=False)
    assert client.meta.endpoint_url == "http://localhost:30900"
    assert client.meta.region_name == "eu-central-1"
    assert client.meta.config.s3 == {"addressing_style": "path"}  # type: ignore[attr-defined]


def test_storage_options_for_fsspec() -> None:
    opts = Lakehouse(s3={"access_key": "ak", "secret_key": "sk-123"}).storage_options()
    assert opts["key"] == "ak"
    assert opts["secret"] == "sk-123"
    assert opts["endpoint_url"] == "http://localhost:30900"
    assert opts["config_kwargs"]["s3"] == {"addressing_style": "path"}


def test_trino_kwargs_default_catalog_and_schema() -> None:
    lh = Lakehouse(trino={"user": "ana", "catalog": "hive", "schema": "sales"})
    kwargs = trino_connect_kwargs(lh.settings, lh.endpoint("trino"))
    assert (kwargs["host"], kwargs["port"], kwargs["user"]) == ("localhost", 30081, "ana")
    assert (kwargs["catalog"], kwargs["schema"], kwargs["http_scheme"]) == ("hive", "sales", "http")
    assert "auth" not in kwargs
    other = trino_connect_kwargs(lh.settings, lh.endpoint("trino"), catalog="iceberg", schema="x")
    assert (other["catalog"], other["schema"]) == ("iceberg", "x")
    assert sqlalchemy_url(lh.settings, lh.endpoint("trino")) == "trino://ana@localhost:30081/hive/sales"


def test_trino_basic_auth_needs_https() -> None:
    lh = Lakehouse(trino={"password": "pw-planted-1"})
    with pytest.raises(ConfigurationError) as info:
        trino_connect_kwargs(lh.settings, lh.endpoint("trino"))
    assert "needs TLS" in str(info.value)
    assert "LAKEHOUSE_ENDPOINTS__TRINO=https://" in str(info.value)
    assert "pw-planted-1" not in str(info.value)
    secure = Lakehouse(
        trino={"password": "pw-planted-1", "verify": False}, endpoints={"trino": "https://trino.example:8443"}
    )
    kwargs = trino_connect_kwargs(secure.settings, secure.endpoint("trino"))
    assert kwargs["http_scheme"] == "https"
    assert kwargs["verify"] is False
    assert type(kwargs["auth"]).__name__ == "BasicAuthentication"


def test_trino_jwt_auth() -> None:
    lh = Lakehouse(trino={"jwt": "eyJ.jwt.token"}, endpoints={"trino": "https://t:443"})
    assert type(trino_connect_kwargs(lh.settings, lh.endpoint("trino"))["auth"]).__name__ == "JWTAuthentication"


def test_postgres_kwargs() -> None:
    lh = Lakehouse(connect_timeout=2.6, postgres={"user": "u", "password": "p", "database": "db"})
    kwargs = postgres_connect_kwargs(lh.settings, lh.endpoint("postgres"))
    assert kwargs == {
        "host": "localhost",
        "port": 30432,
        "user": "u",
        "password": "p",
        "dbname": "db",
        "sslmode": "prefer",
        "connect_timeout": 3,
        "application_name": "lakehouse-sdk",
    }


def test_iceberg_properties_use_the_metastore_and_the_object_store() -> None:
    lh = Lakehouse(mode="in-cluster", namespace="data")
    props = iceberg_properties(lh.settings, lh.endpoint("hive-metastore"), lh.endpoint("minio"))
    assert props["type"] == "hive"
    assert props["uri"] == "thrift://hive-metastore.data.svc.cluster.local:9083"
    assert props["s3.endpoint"] == "http://minio.data.svc.cluster.local:9000"
    assert props["s3.force-virtual-addressing"] == "false"


def test_spark_conf_wires_s3a_metastore_and_iceberg(tmp_path: Path) -> None:
    lh = Lakehouse(local={"cache_dir": tmp_path})  # no cached jars: Maven packages
    conf = lh.spark_conf(app_name="etl")
    assert conf["spark.master"] == "spark://localhost:30077"
    assert conf["spark.app.name"] == "etl"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://localhost:30900"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert conf["spark.hadoop.hive.metastore.uris"] == "thrift://localhost:30083"
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert conf["spark.sql.catalog.iceberg"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.iceberg.type"] == "hive"
    assert conf["spark.sql.catalog.iceberg.uri"] == "thrift://localhost:30083"
    assert conf["spark.driver.host"] == "127.0.0.1"
    packages = conf["spark.jars.packages"].split(",")
    assert "org.apache.hadoop:hadoop-aws:3.4.2" in packages
    assert "org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:1.12.0" in packages


def test_spark_uses_cached_jars_for_a_local_master(tmp_path: Path) -> None:
    from lakehouse_sdk.clients.spark import local_jar_paths

    lh = Lakehouse(local={"cache_dir": tmp_path})
    for path in local_jar_paths(lh.settings):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"jar")
    conf = lh.spark_conf()
    assert "spark.jars.packages" not in conf
    assert conf["spark.executor.extraClassPath"] == conf["spark.driver.extraClassPath"]
    assert str(tmp_path / "jars" / "hadoop-aws-3.4.2.jar") in conf["spark.executor.extraClassPath"]


def test_spark_driver_settings_for_a_remote_master() -> None:
    lh = Lakehouse(
        nodeport_host="127.0.0.2",
        spark={"driver_port": 7078, "block_manager_port": 7079, "driver_host": "10.1.2.3", "conf": {"spark.x": "y"}},
    )
    conf = lh.spark_conf()
    assert conf["spark.driver.host"] == "10.1.2.3"
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"
    assert (conf["spark.driver.port"], conf["spark.blockManager.port"]) == ("7078", "7079")
    assert conf["spark.x"] == "y"


def test_spark_in_cluster_leaves_the_driver_host_to_spark() -> None:
    conf = Lakehouse(mode="in-cluster").spark_conf()
    assert "spark.driver.host" not in conf
    assert conf["spark.master"] == "spark://spark-master.lakehouse.svc.cluster.local:7077"


def test_a_new_classic_session_drops_the_file_systems_a_stopped_one_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10: Hadoop's FileSystem cache in pyspark's JVM outlives a stopped session; the next session's
    driver must not get the earlier session's s3a:// instance (its endpoint), so it is emptied first."""
    from pyspark import SparkContext

    from lakehouse_sdk.clients.spark import forget_stopped_sessions_file_systems

    closed: list[bool] = []
    file_system = SimpleNamespace(closeAll=lambda: closed.append(True))
    jvm = SimpleNamespace(org=SimpleNamespace(apache=SimpleNamespace(hadoop=SimpleNamespace(fs=SimpleNamespace(
        FileSystem=file_system)))))  # fmt: skip
    monkeypatch.setattr(SparkContext, "_jvm", None)
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    assert not forget_stopped_sessions_file_systems()  # no JVM yet: the first session starts an empty one
    monkeypatch.setattr(SparkContext, "_jvm", jvm)
    monkeypatch.setattr(SparkContext, "_active_spark_context", object())
    assert not forget_stopped_sessions_file_systems()  # an active session is reused as it is
    assert closed == []
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    assert forget_stopped_sessions_file_systems()  # a JVM that outlived a stopped session
    assert closed == [True]


def test_unreachable_service_error_names_service_endpoint_mode_and_next_step() -> None:
    port = _closed_port()
    lh = Lakehouse(connect_timeout=1, nodeport_range="1-65535", nodeports={"trino": port})
    with pytest.raises(ServiceUnavailableError) as info:
        lh.trino()
    err = info.value
    assert err.service == "trino"
    assert err.endpoint == f"http://localhost:{port}"
    text = str(err)
    assert "mode 'nodeport'" in text
    assert "lakehouse up --local" in text
    assert "port from keyword argument" in text
    assert isinstance(err, ConnectionError)


def test_unreachable_in_cluster_service_names_namespace() -> None:
    lh = Lakehouse(
        mode="in-cluster",
        namespace="data",
        connect_timeout=0.5,
        endpoints={"postgres": f"postgresql://127.0.0.1:{_closed_port()}"},
    )
    with pytest.raises(ServiceUnavailableError) as info:
        lh.postgres()
    assert "explicit URL from keyword argument" in str(info.value)


def test_missing_extra_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] == "pyspark":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr("importlib.import_module", lambda name: fake_import(name))
    from lakehouse_sdk.clients.spark import spark_session

    with pytest.raises(MissingDependencyError) as info:
        spark_session(Lakehouse().settings, {})
    assert "pip install 'lakehouse-sdk[spark]'" in str(info.value)
    assert isinstance(info.value, ImportError)


@pytest.mark.parametrize("verify", [False, True])
def test_trino_verify_setting_wins_over_requests_ca_bundle(monkeypatch: pytest.MonkeyPatch, verify: bool) -> None:
    """requests lets REQUESTS_CA_BUNDLE override a session's verify (psf/requests #3829): trino.verify=false must
    stay off; with verification on, the environment's bundle is the trust store, as for any requests user."""
    import requests
    from requests.adapters import BaseAdapter

    from lakehouse_sdk.clients.trino import bounded_session

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/somebody-elses-bundle.pem")
    seen: list[object] = []

    class Recorder(BaseAdapter):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            seen.append(kwargs["verify"])
            response = requests.Response()
            response.status_code, response._content, response.request = 200, b"{}", request
            return response

        def close(self) -> None:
            pass

    lh = Lakehouse(endpoints={"trino": "https://trino.example:8443"}, trino={"verify": verify})
    session = bounded_session(lh.settings, lh.endpoint("trino"))
    session.mount("https://", Recorder())
    session.get("https://trino.example:8443/v1/info")
    assert seen == [verify if verify is False else "/etc/ssl/somebody-elses-bundle.pem"]
