"""Secure mode, offline: what the settings turn into for the servers' configuration and for every client."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lakehouse_sdk import Lakehouse, LakehouseSettings
from lakehouse_sdk.clients._connect import tls_problem
from lakehouse_sdk.clients.iceberg import iceberg_properties
from lakehouse_sdk.clients.postgres import postgres_connect_kwargs
from lakehouse_sdk.clients.spark import spark_conf
from lakehouse_sdk.endpoints import security_line
from lakehouse_sdk.envvars import export_lines, tool_environment
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack.secure import StackTls
from lakehouse_sdk.tls import ensure_tls

TLS = StackTls(
    "/t/ca.pem", "/t/truststore.p12", "pw", "/t/server.pem", "/t/server.key", "/t/bundle.pem", "/t/p.db", 30091
)


@pytest.fixture
def secure(tmp_path: Path) -> Lakehouse:
    """Secure settings whose local stack already made its CA (as `lakehouse up --local` does)."""
    ensure_tls(tmp_path / "state" / "tls", ["localhost"])
    return Lakehouse(secure=True, trino={"password": "pw-123"}, local={"state_dir": tmp_path / "state"})


def test_servers_configuration_in_secure_mode() -> None:
    values = dataclasses.replace(LakehouseSettings().stack_values(), tls=TLS)
    ctx = stack_config.StackContext.local(values, {"minio": 30900, "hive-metastore": 30083, "postgres": 30432,
                                                   "trino": 30081, "spark-master": 30077, "spark-connect": 30152},
                                          trino_data_dir="/d")  # fmt: skip
    assert ctx.s3_endpoint == "https://127.0.0.1:30900"
    assert ctx.jdbc_url.endswith("/metastore?sslmode=verify-full&sslrootcert=/t/ca.pem")
    trino = stack_config.trino_config_properties(ctx)
    assert trino["http-server.https.port"] == "30081" and trino["http-server.http.port"] == "30091"
    assert trino["http-server.authentication.type"] == "PASSWORD"
    assert trino["internal-communication.shared-secret"] == "${ENV:LAKEHOUSE_TRINO_INTERNAL_SECRET}"
    assert "-Djavax.net.ssl.trustStore=/t/truststore.p12" in stack_config.trino_jvm_config(ctx).splitlines()
    assert stack_config.core_site(ctx)["fs.s3a.connection.ssl.enabled"] == "true"
    plain = stack_config.StackContext.local(LakehouseSettings().stack_values(), {"minio": 30900, "hive-metastore": 1,
                                            "postgres": 2, "trino": 3, "spark-master": 4, "spark-connect": 5},
                                            trino_data_dir="/d")  # fmt: skip
    assert "https" not in str(stack_config.trino_config_properties(plain)) and "ssl" not in plain.jdbc_url


def test_every_client_trusts_the_stacks_ca(secure: Lakehouse) -> None:
    s = secure.settings
    ca = str(s.tls_ca())
    assert ca.endswith("state/tls/ca.pem")
    assert secure.endpoint("trino").url.startswith("https://") and secure.endpoint("minio").url.startswith("https://")
    assert secure.endpoint("minio-console").url.startswith("http://")  # the web UI stays http on loopback
    assert s.tls_verify(True) == ca and s.tls_verify(False) is False
    pg = postgres_connect_kwargs(s, secure.endpoint("postgres"))
    assert (pg["sslmode"], pg["sslrootcert"]) == ("verify-full", ca)
    props = iceberg_properties(s, secure.endpoint("hive-metastore"), secure.endpoint("minio"))
    assert props["lakehouse.s3.ca-file"] == ca and props["py-io-impl"].endswith("TrustingPyArrowFileIO")
    conf = spark_conf(s, master=secure.endpoint("spark-master"), metastore=secure.endpoint("hive-metastore"),
                      s3=secure.endpoint("minio"))  # fmt: skip
    store = conf["spark.executor.extraJavaOptions"].split()[0].split("=", 1)[1]
    assert Path(store).is_file() and conf["spark.hadoop.fs.s3a.endpoint"].startswith("https://")


def test_an_explicit_sslmode_is_kept_and_the_ca_bundle_wins(secure: Lakehouse, tmp_path: Path) -> None:
    own = ensure_tls(tmp_path / "own", ["x"]).ca_cert
    lh = Lakehouse(secure=True, ca_bundle=own, postgres={"sslmode": "require"}, local={"state_dir": tmp_path / "s"})
    assert lh.settings.tls_ca() == own
    assert postgres_connect_kwargs(lh.settings, lh.endpoint("postgres"))["sslmode"] == "require"


def test_lakehouse_env_exports_what_the_tools_need(secure: Lakehouse) -> None:
    env = tool_environment(secure.settings, secure.endpoint)
    ca = str(secure.settings.tls_ca())
    assert (env["AWS_CA_BUNDLE"], env["PGSSLROOTCERT"], env["PGSSLMODE"]) == (ca, ca, "verify-full")
    assert env["TRINO_TRUSTSTORE_PATH"] == ca and env["TRINO_PASSWORD"] == "pw-123"
    assert env["PYICEBERG_CATALOG__ICEBERG__LAKEHOUSE__S3__CA_FILE"] == ca
    shown = export_lines(secure.settings, secure.endpoint)
    assert "pw-123" not in shown and 'TRINO_PASSWORD="$(lakehouse credentials --show trino.password)"' in shown
    assert "AWS_CA_BUNDLE" not in tool_environment(LakehouseSettings(), Lakehouse().endpoint)


def test_doctor_says_which_mode_is_on(secure: Lakehouse) -> None:
    assert security_line(LakehouseSettings()).startswith("secure mode: off (default)")
    line = security_line(secure.settings)
    assert line.startswith("secure mode: on (keyword argument)") and str(secure.settings.tls_ca()) in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "not trusted"),
        ("self-signed certificate in certificate chain", "not trusted"),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number", "answered in plain text"),
        ("connection refused", None),
    ],
)
def test_tls_failures_are_named(secure: Lakehouse, text: str, expected: str | None) -> None:
    problem = tls_problem(secure.settings, secure.endpoint("trino"), text)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


def test_secure_mode_refuses_a_postgresql_built_without_ssl(tmp_path: Path) -> None:
    from lakehouse_sdk.errors import StackError
    from lakehouse_sdk.local.services.postgres import _require_ssl_build

    def bin_dir(name: str, configure: str) -> Path:
        directory = tmp_path / name
        directory.mkdir()
        script = directory / "pg_config"
        script.write_text(f'#!/bin/sh\necho "{configure}"\n')
        script.chmod(0o755)
        return directory

    _require_ssl_build(bin_dir("debian", "'--with-openssl' '--with-icu'"))
    with pytest.raises(StackError, match=r"built without it.*LAKEHOUSE_LOCAL__POSTGRES_BIN="):
        _require_ssl_build(bin_dir("wheel", "'--without-icu' '--without-readline'"))
