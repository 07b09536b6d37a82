"""Secure mode on a real kubelet, with NetworkPolicies: ``provision()`` brings every pod up with TLS and Trino
passwords, and the SDK's clients work through the NodePorts with the stack's CA, while plain clients are refused.

The images and the jar server are those of ``test_real_stack.py`` (``scripts/build-images.sh``); nothing is pulled.
The node's bridge CNI does not enforce NetworkPolicies: they are checked to be in place, not to drop packets.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography import x509

from lakehouse_sdk import (
    ConfigurationError,
    Lakehouse,
    LakehouseSettings,
    ServiceUnavailableError,
    teardown,
)
from lakehouse_sdk.stack.components import COMPONENTS
from tests.kube.realnode import RealNode
from tests.kube.test_real_stack import (  # noqa: F401
    Provisioned,
    assert_every_layer_ready,
    jar_server,
    provision_on_node,
    wait_healthy,
)

NAMESPACE = "lakehouse-secure"


@pytest.fixture(scope="module")
def secure(real_node: RealNode, jar_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioned]:  # noqa: F811
    state = tmp_path_factory.mktemp("secure-state")
    settings = LakehouseSettings(
        kube={"kubeconfig": real_node.kubeconfig},
        namespace=NAMESPACE,
        secure=True,  # as LAKEHOUSE_SECURE=true: provision() takes it from the settings
        nodeport_host=real_node.node_ip,
        local={"state_dir": str(state)},
    )
    stack = provision_on_node(real_node, jar_server, settings, "in secure mode on the real node", network_policies=True)
    options = stack.options
    try:
        yield stack
    finally:
        gone = teardown(options, settings=settings, delete_data=True)
        print(gone)
        leftover = real_node.kubectl("get", "all,pvc,secret", "-n", NAMESPACE, "-o", "name", check=False)
        assert "pod/" not in leftover and "secret/lakehouse-tls" not in leftover, leftover


def _lakehouse_values(secure: Provisioned) -> dict[str, object]:
    """Through the node's NodePorts, with what the stack's Secrets hold: credentials, Trino password and CA
    (JSON-ready, for a process of its own too)."""
    return {
        "mode": "nodeport",
        "nodeport_host": secure.node.node_ip,
        "namespace": NAMESPACE,
        "kube": {"kubeconfig": str(secure.node.kubeconfig), "credentials_from_secret": True},
        "local": {"state_dir": str(secure.settings.local.state_path)},
        "connect_timeout": 10,
    }


def _lakehouse(secure: Provisioned, **overrides: object) -> Lakehouse:
    return Lakehouse(**{**_lakehouse_values(secure), **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lh(secure: Provisioned) -> Lakehouse:
    lh = _lakehouse(secure)
    wait_healthy(lh, 180)
    return lh


def test_every_layer_is_ready_and_the_network_policies_are_in_place(secure: Provisioned) -> None:
    assert_every_layer_ready(secure, NAMESPACE)  # the bucket Job created the buckets over https
    node = secure.node
    policies = {p["metadata"]["name"] for p in node.kubectl_json("get", "networkpolicy", "-n", NAMESPACE)["items"]}
    assert policies == {"default-deny", *(f"lakehouse-{name}" for name in COMPONENTS)}
    secrets = {s["metadata"]["name"]: s for s in node.kubectl_json("get", "secret", "-n", NAMESPACE)["items"]}
    assert secrets["lakehouse-tls"]["type"] == "kubernetes.io/tls"
    assert "lakehouse-trino-users" in secrets


def test_the_clients_get_the_ca_and_the_trino_password_from_the_stack(secure: Provisioned, lh: Lakehouse) -> None:
    ca = secure.settings.local.state_path / "kube" / NAMESPACE / "ca.pem"
    assert secure.result.ca_file == str(ca)
    assert lh.settings.secure and lh.settings.ca_bundle == ca
    assert lh.settings.trino.password is not None
    assert lh.endpoint("trino").url == f"https://{secure.node.node_ip}:30081"
    assert lh.endpoint("minio").url == f"https://{secure.node.node_ip}:30900"


@pytest.mark.parametrize("port", [30081, 30900])
def test_the_nodeports_serve_a_certificate_for_the_node_signed_by_the_stacks_ca(secure: Provisioned, port: int) -> None:
    ca = Path(secure.result.ca_file or "")
    context = ssl.create_default_context(cafile=str(ca))  # verifies the chain and the node's IP address
    address = (secure.node.node_ip, port)
    with (
        socket.create_connection(address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=secure.node.node_ip) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    assert cert.issuer == x509.load_pem_x509_certificate(ca.read_bytes()).subject


def test_s3_over_https(lh: Lakehouse) -> None:
    s3 = lh.s3()
    assert {"warehouse", "trino-spooling"} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    key = f"secure/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket="warehouse", Key=key, Body=b"over tls")
    assert s3.get_object(Bucket="warehouse", Key=key)["Body"].read() == b"over tls"


def test_trino_with_its_password_writes_through_the_metastore_on_verified_postgres(lh: Lakehouse) -> None:
    """Trino (https, password) writes an Iceberg table: its S3 client trusts the CA, the metastore reached
    PostgreSQL with sslmode=verify-full (it could not have started otherwise) and the table is in its database."""
    lh.query("CREATE SCHEMA IF NOT EXISTS iceberg.secure")
    lh.query("DROP TABLE IF EXISTS iceberg.secure.numbers")
    lh.query("CREATE TABLE iceberg.secure.numbers AS SELECT x AS id FROM UNNEST(sequence(1, 500)) AS t(x)")
    frame = lh.query("SELECT count(*) AS n, sum(id) AS total FROM iceberg.secure.numbers")
    assert (int(frame["n"][0]), int(frame["total"][0])) == (500, 125250)
    with lh.postgres() as conn:
        assert conn.pgconn.ssl_in_use
        row = conn.execute('SELECT count(*) FROM "TBLS" WHERE "TBL_NAME" = %s', ("numbers",)).fetchone()
        ssl_rows = conn.execute("SELECT count(*) FROM pg_stat_ssl WHERE ssl").fetchone()
    assert row is not None and row[0] == 1
    assert ssl_rows is not None and ssl_rows[0] >= 2  # this connection and the metastore's pool


def test_postgres_verify_full_and_no_plain_connection(secure: Provisioned, lh: Lakehouse) -> None:
    kwargs = {
        "host": secure.node.node_ip,
        "port": 30432,
        "user": lh.settings.postgres.user,
        "dbname": lh.settings.postgres.database,
        "password": lh.settings.postgres.password.get_secret_value(),
        "connect_timeout": 10,
    }
    ca = secure.result.ca_file
    with psycopg.connect(**kwargs, sslmode="verify-full", sslrootcert=ca) as conn:  # type: ignore[arg-type]
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(**kwargs, sslmode="disable")  # type: ignore[arg-type]


def test_a_wrong_trino_password_is_refused(secure: Provisioned, lh: Lakehouse) -> None:
    own = {"credentials_from_secret": False}
    wrong = Lakehouse(lh.settings.with_overrides(trino={"password": "not-the-password"}, kube=own))
    with pytest.raises(ConfigurationError, match=r"refused the login.*trino\.password"):
        wrong.query("SELECT 1")


def test_plain_http_to_trinos_port_is_refused_with_the_sdks_error(secure: Provisioned, lh: Lakehouse) -> None:
    own = {"credentials_from_secret": False}
    plain = Lakehouse(lh.settings.with_overrides(secure=False, ca_bundle=None, trino={"password": None}, kube=own))
    assert plain.endpoint("trino").url.startswith("http://")
    with pytest.raises(ServiceUnavailableError, match=r"speaks TLS.*LAKEHOUSE_SECURE=true"):
        plain.query("SELECT 1")


def _run_script(secure: Provisioned, script: Path, source: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """``source`` as a Python script in a process of its own (a driver JVM of its own), given the stack's
    Lakehouse values as its argument."""
    script.write_text(source)
    return subprocess.run(
        [sys.executable, str(script), json.dumps(_lakehouse_values(secure))],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _master_log(secure: Provisioned) -> str:
    return secure.node.kubectl("logs", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=spark-master", "--tail=-1")


SPARK_SCRIPT = """
import json, socket, sys
from lakehouse_sdk import Lakehouse

spark = Lakehouse(**json.loads(sys.argv[1])).spark(app_name="real-node-secure")
try:
    hosts = spark.sparkContext.parallelize(range(4), 2).map(lambda _: socket.gethostname()).distinct().collect()
    print("hosts", ",".join(sorted(hosts)))
    spark.sql("CREATE NAMESPACE IF NOT EXISTS iceberg.secure")
    spark.range(1, 101).writeTo("iceberg.secure.spark_numbers").createOrReplace()
finally:
    spark.stop()
"""


def test_a_classic_spark_session_here_with_executors_in_the_pods_over_tls(
    secure: Provisioned, lh: Lakehouse, tmp_path: Path
) -> None:
    """The driver (a process of its own) trusts the CA file, the executor (the worker pod) the pod's truststore:
    both reach the object store over https, and Trino reads what Spark wrote.

    A process of its own, as a user's script or notebook is: a driver's JVM takes its trust store when it starts
    (``spark.driver.extraJavaOptions``), and in a full test run this process already has one, started for the
    plain local stack."""
    proc = _run_script(secure, tmp_path / "secure_spark.py", SPARK_SCRIPT, timeout=900)
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-5000:]}"
    hosts = next(line for line in proc.stdout.splitlines() if line.startswith("hosts ")).split(" ", 1)[1]
    assert hosts and all(host.startswith("spark-worker-") for host in hosts.split(",")), hosts
    frame = lh.query("SELECT count(*) AS n, sum(id) AS s FROM iceberg.secure.spark_numbers")
    assert (int(frame["n"][0]), int(frame["s"][0])) == (100, 5050)


NO_SECRET_SCRIPT = """
import json, sys
from lakehouse_sdk import Lakehouse

# spark.authenticate off: the application asks the master for executors without the stack's secret
values = {**json.loads(sys.argv[1]), "spark": {"conf": {"spark.authenticate": "false", "spark.app.name": "no-secret"}}}
print("count", Lakehouse(**values).spark().range(3).count())
"""


def test_the_spark_daemons_refuse_an_application_without_the_secret(secure: Provisioned, tmp_path: Path) -> None:
    """The master and the workers run with ``spark.authenticate`` (the Secret's ``spark-auth-secret``); the
    sessions above sent it, this one does not and never gets registered."""
    assert "authentication enabled" in _master_log(secure)
    proc = _run_script(secure, tmp_path / "no_secret.py", NO_SECRET_SCRIPT, timeout=300)
    assert proc.returncode != 0 and "count 3" not in proc.stdout, proc.stdout[-2000:]
    # the master drops the connection (no SASL handshake), so the application gives up after its retries
    assert "All masters are unresponsive" in proc.stderr, proc.stderr[-6000:]
    assert "Registering app no-secret" not in _master_log(secure)


def test_spark_connect_jobs_run_with_the_secret_on_the_workers(lh: Lakehouse) -> None:
    """The Connect server (a driver in its pod) has the secret from its private properties copy: its
    executors on the workers register with it and run the job."""
    with Lakehouse(lh.settings.with_overrides(spark={"connect": "true"})) as connect:
        spark = connect.spark(app_name="secure-connect")
        try:
            spark.sql("CREATE NAMESPACE IF NOT EXISTS iceberg.secure")
            spark.range(1, 201).writeTo("iceberg.secure.connect_numbers").createOrReplace()
            rows = spark.sql("SELECT count(*) AS n, sum(id) AS s FROM iceberg.secure.connect_numbers").collect()
            assert (rows[0]["n"], rows[0]["s"]) == (200, 20100)
        finally:
            spark.stop()
