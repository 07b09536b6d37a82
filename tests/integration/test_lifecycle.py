"""Lifecycle of the local stack: idempotent up, status, doctor, crash recovery, restarts without data loss,
and the errors a user sees when a service is down or a credential is wrong."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse, LocalStack, ServiceUnavailableError

from .conftest import Stack, lakehouse_cli
from .fault_support import kill_9


def test_every_service_is_healthy(lh: Lakehouse) -> None:
    report = lh.health()
    assert report.ok, str(report)
    assert {r.service for r in report.results} >= {"minio", "postgres", "hive-metastore", "spark-master", "trino"}
    assert report["trino"].version == "476"
    assert "<table>" in report._repr_html_()
    assert "healthy" in str(report)


def test_up_is_idempotent_and_reports_timings(stack: Stack) -> None:
    assert "all healthy in" in stack.up_output
    again = lakehouse_cli("up", "--local")
    assert again.stdout.count("already running") == 7, again.stdout


def test_status_and_doctor_json(stack: Stack) -> None:
    status = json.loads(lakehouse_cli("status", "--json").stdout)
    assert {s["service"] for s in status} == {
        "object-store",
        "postgres",
        "hive-metastore",
        "spark-master",
        "spark-worker",
        "spark-connect",
        "trino",
    }
    assert all(s["running"] and s["healthy"] for s in status), status
    doctor = lakehouse_cli("doctor", "--json")
    assert json.loads(doctor.stdout)["ok"] is True


KILLED = ("postgres", "object-store", "spark-worker")


def test_kill_9_is_seen_by_status_and_doctor_and_fixed_by_up(stack: Stack, lh: Lakehouse) -> None:
    with lh.trino(catalog="iceberg") as conn:
        cur = conn.cursor()
        cur.execute("CREATE SCHEMA IF NOT EXISTS iceberg.survive WITH (location = 's3://warehouse/survive')")
        cur.fetchall()
        cur.execute("CREATE TABLE IF NOT EXISTS iceberg.survive.t AS SELECT 42 AS answer")
        cur.fetchall()
    local = LocalStack()
    for service in KILLED:
        info = local.handle(service).info()
        assert info is not None, service
        os.kill(info.pid, signal.SIGKILL)
    time.sleep(1)
    status = lakehouse_cli("status", "--json", check=False)
    assert status.returncode == 3
    crashed = {s["service"] for s in json.loads(status.stdout) if not s["running"]}
    assert crashed == set(KILLED)
    assert lakehouse_cli("status", check=False).stdout.count("CRASHED") == len(KILLED)
    doctor = lakehouse_cli("doctor", "--json", "--timeout", "5", check=False)
    assert doctor.returncode == 1
    unhealthy = {r["service"] for r in json.loads(doctor.stdout)["services"] if not r["ok"]}
    assert {"postgres", "minio", "spark-worker-ui"} <= unhealthy
    up = lakehouse_cli("up", "--local")
    table = [line.split() for line in up.stdout.splitlines() if line and not line.startswith("[")]
    restarted = {cells[0] for cells in table if len(cells) > 1 and cells[1] == "restarted"}
    assert restarted == set(KILLED)
    assert lh.health().ok
    assert lh.query("SELECT answer FROM iceberg.survive.t")["answer"].tolist() == [42]


def test_tables_answer_the_moment_up_returns_after_trino_restarts(stack: Stack, lh: Lakehouse) -> None:
    # CI found it: `up` called Trino ready once information_schema answered, but for a few seconds more its
    # node manager knew no node with the hive or iceberg catalog, and table queries failed NO_NODES_AVAILABLE
    with lh.trino() as conn:
        cur = conn.cursor()
        for catalog in ("iceberg", "hive"):
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.restart_{catalog}")
            cur.fetchall()
            cur.execute(f"CREATE TABLE IF NOT EXISTS {catalog}.restart_{catalog}.t AS SELECT 7 AS x")
            cur.fetchall()
    for _ in range(2):  # before the fix, one restart in two showed it
        kill_9("trino")
        lakehouse_cli("up", "--local")
        for catalog in ("iceberg", "hive"):
            assert lh.query(f"SELECT x FROM {catalog}.restart_{catalog}.t")["x"].tolist() == [7], catalog


def test_the_stack_s_catalogs_are_read_only(lh: Lakehouse) -> None:
    # the local coordinator manages its catalogs dynamically (so its one node has every catalog the moment it
    # is active), from a read-only file store: the same catalogs as static management, and no CREATE CATALOG
    from trino.exceptions import TrinoUserError

    assert sorted(lh.query("SHOW CATALOGS")["Catalog"].tolist()) == ["hive", "iceberg", "system"]
    with pytest.raises(TrinoUserError, match="Catalog store is read only"):
        lh.query("CREATE CATALOG scratch USING tpch")
    assert "scratch" not in lh.query("SHOW CATALOGS")["Catalog"].tolist()


_JVM_SERVICES = ("trino", "hive-metastore", "spark-master", "spark-worker", "spark-connect")


def _argv(pid: int) -> list[str]:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")


def _stack_jvm(state_dir: Path, service: str) -> list[str]:
    """The argv of a service's JVM: the process of its PID file (the launch scripts exec the JVM) or, where
    that is a script, the first JVM among its descendants. Found this way, not by main class: the test
    process's own classic Spark driver is a ``SparkSubmit`` naming the state dir too."""
    pending = [int(json.loads((state_dir / "run" / f"{service}.pid").read_text())["pid"])]
    while pending:
        pid = pending.pop(0)
        argv = _argv(pid)
        if argv[0].endswith("/java"):
            return argv
        for task in (Path("/proc") / str(pid) / "task").iterdir():
            pending += [int(child) for child in (task / "children").read_text().split()]
    raise AssertionError(f"no JVM under {service}'s process")


def test_the_stack_keeps_its_temporary_files_under_its_state_dir(stack: Stack, lh: Lakehouse) -> None:
    # before: every start left Trino's unpacked native libraries, Hive's session directories and SeaweedFS's
    # log files in the machine's /tmp, never removed
    assert lh.health().ok
    for service in _JVM_SERVICES:
        argv = _stack_jvm(stack.state_dir, service)
        assert f"-Djava.io.tmpdir={stack.state_dir / 'tmp' / service}" in argv, (service, argv)
        if service.startswith("spark-"):  # daemons that run no task: no optimising compiler, serial GC
            assert {"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"} <= set(argv), (service, argv)
    trino_tmp = sorted(p.name for p in (stack.state_dir / "tmp" / "trino").iterdir())
    assert any(name.startswith(("snappy", "zstd", "lz4")) for name in trino_tmp), trino_tmp
    weed_tmp = {p.name for p in (stack.state_dir / "tmp" / "object-store").iterdir()}
    assert {"s3.sock", "filer.sock"} <= weed_tmp and any(name.startswith("weed.") for name in weed_tmp), weed_tmp


def test_down_and_up_keep_the_data(stack: Stack, lh: Lakehouse) -> None:
    table = f"keep_{uuid.uuid4().hex[:6]}"
    with lh.trino(catalog="iceberg") as conn:
        cur = conn.cursor()
        cur.execute("CREATE SCHEMA IF NOT EXISTS iceberg.survive WITH (location = 's3://warehouse/survive')")
        cur.fetchall()
        cur.execute(f"CREATE TABLE iceberg.survive.{table} AS SELECT * FROM (VALUES 1, 2, 3) AS v(x)")
        cur.fetchall()
    down = lakehouse_cli("down")
    assert "stopped" in down.stdout
    assert not (stack.state_dir / "tmp").exists()  # the stopped services' temporary files went with them
    assert lakehouse_cli("status", check=False).returncode == 3
    lakehouse_cli("up", "--local")
    assert lh.query(f"SELECT sum(x) AS s FROM iceberg.survive.{table}")["s"].tolist() == [6]


def test_missing_table_error_passes_through_from_trino(lh: Lakehouse) -> None:
    from trino.exceptions import TrinoUserError

    with pytest.raises(TrinoUserError) as info:
        lh.query("SELECT * FROM iceberg.default.no_such_table_here")
    assert "does not exist" in str(info.value)


def test_wrong_s3_credentials_name_the_setting_and_endpoint(stack: Stack) -> None:
    bad = Lakehouse(s3={"access_key": "not-the-key", "secret_key": "wrong-secret-planted"})
    with pytest.raises(ConfigurationError) as info:
        bad.s3().list_buckets()
    text = str(info.value)
    assert bad.endpoint("minio").url in text
    assert "s3.access_key" in text and "keyword argument" in text
    assert "wrong-secret-planted" not in text


def _stop(service: str) -> None:
    LocalStack().handle(service).stop(20)


def test_stopped_trino_gives_a_clear_error_in_time(stack: Stack) -> None:
    _stop("trino")
    try:
        lh = Lakehouse(connect_timeout=2)
        start = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as info:
            lh.query("SELECT 1")
        assert time.monotonic() - start < 5
        err = info.value
        assert err.service == "trino"
        assert err.endpoint == lh.endpoint("trino").url
        assert "mode 'nodeport'" in str(err) and "lakehouse up --local" in str(err)
    finally:
        lakehouse_cli("up", "--local")


def test_stopped_metastore_while_spark_runs(stack: Stack) -> None:
    lh = Lakehouse()
    spark: Any = lh.spark(app_name="metastore-outage")
    try:
        spark.sql("CREATE DATABASE IF NOT EXISTS outage LOCATION 's3a://warehouse/outage.db'")
        spark.createDataFrame([(1,), (2,)], "x INT").write.mode("overwrite").saveAsTable("outage.t")
        _stop("hive-metastore")
        start = time.monotonic()
        with pytest.raises(Exception) as info:  # noqa: PT011 - Spark raises its own error types
            spark.sql("SELECT count(*) FROM outage.t_other").collect()
        elapsed = time.monotonic() - start
        assert elapsed < 120, elapsed
        assert "metastore" in str(info.value).lower() or "thrift" in str(info.value).lower()
    finally:
        lakehouse_cli("up", "--local")
    assert spark.sql("SELECT sum(x) FROM outage.t").collect()[0][0] == 3
    spark.stop()
