"""kill -9 of a service in the middle of a write: nothing acknowledged is lost, nothing half-written is visible.

Each test starts a write on a thread, kills one service of the session stack while the write is under way
(:mod:`.fault_support`), lets the writer answer, restores the stack with `lakehouse up --local` and checks what a
reader sees. The write may fail or complete (both happen, depending on where the kill lands); the assertions
hold either way, and each test records which way it went (the "faults" section at the end of the pytest
output; docs/operations.md has a table). Data written before the module's first kill reads back after each.
"""

from __future__ import annotations

import copy
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lakehouse_sdk import Lakehouse

from .conftest import Stack
from .fault_support import FaultRun, kill_during, restore_if_down

SCHEMA = f"faults_{uuid.uuid4().hex[:8]}"
BUCKET = "warehouse"
MIB = 2**20
BEFORE = b"written before any kill\n" * 1000


def trino_run(lh: Lakehouse, sql: str) -> list[list[Any]]:
    with lh.trino() as conn:
        cur = conn.cursor()
        cur.execute(sql)
        rows: list[list[Any]] = cur.fetchall()
    return rows


@dataclass
class Baseline:
    table: str = f"iceberg.{SCHEMA}.before"
    key: str = f"{SCHEMA}/before.bin"

    def reads_back(self, lh: Lakehouse) -> None:
        assert trino_run(lh, f"SELECT count(*), sum(x) FROM {self.table}") == [[1000, 500500]]
        assert lh.s3().get_object(Bucket=BUCKET, Key=self.key)["Body"].read() == BEFORE


@pytest.fixture(scope="module")
def baseline(stack: Stack) -> Baseline:
    lh = Lakehouse()
    trino_run(lh, f"CREATE SCHEMA iceberg.{SCHEMA} WITH (location = 's3://{BUCKET}/{SCHEMA}')")
    trino_run(lh, f"CREATE TABLE iceberg.{SCHEMA}.before AS SELECT x FROM UNNEST(sequence(1, 1000)) AS t(x)")
    lh.s3().put_object(Bucket=BUCKET, Key=f"{SCHEMA}/before.bin", Body=BEFORE)
    return Baseline()


@pytest.fixture(autouse=True)
def stack_back_afterwards(stack: Stack) -> Iterator[None]:
    """A test that stopped between its kill and its restore leaves a service down: start it for the next."""
    yield
    restore_if_down()


def keys(lh: Lakehouse, prefix: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for page in lh.s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        found.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return found


def data_files(lh: Lakehouse, location: str) -> set[str]:
    """The Parquet files under ``<location>/data/``."""
    prefix = location.split("://", 1)[1].partition("/")[2].rstrip("/") + "/data/"
    return {k for k in keys(lh, prefix) if k.endswith(".parquet")}


def test_kill_object_store_during_multipart_upload(lh: Lakehouse, baseline: Baseline, record_property: Any) -> None:
    from boto3.s3.transfer import TransferConfig

    s3 = lh.s3()
    key = f"{SCHEMA}/upload/blob.bin"
    payload = os.urandom(64 * MIB)
    parts_sent = [0]

    def sent(count: int) -> None:
        parts_sent[0] += count

    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)

    def upload() -> None:
        import io

        s3.upload_fileobj(io.BytesIO(payload), BUCKET, key, Config=config, Callback=sent)

    at_kill: list[float] = []

    def three_parts_sent() -> bool:
        if parts_sent[0] < 3 * 8 * MIB:
            return False
        at_kill.append(parts_sent[0] / MIB)
        return True

    run: FaultRun[None] = kill_during(
        "object-store", "64 MiB multipart upload (boto3, 8 MiB parts)", upload, three_parts_sent, record=record_property
    )
    run.notes["mib_sent_at_kill"] = at_kill[0] if at_kill else None
    listed = keys(lh, f"{SCHEMA}/upload/")
    if key in listed:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(body).digest() == hashlib.sha256(payload).digest(), "a visible object must be whole"
        run.visible = "the whole object"
    else:
        run.visible = "no object"
    assert listed in ({}, {key: len(payload)}), f"only the whole object may be visible: {listed}"
    assert not (run.outcome == "completed" and key not in listed), "an acknowledged upload was lost"
    pending = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=f"{SCHEMA}/upload/").get("Uploads", [])
    run.notes["incomplete_uploads_left"] = len(pending)  # the client's abort met a dead store
    for upload_info in pending:
        s3.abort_multipart_upload(Bucket=BUCKET, Key=upload_info["Key"], UploadId=upload_info["UploadId"])
    s3.delete_object(Bucket=BUCKET, Key=key)
    baseline.reads_back(lh)
    assert run.landed_during and run.restarted == ["object-store"], run.report()


CTAS_SIDE = 3000  # CTAS_SIDE² rows: long enough that the kill lands while the query runs


def test_kill_trino_during_ctas(lh: Lakehouse, baseline: Baseline, record_property: Any) -> None:
    table = f"ctas_{uuid.uuid4().hex[:6]}"
    name = f"iceberg.{SCHEMA}.{table}"
    sql = (
        f"CREATE TABLE {name} AS SELECT a * {CTAS_SIDE} + b AS id, 'row-' || CAST(b AS varchar) AS label "
        f"FROM UNNEST(sequence(0, {CTAS_SIDE - 1})) AS t1(a) CROSS JOIN UNNEST(sequence(0, {CTAS_SIDE - 1})) AS t2(b)"
    )
    running_since: list[float] = []

    def running() -> bool:
        if not running_since:
            rows = trino_run(
                lh,
                "SELECT count(*) FROM system.runtime.queries "
                f"WHERE state = 'RUNNING' AND query LIKE 'CREATE TABLE {name} AS%'",
            )
            if rows[0][0]:
                running_since.append(time.monotonic())
            return False
        return time.monotonic() - running_since[0] > 1.0  # a second into its work

    run: FaultRun[list[list[Any]]] = kill_during(
        "trino", "CTAS of 9 M rows (Iceberg)", lambda: trino_run(lh, sql), running, record=record_property
    )
    tables = [r[0] for r in trino_run(lh, f"SHOW TABLES FROM iceberg.{SCHEMA} LIKE 'ctas_%'")]
    expected = [[CTAS_SIDE**2, CTAS_SIDE**2 * (CTAS_SIDE**2 - 1) // 2]]
    if table in tables:
        assert trino_run(lh, f"SELECT count(*), sum(id) FROM {name}") == expected, "a visible table must be whole"
        run.visible = "the whole table"
    else:
        run.visible = "no table"
        assert run.outcome == "failed", "an acknowledged CTAS was lost"
    run.notes["files_left_in_bucket"] = len(
        [k for k in keys(lh, f"{SCHEMA}/{table}") if k.endswith(".parquet")] if table not in tables else []
    )
    baseline.reads_back(lh)
    assert run.landed_during and run.restarted == ["trino"], run.report()


def _iceberg_rows(lh: Lakehouse, name: str) -> tuple[int, int]:
    rows = trino_run(lh, f"SELECT count(*), coalesce(sum(id), 0) FROM iceberg.{SCHEMA}.{name}")
    return int(rows[0][0]), int(rows[0][1])


def test_kill_metastore_during_pyiceberg_append(lh: Lakehouse, baseline: Baseline, record_property: Any) -> None:
    import pyarrow as pa

    catalog = lh.iceberg()
    first = pa.table({"id": pa.array(range(1000), pa.int64()), "tag": pa.array(["first"] * 1000)})
    # small files: the append writes many, and the kill lands after the first and before the commit
    table = catalog.create_table(
        (SCHEMA, "py_append"), schema=first.schema, properties={"write.target-file-size-bytes": str(MIB)}
    )
    table.append(first)
    before = data_files(lh, table.location())
    rows = 2_000_000
    big = pa.table({"id": pa.array(range(1000, 1000 + rows), pa.int64()), "tag": pa.array(["big"] * rows)})

    def new_file() -> bool:
        return bool(data_files(lh, table.location()) - before)

    run: FaultRun[None] = kill_during(
        "hive-metastore",
        f"pyiceberg append of {rows:,} rows",
        lambda: table.append(big),
        new_file,
        record=record_property,
    )
    whole = (1000 + rows, sum(range(1000 + rows)))
    seen = _iceberg_rows(lh, "py_append")
    assert seen in ((1000, sum(range(1000))), whole), f"a partial commit is visible: {seen}"
    assert not (run.outcome == "completed" and seen != whole), "an acknowledged append was lost"
    reloaded = lh.iceberg().load_table((SCHEMA, "py_append"))
    assert reloaded.scan().to_arrow().num_rows == seen[0]  # pyiceberg and Trino agree
    run.visible = "the whole commit" if seen == whole else "the table as before"
    run.notes["new_data_files_left"] = len(data_files(lh, table.location()) - before) if seen != whole else 0
    reloaded.append(pa.table({"id": pa.array([-1], pa.int64()), "tag": pa.array(["after"])}))  # writable again
    assert _iceberg_rows(lh, "py_append")[0] == seen[0] + 1
    baseline.reads_back(lh)
    assert run.landed_during and run.restarted == ["hive-metastore"], run.report()


def test_kill_metastore_during_spark_write_to(lh: Lakehouse, baseline: Baseline, record_property: Any) -> None:
    spark: Any = lh.spark(app_name="faults")
    try:
        name = f"iceberg.{SCHEMA}.spark_append"
        spark.range(0, 1000).writeTo(name).using("iceberg").create()
        with lh.metastore() as hms:
            location = hms.table(SCHEMA, "spark_append").location
        assert location is not None
        before = data_files(lh, location)
        rows = 4_000_000
        frame = spark.range(1000, 1000 + rows, 1, 16)  # 16 tasks, each writes its own file

        def new_file() -> bool:
            return bool(data_files(lh, location) - before)

        run: FaultRun[None] = kill_during(
            "hive-metastore",
            f"Spark writeTo(...).append() of {rows:,} rows",
            lambda: frame.writeTo(name).append(),
            new_file,
            record=record_property,
        )
        whole = (1000 + rows, sum(range(1000 + rows)))
        seen = _iceberg_rows(lh, "spark_append")
        assert seen in ((1000, sum(range(1000))), whole), f"a partial commit is visible: {seen}"
        assert not (run.outcome == "completed" and seen != whole), "an acknowledged append was lost"
        spark.sql(f"REFRESH TABLE {name}")
        assert spark.table(name).count() == seen[0]  # Spark and Trino agree
        run.visible = "the whole commit" if seen == whole else "the table as before"
        run.notes["new_data_files_left"] = len(data_files(lh, location) - before) if seen != whole else 0
        spark.range(-1, 0).writeTo(name).append()  # writable again, from the same session
        assert _iceberg_rows(lh, "spark_append")[0] == seen[0] + 1
    finally:
        spark.stop()
    baseline.reads_back(lh)
    assert run.landed_during and run.restarted == ["hive-metastore"], run.report()


PER_BATCH = 50  # partitions per add_partitions call: one metastore transaction (the metastore also makes
# each partition's directory in the object store: about 3 s a call on a busy 2-core machine)
SETTLE = 60.0  # how long the metastore may still apply a call whose client timed out (see below)


def test_kill_postgres_during_metastore_write(lh: Lakehouse, baseline: Baseline, record_property: Any) -> None:
    from pymetastore.hive_metastore import ttypes

    trino_run(lh, f"CREATE TABLE hive.{SCHEMA}.parts (x bigint, p varchar) WITH (partitioned_by = ARRAY['p'])")
    acknowledged: list[int] = []
    in_flight: list[int] = []

    def batch(table: Any, number: int) -> list[Any]:
        out = []
        for i in range(PER_BATCH):
            sd = copy.copy(table.sd)
            sd.location = f"{table.sd.location}/p=b{number:04d}-{i:03d}"
            out.append(
                ttypes.Partition(
                    values=[f"b{number:04d}-{i:03d}"], dbName=SCHEMA, tableName="parts", sd=sd, parameters={}
                )
            )
        return out

    def write() -> None:
        with lh.metastore() as hms:
            table = hms.raw.get_table(SCHEMA, "parts")
            for number in range(10_000):
                in_flight.append(number)
                hms.raw.add_partitions(batch(table, number))
                acknowledged.append(number)

    run: FaultRun[None] = kill_during(
        "postgres",
        f"metastore add_partitions, {PER_BATCH} per call",
        write,
        lambda: len(acknowledged) >= 2,
        record=record_property,
    )

    def batches() -> dict[int, int]:
        with lh.metastore() as hms:
            names = hms.raw.get_partition_names(SCHEMA, "parts", -1)
        per_batch: dict[int, int] = {}
        for part in names:
            number = int(part.split("=b", 1)[1].split("-")[0])
            per_batch[number] = per_batch.get(number, 0) + 1
        assert all(count == PER_BATCH for count in per_batch.values()), f"a partial batch is visible: {per_batch}"
        assert set(acknowledged) <= set(per_batch), "an acknowledged batch was lost"
        assert set(per_batch) <= set(in_flight), "a batch that was never sent is visible"
        return per_batch

    # The metastore retries a call whose database connection broke (RetryingHMSHandler: 10 attempts, 2 s
    # apart, each waiting up to 30 s for a connection) after its client has timed out: once PostgreSQL is
    # back, the call the client saw fail may still land. Watch until it has, or until it no longer can.
    last = in_flight[-1]
    start = time.monotonic()
    seen = batches()
    while last not in seen and run.outcome == "failed" and time.monotonic() - start < SETTLE:
        time.sleep(1.0)
        seen = batches()
    if last in seen:
        run.visible = "the whole batch" + (
            f", {time.monotonic() - start:.0f} s after the restart" if run.failed else ""
        )
    else:
        run.visible = "no partition of the batch"
    run.notes["batches_acknowledged"] = len(acknowledged)
    with lh.metastore() as hms:
        hms.raw.add_partitions(batch(hms.raw.get_table(SCHEMA, "parts"), 9_999))  # writable again
    count = trino_run(lh, f'SELECT count(*) FROM hive.{SCHEMA}."parts$partitions"')[0][0]
    assert count == PER_BATCH * (len(seen) + 1)
    baseline.reads_back(lh)
    assert run.landed_during and run.restarted == ["postgres"], run.report()
