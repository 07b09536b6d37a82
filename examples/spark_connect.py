"""Spark from a notebook over Spark Connect: no JVM here, the driver is the stack's Connect server.

Run it like a notebook, top to bottom:

    lakehouse up --local
    pip install 'lakehouse-sdk[spark-connect]'   # or [spark]: full pyspark speaks Connect too
    python examples/spark_connect.py [SCHEMA]

With only the thin client installed, ``Lakehouse()`` picks Connect by itself (``spark.connect=auto``); this
script asks for it explicitly so that it also runs where full pyspark is installed.
"""

from __future__ import annotations

import sys

from lakehouse_sdk import Lakehouse

ORDERS = [(1, "Lisbon", 20.0), (2, "Porto", 35.5), (3, "Lisbon", 12.25), (4, "Madrid", 50.0)]


def main(argv: list[str]) -> int:
    schema = argv[1] if len(argv) > 1 else "connect_demo"
    lh = Lakehouse(spark={"connect": "true"})

    # 1. A Connect session: a thin gRPC client; the server holds the driver and the catalogs.
    spark = lh.spark()
    try:
        print(f"Spark {spark.version} over Connect at {lh.endpoint('spark-connect').url}")
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS iceberg.{schema}")
        orders = spark.createDataFrame(ORDERS, "id INT, city STRING, amount DOUBLE")
        orders.writeTo(f"iceberg.{schema}.orders").createOrReplace()
        by_city = spark.sql(
            f"SELECT city, count(*) AS n, sum(amount) AS total FROM iceberg.{schema}.orders GROUP BY city ORDER BY city"
        ).toPandas()
    finally:
        spark.stop()
    print("Spark over Connect:")
    print(by_city.to_string(index=False))
    print()

    # 2. The same table from Trino and from pyiceberg: one catalog, three engines.
    trino = lh.query(f"SELECT count(*) AS n, sum(amount) AS total FROM iceberg.{schema}.orders")
    table = lh.iceberg().load_table(f"{schema}.orders").scan().to_arrow()
    print(f"Trino: {int(trino['n'][0])} rows, total {float(trino['total'][0])}")
    print(f"pyiceberg: {table.num_rows} rows, total {sum(table['amount'].to_pylist())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
