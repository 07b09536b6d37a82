"""The data methods of :class:`~lakehouse_sdk.Lakehouse`: Trino queries into pandas/Arrow, and Iceberg tables
read and written without a JVM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyiceberg.catalog.hive import HiveCatalog

__all__ = ["DataMethods"]


class DataMethods:
    """Mixed into :class:`~lakehouse_sdk.Lakehouse`."""

    settings: LakehouseSettings

    def _reachable(self, service: str) -> Endpoint:
        raise NotImplementedError

    def iceberg(self, **properties: Any) -> HiveCatalog:
        raise NotImplementedError

    @overload
    def query(
        self,
        sql: str,
        *,
        params: Any = ...,
        catalog: str | None = ...,
        schema: str | None = ...,
        output: Literal["pandas"] = ...,
    ) -> pd.DataFrame: ...

    @overload
    def query(
        self,
        sql: str,
        *,
        params: Any = ...,
        catalog: str | None = ...,
        schema: str | None = ...,
        output: Literal["arrow"],
    ) -> pa.Table: ...

    def query(
        self,
        sql: str,
        *,
        params: Any = None,
        catalog: str | None = None,
        schema: str | None = None,
        output: Literal["pandas", "arrow"] = "pandas",
    ) -> Any:
        """Run ``sql`` on Trino and return a pandas DataFrame (or an Arrow table with ``output="arrow"``).

        Decimal columns are exact ``pd.ArrowDtype`` decimals in the DataFrame (pandas has no decimal type of its
        own). Large results come over Trino's spooling protocol, fetched in parallel (``trino.spooling``).
        """
        from lakehouse_sdk.clients.query import run_query
        from lakehouse_sdk.clients.trino_types import to_pandas

        table = run_query(self.settings, self._reachable("trino"), sql, params=params, catalog=catalog, schema=schema)
        return table if output == "arrow" else to_pandas(table)

    # -- Iceberg tables without a JVM ------------------------------------------------------------------------

    @overload
    def read_table(
        self,
        name: str,
        *,
        columns: list[str] | tuple[str, ...] | None = ...,
        row_filter: str | None = ...,
        limit: int | None = ...,
        as_: Literal["pandas"] = ...,
    ) -> pd.DataFrame: ...

    @overload
    def read_table(
        self,
        name: str,
        *,
        columns: list[str] | tuple[str, ...] | None = ...,
        row_filter: str | None = ...,
        limit: int | None = ...,
        as_: Literal["arrow"],
    ) -> pa.Table: ...

    def read_table(
        self,
        name: str,
        *,
        columns: list[str] | tuple[str, ...] | None = None,
        row_filter: str | None = None,
        limit: int | None = None,
        as_: Literal["pandas", "arrow"] = "pandas",
    ) -> Any:
        """Read the Iceberg table ``iceberg.<schema>.<table>`` (or ``<schema>.<table>``) through pyiceberg.

        ``columns``, ``row_filter`` (pyiceberg's syntax: ``"id > 5 AND city = 'Oslo'"``) and ``limit`` are
        pushed into the scan. A Hive table raises :class:`~lakehouse_sdk.TableError` pointing at :meth:`query`.
        """
        from lakehouse_sdk.clients.tables import read_table
        from lakehouse_sdk.clients.trino_types import to_pandas

        table = read_table(self.iceberg(), name, columns=columns, row_filter=row_filter, limit=limit)
        return table if as_ == "arrow" else to_pandas(table)

    def write_table(self, data: Any, name: str, *, mode: Literal["append", "overwrite", "create"] = "append") -> int:
        """Write a pandas DataFrame or an Arrow table to the Iceberg table ``name`` as one commit.

        ``append`` (the default) adds rows, ``overwrite`` replaces them, ``create`` insists on a new table;
        the first two create a missing table, and a missing namespace is created. The schema comes from the
        data; a column Iceberg cannot hold raises :class:`~lakehouse_sdk.TableError` naming it, before anything
        is written. Trino and Spark see the commit at once. Returns the number of rows written.
        """
        from lakehouse_sdk.clients.tables import write_table

        return write_table(self.iceberg(), data, name, mode=mode)
