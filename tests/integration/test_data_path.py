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


def _sample_frame(rows: int) -> Any:
    import datetime
    from decimal import Decimal

    import numpy as np
    import pandas as pd

    ids = np.arange(rows, dtype="int64")
    return pd.DataFrame(
        {
            "id": ids,
            "name": [f"name-{i}" for i in ids],
            "score": ids * 0.25,
            "small": (ids % 100).astype("uint16"),  # no unsigned types in Iceberg: int32, losslessly
            "kind": pd.Categorical(["a", "b", "c", "d"] * (rows // 4)),  # a categorical: its values
            "at": pd.date_range("2024-01-01", periods=rows, freq="s", tz="Europe/Oslo"),  # an instant: UTC
            "day": [datetime.date(2024, 1, 1) + datetime.timedelta(days=int(i % 365)) for i in ids],
            "price": [Decimal(int(i)) / 100 for i in ids],
            "tags": [[int(i), int(i) + 1] for i in ids],
        }
    )


def test_write_table_is_seen_by_trino_and_spark_at_once(lh: Lakehouse, spark: Any) -> None:
    name = f"iceberg.{SCHEMA}_tables.from_pandas"  # a namespace that does not exist yet
    frame = _sample_frame(4000)
    assert lh.write_table(frame, name, mode="create") == 4000
    check = (
        f"SELECT count(*) AS n, sum(id) AS s, count(DISTINCT kind) AS k, min(small) AS lo, max(small) AS hi FROM {name}"
    )
    assert lh.query(check).iloc[0].tolist() == [4000, sum(range(4000)), 4, 0, 99]
    types = dict(
        lh.query(
            f"SELECT column_name, data_type FROM iceberg.information_schema.columns "
            f"WHERE table_schema = '{SCHEMA}_tables' AND table_name = 'from_pandas'"
        ).values.tolist()
    )
    assert types["small"] == "integer" and types["kind"] == "varchar" and types["tags"] == "array(bigint)"
    assert types["at"] == "timestamp(6) with time zone" and types["price"].startswith("decimal(")
    first = lh.query(f"SELECT to_unixtime(at) AS t, price, day FROM {name} WHERE id = 0").iloc[0]
    assert first["t"] == frame["at"][0].timestamp() and float(first["price"]) == 0.0
    assert str(first["day"]) == "2024-01-01"
    # one Spark session across the writes below: every write shows at once
    assert spark.sql(f"SELECT count(*) FROM {name}").collect()[0][0] == 4000

    assert lh.write_table(frame.head(100), name, mode="append") == 100
    assert lh.query(f"SELECT count(*) AS n FROM {name}")["n"][0] == 4100
    assert spark.sql(f"SELECT count(*) FROM {name}").collect()[0][0] == 4100

    assert lh.write_table(frame.tail(10), name, mode="overwrite") == 10
    assert lh.query(f"SELECT min(id) AS lo, count(*) AS n FROM {name}").iloc[0].tolist() == [3990, 10]
    assert spark.sql(f"SELECT count(*) FROM {name}").collect()[0][0] == 10


def test_read_table_pushes_columns_filters_and_limits(lh: Lakehouse) -> None:
    name = f"iceberg.{SCHEMA}_tables.to_read"
    lh.write_table(_sample_frame(2000), name, mode="overwrite")
    frame = lh.read_table(name, columns=["id", "name"], row_filter="id >= 1990")
    assert list(frame.columns) == ["id", "name"]
    assert sorted(frame["id"].tolist()) == list(range(1990, 2000))
    arrow = lh.read_table(f"{SCHEMA}_tables.to_read", limit=5, as_="arrow")
    assert arrow.num_rows == 5 and "tags" in arrow.column_names
    everything = lh.read_table(name, as_="arrow").sort_by("id")
    via_trino = lh.query(f"SELECT id, name, score FROM {name} ORDER BY id", output="arrow")
    assert everything.select(["id", "name", "score"]).equals(via_trino)


def test_write_table_refuses_what_iceberg_cannot_hold_and_writes_nothing(lh: Lakehouse) -> None:
    import pandas as pd

    from lakehouse_sdk import TableError

    name = f"iceberg.{SCHEMA}_tables.refused"
    cases = {
        "wait": pd.DataFrame({"id": [1, 2], "wait": pd.to_timedelta([1, 2], unit="s")}),
        "empty": pd.DataFrame({"id": [1, 2], "empty": [None, None]}),
        "t": pd.DataFrame({"t": pd.to_datetime(["2024-01-01 00:00:00.000000001"])}),
        "big": pd.DataFrame({"big": pd.Series([2**64 - 1], dtype="uint64")}),
    }
    for column, frame in cases.items():
        with pytest.raises(TableError, match=rf"column '{column}'.*nothing was written"):
            lh.write_table(frame, name)
    assert not lh.iceberg().table_exists((f"{SCHEMA}_tables", "refused"))
    lh.write_table(pd.DataFrame({"id": [1]}), name, mode="create")
    with pytest.raises(TableError, match="exists: use mode='append'"):
        lh.write_table(pd.DataFrame({"id": [2]}), name, mode="create")
    with pytest.raises(TableError, match="has no column 'extra'"):
        lh.write_table(pd.DataFrame({"id": [2], "extra": ["x"]}), name)
    assert lh.query(f"SELECT count(*) AS n FROM {name}")["n"][0] == 1


def test_a_hive_table_points_at_query_and_spark(lh: Lakehouse, spark_tables: dict[str, str]) -> None:
    from lakehouse_sdk import TableError

    hive_schema, hive_table = spark_tables["hive"].split(".")[1:]
    with pytest.raises(TableError, match=r"is a Hive table, not an Iceberg table.*lh\.query"):
        lh.read_table(f"{hive_schema}.{hive_table}")
    with pytest.raises(TableError, match=r"Trino catalog 'hive'.*lh\.query"):
        lh.read_table(spark_tables["hive"])
    with pytest.raises(TableError, match="does not exist"):
        lh.read_table(f"{hive_schema}.no_such_table")
