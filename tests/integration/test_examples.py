"""The examples in examples/, run as a user runs them (``python examples/NAME.py``) against the session stack.

Each runs in its own interpreter with the default settings (only the variables that point at the session
stack are passed on) and the assertions check the values it prints against the data it started from.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import subprocess
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lakehouse_sdk import Lakehouse, LakehouseSettings
from tests.integration.conftest import run_python
from tests.onboarding import printed_table

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ETL_SCHEMA, ETL_TABLE = "etl_it", "orders_it"


def load_example(name: str) -> ModuleType:
    """Import an example as a module (its data, not its main), to compute the expected results."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_example(name: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_python(
        EXAMPLES / f"{name}.py", *args, home=home, label=f"examples/{name}.py {' '.join(args)}", timeout=900
    )


@pytest.fixture(scope="module")
def home(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("examples")


@pytest.fixture(scope="module")
def quickstart(home: Path) -> subprocess.CompletedProcess[str]:
    return run_example("quickstart", home=home)


@pytest.fixture(scope="module")
def etl_runs(home: Path) -> list[subprocess.CompletedProcess[str]]:
    return [run_example("etl_job", ETL_SCHEMA, ETL_TABLE, home=home) for _ in range(2)]


def test_quickstart_prints_the_table_spark_wrote_and_trino_read(quickstart: subprocess.CompletedProcess[str]) -> None:
    cities = load_example("quickstart").CITIES
    out = quickstart.stdout
    assert "a table written by Spark and queried by Trino (iceberg.quickstart.cities)" in out
    assert f"Spark (spark://localhost:{Lakehouse().endpoint('spark-master').port}) wrote {len(cities)} rows" in out
    assert "UNHEALTHY" not in out

    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, country, population in cities:
        expected[country][0] += 1
        expected[country][1] += population
    rows = printed_table(out, "a table written by Spark and queried by Trino")
    assert rows[0] == ["country", "cities", "population"]
    by_population = sorted(expected.items(), key=lambda item: -item[1][1])
    assert rows[1:] == [[country, str(n), str(total)] for country, (n, total) in by_population]
    assert f"total: {len(cities)} cities, population {sum(c[2] for c in cities)}" in out


def test_quickstart_prints_nothing_but_its_own_output(quickstart: subprocess.CompletedProcess[str]) -> None:
    """A first run is quiet (issue 14): no Spark, Hadoop, SLF4J or JVM lines in the terminal; they are in the
    driver's log file instead."""
    noise = [line for line in quickstart.stderr.splitlines() if line.strip()]
    assert not noise, "the quickstart printed into the terminal:\n" + "\n".join(noise)
    for marker in ("WARN", "SLF4J", "NativeCodeLoader", "loopback", "log4j", "Setting default log level"):
        assert marker not in quickstart.stdout, marker
    log = LakehouseSettings().local.state_path / "logs" / "spark-driver.log"
    assert "Running Spark version" in log.read_text(errors="replace"), f"the driver's full log is not in {log}"


def test_quickstart_table_is_the_same_in_pyiceberg(quickstart: subprocess.CompletedProcess[str]) -> None:
    cities = load_example("quickstart").CITIES
    table = Lakehouse().iceberg().load_table("quickstart.cities").scan().to_arrow()
    assert sorted(table.column("city").to_pylist()) == sorted(c[0] for c in cities)


def test_etl_job_loads_transforms_and_aggregates(etl_runs: list[subprocess.CompletedProcess[str]]) -> None:
    raw = list(csv.DictReader(io.StringIO(load_example("etl_job").ORDERS_CSV)))
    kept = [r for r in raw if r["status"] != "cancelled"]
    expected: dict[str, list[Any]] = defaultdict(lambda: [0, 0, Decimal("0")])
    for r in kept:
        region = r["region"].strip().lower()
        expected[region][0] += 1
        expected[region][1] += int(r["quantity"])
        expected[region][2] += int(r["quantity"]) * Decimal(r["unit_price"])
    target = f"iceberg.{ETL_SCHEMA}.{ETL_TABLE}"

    out = etl_runs[0].stdout
    assert f"extract: uploaded {len(raw)} raw orders to s3://warehouse/raw/{ETL_SCHEMA}/{ETL_TABLE}.csv" in out
    assert f"transform+load: {len(kept)} orders written to {target}" in out
    rows = printed_table(out, "revenue per region, from Trino")
    assert rows[0] == ["region", "orders", "units", "revenue"]
    assert rows[1:] == [
        [region, str(n), str(units), f"{revenue:.2f}"] for region, (n, units, revenue) in sorted(expected.items())
    ]
    total = sum((v[2] for v in expected.values()), Decimal("0"))
    assert f"total: {len(kept)} orders, revenue {total:.2f}" in out


def test_etl_job_is_idempotent(etl_runs: list[subprocess.CompletedProcess[str]]) -> None:
    first, second = (printed_table(run.stdout, "revenue per region") for run in etl_runs)
    assert first == second
    lh = Lakehouse()
    counts = lh.query(f"SELECT count(*) AS n, count(DISTINCT order_id) AS ids FROM iceberg.{ETL_SCHEMA}.{ETL_TABLE}")
    assert counts.to_dict("list") == {"n": [10], "ids": [10]}
    keys = lh.s3().list_objects_v2(Bucket="warehouse", Prefix=f"raw/{ETL_SCHEMA}/")["Contents"]
    assert [k["Key"] for k in keys] == [f"raw/{ETL_SCHEMA}/{ETL_TABLE}.csv"]


def test_onboarding_walks_through_everything_without_secrets(
    home: Path, quickstart: subprocess.CompletedProcess[str], etl_runs: list[subprocess.CompletedProcess[str]]
) -> None:
    proc = run_example("onboarding", home=home)
    out = proc.stdout
    lh = Lakehouse()
    for key, endpoint in lh.endpoints().items():
        assert f"{key:<16} {endpoint.url:<32} nodeport" in out
    assert "UNHEALTHY" not in out
    assert "warehouse" in out
    databases = {
        line.split()[0]: line.split()[1]
        for line in out.split("== 5.")[1].split("== 6.")[0].splitlines()[1:]
        if line.strip()
    }
    assert "default" in databases  # other tests may have written tables there
    assert databases["quickstart"] == "1"
    assert databases[ETL_SCHEMA] == "1"
    iceberg = out.split("== 6.")[1].split("== 7.")[0]
    assert "quickstart.cities" in iceberg
    assert f"{ETL_SCHEMA}.{ETL_TABLE}" in iceberg
    for name in lh.env():
        assert name in out
    assert "AWS_SECRET_ACCESS_KEY" in out and "*** (secret, not shown)" in out
    secrets = {
        lh.settings.s3.secret_key.get_secret_value(),
        lh.settings.s3.access_key.get_secret_value(),
        lh.settings.postgres.password.get_secret_value(),
    } - {"hive"}  # "hive" is also the metastore's name, printed everywhere
    for secret in secrets:
        assert secret not in out + proc.stderr


def test_spark_connect_example_agrees_across_engines(home: Path) -> None:
    orders = load_example("spark_connect").ORDERS
    out = run_example("spark_connect", "connect_example_it", home=home).stdout
    total = sum(o[2] for o in orders)
    assert "over Connect at sc://localhost:" in out
    assert f"Trino: {len(orders)} rows, total {total}" in out
    assert f"pyiceberg: {len(orders)} rows, total {total}" in out
    rows = printed_table(out, "Spark over Connect:")
    assert rows[0] == ["city", "n", "total"]
    assert {r[0]: (int(r[1]), float(r[2])) for r in rows[1:]} == {
        "Lisbon": (2, 32.25),
        "Madrid": (1, 50.0),
        "Porto": (1, 35.5),
    }
