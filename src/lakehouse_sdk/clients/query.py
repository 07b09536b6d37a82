"""Trino query results straight into Arrow, column by column, batch by batch.

The plain DB-API path maps every value through a Python function and then builds a DataFrame from a list
of row lists. Here the rows come back as Trino sends them (``legacy_primitive_types=True``: no per-value
mapping), each batch is transposed once and converted to typed Arrow arrays in C, and the batches are
concatenated. Memory is bounded by one batch of Python rows plus the Arrow result.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from lakehouse_sdk._deps import require
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_type", "rows_to_batch", "run_query"]

BATCH_ROWS = 65_536
T = TypeVar("T")
_DIRECT = {
    "boolean": "bool_",
    "tinyint": "int8",
    "smallint": "int16",
    "integer": "int32",
    "bigint": "int64",
    "real": "float32",
    "double": "float64",
}


def arrow_type(trino_type: str) -> tuple[Any, bool]:
    """The Arrow type for a Trino type, and whether values arrive as strings that need a cast."""
    pa = require("pyarrow", extra="trino", purpose="lh.query()")
    t = trino_type.strip().lower()
    base = t.split("(", 1)[0].strip()
    if base in _DIRECT:
        return getattr(pa, _DIRECT[base])(), False
    if base in {"varchar", "char", "json", "uuid", "ipaddress"}:
        return pa.string(), False
    if base == "date":
        return pa.date32(), True
    if base == "decimal":
        match = re.match(r"decimal\((\d+),\s*(\d+)\)", t)
        precision, scale = (int(match.group(1)), int(match.group(2))) if match else (38, 0)
        return (pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)), True
    if base == "timestamp" and "with time zone" not in t:
        match = re.match(r"timestamp\((\d+)\)", t)
        digits = int(match.group(1)) if match else 3
        unit = "s" if digits == 0 else "ms" if digits <= 3 else "us" if digits <= 6 else "ns"
        return pa.timestamp(unit), True
    return None, False  # anything else (arrays, maps, rows, time zones): let Arrow infer


def rows_to_batch(rows: list[list[Any]], names: list[str], types: list[str]) -> pa.RecordBatch:
    """One batch of raw Trino rows to an Arrow record batch."""
    pa = require("pyarrow", extra="trino", purpose="lh.query()")
    # one pass per column; zip(*rows) would build an iterator per row
    columns = [list(map(itemgetter(i), rows)) for i in range(len(names))]
    arrays = []
    for values, trino_type in zip(columns, types, strict=True):
        target, cast = arrow_type(trino_type)
        if target is None:
            arrays.append(pa.array(values))
        elif cast:
            arrays.append(pa.array(values, type=pa.string()).cast(target))
        else:
            arrays.append(pa.array(values, type=target))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _retry_no_nodes(call: Callable[[], T], attempts: int = 5) -> T:
    """Run ``call``, retrying only NO_NODES_AVAILABLE: the query never started, and a coordinator that has
    just come up reports it until its node has announced itself."""
    from trino.exceptions import TrinoQueryError

    for attempt in range(attempts - 1):
        try:
            return call()
        except TrinoQueryError as exc:
            if exc.error_name != "NO_NODES_AVAILABLE":
                raise
            time.sleep(1.0 + attempt)
    return call()


def run_query(
    settings: LakehouseSettings,
    endpoint: Endpoint,
    sql: str,
    *,
    params: Any = None,
    catalog: str | None = None,
    schema: str | None = None,
) -> pa.Table:
    """Run ``sql`` and return an Arrow table. Trino's own errors pass through unchanged.

    Pages are fetched by a background thread (the HTTP wait overlaps with the conversion of the previous
    page) into a small bounded queue, so at most a few pages of Python rows are alive at once.
    """
    pa = require("pyarrow", extra="trino", purpose="lh.query()")
    import requests

    from lakehouse_sdk.clients._connect import unavailable
    from lakehouse_sdk.clients.trino import trino_connection

    conn = trino_connection(settings, endpoint, catalog=catalog, schema=schema, legacy_primitive_types=True)
    try:
        pages, names, types = _pages(conn, sql, params)
        batches = [rows_to_batch(rows, names, types) for rows in pages]
        if not batches:
            batches = [rows_to_batch([], names, types)]
        return pa.Table.from_batches(batches)
    except requests.ConnectionError as exc:  # refused after the client's retries, or the connection dropped
        reason = str(exc).split(": ")[-1][:200] or type(exc).__name__
        raise unavailable(settings, endpoint, f"connection refused or lost ({reason})") from None
    finally:
        conn.close()  # type: ignore[no-untyped-call]


def _pages(conn: Any, sql: str, params: Any) -> tuple[Iterator[list[list[Any]]], list[str], list[str]]:
    """The result's pages of raw rows, its column names and Trino types."""
    create_request = getattr(conn, "_create_request", None)
    if params is not None or create_request is None:
        return _cursor_pages(conn, sql, params)
    from trino.client import TrinoQuery

    def start() -> tuple[Any, Any]:
        query = TrinoQuery(create_request(), query=sql, legacy_primitive_types=True)  # one per attempt
        return query, query.execute()

    query, result = _retry_no_nodes(start)
    columns = query.columns or []
    names = [c["name"] for c in columns]
    types = [c["type"] for c in columns]
    return _prefetch(query, result.rows), names, types


def _prefetch(query: Any, first: list[list[Any]]) -> Iterator[list[list[Any]]]:
    pages: queue.Queue[Any] = queue.Queue(maxsize=4)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            while not query.finished and not stop.is_set():
                rows = query.fetch()
                if rows:
                    pages.put(rows)
            pages.put(done)
        except BaseException as exc:
            pages.put(exc)

    thread = threading.Thread(target=produce, name="lakehouse-query-fetch", daemon=True)
    thread.start()
    try:
        if first:
            yield first
        while True:
            item = pages.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if thread.is_alive():
            stop.set()
            with contextlib.suppress(Exception):
                query.cancel()
            with contextlib.suppress(queue.Empty):
                while True:
                    pages.get_nowait()


def _cursor_pages(conn: Any, sql: str, params: Any) -> tuple[Iterator[list[list[Any]]], list[str], list[str]]:
    """The DB-API path, for parameterised queries."""
    cursor = conn.cursor()
    _retry_no_nodes(lambda: cursor.execute(sql, params))
    rows_iter = iter(cursor.fetchone, None)
    first = list(islice(rows_iter, BATCH_ROWS))
    description = cursor.description or []

    def chunks() -> Iterator[list[list[Any]]]:
        chunk = first
        while chunk:
            yield chunk
            chunk = list(islice(rows_iter, BATCH_ROWS))

    return chunks(), [d[0] for d in description], [str(d[1]) for d in description]
