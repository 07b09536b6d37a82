"""Trino's spooling protocol: result segments fetched in parallel, decoded straight into Arrow record batches.

With spooling, a query's result is a sequence of *segments*: small ones inline (base64 in the protocol's JSON
response), large ones spooled to the object store and fetched with one ``GET`` each (through the coordinator:
``protocol.spooling.retrieval-mode=COORDINATOR_PROXY``, see :mod:`lakehouse_sdk.stack.config`). Each segment
is JSON rows, zstd- or lz4-compressed above a size threshold.

Here segments are fetched and decoded by a small thread pool, in order, with a bounded window: at most
``trino.fetch_threads`` segments are in flight (downloaded, decoded or waiting to be consumed) at any time,
whatever the size of the result; memory is that window plus the Arrow result. A segment is acknowledged once
its batch is decoded (the coordinator then deletes its object). Any failure (a segment missing, the object
store or the coordinator gone) cancels the query and raises :class:`QueryResultError`: never a partial result.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse_sdk.errors import QueryResultError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ENCODINGS", "Segment", "SegmentFetcher", "decode_segment", "gc_paused", "parse_segments"]

# what lh.query() asks for, best first: zstd decompresses fastest per byte saved
ENCODINGS = ("json+zstd", "json+lz4", "json")


@dataclass(frozen=True)
class Segment:
    """One segment of a spooled result: inline ``data`` or a ``uri`` (with its ``headers`` and ``ack_uri``)."""

    index: int
    encoding: str
    rows: int
    size: int  # bytes as stored (compressed)
    uncompressed_size: int | None  # None: not compressed
    data: bytes | None = None
    uri: str | None = None
    ack_uri: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def parse_segments(payload: dict[str, Any], first_index: int) -> list[Segment]:
    """The segments of one protocol response's ``data`` field (``{"encoding": ..., "segments": [...]}``)."""
    encoding = str(payload.get("encoding", "json"))
    out = []
    for offset, raw in enumerate(payload.get("segments") or []):
        meta = raw.get("metadata") or {}
        uncompressed = meta.get("uncompressedSize")
        index, rows, size = first_index + offset, int(meta.get("rowsCount", 0)), int(meta.get("segmentSize", 0))
        full = int(uncompressed) if uncompressed is not None else None
        if raw.get("type") == "inline":
            out.append(Segment(index, encoding, rows, size, full, data=base64.b64decode(raw["data"])))
        elif raw.get("type") == "spooled":
            headers = []
            for key, values in (raw.get("headers") or {}).items():
                if len(values) != 1:
                    raise ValueError(f"segment header {key!r} has {len(values)} values")
                headers.append((key, values[0]))
            ack = raw.get("ackUri")
            out.append(Segment(index, encoding, rows, size, full, uri=raw["uri"], ack_uri=ack, headers=tuple(headers)))
        else:
            raise ValueError(f"unknown segment type {raw.get('type')!r}")
    return out


def _decompress(segment: Segment, data: bytes) -> bytes:
    if segment.uncompressed_size is None:  # below the server's compression threshold
        return data
    codec = segment.encoding.partition("+")[2]
    if codec == "zstd":
        import zstandard

        out = zstandard.ZstdDecompressor().decompress(data, max_output_size=segment.uncompressed_size)
    elif codec == "lz4":
        import lz4.block  # type: ignore[import-untyped]

        out = lz4.block.decompress(data, uncompressed_size=segment.uncompressed_size)
    else:
        raise ValueError(f"segment {segment.index} is compressed, but encoding {segment.encoding!r} has no codec")
    if len(out) != segment.uncompressed_size:
        raise ValueError(
            f"segment {segment.index} decompressed to {len(out)} bytes; the server announced "
            f"{segment.uncompressed_size}"
        )
    return bytes(out)


_gc_lock = threading.Lock()
_gc_users = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while segments are decoded (on any thread).

    A segment is hundreds of thousands of small row lists: without this the collector runs over and over
    while they are built, scanning every one of them (measured: JSON parsing 2-3 times slower). The rows hold
    no reference cycles, so there is nothing for it to find; it runs again as soon as the last decode ends.
    """
    global _gc_users, _gc_was_enabled
    with _gc_lock:
        if _gc_users == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_was_enabled:
                gc.enable()


FlatDecoder = Callable[[bytes, int], "pa.RecordBatch | None"]


def decode_segment(
    segment: Segment,
    data: bytes,
    to_batch: Callable[[list[list[Any]]], pa.RecordBatch],
    flat: FlatDecoder | None = None,
) -> pa.RecordBatch:
    """Decompress and parse one segment's bytes into a record batch (``to_batch`` types the columns).

    ``flat(raw, rows)`` is tried first: a decoder of flat columns that returns ``None`` for a segment it
    cannot take (see :class:`lakehouse_sdk.clients.trino_types.FlatRowsDecoder`).
    """
    import orjson

    if segment.size and len(data) != segment.size:
        raise ValueError(f"segment {segment.index}: got {len(data)} bytes, the server announced {segment.size}")
    raw = _decompress(segment, data)
    if flat is not None and segment.rows:
        batch = flat(raw, segment.rows)
        if batch is not None:
            return batch
    with gc_paused():
        rows = orjson.loads(raw)
        if segment.rows and len(rows) != segment.rows:
            raise ValueError(f"segment {segment.index}: {len(rows)} rows, the server announced {segment.rows}")
        return to_batch(rows)


class SegmentFetcher:
    """Fetch and decode segments on ``threads`` threads, yielding batches in segment order.

    ``get(uri, headers)`` performs one HTTP GET and returns ``(status, body)``; ``describe(segment)`` names a
    segment in errors (service, endpoint, query id).
    """

    def __init__(
        self,
        get: Callable[[str, dict[str, str]], tuple[int, bytes]],
        to_batch: Callable[[list[list[Any]]], pa.RecordBatch],
        *,
        threads: int,
        describe: Callable[[Segment], str],
        flat: FlatDecoder | None = None,
    ) -> None:
        self._get = get
        self._to_batch = to_batch
        self._flat = flat
        self._threads = max(1, threads)
        self._describe = describe
        self._acks: list[Future[None]] = []
        self.acknowledged = 0
        self.fetched = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def _load(self, segment: Segment) -> pa.RecordBatch:
        if segment.data is not None:
            return decode_segment(segment, segment.data, self._to_batch, self._flat)
        assert segment.uri is not None
        status, body = self._get(segment.uri, dict(segment.headers))
        if status != 200:
            text = body[:300].decode("utf-8", "replace").strip()
            raise QueryResultError(f"{self._describe(segment)}: HTTP {status} {text}".rstrip())
        with self._lock:
            self.fetched += 1
        return decode_segment(segment, body, self._to_batch, self._flat)

    def _acknowledge(self, segment: Segment) -> None:
        if segment.ack_uri is None:
            return
        with contextlib.suppress(Exception):  # the object expires with its TTL anyway
            status, _ = self._get(segment.ack_uri, dict(segment.headers))
            if status == 200:
                with self._lock:
                    self.acknowledged += 1

    def batches(self, segments: Iterator[Segment]) -> Iterator[pa.RecordBatch]:
        """Batches in order; the window of pending segments never exceeds the thread count."""
        window: collections.deque[tuple[Segment, Future[pa.RecordBatch]]] = collections.deque()
        pool = ThreadPoolExecutor(self._threads, thread_name_prefix="lakehouse-segment")
        complete = False
        try:
            source = iter(segments)
            exhausted = False
            while True:
                while not exhausted and len(window) < self._threads:
                    segment = next(source, None)
                    if segment is None:
                        exhausted = True
                        break
                    window.append((segment, pool.submit(self._load, segment)))
                    self.max_in_flight = max(self.max_in_flight, len(window))
                if not window:
                    complete = True
                    return
                segment, future = window.popleft()
                try:
                    batch = future.result()
                except QueryResultError:
                    raise
                except Exception as exc:
                    raise QueryResultError(f"{self._describe(segment)}: {type(exc).__name__}: {exc}") from exc
                self._acks.append(pool.submit(self._acknowledge, segment))
                yield batch
        finally:
            for _, future in window:
                future.cancel()
            # a complete result waits for its acknowledgements; a failed one drops what is still queued
            pool.shutdown(wait=True, cancel_futures=not complete)
