"""Scratch schemas for tests: what the ``lakehouse_schema`` fixture of the pytest plugin hands out.

A scratch schema is a database in the metastore, so the same schema in Trino's and Spark's ``iceberg``
catalogs and in pyiceberg, with its own location ``s3://<warehouse bucket>/pytest/<name>/``: every table
created in it without an explicit location lands under that prefix, and dropping the schema deletes the
prefix. No pytest here; :mod:`lakehouse_sdk.pytest_plugin` uses it, and so does the benchmark.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakehouse_sdk.clients.metastore import MetastoreClient
    from lakehouse_sdk.lakehouse import Lakehouse

__all__ = ["PREFIX_ROOT", "ScratchSchema", "ScratchSchemas", "schema_name"]

PREFIX_ROOT = "pytest/"
"""The object store prefix, in the warehouse bucket, under which every scratch schema has its own."""

_MAX_SLUG = 30
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9]+")
_WORKER = re.compile(r"^[a-z0-9]{1,12}$")


def schema_name(test_name: str, *, worker: str = "main", token: str | None = None) -> str:
    """A schema name unique to one test of one worker of one run: ``pytest_<test>_<worker>_<random>``.

    It is a valid unquoted identifier in Trino, Spark and the metastore (lower case letters, digits and
    ``_``, at most 56 characters). ``test_name`` is only there to be read by a human: a kept schema says
    which test made it.
    """
    slug = _NOT_IDENTIFIER.sub("_", test_name.lower()).strip("_")[:_MAX_SLUG].strip("_") or "test"
    worker = worker.lower()
    if not _WORKER.match(worker):
        raise ValueError(f"worker id {worker!r} is not 1-12 lower case letters and digits (gw0, main)")
    token = token if token is not None else secrets.token_hex(4)
    if not re.fullmatch(r"[0-9a-f]{8}", token):
        raise ValueError(f"token {token!r} is not 8 hex digits")
    return f"pytest_{slug}_{worker}_{token}"


@dataclass(frozen=True)
class ScratchSchema:
    """One scratch schema. ``str(schema)`` is its name, so it can go straight into SQL and table names.

    Attributes:
        name: the schema (metastore database) name.
        bucket: the warehouse bucket.
        prefix: its object store prefix in ``bucket``, ending in ``/``.
        catalog: the catalog to use it in.
    """

    name: str
    bucket: str
    prefix: str
    catalog: str = "iceberg"

    def __str__(self) -> str:
        return self.name

    @property
    def location(self) -> str:
        """``s3://bucket/prefix/``: where its tables' data and metadata go."""
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def qualified(self) -> str:
        """``iceberg.<name>``."""
        return f"{self.catalog}.{self.name}"

    def table(self, table: str) -> str:
        """``iceberg.<name>.<table>``, for Trino, Spark (``spark.table``, ``writeTo``) and pyiceberg."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise ValueError(f"table name {table!r} is not a plain identifier (letters, digits, _)")
        return f"{self.qualified}.{table}"


@dataclass
class ScratchSchemas:
    """Creates and drops scratch schemas, keeping one metastore connection and one S3 client for all of them.

    Args:
        lh: the lakehouse to create them in.
        worker: the pytest-xdist worker id (``gw0``), or ``main``.
    """

    lh: Lakehouse
    worker: str = "main"
    _metastore: MetastoreClient | None = field(default=None, repr=False)
    _s3: Any = field(default=None, repr=False)

    def _hms(self) -> MetastoreClient:
        if self._metastore is None:
            self._metastore = self.lh.metastore().open()
        return self._metastore

    def _client(self) -> Any:
        if self._s3 is None:
            self._s3 = self.lh.s3(check=False)
        return self._s3

    def create(self, test_name: str) -> ScratchSchema:
        """A new schema, named after ``test_name``, with its own empty prefix."""
        name = schema_name(test_name, worker=self.worker)
        schema = ScratchSchema(name, self.lh.settings.s3.warehouse_bucket, f"{PREFIX_ROOT}{name}/")
        self._hms().create_database(name, location=schema.location, description=f"scratch schema of {test_name}")
        return schema

    def drop(self, schema: ScratchSchema) -> int:
        """Drop the schema with its tables, then delete every object under its prefix; returns how many."""
        self._hms().drop_database(schema.name, cascade=True, missing_ok=True)
        return self.delete_prefix(schema.bucket, schema.prefix)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object under ``prefix`` in ``bucket``; returns how many were deleted."""
        if not prefix or not prefix.endswith("/"):
            raise ValueError(f"refusing to delete under {prefix!r}: a scratch prefix ends in '/'")
        s3 = self._client()
        deleted = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted

    def exists(self, schema: ScratchSchema | str) -> bool:
        """Whether the metastore still has the schema."""
        return str(schema) in self._hms().databases()

    def objects(self, schema: ScratchSchema) -> list[str]:
        """The keys under the schema's prefix (to check that a drop left nothing)."""
        response = self._client().list_objects_v2(Bucket=schema.bucket, Prefix=schema.prefix)
        return [item["Key"] for item in response.get("Contents", [])]

    def close(self) -> None:
        """Close the metastore connection (safe to call twice)."""
        if self._metastore is not None:
            self._metastore.close()
            self._metastore = None
