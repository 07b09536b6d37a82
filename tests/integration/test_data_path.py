"""The data path a data engineer uses, on the real local stack: every client, across engines.

Spark writes a Hive table and an Iceberg table, Trino reads both and writes its own, pyiceberg appends,
the metastore and its PostgreSQL database record everything, and the files are in the object store.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lakehouse_sdk import Lakehouse

SCHEMA = f"it_{uuid.uuid4().hex[:8]}"
ROWS = [(i, f"name-{i}", float(i) * 1.5) for i in range(1, 101)]
EXPECTED_COUNT = len(ROWS)
EXPECTED_SUM = sum(r[0] for r in ROWS)


@pytest.fixture(scope="module")
def spark(stack: Any) -> Iterator[Any]:
    session = Lakehouse().spark(app_name="lakehouse-sdk-integration")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_tables(spark: Any) -> dict[str, str]:
    """Spark writes one Hive (Parquet) table and one Iceberg table, in databases located in the object store."""
    df = spark.createDataFrame(ROWS, "id INT, name STRING, score DOUBLE")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA} LOCATION 's3a://warehouse/{SCHEMA}.db'")
    df.write.mode("overwrite").format("parquet").saveAsTable(f"{SCHEMA}.spark_hive")
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS iceberg.{SCHEMA}")
    df.writeTo(f"iceberg.{SCHEMA}.spark_iceberg").using("iceberg").createOrReplace()
    return {"hive": f"hive.{SCHEMA}.spark_hive", "iceberg": f"iceberg.{SCHEMA}.spark_iceberg"}


def test_spark_runs_on_the_standalone_master(spark: Any) -> None:
    assert spark.sparkContext.master.startswith("spark://")
    assert spark.sparkContext.master != "local[*]"
    assert spark.range(1000).selectExpr("sum(id)").collect()[0][0] == 499500
    infos = spark.sparkContext._jsc.sc().statusTracker().getExecutorInfos()
    hosts = [infos[i].host() for i in range(len(infos))]
    assert len(hosts) >= 2, hosts  # the driver plus at least one executor on the worker


def test_spark_reads_back_both_tables(spark: Any, spark_tables: dict[str, str]) -> None:
    for table in (f"{SCHEMA}.spark_hive", f"iceberg.{SCHEMA}.spark_iceberg"):
        row = spark.sql(f"SELECT count(*) AS n, sum(id) AS s FROM {table}").collect()[0]
        assert (row["n"], row["s"]) == (EXPECTED_COUNT, EXPECTED_SUM)


def test_trino_reads_both_spark_tables(lh: Lakehouse, spark_tables: dict[str, str]) -> None:
    with lh.trino() as conn:
        cur = conn.cursor()
        for table in spark_tables.values():
            cur.execute(f"SELECT count(*), sum(id), round(sum(score), 2) FROM {table}")
            assert cur.fetchall() == [[EXPECTED_COUNT, EXPECTED_SUM, round(sum(r[2] for r in ROWS), 2)]]


def test_trino_ctas_and_insert_then_spark_reads(lh: Lakehouse, spark: Any, spark_tables: dict[str, str]) -> None:
    with lh.trino(catalog="iceberg", schema=SCHEMA) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE trino_ctas AS SELECT id, name FROM spark_iceberg WHERE id <= 10")
        cur.fetchall()
        cur.execute("INSERT INTO trino_ctas VALUES (1000, 'inserted-by-trino')")
        cur.fetchall()
        cur.execute("SELECT count(*) FROM trino_ctas")
        assert cur.fetchall() == [[11]]
    spark.sql(f"REFRESH TABLE iceberg.{SCHEMA}.trino_ctas")
    rows = spark.sql(f"SELECT id, name FROM iceberg.{SCHEMA}.trino_ctas ORDER BY id").collect()
    assert len(rows) == 11
    assert (rows[-1]["id"], rows[-1]["name"]) == (1000, "inserted-by-trino")


def test_pyiceberg_scans_appends_and_trino_sees_it(lh: Lakehouse, spark_tables: dict[str, str]) -> None:
    import pyarrow as pa

    catalog = lh.iceberg()
    table = catalog.load_table(f"{SCHEMA}.spark_iceberg")
    arrow = table.scan().to_arrow()
    assert arrow.num_rows == EXPECTED_COUNT
    assert sum(arrow.column("id").to_pylist()) == EXPECTED_SUM
    extra = pa.table(
        {
            "id": pa.array([5000, 5001], pa.int32()),
            "name": ["py-a", "py-b"],
            "score": pa.array([1.0, 2.0], pa.float64()),
        }
    )
    table.append(extra)
    with lh.trino() as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT count(*), max(id) FROM {spark_tables['iceberg']}")
        assert cur.fetchall() == [[EXPECTED_COUNT + 2, 5001]]
    # put the table back as Spark wrote it, for the tests that count it
    table.delete("id >= 5000")


def test_query_returns_dataframe_and_arrow(lh: Lakehouse, spark_tables: dict[str, str]) -> None:
    frame = lh.query(f"SELECT id, name, score FROM {spark_tables['hive']} ORDER BY id")
    assert list(frame.columns) == ["id", "name", "score"]
    assert len(frame) == EXPECTED_COUNT
    assert str(frame["id"].dtype) == "int32"
    assert frame["name"].iloc[0] == "name-1"
    few = lh.query(f"SELECT id FROM {spark_tables['hive']} WHERE id <= ? ORDER BY id", params=[3])
    assert few["id"].tolist() == [1, 2, 3]  # the parameterised (DB-API) path
    table = lh.query(f"SELECT count(*) AS n FROM {spark_tables['iceberg']}", output="arrow")
    assert table.column("n").to_pylist() == [EXPECTED_COUNT]


def test_metastore_lists_tables_with_object_store_locations(lh: Lakehouse, spark_tables: dict[str, str]) -> None:
    with lh.metastore() as hms:
        assert SCHEMA in hms.databases()
        assert {"spark_hive", "spark_iceberg"} <= set(hms.tables(SCHEMA))
        hive = hms.table(SCHEMA, "spark_hive")
        iceberg = hms.table(SCHEMA, "spark_iceberg")
    assert hive.location is not None
    assert hive.location.startswith(("s3a://warehouse/", "s3://warehouse/"))
    assert not hive.is_iceberg
    assert iceberg.is_iceberg
    assert (iceberg.metadata_location or "").startswith(("s3a://warehouse/", "s3://warehouse/"))


def test_postgres_holds_the_metastore_records(lh: Lakehouse, spark_tables: dict[str, str]) -> None:
    with lh.postgres() as conn:
        rows = conn.execute(
            'SELECT t."TBL_NAME", s."LOCATION" FROM "TBLS" t JOIN "DBS" d ON t."DB_ID" = d."DB_ID" '
            'LEFT JOIN "SDS" s ON t."SD_ID" = s."SD_ID" WHERE d."NAME" = %s ORDER BY 1',
            (SCHEMA,),
        ).fetchall()
    names = [r[0] for r in rows]
    assert "spark_hive" in names
    assert "spark_iceberg" in names


def test_table_files_are_in_the_object_store(lh: Lakehouse, spark_tables: dict[str, str]) -> None:
    s3 = lh.s3()
    with lh.metastore() as hms:
        locations = {name: hms.table(SCHEMA, name).location for name in ("spark_hive", "spark_iceberg")}
    for name, location in locations.items():
        assert location is not None
        bucket, _, prefix = location.split("://", 1)[1].partition("/")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        assert any(k.endswith(".parquet") for k in keys), (name, keys[:10])
        if name == "spark_iceberg":
            assert any("/metadata/" in k and k.endswith(".metadata.json") for k in keys)


def test_s3_crud_and_multipart(lh: Lakehouse) -> None:
    s3 = lh.s3()
    bucket = f"crud-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/hello.txt", Body=b"hello lakehouse")
    assert s3.get_object(Bucket=bucket, Key="a/hello.txt")["Body"].read() == b"hello lakehouse"
    payload = bytes(range(256)) * (64 * 1024 * 1024 // 256 + 4096)  # a little over 64 MiB
    s3.upload_fileobj(io.BytesIO(payload), bucket, "big/blob.bin")  # multipart: 8 MiB parts
    head = s3.head_object(Bucket=bucket, Key="big/blob.bin")
    assert head["ContentLength"] == len(payload)
    assert "-" in head["ETag"]  # a multipart ETag ends in -<parts>
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["a/hello.txt", "big/blob.bin"]
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_storage_options_with_pandas_and_pyarrow(lh: Lakehouse) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"k": [1, 2, 3], "v": ["a", "b", "c"]})
    path = f"s3://warehouse/it-storage-options/{uuid.uuid4().hex}.parquet"
    frame.to_parquet(path, storage_options=lh.storage_options())
    back = pd.read_parquet(path, storage_options=lh.storage_options())
    assert back.equals(frame)
    table = pq.read_table(path.removeprefix("s3://"), filesystem=lh.arrow_filesystem())
    assert table.column("v").to_pylist() == ["a", "b", "c"]
