"""The bundled manifests on a real kubelet: ``provision()`` brings every pod up, and the SDK's clients work
against the provisioned stack through its NodePorts.

Images come from ``scripts/build-images.sh`` (built here, loaded into the node's containerd under the
manifests' references; nothing is pulled). The metastore's init container fetches its jars from a jar
server on the host address of the node's network, never from outside this machine.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk import (
    ConfigurationError,
    Lakehouse,
    LakehouseSettings,
    ProvisionOptions,
    ProvisionResult,
    provision,
    teardown,
)
from lakehouse_sdk.kube.options import default_resources
from lakehouse_sdk.settings import default_cache_dir
from lakehouse_sdk.stack.components import layers
from tests.kube.realnode import RealNode

IMAGES = Path(os.environ.get("LAKEHOUSE_IMAGES_DIR") or default_cache_dir() / "images")
NAMESPACE = "lakehouse"


@dataclass
class Provisioned:
    node: RealNode
    settings: LakehouseSettings
    options: ProvisionOptions
    result: ProvisionResult
    seconds: float


@pytest.fixture(scope="module")
def jar_server(real_node: RealNode) -> Iterator[str]:
    """The Maven layout of the jars the manifests' init containers fetch, served on the node's host address."""
    root = IMAGES / "maven"
    if not root.is_dir():
        pytest.fail(f"no jar repository at {root}: run scripts/build-images.sh", pytrace=False)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer((real_node.host_ip, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{real_node.host_ip}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _load_images(node: RealNode) -> list[str]:
    listing = IMAGES / "images.tsv"
    if not listing.is_file():
        pytest.fail(f"no images at {IMAGES}: run scripts/build-images.sh", pytrace=False)
    loaded = []
    for line in listing.read_text().splitlines():
        reference, archive = line.split("\t")[:2]
        node.load_image(IMAGES / archive)
        loaded.append(reference)
    return loaded


def provision_on_node(
    real_node: RealNode, jar_server: str, settings: LakehouseSettings, what: str, **options: Any
) -> Provisioned:
    """Load the images, then ``provision()`` with ``options`` on the real node, timed."""
    loaded = _load_images(real_node)
    assert set(loaded) <= set(real_node.images())
    # two cores: CPU requests small enough for every pod to fit on one node (memory as by default)
    # (a Spark worker offers at least one core whatever its request)
    resources = {name: res.model_dump() | {"cpu": "100m"} for name, res in default_resources().items()}
    built = ProvisionOptions.build(maven_repository=jar_server, timeout=900, resources=resources, **options)
    start = time.monotonic()
    result = provision(built, settings=settings, progress=print)
    seconds = time.monotonic() - start
    print(f"\nprovisioned {what} in {seconds:.0f}s")
    return Provisioned(real_node, settings, built, result, seconds)


@pytest.fixture(scope="module")
def provisioned(real_node: RealNode, jar_server: str) -> Iterator[Provisioned]:
    settings = LakehouseSettings(kube={"kubeconfig": real_node.kubeconfig}, namespace=NAMESPACE)
    stack = provision_on_node(
        real_node, jar_server, settings, "on the real node", persistent=True, network_policies=True
    )
    options = stack.options
    try:
        yield stack
    finally:
        kept = teardown(options, settings=settings)
        print(kept)
        # without delete_data: the volumes and the credentials their data was written with, nothing else
        left = set(real_node.kubectl("get", "all,pvc,secret,configmap,job", "-n", NAMESPACE, "-o", "name").split())
        claims = {f"persistentvolumeclaim/data-{name}-0" for name in ("object-store", "postgres")}
        assert left - {"configmap/kube-root-ca.crt"} == claims | {"secret/lakehouse-credentials"}, left
        gone = teardown(options, settings=settings, delete_data=True)
        print(gone)
        assert gone.namespace_deleted
        leftover = real_node.kubectl("get", "all,pvc", "-n", NAMESPACE, "-o", "name", check=False)
        assert "pod/" not in leftover and "persistentvolumeclaim/" not in leftover, leftover


def nodeport_lakehouse(provisioned: Provisioned) -> Lakehouse:
    """A Lakehouse on the host, through the node's NodePorts, with the credentials in the stack's Secret now."""
    return Lakehouse(
        mode="nodeport",
        nodeport_host=provisioned.node.node_ip,
        namespace=NAMESPACE,
        kube={"kubeconfig": provisioned.node.kubeconfig, "credentials_from_secret": True},
        connect_timeout=10,
    )


def wait_healthy(lh: Lakehouse, seconds: float) -> None:
    """Ready pods answer their probes; the clients' checks (a query over both catalogs through the metastore,
    the object store's buckets) may need a little longer."""
    deadline = time.monotonic() + seconds
    report = lh.health(timeout=30)
    while not report.ok and time.monotonic() < deadline:
        time.sleep(5)
        report = lh.health(timeout=30)
    assert report.ok, str(report)


@pytest.fixture(scope="module")
def lh(provisioned: Provisioned) -> Lakehouse:
    """A Lakehouse on the host, through the node's NodePorts, with the credentials provision() generated."""
    return nodeport_lakehouse(provisioned)


def assert_every_layer_ready(provisioned: Provisioned, namespace: str) -> None:
    """Every layer in the startup order, a running pod per component, and the bucket Job done."""
    names = [layer.name for layer in provisioned.result.layers]
    assert names == ["namespace", "config", *layers()]
    pods = provisioned.node.kubectl_json("get", "pods", "-n", namespace)["items"]
    running = {p["metadata"]["labels"]["app.kubernetes.io/name"] for p in pods if p["status"]["phase"] == "Running"}
    assert running == {
        "object-store",
        "postgres",
        "hive-metastore",
        "spark-master",
        "spark-worker",
        "spark-connect",
        "trino",
    }
    job = provisioned.node.kubectl_json("get", "job", "minio-init", "-n", namespace)
    assert job["status"].get("succeeded") == 1


def test_every_layer_became_ready_in_the_startup_order(provisioned: Provisioned) -> None:
    assert_every_layer_ready(provisioned, NAMESPACE)


def test_health_through_the_nodeports(lh: Lakehouse) -> None:
    report = lh.health(timeout=30)
    assert report.ok, str(report)
    assert {r.service for r in report.results if r.status == "healthy"} >= {"minio", "postgres", "trino"}


def test_the_object_store_holds_what_the_init_job_created(lh: Lakehouse) -> None:
    s3 = lh.s3()
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {"warehouse", "trino-spooling"} <= buckets  # the warehouse and Trino's spooled segments
    key = f"real-node/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket="warehouse", Key=key, Body=b"pods are real")
    assert s3.get_object(Bucket="warehouse", Key=key)["Body"].read() == b"pods are real"
    listed = s3.list_objects_v2(Bucket="warehouse", Prefix="real-node/")
    assert key in {o["Key"] for o in listed.get("Contents", [])}


def test_trino_writes_an_iceberg_table_that_pyiceberg_the_metastore_and_postgres_see(lh: Lakehouse) -> None:
    lh.query("CREATE SCHEMA IF NOT EXISTS iceberg.realnode")
    lh.query("DROP TABLE IF EXISTS iceberg.realnode.numbers")
    lh.query("CREATE TABLE iceberg.realnode.numbers AS SELECT x AS id FROM UNNEST(sequence(1, 1000)) AS t(x)")
    frame = lh.query("SELECT count(*) AS n, sum(id) AS total FROM iceberg.realnode.numbers")
    assert (int(frame["n"][0]), int(frame["total"][0])) == (1000, 500500)

    table = lh.iceberg().load_table("realnode.numbers").scan().to_arrow()
    assert (table.num_rows, sum(table.column("id").to_pylist())) == (1000, 500500)

    with lh.metastore() as hms:
        info = hms.table("realnode", "numbers")
    assert info.is_iceberg
    assert (info.location or "").startswith(("s3://warehouse/", "s3a://warehouse/"))

    with lh.postgres() as conn:
        row = conn.execute('SELECT count(*) FROM "TBLS" WHERE "TBL_NAME" = %s', ("numbers",)).fetchone()
    assert row is not None and row[0] == 1


def _s3a_endpoint_of_the_driver(spark: Any) -> str:
    """The endpoint of the S3AFileSystem the driver JVM uses for ``s3a://warehouse`` (Hadoop's cached one)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("s3a://warehouse/"), conf)
    return str(fs.getConf().get("fs.s3a.endpoint"))


def test_spark_driver_here_executors_in_pods(lh: Lakehouse) -> None:
    """The driver runs in this process; the master and the executor run in pods and fetch its jars from it.

    Trino then reads what Spark wrote, and the metadata file the metastore names is in the object store.
    Issue 10: that failed in full test runs (ICEBERG_MISSING_METADATA, an empty listing of the table's
    metadata/) because the integration tests' classic sessions on the local stack ran earlier in the same
    Python process: pyspark keeps its JVM, Hadoop kept the stopped session's ``s3a://warehouse`` file system
    (the local stack's endpoint) and handed it to this session's driver, which wrote the Iceberg metadata
    there while the executors wrote the data files here. A stopped session on another endpoint comes first
    here, so the check does not depend on which tests ran before.
    """
    from pyspark.sql import SparkSession

    from lakehouse_sdk.clients.spark import forget_stopped_sessions_file_systems

    # the trap starts from an empty cache: earlier tests of this process (the local stack's sessions) left theirs
    forget_stopped_sessions_file_systems()
    conf = lh.spark_conf(app_name="another-object-store") | {
        "spark.master": "local[1]",
        "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:9",  # nothing listens: no request is made
    }
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    other = builder.getOrCreate()
    try:
        assert _s3a_endpoint_of_the_driver(other) == "http://127.0.0.1:9"
    finally:
        other.stop()

    spark = lh.spark(app_name="real-node-test")
    try:
        assert _s3a_endpoint_of_the_driver(spark) == lh.endpoint("minio").url
        # tasks run where the executor runs: in the worker pod (its host name is the pod's)
        hosts = spark.sparkContext.parallelize(range(4), 2).map(lambda _: socket.gethostname()).distinct().collect()
        assert hosts and all(host.startswith("spark-worker-") for host in hosts), hosts
        spark.range(1, 101).writeTo("iceberg.realnode.spark_numbers").createOrReplace()
        rows = spark.sql("SELECT count(*) AS n, sum(id) AS s FROM iceberg.realnode.spark_numbers").collect()
        assert (rows[0]["n"], rows[0]["s"]) == (100, 5050)
    finally:
        spark.stop()
    with lh.metastore() as hms:
        location = hms.table("realnode", "spark_numbers").metadata_location or ""
    bucket, _, key = location.partition("://")[2].partition("/")
    listed = lh.s3().list_objects_v2(Bucket=bucket, Prefix=key.rsplit("/", 1)[0])
    files = [o["Key"] for o in listed.get("Contents", [])]
    assert key in files, (location, files)
    frame = lh.query("SELECT count(*) AS n, sum(id) AS s FROM iceberg.realnode.spark_numbers")
    assert (int(frame["n"][0]), int(frame["s"][0])) == (100, 5050)


def _connect_round_trip(lh: Lakehouse, table: str) -> None:
    """Write ``iceberg.realnode.<table>`` over Spark Connect (the driver is the Connect server's pod), read it
    back, and have Trino read the same rows."""
    spark = lh.spark(app_name="real-node-connect")
    try:
        assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
        spark.range(1, 201).selectExpr("id", "id * 2 AS twice").writeTo(f"iceberg.realnode.{table}").createOrReplace()
        rows = spark.sql(f"SELECT count(*) AS n, sum(twice) AS s FROM iceberg.realnode.{table}").collect()
        assert (rows[0]["n"], rows[0]["s"]) == (200, 40200)
    finally:
        spark.stop()
    frame = lh.query(f"SELECT count(*) AS n, sum(twice) AS s FROM iceberg.realnode.{table}")
    assert (int(frame["n"][0]), int(frame["s"][0])) == (200, 40200)


def test_spark_connect_through_the_nodeport_with_the_secrets_token(lh: Lakehouse) -> None:
    """Connect from the host: no JVM here, the token read from the credentials Secret."""
    with Lakehouse(lh.settings.with_overrides(spark={"connect": "true"})) as connect:
        _connect_round_trip(connect, "connect_nodeport")
    # the settings keep the Secret's S3 keys but not its token
    wrong = {"connect": "true", "connect_token": "not-the-token"}
    refused = Lakehouse(lh.settings.with_overrides(spark=wrong, kube={"credentials_from_secret": False}))
    with pytest.raises(ConfigurationError, match=r"spark\.connect_token"):
        refused.spark()


def test_port_forward_mode_over_the_kubelets_streams(provisioned: Provisioned) -> None:
    """The same stack through port-forwards (API server → kubelet → pod), as from a laptop without NodePorts."""
    with Lakehouse(
        mode="port-forward",
        namespace=NAMESPACE,
        kube={"kubeconfig": provisioned.node.kubeconfig, "credentials_from_secret": True},
        connect_timeout=10,
    ) as lh:
        trino = lh.endpoint("trino")
        assert (trino.mode, trino.host) == ("port-forward", "127.0.0.1")
        assert "warehouse" in {b["Name"] for b in lh.s3().list_buckets()["Buckets"]}
        frame = lh.query("SELECT count(*) AS n, sum(id) AS total FROM iceberg.realnode.numbers")
        assert (int(frame["n"][0]), int(frame["total"][0])) == (1000, 500500)
        _spooled_query(lh)  # segment URIs name the coordinator as the client reached it: the forward
        with lh.postgres() as conn:
            row = conn.execute('SELECT count(*) FROM "DBS"').fetchone()
        assert row is not None and row[0] >= 2  # default and realnode
        # Spark too: in port-forward mode lh.spark() is a Spark Connect session through a forward
        assert lh.endpoint("spark-connect").mode == "port-forward"
        _connect_round_trip(lh, "connect_forwarded")


SPOOL_ROWS = 200_000
SPOOL_SQL = (
    "SELECT a * 1000 + b AS id, 'name-' || CAST(b AS varchar) AS name "
    "FROM UNNEST(sequence(0, 199)) AS t1(a) CROSS JOIN UNNEST(sequence(0, 999)) AS t2(b)"
)


def _spooled_query(lh: Lakehouse) -> None:
    """A result large enough to be spooled, read through ``lh`` and checked; the client's log says it was."""
    import logging

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("lakehouse_sdk.query")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        table = lh.query(SPOOL_SQL, output="arrow")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert (table.num_rows, sum(table.column("id").to_pylist())) == (SPOOL_ROWS, sum(range(SPOOL_ROWS)))
    spooled = [r for r in records if "over the spooling protocol" in r]
    assert spooled and " 0 fetched from storage" not in spooled[0], records


def test_spooled_results_through_the_nodeport(lh: Lakehouse) -> None:
    _spooled_query(lh)


IN_CLUSTER_CLIENT = """
import json, logging, sys
sys.path.insert(0, {tests!r})
from lakehouse_sdk import Lakehouse
from tests.kube.test_real_stack import _spooled_query
lh = Lakehouse(mode="in-cluster", namespace={namespace!r}, connect_timeout=10)
_spooled_query(lh)
print(json.dumps({{"trino": lh.endpoint("trino").url}}))
"""


def test_spooled_results_in_cluster_by_service_dns(provisioned: Provisioned, tmp_path: Path) -> None:
    """In-cluster mode: a client with the cluster's DNS and the Service network (not in a pod: no image holds
    the SDK), so the SDK reaches Trino by its Service name and the segments come back by it."""
    import subprocess
    import sys

    node = provisioned.node
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(
        f"search {NAMESPACE}.svc.cluster.local svc.cluster.local cluster.local\n"
        f"nameserver {node.network.dns_service_ip}\n"
    )
    script = tmp_path / "client.py"
    script.write_text(IN_CLUSTER_CLIENT.format(tests=str(Path(__file__).parents[2]), namespace=NAMESPACE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["KUBERNETES_SERVICE_HOST"] = "10.213.96.1"  # what a pod sees; the SDK's auto mode would pick in-cluster
    command = f"mount --bind {resolv} /etc/resolv.conf && exec {sys.executable} {script}"
    # the host routes the service range to the node, whose kube-proxy forwards it; a private mount namespace
    # gives the client the cluster's DNS
    proc = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["trino"] == (
        f"http://trino.{NAMESPACE}.svc.cluster.local:8080"
    )


def test_scale_workers_registers_three_spark_workers_at_the_master(provisioned: Provisioned, lh: Lakehouse) -> None:
    from lakehouse_sdk.kube.registered import alive_spark_workers

    lh.scale_workers(3, options=provisioned.options)
    ui = lh.endpoint("spark-master-ui").url
    assert alive_spark_workers(ui, 10) == 3
    doc = json.loads(urllib.request.urlopen(f"{ui}/json/", timeout=10).read())
    alive = [w for w in doc["workers"] if w["state"] == "ALIVE"]
    pods = provisioned.node.kubectl_json("get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=spark-worker")
    # one registration per worker pod, from the pods' own addresses
    assert sorted(w["host"] for w in alive) == sorted(p["status"]["podIP"] for p in pods["items"])
    lh.scale_workers(1, options=provisioned.options)  # back to one: two cores
    assert alive_spark_workers(ui, 10) == 1


def test_trino_workers_join_the_coordinator_and_run_query_splits(provisioned: Provisioned, lh: Lakehouse) -> None:
    lh.scale_trino_workers(2, options=provisioned.options)
    try:
        nodes = lh.query("SELECT node_id, coordinator, state FROM system.runtime.nodes")
        workers = set(nodes[~nodes["coordinator"]]["node_id"])
        assert len(workers) == 2 and set(nodes["state"]) == {"active"}, nodes
        # six INSERTs: six data files, so six splits to spread over the three nodes
        lh.query("CREATE TABLE IF NOT EXISTS iceberg.realnode.spread (id bigint)")
        lh.query("DELETE FROM iceberg.realnode.spread")
        for part in range(6):
            lh.query(f"INSERT INTO iceberg.realnode.spread SELECT x FROM UNNEST(sequence({part * 100 + 1}, "
                     f"{part * 100 + 100})) AS t(x)")  # fmt: skip
        tag = uuid.uuid4().hex
        frame = lh.query(f"SELECT count(*) AS n, sum(id) AS s FROM iceberg.realnode.spread -- {tag}")
        assert (int(frame["n"][0]), int(frame["s"][0])) == (600, 180300)
        tasks = lh.query(
            "SELECT t.node_id, t.completed_splits FROM system.runtime.tasks t JOIN system.runtime.queries q "
            f"ON t.query_id = q.query_id WHERE q.query LIKE '%-- {tag}' AND q.query NOT LIKE '%system.runtime%'"
        )
        ran = {row.node_id for row in tasks.itertuples() if row.completed_splits > 0}
        assert ran & workers, f"no worker ran a split of the query: {tasks.to_dict('records')}"
    finally:
        lh.scale_trino_workers(0, options=provisioned.options)


def test_deleted_pods_come_back_with_their_data(provisioned: Provisioned, lh: Lakehouse) -> None:
    """With persistent=True the object store and PostgreSQL keep their volumes: a recreated pod serves the
    same table, through a recreated metastore and Trino; the Spark worker joins a recreated master."""
    from lakehouse_sdk.kube.manage import status
    from lakehouse_sdk.kube.registered import alive_spark_workers, wait_for_workers

    node = provisioned.node
    selector = "app.kubernetes.io/name in (object-store,postgres,hive-metastore,spark-master,trino)"
    before = {p["metadata"]["uid"] for p in node.kubectl_json("get", "pods", "-n", NAMESPACE, "-l", selector)["items"]}
    node.kubectl("delete", "pods", "-n", NAMESPACE, "-l", selector, "--wait=true", "--timeout=120s")

    def recreated_and_ready() -> bool:
        pods = node.kubectl_json("get", "pods", "-n", NAMESPACE, "-l", selector)["items"]
        ready = [
            p for p in pods
            if p["metadata"]["uid"] not in before
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        ]  # fmt: skip
        return len(ready) == len(pods) == 5

    deadline = time.monotonic() + 600
    while not recreated_and_ready():
        assert time.monotonic() < deadline, node.kubectl("get", "pods", "-n", NAMESPACE, "-o", "wide")
        time.sleep(3)
    assert all(row.ready for row in status(provisioned.options, settings=provisioned.settings))
    wait_healthy(lh, 120)
    frame = lh.query("SELECT count(*) AS n, sum(id) AS total FROM iceberg.realnode.numbers")
    assert (int(frame["n"][0]), int(frame["total"][0])) == (1000, 500500)
    assert "warehouse" in {b["Name"] for b in lh.s3().list_buckets()["Buckets"]}
    # the worker finds the new master by the Service name it was given (preferConfiguredMasterAddress)
    ui = lh.endpoint("spark-master-ui").url
    wait_for_workers(lambda: alive_spark_workers(ui, 10), "the new Spark master", 1, 180, hint="worker lost")


def test_rotated_credentials_keep_the_data_and_lock_the_old_ones_out(provisioned: Provisioned, lh: Lakehouse) -> None:
    """rotate_credentials(): the password changes inside PostgreSQL, every workload rolls onto the new Secret,
    the table reads back with the new credentials, and the old S3 keys and password are refused."""
    import boto3
    import psycopg
    from botocore.exceptions import ClientError

    from lakehouse_sdk import rotate_credentials
    from lakehouse_sdk.kube.manage import read_credentials

    old = read_credentials(provisioned.settings, namespace=NAMESPACE)
    result = rotate_credentials(provisioned.options, settings=provisioned.settings, progress=print)
    print(f"rotated in {result.seconds:.0f}s")
    new = read_credentials(provisioned.settings, namespace=NAMESPACE)
    assert new.origin == "generated"
    assert all(new.values()[k] != old.values()[k] for k in new.values())
    rolled = {name for layer in result.layers for name in layer.changed}
    assert {"StatefulSet/object-store", "Deployment/hive-metastore", "Deployment/trino"} <= rolled, rolled

    fresh = nodeport_lakehouse(provisioned)  # reads the rotated credentials from the Secret
    wait_healthy(fresh, 180)
    frame = fresh.query("SELECT count(*) AS n, sum(id) AS total FROM iceberg.realnode.numbers")
    assert (int(frame["n"][0]), int(frame["total"][0])) == (1000, 500500)

    s3 = lh.endpoint("minio").url
    stale = boto3.client(
        "s3", endpoint_url=s3, aws_access_key_id=old.s3_access_key, aws_secret_access_key=old.s3_secret_key,
        region_name="us-east-1",
    )  # fmt: skip
    with pytest.raises(ClientError, match=r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied"):
        stale.list_buckets()
    pg = lh.endpoint("postgres")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=pg.host, port=pg.port, user="hive", password=old.postgres_password, dbname="metastore",
            connect_timeout=10,
        ).close()  # fmt: skip


def _failing_provision(node: RealNode, namespace: str, **images: str) -> str:
    from lakehouse_sdk import ProvisionError

    settings = LakehouseSettings(kube={"kubeconfig": node.kubeconfig})
    # ClusterIP: the NodePorts belong to the stack provisioned by the module fixture
    options = ProvisionOptions.build(namespace=namespace, images=images, timeout=240, service_type="ClusterIP")
    start = time.monotonic()
    try:
        with pytest.raises(ProvisionError) as info:
            provision(options, settings=settings)
        assert time.monotonic() - start < 240, "a container that cannot start must fail before the timeout"
    finally:
        teardown(options, settings=settings, delete_data=True)
    return str(info.value)


def test_a_missing_image_fails_provision_naming_pod_container_and_reason(provisioned: Provisioned) -> None:
    message = _failing_provision(
        provisioned.node, "lakehouse-no-image", seaweedfs="docker.io/chrislusf/seaweedfs:0.0-not-built"
    )
    assert "object-store" in message
    assert "seaweedfs" in message
    assert "ErrImagePull" in message or "ImagePullBackOff" in message


def test_a_crashing_container_fails_provision_with_its_last_log_lines(provisioned: Provisioned) -> None:
    # the postgres image as the object store: its entrypoint runs, fails on the weed arguments, and exits
    message = _failing_provision(provisioned.node, "lakehouse-crash", seaweedfs="docker.io/library/postgres:15")
    assert "object-store" in message
    assert "CrashLoopBackOff" in message or "Error" in message
    assert "log tail of seaweedfs" in message
