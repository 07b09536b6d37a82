"""The spooling protocol's client side, offline: segment parsing, decoding, the ordered bounded window,
errors that discard the whole result, nested Trino types to Arrow, and the stack's spooling configuration."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import lz4.block  # type: ignore[import-untyped]
import orjson
import pyarrow as pa
import pytest
import zstandard

from lakehouse_sdk import LakehouseSettings, QueryResultError
from lakehouse_sdk.clients.query import rows_to_batch
from lakehouse_sdk.clients.spooled import Segment, SegmentFetcher, decode_segment, parse_segments
from lakehouse_sdk.clients.trino_types import nested_type
from lakehouse_sdk.kube.credentials import SECRET_KEYS, Credentials
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import render_objects
from lakehouse_sdk.stack import config as stack_config

NAMES, TYPES = ["id", "name"], ["bigint", "varchar"]


def _rows(start: int, count: int) -> list[list[Any]]:
    return [[i, f"name-{i}"] for i in range(start, start + count)]


def _to_batch(rows: list[list[Any]]) -> pa.RecordBatch:
    return rows_to_batch(rows, NAMES, TYPES)


def test_inline_and_spooled_segments_parse_with_their_metadata() -> None:
    raw = orjson.dumps(_rows(0, 3))
    payload = {
        "encoding": "json+zstd",
        "segments": [
            {
                "type": "inline",
                "data": base64.b64encode(raw).decode(),
                "metadata": {"rowsCount": 3, "segmentSize": len(raw)},
            },
            {
                "type": "spooled",
                "uri": "http://trino:8080/v1/spooled/download/abc",
                "ackUri": "http://trino:8080/v1/spooled/ack/abc",
                "headers": {"X-Trino-Segment": ["v"]},
                "metadata": {"rowsCount": 10, "segmentSize": 99, "uncompressedSize": 400},
            },
        ],
    }
    inline, spooled = parse_segments(payload, 5)
    assert (inline.index, inline.rows, inline.data, inline.uncompressed_size) == (5, 3, raw, None)
    assert (spooled.index, spooled.size, spooled.uncompressed_size) == (6, 99, 400)
    assert spooled.ack_uri is not None and spooled.ack_uri.endswith("/ack/abc")
    assert spooled.headers == (("X-Trino-Segment", "v"),)
    with pytest.raises(ValueError, match="unknown segment type"):
        parse_segments({"segments": [{"type": "other", "metadata": {}}]}, 0)


@pytest.mark.parametrize("codec", ["zstd", "lz4", "none"])
def test_segments_decode_for_each_encoding(codec: str) -> None:
    rows = _rows(0, 500)
    raw = orjson.dumps(rows)
    if codec == "zstd":
        data, full, encoding = zstandard.ZstdCompressor().compress(raw), len(raw), "json+zstd"
    elif codec == "lz4":
        data, full, encoding = lz4.block.compress(raw, store_size=False), len(raw), "json+lz4"
    else:
        data, full, encoding = raw, None, "json"
    segment = Segment(0, encoding, len(rows), len(data), full, data=data)
    batch = decode_segment(segment, data, _to_batch)
    assert batch.num_rows == 500 and batch.column(1)[499].as_py() == "name-499"


def test_a_short_or_inconsistent_segment_is_refused() -> None:
    raw = orjson.dumps(_rows(0, 10))
    data = zstandard.ZstdCompressor().compress(raw)
    with pytest.raises(ValueError, match="announced"):
        decode_segment(Segment(0, "json+zstd", 10, len(data) + 1, len(raw), data=data), data, _to_batch)
    with pytest.raises(ValueError, match="decompressed to"):
        decode_segment(Segment(0, "json+zstd", 10, len(data), len(raw) + 5, data=data), data, _to_batch)
    with pytest.raises(ValueError, match="rows"):
        decode_segment(Segment(0, "json", 11, len(raw), None, data=raw), raw, _to_batch)


class _Server:
    """An in-process stand-in for the coordinator's download and ack endpoints, with latency per segment."""

    def __init__(self, segments: int, rows: int, *, missing: int | None = None) -> None:
        self.bodies = {f"http://t/d/{i}": orjson.dumps(_rows(i * rows, rows)) for i in range(segments)}
        self.missing = f"http://t/d/{missing}" if missing is not None else None
        self.acked: list[str] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def get(self, uri: str, headers: dict[str, str]) -> tuple[int, bytes]:
        if "/ack/" in uri:
            with self.lock:
                self.acked.append(uri)
            return 200, b""
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(0.01 * (hash(uri) % 3))  # finish out of order
            if uri == self.missing:
                return 404, b"Segment not found or expired"
            return 200, self.bodies[uri]
        finally:
            with self.lock:
                self.active -= 1

    def segments(self, rows: int) -> list[Segment]:
        return [
            Segment(i, "json", rows, len(body), None, uri=uri, ack_uri=f"http://t/ack/{i}")
            for i, (uri, body) in enumerate(self.bodies.items())
        ]


def test_batches_come_in_order_with_a_bounded_window_and_every_segment_acknowledged() -> None:
    server = _Server(segments=20, rows=100)
    fetcher = SegmentFetcher(server.get, _to_batch, threads=3, describe=lambda s: f"segment {s.index}")
    produced = 0

    def source() -> Any:
        nonlocal produced
        for segment in server.segments(100):
            produced += 1
            yield segment

    seen = 0
    for i, batch in enumerate(fetcher.batches(source())):
        assert batch.column(0)[0].as_py() == i * 100  # in order
        seen += 1
        # never more than the window ahead of the consumer
        assert produced - seen <= 3
    assert seen == 20 and fetcher.max_in_flight <= 3 and server.max_active <= 3
    assert sorted(server.acked) == sorted(f"http://t/ack/{i}" for i in range(20))


def test_a_missing_segment_raises_and_yields_no_partial_result() -> None:
    server = _Server(segments=10, rows=50, missing=6)
    fetcher = SegmentFetcher(server.get, _to_batch, threads=2, describe=lambda s: f"trino: segment {s.index} of q1")
    got: list[pa.RecordBatch] = []

    def consume() -> None:
        got.extend(fetcher.batches(iter(server.segments(50))))

    with pytest.raises(QueryResultError, match=r"segment 6 of q1: HTTP 404 Segment not found"):
        consume()
    assert len(got) == 6  # the caller's list is discarded by run_query: nothing partial is returned
    assert "http://t/ack/6" not in server.acked


def test_a_broken_body_names_the_segment() -> None:
    def get(uri: str, headers: dict[str, str]) -> tuple[int, bytes]:
        return 200, b"[[1, 'not json"

    fetcher = SegmentFetcher(get, _to_batch, threads=1, describe=lambda s: f"segment {s.index}")
    with pytest.raises(QueryResultError, match=r"segment 0: JSONDecodeError"):
        list(fetcher.batches(iter([Segment(0, "json", 0, 0, None, uri="http://t/d/0")])))


@pytest.mark.parametrize(
    ("trino_type", "value", "expected"),
    [
        ("array(integer)", [1, None, 3], [1, None, 3]),
        (
            "array(decimal(5,2))",
            ["1.50", None],
            [pa.scalar("1.50", pa.string()).cast(pa.decimal128(5, 2)).as_py(), None],
        ),
        ("map(varchar, bigint)", {"a": 1, "b": None}, [("a", 1), ("b", None)]),
        ("map(integer, varchar)", {"1": "x"}, [(1, "x")]),
        ("row(x integer, y varchar)", [1, "a"], {"x": 1, "y": "a"}),
        ('row("first name" varchar, age integer)', ["Ada", 36], {"first name": "Ada", "age": 36}),
        ("array(row(d date, t timestamp(6)))", [["2024-02-29", "2024-02-29 01:02:03.123456"]], None),
    ],
)
def test_nested_trino_types_become_typed_arrow(trino_type: str, value: Any, expected: Any) -> None:
    arrow, convert = nested_type(trino_type)
    array = pa.array([convert(value), convert(None)], type=arrow)
    assert array[1].as_py() is None
    if expected is not None:
        assert array[0].as_py() == expected
    else:
        item = array[0].as_py()[0]
        assert str(item["d"]) == "2024-02-29" and item["t"].microsecond == 123456


def test_the_stack_renders_spooling_with_the_key_from_the_secret_only() -> None:
    settings = LakehouseSettings()
    ctx = stack_config.StackContext.in_cluster(settings.stack_values())
    props = stack_config.trino_config_properties(ctx)
    assert props["protocol.spooling.enabled"] == "true"
    assert props["protocol.spooling.retrieval-mode"] == "COORDINATOR_PROXY"
    assert props["protocol.spooling.shared-secret-key"] == "${ENV:LAKEHOUSE_TRINO_SPOOLING_KEY}"
    manager = stack_config.trino_spooling_manager_properties(ctx)
    assert manager["fs.location"] == "s3://trino-spooling/" and manager["s3.aws-secret-key"].startswith("${ENV:")
    assert manager["fs.segment.encryption"] == "true"  # SSE-C: SeaweedFS takes customer keys over HTTP
    minio = ProvisionOptions(object_store="minio").stack_values()
    assert not minio.spooling_encryption  # MinIO refuses SSE-C without TLS
    generated = Credentials.generate()
    assert len(base64.b64decode(generated.trino_spooling_key)) == 32
    objects = render_objects(ProvisionOptions(), credentials=generated)
    config_maps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert all(generated.trino_spooling_key not in str(cm) for cm in config_maps)
    secret = next(o for o in objects if o["kind"] == "Secret")
    assert SECRET_KEYS["trino_spooling_key"] in secret["data"]
    assert "trino-spooling" in ProvisionOptions().buckets
    off = stack_config.StackContext.in_cluster(LakehouseSettings(trino={"spooling": False}).stack_values())
    assert stack_config.trino_config_properties(off)["protocol.spooling.enabled"] == "false"
    assert "trino-spooling" not in ProvisionOptions(trino_spooling=False).buckets


def test_an_old_secret_without_a_spooling_key_gets_one() -> None:
    data = Credentials.generate().secret_data()
    del data[SECRET_KEYS["trino_spooling_key"]]
    restored = Credentials.from_secret({"data": data, "metadata": {"annotations": {}}})
    assert len(base64.b64decode(restored.trino_spooling_key)) == 32
    assert "trino_spooling_key" not in repr(restored)


def test_the_garbage_collector_is_paused_only_while_segments_decode() -> None:
    import gc

    raw = orjson.dumps(_rows(0, 10))
    seen = []

    def to_batch(rows: list[list[Any]]) -> pa.RecordBatch:
        seen.append(gc.isenabled())
        return _to_batch(rows)

    assert gc.isenabled()
    decode_segment(Segment(0, "json", 10, len(raw), None, data=raw), raw, to_batch)
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ValueError, match="rows"):
        decode_segment(Segment(0, "json", 11, len(raw), None, data=raw), raw, to_batch)
    assert gc.isenabled()  # back on after a failure too
