"""Testing an ETL job against the real stack with the SDK's pytest plugin (`pip install 'lakehouse-sdk[pytest]'`).

    lakehouse up --local
    pytest examples/tests

`examples/etl_job.py` extracts a CSV into the object store, transforms it in Spark and loads an Iceberg table
that Trino reports on. Each test runs the job in a fresh schema of its own (`lakehouse_schema`), so tests can
run in parallel (`pytest -n auto` with pytest-xdist) and leave nothing behind; the `lakehouse` fixture is the
session's `Lakehouse`, to check what the job wrote.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse_sdk import Lakehouse, ScratchSchema

# In a project the job is a module of its package; the example imports it from examples/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import etl_job


def expected_revenue() -> dict[str, Decimal]:
    """Revenue per region computed from the job's raw data, the way the job is specified to."""
    revenue: dict[str, Decimal] = {}
    for row in csv.DictReader(io.StringIO(etl_job.ORDERS_CSV)):
        if row["status"] == "cancelled":
            continue
        region = row["region"].strip().lower()
        revenue[region] = revenue.get(region, Decimal(0)) + int(row["quantity"]) * Decimal(row["unit_price"])
    return revenue


@pytest.fixture
def run_job(lakehouse: Lakehouse, lakehouse_schema: ScratchSchema) -> Iterator[list[str]]:
    """The job's command line for this test's schema; afterwards, its raw file goes too.

    The job lands its raw export at raw/<schema>/ in the warehouse bucket, outside the schema's own prefix,
    which lakehouse_schema deletes by itself.
    """
    yield ["etl_job.py", lakehouse_schema.name, "orders"]
    bucket = lakehouse.settings.s3.warehouse_bucket
    lakehouse.s3().delete_object(Bucket=bucket, Key=f"raw/{lakehouse_schema.name}/orders.csv")


def test_the_job_loads_the_shipped_orders_and_trino_reports_their_revenue(
    lakehouse: Lakehouse, lakehouse_schema: ScratchSchema, run_job: list[str]
) -> None:
    assert etl_job.main(run_job) == 0

    table = lakehouse_schema.table("orders")
    orders = lakehouse.query(f"SELECT order_id, region FROM {table} ORDER BY order_id")
    assert list(orders["order_id"]) == [1, 2, 3, 5, 6, 7, 9, 10, 11, 12]  # 4 and 8 were cancelled
    assert set(orders["region"]) == {"north", "south", "east", "west"}  # trimmed, lower case
    report = lakehouse.query(f"SELECT region, sum(amount) AS revenue FROM {table} GROUP BY region")
    assert {row.region: Decimal(str(row.revenue)) for row in report.itertuples()} == expected_revenue()


def test_a_rerun_replaces_the_table(lakehouse: Lakehouse, lakehouse_schema: ScratchSchema, run_job: list[str]) -> None:
    assert etl_job.main(run_job) == 0
    assert etl_job.main(run_job) == 0  # a scheduler's retry

    table = lakehouse_schema.table("orders")
    assert int(lakehouse.query(f"SELECT count(*) AS n FROM {table}")["n"][0]) == 10
    # two snapshots in the table's history, one per run, read by pyiceberg
    assert len(lakehouse.iceberg().load_table(f"{lakehouse_schema.name}.orders").snapshots()) == 2
