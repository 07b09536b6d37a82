"""Quickstart: a table written by Spark and queried by Trino, on the stack from `lakehouse up --local`.

Run it like a notebook, top to bottom:

    lakehouse up --local
    python examples/quickstart.py [SCHEMA [TABLE]]

Nothing is configured here: ``Lakehouse()`` finds every service from the default settings (or from the
``LAKEHOUSE_*`` variables you set). Re-running replaces the table, so the result is always the same.
"""

from __future__ import annotations

import sys

from lakehouse_sdk import Lakehouse

CITIES = [
    ("Lisbon", "PT", 545_000),
    ("Porto", "PT", 232_000),
    ("Madrid", "ES", 3_332_000),
    ("Seville", "ES", 684_000),
    ("Valencia", "ES", 807_000),
    ("Lyon", "FR", 522_000),
]


def main(argv: list[str]) -> int:
    schema = argv[1] if len(argv) > 1 else "quickstart"
    table = argv[2] if len(argv) > 2 else "cities"
    name = f"iceberg.{schema}.{table}"

    # 1. Is everything up? The report is a table here and an HTML table in a notebook.
    lh = Lakehouse()
    report = lh.health()
    print(report)
    if not report.ok:
        print("\nSome services are not healthy: start them with `lakehouse up --local`.", file=sys.stderr)
        return 1

    # 2. A schema, created in Trino; Spark sees it too, through the same metastore.
    lh.query(f"CREATE SCHEMA IF NOT EXISTS iceberg.{schema}")

    # 3. Spark writes an Iceberg table, on the standalone master and its worker.
    spark = lh.spark(app_name="lakehouse-quickstart")
    master = spark.sparkContext.master
    try:
        frame = spark.createDataFrame(CITIES, "city STRING, country STRING, population BIGINT")
        frame.writeTo(name).using("iceberg").createOrReplace()
        written = spark.table(name).count()
    finally:
        spark.stop()
    print(f"\nSpark ({master}) wrote {written} rows to {name}")

    # 4. Trino reads the same table, straight into a pandas DataFrame.
    result = lh.query(
        f"SELECT country, count(*) AS cities, sum(population) AS population "
        f"FROM {name} GROUP BY country ORDER BY population DESC"
    )
    print(f"\na table written by Spark and queried by Trino ({name}):")
    print(result.to_string(index=False))
    print(f"total: {int(result['cities'].sum())} cities, population {int(result['population'].sum())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
