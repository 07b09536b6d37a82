"""The bundled manifests on a real kubelet: ``provision()`` brings every pod up, and the SDK's clients work
against the provisioned stack through its NodePorts.

Images come from ``scripts/build-images.sh`` (built here, loaded into the node's containerd under the
manifests' references; nothing is pulled). The metastore's init container fetches its jars from a jar
server on the host address of the node's network, never from outside this machine.
"""

from __future__ import annotations

import functools
import http.server
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse_sdk import Lakehouse, LakehouseSettings, ProvisionOptions, ProvisionResult, provision, teardown
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


@pytest.fixture(scope="module")
def provisioned(real_node: RealNode, jar_server: str) -> Iterator[Provisioned]:
    loaded = _load_images(real_node)
    assert set(loaded) <= set(real_node.images())
    settings = LakehouseSettings(kube={"kubeconfig": real_node.kubeconfig}, namespace=NAMESPACE)
    # two cores: CPU requests small enough for every pod to fit on one node (memory as by default)
    resources = {
        name: res.model_dump() | {"cpu": "1" if name == "spark-worker" else "100m"}
        for name, res in default_resources().items()
    }
    options = ProvisionOptions.build(maven_repository=jar_server, timeout=900, resources=resources)
    start = time.monotonic()
    result = provision(options, settings=settings, progress=print)
    seconds = time.monotonic() - start
    print(f"\nprovisioned on the real node in {seconds:.0f}s")
    try:
        yield Provisioned(real_node, settings, options, result, seconds)
    finally:
        gone = teardown(options, settings=settings, delete_data=True)
        print(gone)
        leftover = real_node.kubectl("get", "all,pvc", "-n", NAMESPACE, "-o", "name", check=False)
        assert "pod/" not in leftover and "persistentvolumeclaim/" not in leftover, leftover


@pytest.fixture(scope="module")
def lh(provisioned: Provisioned) -> Lakehouse:
    """A Lakehouse on the host, through the node's NodePorts, with the credentials provision() generated."""
    return Lakehouse(
        mode="nodeport",
        nodeport_host=provisioned.node.node_ip,
        namespace=NAMESPACE,
        kube={"kubeconfig": provisioned.node.kubeconfig, "credentials_from_secret": True},
        connect_timeout=10,
    )


def test_every_layer_became_ready_in_the_startup_order(provisioned: Provisioned) -> None:
    names = [layer.name for layer in provisioned.result.layers]
    assert names == ["namespace", "config", *layers()]
    pods = provisioned.node.kubectl_json("get", "pods", "-n", NAMESPACE)["items"]
    running = {p["metadata"]["labels"]["app.kubernetes.io/name"] for p in pods if p["status"]["phase"] == "Running"}
    assert running == {"object-store", "postgres", "hive-metastore", "spark-master", "spark-worker", "trino"}
    job = provisioned.node.kubectl_json("get", "job", "minio-init", "-n", NAMESPACE)
    assert job["status"].get("succeeded") == 1


def test_health_through_the_nodeports(lh: Lakehouse) -> None:
    report = lh.health(timeout=30)
    assert report.ok, str(report)
    assert {r.service for r in report.results if r.status == "healthy"} >= {"minio", "postgres", "trino"}


def test_the_object_store_holds_what_the_init_job_created(lh: Lakehouse) -> None:
    s3 = lh.s3()
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert "warehouse" in buckets
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


def test_spark_driver_here_executors_in_pods(lh: Lakehouse) -> None:
    """The driver runs in this process; the master and the executor run in pods and fetch its jars from it.

    Trino reading what Spark wrote is checked on the local stack (tests/integration); on real pods it failed
    once in three runs with ICEBERG_MISSING_METADATA on a loaded machine, not yet explained (issue 10).
    """
    spark = lh.spark(app_name="real-node-test")
    try:
        # tasks run where the executor runs: in the worker pod (its host name is the pod's)
        hosts = spark.sparkContext.parallelize(range(4), 2).map(lambda _: socket.gethostname()).distinct().collect()
        assert hosts and all(host.startswith("spark-worker-") for host in hosts), hosts
        spark.range(1, 101).writeTo("iceberg.realnode.spark_numbers").createOrReplace()
        rows = spark.sql("SELECT count(*) AS n, sum(id) AS s FROM iceberg.realnode.spark_numbers").collect()
        assert (rows[0]["n"], rows[0]["s"]) == (100, 5050)
    finally:
        spark.stop()


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
        with lh.postgres() as conn:
            row = conn.execute('SELECT count(*) FROM "DBS"').fetchone()
        assert row is not None and row[0] >= 2  # default and realnode


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
