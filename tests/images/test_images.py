"""Smoke tests of the images built by scripts/build-images.sh, run with podman.

Each test checks the part of the upstream image's interface that the manifests use, with the manifests'
own commands, arguments, environment and configuration read from manifests/*.yaml (see images/README.md).
Containers publish only on 127.0.0.1 (ports 41000-41999); a group of containers that talk to each other
shares one network namespace, with the manifests' Service names (postgres, minio, hive-metastore,
spark-master) mapped to 127.0.0.1 in /etc/hosts.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk.stack.probes import TRINO_CATALOGS_SETTLE_SECONDS
from tests.images.support import (
    TRINO_ULIMITS,
    BuiltImages,
    Podman,
    config_map,
    config_map_volume,
    container_spec,
    free_ports,
    http_json,
    http_status,
    manifest_docs,
    manifest_images,
    plain_env,
    port_open,
    wait_for,
)
from tests.trino_support import airlift_seconds

pytestmark = pytest.mark.images

SERVICE_HOSTS = ["postgres", "minio", "hive-metastore", "spark-master"]
# host ports: free ones in 41000-41999 (the 3xxxx range may be taken by a developer's local stack)
PG_PORT, S3_PORT, HMS_PORT, TRINO_PORT, SPARK_PORT, SPARK_UI_PORT, WORKER_UI_PORT, JAR_PORT = free_ports(8)


def secrets() -> dict[str, str]:
    """The manifests' Secret (placeholder credentials), decoded."""
    for doc in manifest_docs():
        if doc.get("kind") == "Secret" and doc["metadata"]["name"] == "lakehouse-credentials":
            return {k: base64.b64decode(v).decode() for k, v in doc["data"].items()}
    raise LookupError("no Secret lakehouse-credentials in the manifests")


def group_options(*ports: tuple[int, int]) -> list[str]:
    """Options of the container that owns a group's network namespace."""
    options = [f"--add-host={name}:127.0.0.1" for name in SERVICE_HOSTS]
    for host, container in ports:
        options += ["-p", f"127.0.0.1:{host}:{container}"]
    return options


def limits(spec: dict[str, Any]) -> list[str]:
    """The container's memory limit from the manifests, as podman's --memory (Mi -> m, Gi -> g)."""
    memory = spec.get("resources", {}).get("limits", {}).get("memory")
    if memory is None:
        return []
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", memory).groups()  # type: ignore[union-attr]
    return ["--memory", f"{number}{unit[0].lower()}"]


def joined(owner: str) -> list[str]:
    return ["--network", f"container:{owner}"]


def command_of(spec: dict[str, Any]) -> tuple[list[str] | None, list[str]]:
    """Kubernetes command/args as podman --entrypoint and arguments."""
    command: list[str] | None = spec.get("command")
    if command is None:
        return None, list(spec.get("args", []))
    return command[:1], [*command[1:], *spec.get("args", [])]


def start_postgres(podman: Podman, tmp: Path, *, options: list[str] | None = None) -> str:
    spec = container_spec("StatefulSet", "postgres", "postgres")
    data = tmp / "pgdata-volume"
    data.mkdir(mode=0o777, exist_ok=True)
    data.chmod(0o777)  # as an emptyDir
    name = podman.start(
        "postgres",
        spec["image"],
        env=plain_env(spec, secrets()),
        options=[*(options or []), *limits(spec), "-v", f"{data}:/var/lib/postgresql/data"],
    )
    probe = spec["readinessProbe"]["exec"]["command"]
    podman.wait(name, "postgres readiness probe", lambda: podman.exec(name, *probe).returncode == 0, 120)
    return name


def start_object_store(podman: Podman, *, options: list[str]) -> str:
    spec = container_spec("StatefulSet", "object-store", "seaweedfs")
    entrypoint, args = command_of(spec)
    name = podman.start(
        "object-store",
        spec["image"],
        *args,
        env=plain_env(spec, secrets()),
        options=[*options, *limits(spec)],
        entrypoint=entrypoint,
    )
    return name


def s3_client(port: int, access: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def run_bucket_job(podman: Podman, owner: str) -> subprocess.CompletedProcess[str]:
    spec = container_spec("Job", "minio-init", "create-buckets")
    entrypoint, args = command_of(spec)
    return podman.run(
        spec["image"],
        *args,
        env=plain_env(spec, secrets()),
        options=[*joined(owner), *limits(spec)],
        entrypoint=entrypoint,
        timeout=400,
    )


@pytest.fixture
def jar_server(built_images: BuiltImages) -> Iterator[str]:
    """The init-container jars (images/maven, filled by the build) over HTTP on 127.0.0.1."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(built_images.directory / "maven"))
    server = ThreadingHTTPServer(("127.0.0.1", JAR_PORT), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{JAR_PORT}/"
    finally:
        server.shutdown()
        server.server_close()


def fetch_jars(podman: Podman, jars: Path, repository: str) -> subprocess.CompletedProcess[str]:
    """The metastore's fetch-jars init container, its Maven repository URL pointed at ``repository``."""
    spec = container_spec("Deployment", "hive-metastore", "fetch-jars", init=True)
    entrypoint, args = command_of(spec)
    args = [re.sub(r"https?://[^\s/]+/maven2/", repository, a) for a in args]
    jars.mkdir(mode=0o777, exist_ok=True)
    jars.chmod(0o777)  # an emptyDir
    options = ["--network", "host", *limits(spec), "-v", f"{jars}:/jars"]
    return podman.run(spec["image"], *args, options=options, entrypoint=entrypoint)


# -- the archives ------------------------------------------------------------------------------------------


def test_every_manifest_image_is_built_under_its_reference(built_images: BuiltImages) -> None:
    assert set(built_images.archives) == manifest_images()
    for archive in built_images.archives.values():
        assert archive.stat().st_size > 0


@pytest.mark.parametrize(
    ("ref", "user", "entrypoint", "cmd", "workdir"),
    [
        ("docker.io/library/postgres:15", "", ["docker-entrypoint.sh"], ["postgres"], ""),
        ("docker.io/trinodb/trino:476", "trino:trino", [], ["/usr/lib/trino/bin/run-trino"], ""),
        ("docker.io/apache/hive:3.1.3", "hive", ["sh", "-c", "/entrypoint.sh"], [], "/opt/hive"),
        ("docker.io/apache/spark:4.1.4", "spark", ["/opt/entrypoint.sh"], [], "/opt/spark/work-dir"),
        ("docker.io/chrislusf/seaweedfs:4.48", "", ["/entrypoint.sh"], ["mini", "-dir=/data"], "/data"),
        ("docker.io/amazon/aws-cli:2.31.13", "", ["/usr/local/bin/aws"], [], "/aws"),
        ("docker.io/curlimages/curl:8.17.0", "curl_user", ["/entrypoint.sh"], ["curl"], "/home/curl_user"),
    ],
)
def test_image_config_matches_upstream(
    podman: Podman, ref: str, user: str, entrypoint: list[str], cmd: list[str], workdir: str
) -> None:
    import json

    config = json.loads(podman.cmd("image", "inspect", "--format", "{{json .Config}}", ref).stdout)
    assert config.get("User", "") == user
    assert (config.get("Entrypoint") or []) == entrypoint
    assert (config.get("Cmd") or []) == cmd
    assert config.get("WorkingDir", "") == workdir


# -- postgres ----------------------------------------------------------------------------------------------


def test_postgres_initialises_from_postgres_env_and_takes_a_password_login(podman: Podman, tmp_path: Path) -> None:
    import psycopg

    start_postgres(podman, tmp_path, options=group_options((PG_PORT, 5432)))
    password = secrets()["postgres-password"]
    with psycopg.connect(host="127.0.0.1", port=PG_PORT, user="hive", password=password, dbname="metastore") as conn:
        row = conn.execute(
            "select current_user, current_database(), current_setting('data_directory'), "
            "current_setting('server_version_num')::int / 10000"
        ).fetchone()
    assert row == ("hive", "metastore", "/var/lib/postgresql/data/pgdata", 15)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host="127.0.0.1", port=PG_PORT, user="hive", password="wrong", dbname="metastore")
    # the data directory belongs to the image's postgres user (uid 999), mode 0700
    stat = (tmp_path / "pgdata-volume" / "pgdata").stat()
    assert (stat.st_uid, stat.st_mode & 0o777) == (999, 0o700)


def test_postgres_keeps_an_initialised_data_directory(podman: Podman, tmp_path: Path) -> None:
    import psycopg

    name = start_postgres(podman, tmp_path, options=group_options((PG_PORT, 5432)))
    password = secrets()["postgres-password"]
    dsn = f"host=127.0.0.1 port={PG_PORT} user=hive dbname=metastore"
    with psycopg.connect(dsn, password=password, autocommit=True) as conn:
        conn.execute("create table kept (x int); insert into kept values (42)")
    podman.cmd("restart", "-t", "10", name)
    spec = container_spec("StatefulSet", "postgres", "postgres")
    podman.wait(
        name,
        "postgres after a restart",
        lambda: podman.exec(name, *spec["readinessProbe"]["exec"]["command"]).returncode == 0,
        60,
    )
    with psycopg.connect(dsn, password=password) as conn:
        assert conn.execute("select x from kept").fetchone() == (42,)
    assert "Skipping initialization" in podman.logs(name)


def test_postgres_refuses_to_start_without_a_password(podman: Podman) -> None:
    proc = podman.run("docker.io/library/postgres:15", env={"POSTGRES_USER": "hive"})
    assert proc.returncode == 1
    assert "POSTGRES_PASSWORD" in proc.stderr


# -- object store, bucket job, jar fetch -------------------------------------------------------------------


def test_seaweedfs_serves_s3_with_the_secret_credentials(podman: Podman) -> None:
    name = start_object_store(podman, options=group_options((S3_PORT, 9000)))
    spec = container_spec("StatefulSet", "object-store", "seaweedfs")
    path = spec["readinessProbe"]["httpGet"]["path"]
    podman.wait(name, "S3 readiness probe", lambda: http_status(f"http://127.0.0.1:{S3_PORT}{path}") == 200, 120)
    creds = secrets()
    s3 = s3_client(S3_PORT, creds["s3-access-key"], creds["s3-secret-key"])
    s3.create_bucket(Bucket="smoke")
    s3.put_object(Bucket="smoke", Key="a/b.txt", Body=b"hello")
    assert s3.get_object(Bucket="smoke", Key="a/b.txt")["Body"].read() == b"hello"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="smoke")["Contents"]] == ["a/b.txt"]
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        s3_client(S3_PORT, creds["s3-access-key"], "not-the-secret").list_buckets()
    # the server runs as the image's seaweed user, owning /data
    assert podman.exec(name, "stat", "-c", "%U", "/data").stdout.strip() == "seaweed"


def test_bucket_job_creates_the_buckets_and_is_idempotent(podman: Podman) -> None:
    owner = start_object_store(podman, options=group_options((S3_PORT, 9000)))
    first = run_bucket_job(podman, owner)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "bucket warehouse ready" in first.stdout
    second = run_bucket_job(podman, owner)
    assert second.returncode == 0, second.stdout + second.stderr
    creds = secrets()
    buckets = s3_client(S3_PORT, creds["s3-access-key"], creds["s3-secret-key"]).list_buckets()["Buckets"]
    assert "warehouse" in {b["Name"] for b in buckets}


def test_fetch_jars_init_container_downloads_each_jar_once(
    podman: Podman, built_images: BuiltImages, jar_server: str, tmp_path: Path
) -> None:
    jars = tmp_path / "jars"
    proc = fetch_jars(podman, jars, jar_server)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = sorted(p.name for p in jars.iterdir())
    assert names == ["aws-java-sdk-bundle.jar", "hadoop-aws.jar", "postgresql.jar"]
    from lakehouse_sdk.kube._workloads import HMS_JARS

    # the same bytes as the jar server's files at the metastore's repository paths (other workloads' jars,
    # e.g. Spark Connect's, are served beside them)
    served = built_images.directory / "maven"
    assert {name: (jars / name).stat().st_size for name in names} == {
        name: (served / path).stat().st_size for name, path in HMS_JARS.items()
    }
    assert {p.stat().st_uid for p in jars.iterdir()} == {100}  # curl_user, as upstream
    # a restarted init container finds the jars and downloads nothing (the server is not even needed)
    again = fetch_jars(podman, jars, "http://127.0.0.1:9/")
    assert again.returncode == 0, again.stdout + again.stderr


# -- trino -------------------------------------------------------------------------------------------------


def test_trino_starts_from_the_mounted_config_and_answers_v1_info(podman: Podman, tmp_path: Path) -> None:
    spec = container_spec("Deployment", "trino", "trino")
    data = config_map("trino-config")
    volume = next(v for v in manifest_docs_volumes("Deployment", "trino") if v["name"] == "trino-config")
    files = {item["path"]: data[item["key"]] for item in volume["configMap"]["items"]}
    etc = config_map_volume(tmp_path / "trino-config", files)
    datadir = tmp_path / "trino-data"
    datadir.mkdir(mode=0o777)
    datadir.chmod(0o777)
    name = podman.start(
        "trino",
        spec["image"],
        env=plain_env(spec, secrets()),
        options=[
            *group_options((TRINO_PORT, 8080)),
            *limits(spec),
            "-v",
            f"{etc}:/etc/trino:ro",
            "-v",
            f"{datadir}:/data/trino",
        ],
        ulimits=TRINO_ULIMITS,
    )
    # liveness is the image's own check ("starting":false on /v1/info); readiness, bash and curl in the image as
    # the kubelet runs it, also waits for the uptime after which table queries find their catalogs' nodes
    assert spec["livenessProbe"]["exec"]["command"] == ["/usr/lib/trino/bin/health-check"]
    ready_command = spec["readinessProbe"]["exec"]["command"]
    assert ready_command[:2] == ["bash", "-c"]

    def ready() -> bool:
        return podman.exec(name, *ready_command).returncode == 0

    podman.wait(name, "the manifests' readiness command (started, then settled)", ready, 240)
    info = http_json(f"http://127.0.0.1:{TRINO_PORT}/v1/info")
    uptime = airlift_seconds(info["uptime"])
    assert uptime is not None and uptime >= TRINO_CATALOGS_SETTLE_SECONDS, info["uptime"]
    assert info["nodeVersion"]["version"] == "476"
    assert info["environment"] == "lakehouse"
    import trino

    conn = trino.dbapi.connect(host="127.0.0.1", port=TRINO_PORT, user="smoke")  # type: ignore[no-untyped-call]
    cur = conn.cursor()
    cur.execute("select catalog_name from system.metadata.catalogs order by 1")
    assert {r[0] for r in cur.fetchall()} >= {"hive", "iceberg", "system"}
    cur.execute("select node_id, coordinator from system.runtime.nodes")
    assert cur.fetchall() == [["trino-coordinator", True]]
    # the image's health check, and the wait-for-dependencies init container's bash /dev/tcp
    assert podman.exec(name, "/usr/lib/trino/bin/health-check").returncode == 0
    assert podman.exec(name, "bash", "-c", "(echo > /dev/tcp/127.0.0.1/8080) 2>/dev/null").returncode == 0
    assert podman.exec(name, "id", "-u").stdout.strip() == "1000"


def manifest_docs_volumes(kind: str, name: str) -> list[dict[str, Any]]:
    for doc in manifest_docs():
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            volumes: list[dict[str, Any]] = doc["spec"]["template"]["spec"].get("volumes", [])
            return volumes
    raise LookupError(f"no {kind}/{name}")


# -- hive metastore ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetastoreSetup:
    """PostgreSQL, the object store with its buckets, the fetched jars: what the metastore pod needs."""

    owner: str
    image: str
    env: dict[str, str]
    mounts: list[str]  # volumes and the memory limit


def metastore_setup(podman: Podman, tmp: Path, jar_server: str, conf_files: dict[str, str]) -> MetastoreSetup:
    owner = start_postgres(podman, tmp, options=group_options((PG_PORT, 5432), (S3_PORT, 9000), (HMS_PORT, 9083)))
    start_object_store(podman, options=joined(owner))
    job = run_bucket_job(podman, owner)
    assert job.returncode == 0, job.stdout + job.stderr
    jars = tmp / "jars"
    fetched = fetch_jars(podman, jars, jar_server)
    assert fetched.returncode == 0, fetched.stderr
    # the wait-for-dependencies init container, with the image's bash
    wait_spec = container_spec("Deployment", "hive-metastore", "wait-for-dependencies", init=True)
    entrypoint, args = command_of(wait_spec)
    options = [*joined(owner), *limits(wait_spec)]
    waited = podman.run(wait_spec["image"], *args, options=options, entrypoint=entrypoint, timeout=60)
    assert waited.returncode == 0, waited.stdout + waited.stderr

    spec = container_spec("Deployment", "hive-metastore", "hive-metastore")
    conf = config_map_volume(tmp / "hadoop-config", conf_files)
    mounts: list[str] = limits(spec)
    for m in spec["volumeMounts"]:
        if m["name"] == "hadoop-config":
            mounts += ["-v", f"{conf}:{m['mountPath']}:ro"]
        elif m["name"] == "jars":
            mounts += ["-v", f"{jars / m['subPath']}:{m['mountPath']}:ro"]
    return MetastoreSetup(owner, spec["image"], plain_env(spec, secrets()), mounts)


def _metastore_conf_files() -> dict[str, str]:
    """The hadoop-config files as the metastore pod mounts them (its volume's items: key -> path)."""
    data = config_map("hadoop-config")
    volume = next(v for v in manifest_docs_volumes("Deployment", "hive-metastore") if v["name"] == "hadoop-config")
    return {item["path"]: data[item["key"]] for item in volume["configMap"]["items"]}


def _init_schema(podman: Podman, setup: MetastoreSetup) -> str:
    """Run the manifests' init-schema init container; its output."""
    spec = container_spec("Deployment", "hive-metastore", "init-schema", init=True)
    entrypoint, args = command_of(spec)
    proc = podman.run(
        spec["image"],
        *args,
        env=plain_env(spec, secrets()),
        options=[*joined(setup.owner), *setup.mounts],
        entrypoint=entrypoint,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_hive_metastore_inits_the_schema_once_and_restarts(podman: Podman, jar_server: str, tmp_path: Path) -> None:
    """The manifests' init container creates the schema (Hive 3.1's tools read hive-site.xml, which the pod
    mounts from metastore-site.xml); the server starts with IS_RESUME=true; a restart finds the schema."""
    import psycopg

    setup = metastore_setup(podman, tmp_path, jar_server, _metastore_conf_files())
    first = _init_schema(podman, setup)
    assert "completed" in first.lower() and "metastore schema present" not in first
    assert setup.env.get("IS_RESUME") == "true"
    name = podman.start("hive-metastore", setup.image, env=setup.env, options=[*joined(setup.owner), *setup.mounts])
    podman.wait(name, "metastore thrift port", lambda: port_open(HMS_PORT), 300)
    podman.wait(name, "metastore answering get_all_databases", lambda: "default" in metastore_databases(HMS_PORT), 120)
    password = secrets()["postgres-password"]
    with psycopg.connect(host="127.0.0.1", port=PG_PORT, user="hive", password=password, dbname="metastore") as c:
        assert c.execute('select "SCHEMA_VERSION" from "VERSION"').fetchone() == ("3.1.0",)
        row = c.execute('select "DB_LOCATION_URI" from "DBS" where "NAME" = %s', ("default",)).fetchone()
    assert row == ("s3a://warehouse/",)
    # the configuration came through HIVE_CUSTOM_CONF_DIR: its files are linked into $HIVE_HOME/conf
    listing = podman.exec(name, "ls", "/opt/hive/conf").stdout.split()
    assert {"core-site.xml", "metastore-site.xml", "hive-site.xml"} <= set(listing)

    # a restarted pod: the init container finds the schema, the server starts again
    podman.cmd("rm", "-f", "-t", "5", name)
    assert "metastore schema present" in _init_schema(podman, setup)
    again = podman.start(
        "hive-metastore-again", setup.image, env=setup.env, options=[*joined(setup.owner), *setup.mounts]
    )
    podman.wait(again, "restarted metastore", lambda: "default" in metastore_databases(HMS_PORT), 300)


def metastore_databases(port: int) -> list[str]:
    from pymetastore.hive_metastore import ThriftHiveMetastore
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TSocket, TTransport

    sock = TSocket.TSocket("127.0.0.1", port)
    sock.setTimeout(10_000)
    transport = TTransport.TBufferedTransport(sock)
    try:
        transport.open()
    except TTransport.TTransportException:
        return []
    try:
        client = ThriftHiveMetastore.Client(TBinaryProtocol.TBinaryProtocol(transport))
        databases: list[str] = client.get_all_databases()
        return databases
    except (TTransport.TTransportException, OSError):
        return []
    finally:
        transport.close()


# -- spark -------------------------------------------------------------------------------------------------


PYSPARK_JOB = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = (
    SparkSession.builder.master("spark://spark-master:7077")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.executor.memory", "512m")
    .getOrCreate()
)
plus_one = udf(lambda x: x + 1, "long")
total = spark.range(100).select(plus_one("id").alias("x")).groupBy().sum("x").collect()[0][0]
print("RESULT", total)
spark.stop()
"""


def test_spark_master_and_worker_run_with_the_manifest_commands(podman: Podman, tmp_path: Path) -> None:
    master_spec = container_spec("Deployment", "spark-master", "spark-master")
    worker_spec = container_spec("Deployment", "spark-worker", "spark-worker")
    core_site = config_map("hadoop-config")["core-site.xml"]
    conf = config_map_volume(tmp_path / "hadoop-config", {"core-site.xml": core_site})
    env = plain_env(master_spec, secrets())
    options = group_options((SPARK_PORT, 7077), (SPARK_UI_PORT, 8080), (WORKER_UI_PORT, 8081))
    entrypoint, args = command_of(master_spec)
    master = podman.start(
        "spark-master",
        master_spec["image"],
        *args,
        env=env,
        entrypoint=entrypoint,
        options=[*options, *limits(master_spec), "-v", f"{conf}:/etc/hadoop/conf:ro"],
    )
    podman.wait(master, "Spark master UI", lambda: http_status(f"http://127.0.0.1:{SPARK_UI_PORT}/") == 200, 120)

    wait_spec = container_spec("Deployment", "spark-worker", "wait-for-dependencies", init=True)
    w_entry, w_args = command_of(wait_spec)
    options = [*joined(master), *limits(wait_spec)]
    waited = podman.run(wait_spec["image"], *w_args, options=options, entrypoint=w_entry, timeout=60)
    assert waited.returncode == 0, waited.stdout + waited.stderr

    entrypoint, args = command_of(worker_spec)
    worker = podman.start(
        "spark-worker",
        worker_spec["image"],
        *args,
        env=plain_env(worker_spec, secrets()),
        entrypoint=entrypoint,
        options=[*joined(master), *limits(worker_spec), "-v", f"{conf}:/etc/hadoop/conf:ro"],
    )

    def registered() -> bool:
        state = http_json(f"http://127.0.0.1:{SPARK_UI_PORT}/json/")
        return [w["state"] for w in state["workers"]] == ["ALIVE"]

    podman.wait(worker, "the worker registered at the master", registered, 120)
    state = http_json(f"http://127.0.0.1:{SPARK_UI_PORT}/json/")
    assert (state["workers"][0]["cores"], state["workers"][0]["memory"]) == (1, 2048)
    assert http_status(f"http://127.0.0.1:{WORKER_UI_PORT}/") == 200
    assert "Spark Master at spark://" in podman.logs(master) or state["url"].startswith("spark://")
    assert podman.exec(master, "id", "-u").stdout.strip() == "185"

    # a PySpark job from a driver in the same network namespace: the executor runs on the worker and
    # its Python workers run the UDF with the image's python3 and python/lib/{pyspark,py4j} zips
    job = tmp_path / "job"
    job.mkdir(mode=0o755)
    job.chmod(0o755)
    (job / "job.py").write_text(PYSPARK_JOB)
    (job / "job.py").chmod(0o644)
    done = podman.run(
        master_spec["image"],
        "/opt/spark/bin/spark-submit",
        "/job/job.py",
        env={"SPARK_LOCAL_IP": "127.0.0.1"},
        options=[*joined(master), "-v", f"{job}:/job:ro"],
        timeout=300,
    )
    assert "RESULT 5050" in done.stdout, (done.stdout + done.stderr)[-6000:]
    version = podman.exec(master, "/opt/spark/bin/spark-submit", "--version")
    assert "version 4.1.4" in version.stdout + version.stderr


# -- the archives in containerd (the CRI runtime of issue 10's node) ------------------------------------


@pytest.fixture
def containerd(tmp_path: Path) -> Iterator[str]:
    """A private containerd (no CRI plugin) on a socket of its own; its address."""
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "containerd"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    root = tmp_path / "containerd"
    root.mkdir()
    config = root / "config.toml"
    config.write_text('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
    address = str(root / "sock")
    log = (root / "log").open("w")
    proc = subprocess.Popen(
        [
            "containerd",
            "--config",
            str(config),
            "--root",
            str(root / "root"),
            "--state",
            str(root / "state"),
            "--address",
            address,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for("containerd's socket", lambda: Path(address).is_socket(), 30)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_archives_import_into_containerd_under_their_references(built_images: BuiltImages, containerd: str) -> None:
    ctr = ["ctr", "--address", containerd, "-n", "k8s.io"]
    for ref, archive in built_images.archives.items():
        # unpacked (as a node would) only the smallest: the rest is the same import without the unpack
        unpack = [] if ref.startswith("docker.io/curlimages/") else ["--no-unpack"]
        proc = subprocess.run(
            [*ctr, "images", "import", *unpack, str(archive)], capture_output=True, text=True, check=False, timeout=600
        )
        assert proc.returncode == 0, proc.stderr
    listed = subprocess.run([*ctr, "images", "ls"], capture_output=True, text=True, check=True).stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in listed[1:]}
    assert set(rows) == set(built_images.archives)
    assert all("linux/amd64" in row for row in rows.values())
