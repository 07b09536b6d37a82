"""The flat-rows decoder of spooled segments (JSON rows through pyarrow's CSV reader), offline: on any rows of
flat Trino types it gives exactly what the general path (orjson + :func:`rows_to_batch`) gives, and it declines
every segment it cannot take, which then goes the general way."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse_sdk.clients.query import rows_to_batch
from lakehouse_sdk.clients.spooled import Segment, decode_segment
from lakehouse_sdk.clients.trino_types import flat_rows_decoder

# Trino type, and how the JSON protocol writes its values (legacy_primitive_types: dates, decimals and
# timestamps as strings; NaN and infinities as strings)
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


def _double(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


COLUMNS: dict[str, Any] = {
    "bigint": st.integers(-(2**63), 2**63 - 1),
    "integer": st.integers(-(2**31), 2**31 - 1),
    "smallint": st.integers(-(2**15), 2**15 - 1),
    "tinyint": st.integers(-128, 127),
    "double": st.floats(allow_nan=True, allow_infinity=True).map(_double),
    "boolean": st.booleans(),
    "varchar": _TEXT | st.sampled_from(["null", "", "a],[b", "],[", "1,2", "true", '"']),
    "date": st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31)).map(lambda d: d.isoformat()),
    "decimal(12,2)": st.decimals(-(10**10) + 1, 10**10 - 1, places=2, allow_nan=False).map(str),
    "decimal(38,10)": st.decimals(-(10**27) + 1, 10**27 - 1, places=10, allow_nan=False).map(lambda d: f"{d:.10f}"),
    "timestamp(3)": st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2200, 1, 1)).map(
        lambda t: t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    ),
    "timestamp(6)": st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2200, 1, 1)).map(
        lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")
    ),
    "timestamp(0)": st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2200, 1, 1)).map(
        lambda t: t.strftime("%Y-%m-%d %H:%M:%S")
    ),
}


@st.composite
def results(draw: st.DrawFn) -> tuple[list[str], list[list[Any]]]:
    types = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=6))
    row = st.tuples(*[st.none() | COLUMNS[t] for t in types]).map(list)
    return types, draw(st.lists(row, min_size=1, max_size=40))


def _comparable(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """Rows with NaN made comparable (NaN != NaN, and ``RecordBatch.equals`` says so too)."""
    return [
        {k: "NaN" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()} for row in batch.to_pylist()
    ]


def _general(raw: bytes, names: list[str], types: list[str]) -> pa.RecordBatch:
    return rows_to_batch(orjson.loads(raw), names, types)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results())
def test_flat_rows_decode_exactly_like_the_general_path(result: tuple[list[str], list[list[Any]]]) -> None:
    types, rows = result
    names = [f"col{i}" for i in range(len(types))]
    raw = orjson.dumps(rows)
    decoder = flat_rows_decoder(names, types)
    assert decoder is not None
    expected = _general(raw, names, types)
    batch = decoder.decode(raw, len(rows))
    if batch is None:  # declined: only for a string with a backslash (an escape) or "],[" in it
        assert b"\\" in raw or raw.count(b"],[") != len(rows) - 1
        return
    assert batch.schema == expected.schema
    assert _comparable(batch) == _comparable(expected)


def test_the_values_a_csv_reader_could_confuse_keep_their_json_meaning() -> None:
    names, types = ["s", "d", "b", "n", "t"], ["varchar", "double", "boolean", "decimal(5,2)", "timestamp(9)"]
    rows = [
        ["null", "NaN", True, "1.50", "2024-02-29 00:00:00.000000001"],
        [None, "-Infinity", False, None, None],
        ["", 1e300, None, "-0.01", "1970-01-01 00:00:00.123456789"],
        ["ü ✓, 1", 0.1, False, "0.00", "2262-04-11 23:47:16.854775807"],
    ]
    raw = orjson.dumps(rows)
    decoder = flat_rows_decoder(names, types)
    assert decoder is not None
    batch = decoder.decode(raw, 4)
    assert batch is not None
    assert _comparable(batch) == _comparable(_general(raw, names, types))
    values = batch.to_pydict()
    assert values["s"] == ["null", None, "", "ü ✓, 1"]
    assert math.isnan(values["d"][0]) and values["d"][1:] == [-math.inf, 1e300, 0.1]
    assert values["b"] == [True, False, None, False]
    assert values["n"] == [Decimal("1.50"), None, Decimal("-0.01"), Decimal("0.00")]
    nanos = batch.column("t").cast(pa.int64()).to_pylist()
    assert nanos == [1709164800000000001, None, 123456789, 2**63 - 1]  # every digit, to the last nanosecond


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([["a\\b"], ["c"]], "a backslash: an escape the CSV reader would not undo"),
        ([['say "hi"'], ["c"]], "a quote, which JSON escapes with a backslash"),
        ([["x],[y"], ["c"]], "the row separator inside a string"),
        ([["line\nbreak"], ["c"]], "a control character, escaped in JSON"),
    ],
)
def test_segments_the_csv_reader_cannot_take_are_declined(rows: list[list[Any]], why: str) -> None:
    raw = orjson.dumps(rows)
    decoder = flat_rows_decoder(["s"], ["varchar"])
    assert decoder is not None
    assert decoder.decode(raw, len(rows)) is None, why
    # and decode_segment falls back to the general path, with the same values
    batch = decode_segment(Segment(0, "json", len(rows), len(raw), None, data=raw), raw, _batcher(), decoder.decode)
    assert batch.column(0).to_pylist() == [r[0] for r in rows]


def _batcher() -> Any:
    return lambda rows: rows_to_batch(rows, ["s"], ["varchar"])


def test_a_row_count_that_disagrees_is_declined() -> None:
    raw = orjson.dumps([[1], [2], [3]])
    decoder = flat_rows_decoder(["n"], ["bigint"])
    assert decoder is not None
    assert decoder.decode(raw, 2) is None and decoder.decode(raw, 3) is not None


def test_results_with_nested_or_unknown_columns_get_no_flat_decoder() -> None:
    assert flat_rows_decoder(["a", "b"], ["bigint", "array(bigint)"]) is None
    assert flat_rows_decoder(["r"], ["row(n bigint)"]) is None
    assert flat_rows_decoder(["t"], ["timestamp(3) with time zone"]) is None
    assert flat_rows_decoder(["a", "a"], ["bigint", "varchar"]) is not None  # repeated names are fine


def test_repeated_column_names_keep_their_order_and_types() -> None:
    raw = orjson.dumps([[1, "x"], [2, "y"]])
    decoder = flat_rows_decoder(["a", "a"], ["bigint", "varchar"])
    assert decoder is not None
    batch = decoder.decode(raw, 2)
    assert batch is not None and batch.schema.names == ["a", "a"]
    assert batch.column(0).to_pylist() == [1, 2] and batch.column(1).to_pylist() == ["x", "y"]
