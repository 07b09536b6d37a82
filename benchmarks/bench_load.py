"""Load: concurrent `lh.query()` readers and S3 writers against the stack, for a bounded time.

Two child processes start together (so neither load's Python threads wait on the other's GIL) and run until
the same deadline:

- ``queries``: ``--queries`` threads (16) each call ``lh.query()`` in a loop on an Iceberg table of 100 000 rows
  (made once by Trino), a filter that returns 1 000 rows; a result of another size counts as an error;
- ``s3``: ``--writers`` threads (8) each ``put_object`` objects of ``--object-kib`` KiB (64) under a prefix of
  the warehouse bucket; an ETag that is not the body's MD5 counts as an error, and at the end every
  acknowledged object must be listed with its size (each one missing is an error). The objects are deleted.

No thread starts an operation after ``--seconds`` (60); what is in flight then finishes (each call is
bounded by the client timeouts) and is counted. The S3 load also stops at ``--max-mib`` written (4096), so
the run is bounded in count as well as in time. Reported per load: operations, throughput, latency p50/p99/max
(of the operations that succeeded) and errors (goal: none), with the load average before and after. One query
of the table runs before the load, so that the load measures a warm Trino.

Only a stack on this machine is loaded: every endpoint must be on a loopback address. ``--label`` names the run
in ``results/load.json``, which keeps the runs of other labels, so that runs with other settings (TLS on, say:
the same command with the TLS settings in the environment) sit beside each other.

Run (with `lakehouse up --local` running): python -m benchmarks.bench_load [--seconds 60] [--label plain]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from benchmarks._common import RESULTS, write

SCHEMA = "bench_load"
TABLE = f"iceberg.{SCHEMA}.items"
TABLE_ROWS = 100_000
BUCKETS = 100  # each query returns one bucket: TABLE_ROWS / BUCKETS rows
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``samples`` (seconds)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def latency(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "max_ms": max(samples) * 1000,
    }


class Recorder:
    """Latencies of successful operations and errors by kind, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[float] = []
        self.errors: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.samples.append(seconds)

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.examples.setdefault(kind, detail[:300])


def run_threads(count: int, deadline: float, step: Callable[[int, Recorder], bool], rec: Recorder) -> float:
    """``count`` threads each call ``step(thread, rec)`` until the deadline (or until it returns False);
    returns the wall time from the first start to the last end."""

    def loop(index: int) -> None:
        while time.time() < deadline:
            try:
                if not step(index, rec):
                    return
            except Exception as exc:  # counted, and the thread goes on: the load keeps its shape
                rec.error(type(exc).__name__, str(exc))

    threads = [threading.Thread(target=loop, args=(i,), daemon=True, name=f"load-{i}") for i in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, deadline - time.time()) + 120)  # an operation in flight ends within its timeouts
    hung = sum(t.is_alive() for t in threads)
    if hung:
        rec.error("hung", f"{hung} thread(s) still in an operation 120 s after the deadline")
    return time.perf_counter() - start


def queries_child(threads: int, start_at: float, seconds: float) -> dict[str, Any]:
    from lakehouse_sdk import Lakehouse

    lh = Lakehouse()
    lh.query("SELECT 1")  # imports and the first connection outside the measurement
    rows = Counter[str]()
    expected = TABLE_ROWS // BUCKETS

    def step(index: int, rec: Recorder) -> bool:
        bucket = random.randrange(BUCKETS)
        began = time.perf_counter()
        frame = lh.query(f"SELECT id, name, score FROM {TABLE} WHERE bucket = {bucket}")
        took = time.perf_counter() - began
        if len(frame) != expected:
            rec.error("wrong_rows", f"bucket {bucket}: {len(frame)} rows, expected {expected}")
        else:
            rec.ok(took)
            rows["rows"] += len(frame)
        return True

    rec = Recorder()
    time.sleep(max(0.0, start_at - time.time()))
    wall = run_threads(threads, start_at + seconds, step, rec)
    return summary("query", rec, wall, threads, rows=rows["rows"], rows_per_query=expected)


def s3_child(threads: int, start_at: float, seconds: float, object_kib: int, max_mib: int) -> dict[str, Any]:
    from lakehouse_sdk import Lakehouse

    lh = Lakehouse()
    s3 = lh.s3()
    bucket = lh.settings.s3.warehouse_bucket
    prefix = f"bench-load/{uuid.uuid4().hex[:12]}/"
    s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)  # connection and imports warm
    size = object_kib * 1024
    budget = max(1, max_mib * 2**20 // size)  # objects in all, over every writer
    written: dict[str, int] = {}
    lock = threading.Lock()
    counter = [0]

    def step(index: int, rec: Recorder) -> bool:
        with lock:
            if counter[0] >= budget:
                return False
            counter[0] += 1
            number = counter[0]
        key = f"{prefix}w{index}/{number:07d}.bin"
        body = os.urandom(16) + bytes(size - 16)  # unique and cheap: the MD5 still differs per object
        began = time.perf_counter()
        answer = s3.put_object(Bucket=bucket, Key=key, Body=body)
        took = time.perf_counter() - began
        if answer["ETag"].strip('"') != hashlib.md5(body).hexdigest():
            rec.error("etag_mismatch", f"{key}: {answer['ETag']}")
            return True
        rec.ok(took)
        with lock:
            written[key] = size
        return True

    rec = Recorder()
    time.sleep(max(0.0, start_at - time.time()))
    wall = run_threads(threads, start_at + seconds, step, rec)
    listed: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        listed.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    for key, length in written.items():
        if listed.get(key) != length:
            rec.error("acknowledged_but_not_listed", f"{key}: listed size {listed.get(key)}, wrote {length}")
    keys = list(listed)
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True})
    return summary(
        "s3_put",
        rec,
        wall,
        threads,
        object_kib=object_kib,
        mib_per_second=len(written) * size / 2**20 / wall,
        budget_reached=counter[0] >= budget,
    )


def summary(kind: str, rec: Recorder, wall: float, threads: int, **extra: Any) -> dict[str, Any]:
    return {
        "operation": kind,
        "threads": threads,
        "ok": len(rec.samples),
        "errors": sum(rec.errors.values()),
        "errors_by_kind": dict(rec.errors),
        "error_examples": rec.examples,
        "seconds": wall,
        "per_second": len(rec.samples) / wall,
        **latency(rec.samples),
        **extra,
    }


def prepare() -> None:
    """The queried table, made once by Trino; every endpoint must be on this machine."""
    from lakehouse_sdk import Lakehouse

    lh = Lakehouse()
    remote = {key: e.host for key, e in lh.endpoints().items() if e.host not in LOOPBACK}
    if remote:
        raise SystemExit(f"bench_load loads a stack on this machine only; not loopback: {remote}")
    with lh.trino(catalog="iceberg") as conn:
        cur = conn.cursor()
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS iceberg.{SCHEMA} WITH (location = 's3://warehouse/{SCHEMA}')")
        cur.fetchall()
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} AS SELECT id, id % {BUCKETS} AS bucket, "
            "'name-' || CAST(id AS varchar) AS name, id * 0.5e0 AS score "
            f"FROM (SELECT a * 1000 + b AS id FROM UNNEST(sequence(0, {TABLE_ROWS // 1000 - 1})) AS t1(a) "
            "CROSS JOIN UNNEST(sequence(0, 999)) AS t2(b))"
        )
        cur.fetchall()
        cur.execute(f"SELECT count(*) FROM {TABLE}")
        count = cur.fetchall()[0][0]
        cur.execute(f"SELECT id, name, score FROM {TABLE} WHERE bucket = 0")  # metadata and plans warm
        cur.fetchall()
    if count != TABLE_ROWS:
        raise SystemExit(f"{TABLE} has {count} rows, expected {TABLE_ROWS}: drop it and run again")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs (a smoke run: 5)")
    parser.add_argument("--queries", type=int, default=16, help="concurrent lh.query() threads")
    parser.add_argument("--writers", type=int, default=8, help="concurrent S3 writer threads")
    parser.add_argument("--object-kib", type=int, default=64)
    parser.add_argument("--max-mib", type=int, default=4096, help="stop the S3 writers after this much")
    parser.add_argument("--label", default="plain", help="the run's name in results/load.json (e.g. plain, tls)")
    parser.add_argument("--child", choices=("queries", "s3"))
    parser.add_argument("--start-at", type=float, default=0.0)
    args = parser.parse_args()
    if not 0 < args.seconds <= 3600:
        parser.error("--seconds must be above 0 and at most 3600")
    if args.child == "queries":
        print(json.dumps(queries_child(args.queries, args.start_at, args.seconds)))
        return
    if args.child == "s3":
        print(json.dumps(s3_child(args.writers, args.start_at, args.seconds, args.object_kib, args.max_mib)))
        return

    prepare()
    start_at = time.time() + 15  # both children import and connect first
    common = ["--seconds", str(args.seconds), "--start-at", str(start_at)]
    children = {
        "queries": [*common, "--queries", str(args.queries)],
        "s3": [*common, "--writers", str(args.writers), "--object-kib", str(args.object_kib)],
    }
    children["s3"] += ["--max-mib", str(args.max_mib)]
    load_before = os.getloadavg()
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_load", "--child", name, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in children.items()
    }
    results: dict[str, Any] = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=args.seconds + 300)
        if proc.returncode != 0:
            raise RuntimeError(f"the {name} load failed (exit {proc.returncode}): {err[-3000:]}")
        results[name] = json.loads(out.strip().splitlines()[-1])
    errors = sum(r["errors"] for r in results.values())
    run = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seconds": args.seconds,
        "loads": results,
        "errors": errors,
        "meets_goal_no_errors": errors == 0,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    previous = RESULTS / "load.json"
    by_label: dict[str, Any] = {}
    if previous.is_file():
        by_label = json.loads(previous.read_text()).get("by_label", {})
    by_label[args.label] = run
    write(
        "load",
        {
            "by_label": by_label,
            "goal": "no errors under 16 lh.query() threads and 8 S3 writers",
            "note": "two child processes (queries, S3) started together; latency of successful operations only",
        },
    )
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
