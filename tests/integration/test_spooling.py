"""Trino's spooling protocol on the local stack: spooled results, typed, equal to the direct protocol's; errors
mid-stream discard the result; a Trino with spooling off answers over the direct protocol."""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from trino.exceptions import TrinoQueryError

from lakehouse_sdk import Lakehouse, LocalStack, QueryResultError
from lakehouse_sdk.clients import spooled

from .conftest import Stack, lakehouse_cli

ROWS = 40_000  # well above what Trino inlines (1000 rows / 128 kB per worker): most of it is spooled
# every type of the typed-columns check; every 7th row is NULL in each nullable column
TYPED_SQL = f"""
SELECT
  i AS id,
  CAST(i AS decimal(12, 2)) / 100 AS amount,
  CAST(i AS decimal(38, 10)) / 3 AS precise,
  date_add('day', i % 5000, DATE '2000-01-01') AS day,
  CAST(at_timezone(from_unixtime(i), 'UTC') AS timestamp(0)) AS ts0,
  date_add('millisecond', i, TIMESTAMP '2024-02-29 00:00:00.000') AS ts3,
  CAST(at_timezone(from_unixtime_nanos(1709164800000000000 + i * 1000), 'UTC') AS timestamp(6)) AS ts6,
  CAST(at_timezone(from_unixtime_nanos(1709164800000000000 + i), 'UTC') AS timestamp(9)) AS ts9,
  IF(i % 7 = 0, NULL, 'name-' || CAST(i AS varchar) || ' ü ✓ "q"') AS name,
  IF(i % 7 = 1, NULL, i * 0.5e0) AS score,
  i % 2 = 0 AS even,
  IF(i % 7 = 2, NULL, ARRAY[i, i + 1, NULL]) AS numbers,
  MAP(ARRAY['k', 'v'], ARRAY[i, i * 2]) AS pairs,
  CAST(ROW(i, 'r' || CAST(i AS varchar)) AS ROW(n bigint, s varchar)) AS record
FROM (SELECT a * 1000 + b AS i FROM UNNEST(sequence(0, {ROWS // 1000 - 1})) AS t1(a)
      CROSS JOIN UNNEST(sequence(0, 999)) AS t2(b))
ORDER BY i
"""


def _query_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "lakehouse_sdk.query")


def test_spooled_results_are_typed_and_equal_to_the_direct_protocols(
    lh: Lakehouse, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lakehouse_sdk.query")
    spooled_table = lh.query(TYPED_SQL, output="arrow")
    assert "over the spooling protocol (json+zstd)" in _query_log(caplog)
    assert " 0 fetched from storage" not in _query_log(caplog)
    caplog.clear()
    direct = Lakehouse(trino={"spooling": False}).query(TYPED_SQL, output="arrow")
    assert "over the direct protocol" in _query_log(caplog)

    assert spooled_table.num_rows == ROWS
    assert spooled_table.schema == direct.schema
    assert spooled_table.equals(direct)

    types = dict(zip(spooled_table.column_names, spooled_table.schema.types, strict=True))
    assert types["amount"] == pa.decimal128(12, 2) and types["precise"] == pa.decimal128(38, 10)
    assert types["day"] == pa.date32()
    assert [types[f"ts{p}"].unit for p in (0, 3, 6, 9)] == ["s", "ms", "us", "ns"]
    assert types["numbers"] == pa.list_(pa.int64())
    assert pa.types.is_map(types["pairs"]) and pa.types.is_struct(types["record"])

    # values, recomputed here from the SQL's formulas
    row = spooled_table.slice(12345, 1).to_pylist()[0]
    i = 12345
    assert row["amount"] == Decimal("123.45")
    assert row["precise"] == (Decimal(i) / 3).quantize(Decimal("1e-10"))
    assert row["day"] == datetime.date(2000, 1, 1) + datetime.timedelta(days=i % 5000)
    assert row["ts3"] == datetime.datetime(2024, 2, 29) + datetime.timedelta(milliseconds=i)
    assert row["ts6"] == datetime.datetime(2024, 2, 29) + datetime.timedelta(microseconds=i)
    ts9 = spooled_table.column("ts9")[i].cast(pa.int64()).as_py()
    assert ts9 == 1709164800000000000 + i  # nanoseconds since the epoch: every digit arrived
    assert row["name"] is None if i % 7 == 0 else row["name"] == f'name-{i} ü ✓ "q"'
    assert row["score"] == i * 0.5 and row["even"] is False
    assert row["numbers"] == [i, i + 1, None]
    assert dict(row["pairs"]) == {"k": i, "v": 2 * i}
    assert row["record"] == {"n": i, "s": f"r{i}"}
    nulls = spooled_table.column("name").null_count
    assert nulls == len(range(0, ROWS, 7))


# flat columns only: the segments go through the CSV reader (FlatRowsDecoder), except those whose strings hold a
# quote (escaped with a backslash in JSON) or the row separator, which go the general way
FLAT_SQL = f"""
SELECT
  i AS id, CAST(i % 100 AS tinyint) AS tiny, CAST(i % 30000 AS smallint) AS small, CAST(i AS integer) AS int,
  CAST(i AS decimal(12, 2)) / 100 AS amount, CAST(i AS decimal(38, 10)) / 3 AS precise,
  date_add('day', i % 5000, DATE '2000-01-01') AS day,
  CAST(at_timezone(from_unixtime(i), 'UTC') AS timestamp(0)) AS ts0,
  date_add('millisecond', i, TIMESTAMP '2024-02-29 00:00:00.000') AS ts3,
  CAST(at_timezone(from_unixtime_nanos(1709164800000000000 + i), 'UTC') AS timestamp(9)) AS ts9,
  CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN 'null' WHEN i % 13 = 0 THEN ''
       WHEN i = 31000 THEN 'a "quoted" ],[ value' ELSE 'name-' || CAST(i AS varchar) || ', ü ✓' END AS name,
  CASE WHEN i % 7 = 1 THEN NULL WHEN i % 5 = 0 THEN nan() WHEN i % 9 = 0 THEN -infinity() ELSE i * 0.5e0 END
    AS score,
  CAST(i * 0.25e0 AS real) AS ratio,
  IF(i % 3 = 0, NULL, i % 2 = 0) AS even
FROM (SELECT a * 1000 + b AS i FROM UNNEST(sequence(0, {ROWS // 1000 - 1})) AS t1(a)
      CROSS JOIN UNNEST(sequence(0, 999)) AS t2(b))
ORDER BY i
"""


def test_flat_results_decode_through_the_csv_reader_to_the_direct_protocols_values(
    lh: Lakehouse, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lakehouse_sdk.query")
    spooled_table = lh.query(FLAT_SQL, output="arrow")
    log = _query_log(caplog)
    assert "over the spooling protocol" in log
    decoded = int(log.split(" decoded as flat rows")[0].rsplit(" ", 1)[-1])
    segments = int(log.split(" segments, ")[0].rsplit(" ", 1)[-1])
    assert 0 < decoded < segments  # the CSV reader took most; the one with quotes went the general way
    direct = Lakehouse(trino={"spooling": False}).query(FLAT_SQL, output="arrow")
    assert spooled_table.schema == direct.schema
    # NaN != NaN: the score column compared by the reprs of its values, the rest as Arrow data
    assert spooled_table.drop_columns(["score"]).equals(direct.drop_columns(["score"]))
    scores, expected = spooled_table.column("score").to_pylist(), direct.column("score").to_pylist()
    assert [repr(v) for v in scores] == [repr(v) for v in expected]
    row = spooled_table.slice(31000, 1).to_pylist()[0]
    assert row["name"] == 'a "quoted" ],[ value'
    assert spooled_table.column("name").to_pylist()[11] == "null" and spooled_table.column("name")[7].as_py() is None
    assert repr(spooled_table.column("score")[5].as_py()) == "nan"


def test_a_small_result_arrives_inline(lh: Lakehouse) -> None:
    frame = lh.query("SELECT 1 AS one, 'x' AS letter")
    assert frame.to_dict("records") == [{"one": 1, "letter": "x"}]


def _on_first_spooled_segment(monkeypatch: pytest.MonkeyPatch, action: Any) -> list[int]:
    """Run ``action`` once, when the first spooled (not inline) segment is announced, before it is fetched."""
    fired: list[int] = []
    original = spooled.parse_segments

    def parse(payload: dict[str, Any], first_index: int) -> list[spooled.Segment]:
        found = original(payload, first_index)
        if not fired and any(s.uri for s in found):
            fired.append(first_index)
            action()
        return found

    monkeypatch.setattr(spooled, "parse_segments", parse)
    return fired


def test_a_segment_missing_from_the_object_store_raises_and_returns_nothing(
    lh: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = lh.s3()
    bucket = lh.settings.trino.spooling_bucket

    def delete_every_segment() -> None:
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        assert listed, "the spooled segment is not in the spooling bucket"
        for obj in listed:
            s3.delete_object(Bucket=bucket, Key=obj["Key"])

    fired = _on_first_spooled_segment(monkeypatch, delete_every_segment)
    result = None
    with pytest.raises(QueryResultError) as info:
        result = lh.query(TYPED_SQL)
    assert fired and result is None
    text = str(info.value)
    assert lh.endpoint("trino").url in text and "could not be read; the result was discarded" in text
    assert "of query 20" in text  # Trino's query id (it starts with the date)


def test_the_object_store_gone_mid_stream_raises_and_returns_nothing(
    stack: Stack, lh: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = _on_first_spooled_segment(monkeypatch, lambda: LocalStack().handle("object-store").stop(20))
    try:
        result = None
        with pytest.raises((QueryResultError, TrinoQueryError)) as info:
            result = lh.query(TYPED_SQL)
        assert fired and result is None
        text = str(info.value)
        if isinstance(info.value, QueryResultError):
            assert "the result was discarded" in text
    finally:
        lakehouse_cli("up", "--local")
    assert lh.query("SELECT count(*) AS n FROM UNNEST(sequence(1, 5000)) AS t(i)")["n"][0] == 5000


def test_a_trino_with_spooling_off_answers_over_the_direct_protocol(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The client asks for spooled results (the default); the restarted server has spooling disabled."""
    caplog.set_level(logging.DEBUG, logger="lakehouse_sdk.query")
    LocalStack().handle("trino").stop(20)
    try:
        lakehouse_cli("up", "--local", env={"LAKEHOUSE_TRINO__SPOOLING": "false"})
        lh = Lakehouse()
        assert lh.settings.trino.spooling  # this client asks for spooling
        table = lh.query(TYPED_SQL, output="arrow")
        assert "over the direct protocol" in _query_log(caplog)
        assert table.num_rows == ROWS
        assert table.column("id").to_pylist()[-3:] == [ROWS - 3, ROWS - 2, ROWS - 1]
    finally:
        LocalStack().handle("trino").stop(20)
        lakehouse_cli("up", "--local")
