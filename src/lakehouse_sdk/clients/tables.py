"""Iceberg tables to and from pandas / Arrow without a JVM: ``lh.read_table()`` and ``lh.write_table()``.

Both go through pyiceberg on the metastore (:mod:`lakehouse_sdk.clients.iceberg`): a write is one Iceberg
commit, which Trino and Spark (its catalog reads the metastore on every query) see at once.

Arrow types that Iceberg cannot hold are converted when nothing is lost (a pandas categorical to its values,
``timestamp[ns]`` without sub-microsecond digits to microseconds, small unsigned integers to wider signed
ones, ``float16`` to ``float32``, time zones to UTC); otherwise the write is refused before anything is
written, naming the column.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal

from lakehouse_sdk._deps import require
from lakehouse_sdk.errors import TableError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog.hive import HiveCatalog

__all__ = ["iceberg_arrow", "read_table", "split_name", "write_table"]

WriteMode = Literal["append", "overwrite", "create"]


def split_name(name: str, catalog_name: str) -> tuple[str, str]:
    """``iceberg.<schema>.<table>`` or ``<schema>.<table>`` → ``(schema, table)``."""
    parts = [p.strip().strip('"') for p in name.split(".")]
    if len(parts) == 3:
        catalog, schema, table = parts
        if catalog != catalog_name:
            raise TableError(
                f"table {name!r} is in the Trino catalog {catalog!r}; lh.read_table()/lh.write_table() work on "
                f"Iceberg tables, catalog {catalog_name!r} (iceberg.catalog_name). For a Hive table use "
                f'lh.query("SELECT ... FROM {name}") or Spark.'
            )
    elif len(parts) == 2:
        schema, table = parts
    else:
        raise TableError(f"table name {name!r}: write it as {catalog_name}.<schema>.<table> or <schema>.<table>")
    if not schema or not table:
        raise TableError(f"table name {name!r} has an empty part")
    return schema, table


def _load(catalog: HiveCatalog, name: str, schema: str, table: str) -> Any:
    from pyiceberg.exceptions import NoSuchIcebergTableError, NoSuchPropertyException, NoSuchTableError

    try:
        return catalog.load_table((schema, table))
    except (NoSuchIcebergTableError, NoSuchPropertyException):  # table_type other than ICEBERG, or none
        raise TableError(
            f"{name} is a Hive table, not an Iceberg table: lh.read_table()/lh.write_table() read and write "
            f'Iceberg tables only. Read it with lh.query("SELECT * FROM hive.{schema}.{table}") or Spark.'
        ) from None
    except NoSuchTableError:
        return None


def read_table(
    catalog: HiveCatalog,
    name: str,
    *,
    columns: list[str] | tuple[str, ...] | None = None,
    row_filter: str | None = None,
    limit: int | None = None,
) -> pa.Table:
    """Scan an Iceberg table into Arrow (columns, a pyiceberg row filter such as ``"id > 5 AND x = 'a'"``,
    and a row limit are pushed into the scan)."""
    schema, table = split_name(name, catalog.name)
    loaded = _load(catalog, name, schema, table)
    if loaded is None:
        raise TableError(f"table {name} does not exist (namespace {schema!r} of the metastore)")
    known = [f.name for f in loaded.schema().fields]
    if columns is not None:
        missing = [c for c in columns if c not in known]
        if missing:
            raise TableError(f"{name} has no column {', '.join(map(repr, missing))}; its columns: {', '.join(known)}")
    if limit is not None and limit < 0:
        raise TableError(f"limit must be 0 or more, not {limit}")
    scan_kwargs: dict[str, Any] = {}
    if columns is not None:
        scan_kwargs["selected_fields"] = tuple(columns)
    if row_filter:
        scan_kwargs["row_filter"] = row_filter
    if limit is not None:
        scan_kwargs["limit"] = limit
    try:
        result: pa.Table = loaded.scan(**scan_kwargs).to_arrow()
    except (ValueError, TypeError) as exc:  # a filter that does not parse or names an unknown column
        if row_filter:
            raise TableError(f"row_filter {row_filter!r} on {name}: {exc}") from None
        raise
    return result


def write_table(catalog: HiveCatalog, data: Any, name: str, *, mode: WriteMode = "append") -> int:
    """Write ``data`` (a pandas DataFrame, an Arrow table or record batch) as one Iceberg commit.

    ``create``: a new table (an existing one is an error); ``append``: add rows, creating the table when
    missing; ``overwrite``: replace every row, creating the table when missing. The namespace is created when
    missing. Returns the number of rows written.
    """
    from pyiceberg.exceptions import CommitFailedException

    if mode not in ("append", "overwrite", "create"):
        raise TableError(f"mode must be 'append', 'overwrite' or 'create', not {mode!r}")
    schema, table = split_name(name, catalog.name)
    arrow = iceberg_arrow(data, name)
    catalog.create_namespace_if_not_exists(schema)
    loaded = _load(catalog, name, schema, table)
    if loaded is not None and mode == "create":
        raise TableError(f"table {name} exists: use mode='append' or mode='overwrite' (nothing was written)")
    if loaded is None:
        loaded = catalog.create_table((schema, table), schema=arrow.schema)
    else:
        existing = {f.name for f in loaded.schema().fields}
        extra = [n for n in arrow.column_names if n not in existing]
        if extra:
            raise TableError(
                f"{name} has no column {', '.join(map(repr, extra))} (its columns: {', '.join(sorted(existing))}); "
                "nothing was written. Add the columns first (lh.iceberg(): table.update_schema()), or drop them."
            )
    try:
        with warnings.catch_warnings():
            # overwriting an empty table: "Delete operation did not match any records" is no news to the caller
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            if mode == "overwrite":
                loaded.overwrite(arrow)
            else:
                loaded.append(arrow)
    except CommitFailedException as exc:
        raise TableError(f"{name}: the commit failed (another writer committed first?): {exc}") from None
    except ValueError as exc:  # pyiceberg's schema compatibility check
        raise TableError(f"{name}: the data does not fit the table's schema; nothing was written.\n{exc}") from None
    return int(arrow.num_rows)


def iceberg_arrow(data: Any, name: str) -> pa.Table:
    """``data`` as an Arrow table whose every column Iceberg can hold (converted when lossless)."""
    pa = require("pyarrow", extra="iceberg", purpose="lh.write_table()")
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif type(data).__module__.startswith("pandas") and hasattr(data, "columns"):
        table = pa.Table.from_pandas(data, preserve_index=False)
    else:
        raise TableError(
            f"lh.write_table() takes a pandas DataFrame or a pyarrow Table/RecordBatch, not {type(data).__name__}"
        )
    duplicates = sorted({c for c in table.column_names if table.column_names.count(c) > 1})
    if duplicates:
        raise TableError(f"writing {name}: column names appear twice: {', '.join(duplicates)}")
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if not isinstance(field.name, str) or not field.name:
            raise TableError(f"writing {name}: every column needs a non-empty string name, not {field.name!r}")
        target = _iceberg_type(field.type, f"{name}: column {field.name!r}")
        if target != field.type:
            try:
                column = column.cast(target, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise TableError(
                    f"writing {name}: column {field.name!r} of type {field.type} cannot become {target} without "
                    f"losing values ({exc}); nothing was written. Convert it first."
                ) from None
        columns.append(column)
    schema = pa.schema([pa.field(f.name, c.type, nullable=True) for f, c in zip(table.schema, columns, strict=True)])
    return pa.Table.from_arrays(columns, schema=schema)


def _iceberg_type(t: Any, where: str) -> Any:
    """The nearest Arrow type Iceberg holds for ``t``; refuses what has none."""
    import pyarrow as pa

    types = pa.types
    if types.is_dictionary(t):  # a pandas categorical
        return _iceberg_type(t.value_type, where)
    if types.is_null(t):
        raise TableError(
            f"{where} holds only nulls, so it has no type Iceberg could store; nothing was written. Give it "
            "one, e.g. df[col] = df[col].astype('string') or .astype('float64')"
        )
    if types.is_uint8(t) or types.is_uint16(t):
        return pa.int32()
    if types.is_uint32(t):
        return pa.int64()
    if types.is_uint64(t):
        return pa.int64()  # the safe cast refuses values above 2**63 - 1
    if types.is_int8(t) or types.is_int16(t):
        return pa.int32()
    if types.is_float16(t):
        return pa.float32()
    if types.is_timestamp(t):
        # Iceberg (format v2) stores microseconds; a zone means an instant (timestamptz, kept in UTC)
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if types.is_time(t):
        return pa.time64("us")
    if types.is_date64(t):
        return pa.date32()
    if types.is_large_string(t) or types.is_string_view(t):
        return pa.string()
    if types.is_large_binary(t) or types.is_binary_view(t):
        return pa.binary()
    if types.is_decimal256(t):
        if t.precision > 38:
            raise TableError(f"{where} is {t}; Iceberg decimals hold at most 38 digits. Nothing was written")
        return pa.decimal128(t.precision, t.scale)
    if types.is_duration(t) or types.is_interval(t):
        raise TableError(
            f"{where} is a duration ({t}), which Iceberg cannot store; nothing was written. Store it as a number "
            "(e.g. df[col].dt.total_seconds()) or a string"
        )
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return pa.list_(_iceberg_type(t.value_type, f"{where} (list element)"))
    if types.is_map(t):
        return pa.map_(
            _iceberg_type(t.key_type, f"{where} (map key)"), _iceberg_type(t.item_type, f"{where} (map value)")
        )
    if types.is_struct(t):
        return pa.struct([pa.field(f.name, _iceberg_type(f.type, f"{where}.{f.name}"), nullable=True) for f in t])
    if (
        types.is_boolean(t)
        or types.is_int32(t)
        or types.is_int64(t)
        or types.is_float32(t)
        or types.is_float64(t)
        or types.is_decimal128(t)
        or types.is_string(t)
        or types.is_binary(t)
        or types.is_fixed_size_binary(t)
        or types.is_date32(t)
    ):
        return t
    raise TableError(f"{where} has type {t}, which Iceberg cannot store; nothing was written. Convert it first")
