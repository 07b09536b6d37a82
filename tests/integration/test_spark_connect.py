"""Spark over Connect on the real local stack: a notebook process without a JVM writes, reads and queries;
Trino and pyiceberg see what it wrote; sessions are isolated; the token is required; a stopped server fails
clearly within the connect timeout and a new session works after `up`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse, LocalStack, ServiceUnavailableError
from tests.integration.conftest import Stack, lakehouse_cli, stack_environment

SCHEMA = f"connect_{uuid.uuid4().hex[:8]}"
ROWS = [(i, f"name-{i}", i * 0.5) for i in range(1, 51)]

# A notebook with only the thin client: `pyspark.core` (what pyspark-client lacks) cannot be imported, so
# spark.connect=auto must choose Connect; the process must never start a JVM.
NOTEBOOK = """
import json, os, sys
sys.modules["pyspark.core"] = None
from lakehouse_sdk import Lakehouse

schema = sys.argv[1]
rows = [(i, f"name-{i}", i * 0.5) for i in range(1, 51)]
lh = Lakehouse()
spark = lh.spark()
df = spark.createDataFrame(rows, "id INT, name STRING, score DOUBLE")
spark.sql(f"CREATE NAMESPACE IF NOT EXISTS iceberg.{schema}")
df.writeTo(f"iceberg.{schema}.events").createOrReplace()
back = spark.table(f"iceberg.{schema}.events")
spark.sql(f"CREATE DATABASE IF NOT EXISTS spark_catalog.{schema} LOCATION 's3a://warehouse/{schema}.db'")
df.write.mode("overwrite").format("parquet").saveAsTable(f"spark_catalog.{schema}.events_hive")
out = {
    "session": type(spark).__module__,
    "read_back": back.count(),
    "iceberg": [list(r) for r in spark.sql(
        f"SELECT count(*), sum(id), sum(score) FROM iceberg.{schema}.events").collect()],
    "hive": [list(r) for r in spark.sql(
        f"SELECT count(*), sum(id) FROM spark_catalog.{schema}.events_hive").collect()],
    "version": spark.version,
}
spark.stop()
children = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            stat = open(f"/proc/{entry}/stat").read()
            cmd = open(f"/proc/{entry}/cmdline").read().replace("\\0", " ")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
            children.append(cmd)
out["children"] = children
out["py4j"] = "py4j" in sys.modules or "pyspark.java_gateway" in sys.modules
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def notebook(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("notebook")
    script = home / "notebook.py"
    script.write_text(NOTEBOOK)
    proc = subprocess.run(
        [sys.executable, str(script), SCHEMA],
        cwd=home,
        env=stack_environment(home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_notebook_without_a_jvm_writes_and_reads_over_connect(notebook: dict[str, Any]) -> None:
    assert notebook["session"] == "pyspark.sql.connect.session"
    assert notebook["version"].startswith("4.1.")
    assert notebook["read_back"] == len(ROWS)
    assert notebook["iceberg"] == [[len(ROWS), sum(r[0] for r in ROWS), sum(r[2] for r in ROWS)]]
    assert notebook["hive"] == [[len(ROWS), sum(r[0] for r in ROWS)]]
    assert not any("java" in c for c in notebook["children"]), notebook["children"]
    assert notebook["py4j"] is False


def test_trino_and_pyiceberg_see_what_connect_wrote(lh: Lakehouse, notebook: dict[str, Any]) -> None:
    expected = (len(ROWS), sum(r[0] for r in ROWS), sum(r[2] for r in ROWS))
    frame = lh.query(f"SELECT count(*) AS n, sum(id) AS s, sum(score) AS v FROM iceberg.{SCHEMA}.events")
    assert tuple(frame.iloc[0]) == expected
    hive = lh.query(f"SELECT count(*) AS n, sum(id) AS s FROM hive.{SCHEMA}.events_hive")
    assert tuple(hive.iloc[0]) == expected[:2]
    table = lh.iceberg().load_table(f"{SCHEMA}.events").scan().to_arrow()
    assert (table.num_rows, sum(table["id"].to_pylist()), sum(table["score"].to_pylist())) == expected


def test_health_makes_a_real_connect_call(lh: Lakehouse) -> None:
    result = lh.health()["spark-connect"]
    assert result.ok and result.status == "healthy", result
    assert "Connect session" in result.detail and (result.version or "").startswith("4.1.")


def test_two_concurrent_sessions_do_not_see_each_others_temp_views(stack: Stack) -> None:
    lh = Lakehouse(spark={"connect": "true"})
    first, second = lh.spark(), lh.spark()
    try:
        seen: dict[str, Any] = {}

        def work(name: str, session: Any, value: int) -> None:
            session.range(value).createOrReplaceTempView("mine")
            session.range(1).createOrReplaceTempView(f"only_{name}")
            time.sleep(1)  # both views exist at the same time
            seen[name] = session.sql("SELECT count(*) FROM mine").collect()[0][0]
            seen[f"{name}_tables"] = {t.name for t in session.catalog.listTables()}

        threads = [
            threading.Thread(target=work, args=("a", first, 3)),
            threading.Thread(target=work, args=("b", second, 7)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert (seen["a"], seen["b"]) == (3, 7)
        assert "only_b" not in seen["a_tables"] and "only_a" not in seen["b_tables"]
    finally:
        first.stop()
        second.stop()


def test_a_client_without_the_token_is_refused(stack: Stack) -> None:
    from pyspark.sql.connect.session import SparkSession

    port = Lakehouse().endpoint("spark-connect").port
    anonymous = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").create()
    try:
        with pytest.raises(Exception, match="No authentication token provided"):
            anonymous.range(3).collect()
    finally:
        anonymous.client.close()  # no session to release: the server never opened one
    with pytest.raises(ConfigurationError, match="refused this client: Invalid authentication token") as info:
        Lakehouse(spark={"connect": "true", "connect_token": "not-the-servers-token"}).spark()
    assert "spark.connect_token" in str(info.value) and "not-the-servers-token" not in str(info.value)


def test_a_stopped_server_fails_within_the_timeout_and_works_after_up(stack: Stack, tmp_path: Path) -> None:
    LocalStack().handle("spark-connect").stop(30)
    try:
        lh = Lakehouse(spark={"connect": "true"}, connect_timeout=2)
        start = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as info:
            lh.spark()
        assert time.monotonic() - start < 2
        text = str(info.value)
        assert info.value.service == "spark-connect"
        assert info.value.endpoint == lh.endpoint("spark-connect").url
        assert "mode 'nodeport'" in text and "lakehouse up --local" in text
    finally:
        lakehouse_cli("up", "--local")
    session = Lakehouse(spark={"connect": "true"}).spark()
    try:
        assert session.range(10).count() == 10
    finally:
        session.stop()
