"""Tables without a JVM: `lh.write_table` / `lh.read_table` against Spark's and Trino's paths.

One million rows from pandas (bigint, double, varchar, date, timestamp), one run, each step in a fresh Python
process so that nothing (a JVM, imports) is shared:

- write: ``lh.write_table(pdf, name, mode="overwrite")`` against Spark's ``createDataFrame(pdf).writeTo(name)
  .createOrReplace()`` including ``lh.spark()`` (the session start, on the local stack's standalone master);
- read back: ``lh.read_table(name)`` (pyiceberg, pandas) against ``lh.query("SELECT * FROM name")``.

Goal (issue 12): ``write_table`` faster than Spark's path including its session start.

Run (with `lakehouse up --local` running): python -m benchmarks.bench_tables [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from benchmarks._common import run_child, write

STEPS = ("write_table", "spark_write", "read_table", "query_select_star")
SCHEMA = "bench_tables"


def frame(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    ids = np.arange(rows, dtype="int64")
    return pd.DataFrame(
        {
            "id": ids,
            "score": ids * 1.5,
            "name": pd.Series([f"name-{i % 1000}" for i in range(rows)], dtype="string"),
            "day": (pd.Timestamp("2020-01-01") + pd.to_timedelta(ids % 3650, unit="D")).date,
            "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(ids, unit="s"),
        }
    )


def child(step: str, rows: int) -> None:
    from lakehouse_sdk import Lakehouse

    lh = Lakehouse()
    pdf = frame(rows) if step in ("write_table", "spark_write") else None
    start = time.perf_counter()
    if step == "write_table":
        count = lh.write_table(pdf, f"iceberg.{SCHEMA}.from_sdk", mode="overwrite")
    elif step == "spark_write":
        spark = lh.spark(app_name="bench-tables")
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS iceberg.{SCHEMA}")
        spark.createDataFrame(pdf).writeTo(f"iceberg.{SCHEMA}.from_spark").createOrReplace()
        count = rows
        seconds = time.perf_counter() - start
        spark.stop()
        print(json.dumps({"seconds": seconds, "rows": count}))
        return
    elif step == "read_table":
        count = len(lh.read_table(f"iceberg.{SCHEMA}.from_sdk"))
    else:
        count = len(lh.query(f"SELECT * FROM iceberg.{SCHEMA}.from_sdk"))
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": count}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    seconds = {step: run_child("benchmarks.bench_tables", step, args.rows, args.rows)["seconds"] for step in STEPS}
    write(
        "tables",
        {
            "rows": args.rows,
            "seconds": seconds,
            "write_speedup_over_spark_with_session_start": seconds["spark_write"] / seconds["write_table"],
            "read_table_speedup_over_query": seconds["query_select_star"] / seconds["read_table"],
            "goal": "write_table faster than Spark's path including its session start",
            "meets_goal": seconds["write_table"] < seconds["spark_write"],
        },
    )


if __name__ == "__main__":
    main()
