"""An ETL job: CSV in the object store -> Spark transform -> Iceberg table -> Trino aggregate.

    lakehouse up --local
    python examples/etl_job.py [SCHEMA [TABLE]]

1. extract: upload a raw CSV export to ``s3://<warehouse bucket>/raw/<schema>/<table>.csv`` with ``lh.s3()``;
2. transform: Spark reads it through ``s3a://``, drops cancelled orders, normalises the region, computes the
   amount;
3. load: Spark replaces the Iceberg table ``iceberg.<schema>.<table>``;
4. report: Trino aggregates revenue per region into a pandas DataFrame.

Every step overwrites what the previous run wrote, so the job is idempotent: run it twice, get the same table.
"""

from __future__ import annotations

import sys

from lakehouse_sdk import Lakehouse

# A raw export as it arrives: mixed-case regions with stray spaces, and cancelled orders to drop.
ORDERS_CSV = """\
order_id,order_date,region,product,quantity,unit_price,status
1,2026-01-03,north,widget,4,2.50,shipped
2,2026-01-03,South,gadget,1,19.99,shipped
3,2026-01-04, north ,gizmo,2,7.25,shipped
4,2026-01-05,east,widget,10,2.50,cancelled
5,2026-01-05,EAST,gadget,3,19.99,shipped
6,2026-01-06,south,widget,6,2.50,shipped
7,2026-01-07,West,gizmo,5,7.25,shipped
8,2026-01-07,north,gadget,2,19.99,cancelled
9,2026-01-08,east,gizmo,1,7.25,shipped
10,2026-01-09,west,widget,8,2.50,shipped
11,2026-01-10,South,gizmo,3,7.25,shipped
12,2026-01-11,north,widget,12,2.50,shipped
"""


def main(argv: list[str]) -> int:
    schema = argv[1] if len(argv) > 1 else "etl"
    table = argv[2] if len(argv) > 2 else "orders"
    target = f"iceberg.{schema}.{table}"
    lh = Lakehouse()

    # Extract: the raw file lands in the object store (put_object replaces it on a re-run).
    bucket = lh.settings.s3.warehouse_bucket
    key = f"raw/{schema}/{table}.csv"
    lh.s3().put_object(Bucket=bucket, Key=key, Body=ORDERS_CSV.encode(), ContentType="text/csv")
    raw_lines = ORDERS_CSV.count("\n") - 1
    print(f"extract: uploaded {raw_lines} raw orders to s3://{bucket}/{key}")

    # Transform and load, in Spark on the standalone master.
    spark = lh.spark(app_name=f"etl-{schema}-{table}")
    try:
        from pyspark.sql import functions as sf

        raw = spark.read.csv(
            f"s3a://{bucket}/{key}",
            header=True,
            schema="order_id INT, order_date DATE, region STRING, product STRING, "
            "quantity INT, unit_price DECIMAL(10,2), status STRING",
        )
        orders = (
            raw.where(sf.col("status") != "cancelled")
            .withColumn("region", sf.lower(sf.trim(sf.col("region"))))
            .withColumn("amount", (sf.col("quantity") * sf.col("unit_price")).cast("decimal(12,2)"))
            .drop("status")
        )
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS iceberg.{schema}")
        orders.writeTo(target).using("iceberg").createOrReplace()
        loaded = spark.table(target).count()
    finally:
        spark.stop()
    print(f"transform+load: {loaded} orders written to {target} (cancelled orders dropped)")

    # Report: Trino aggregates the table Spark wrote.
    report = lh.query(
        f"SELECT region, count(*) AS orders, sum(quantity) AS units, sum(amount) AS revenue "
        f"FROM {target} GROUP BY region ORDER BY region"
    )
    print(f"\nrevenue per region, from Trino ({target}):")
    print(report.to_string(index=False))
    print(f"total: {int(report['orders'].sum())} orders, revenue {sum(report['revenue'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
