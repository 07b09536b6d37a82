"""boto3 for the object store, and storage options for pandas, fsspec and pyarrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["arrow_filesystem", "s3_client", "s3_client_config", "storage_options"]


def s3_client_config(settings: LakehouseSettings) -> dict[str, Any]:
    """The botocore ``Config`` arguments: SigV4, path-style, timeouts and standard retries."""
    return {
        "signature_version": "s3v4",
        "region_name": settings.s3.region,
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.s3.read_timeout,
        "retries": {"mode": "standard", "max_attempts": settings.s3.max_attempts},
        "s3": {"addressing_style": "path"},
    }


def s3_client(settings: LakehouseSettings, endpoint: Endpoint) -> S3Client:
    """A boto3 S3 client for the stack's object store."""
    boto3 = require("boto3", extra="s3", purpose="lh.s3()")
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=settings.s3.access_key.get_secret_value(),
        aws_secret_access_key=settings.s3.secret_key.get_secret_value(),
        region_name=settings.s3.region,
    )
    client: S3Client = session.client(
        "s3",
        endpoint_url=endpoint.url,
        config=Config(**s3_client_config(settings)),
        verify=settings.s3.verify,
    )
    return client


def storage_options(settings: LakehouseSettings, endpoint: Endpoint) -> dict[str, Any]:
    """``storage_options`` for pandas / fsspec (s3fs): ``pd.read_parquet("s3://...", storage_options=...)``."""
    return {
        "key": settings.s3.access_key.get_secret_value(),
        "secret": settings.s3.secret_key.get_secret_value(),
        "endpoint_url": endpoint.url,
        "client_kwargs": {"region_name": settings.s3.region, "verify": settings.s3.verify},
        "config_kwargs": {
            "s3": {"addressing_style": "path"},
            "connect_timeout": settings.connect_timeout,
            "read_timeout": settings.s3.read_timeout,
        },
    }


def arrow_filesystem(settings: LakehouseSettings, endpoint: Endpoint) -> Any:
    """A ``pyarrow.fs.S3FileSystem`` for the object store."""
    fs = require("pyarrow.fs", extra="trino", purpose="lh.arrow_filesystem()", package="pyarrow")
    return fs.S3FileSystem(
        access_key=settings.s3.access_key.get_secret_value(),
        secret_key=settings.s3.secret_key.get_secret_value(),
        endpoint_override=endpoint.address,
        scheme=endpoint.scheme,
        region=settings.s3.region,
        force_virtual_addressing=False,
        connect_timeout=settings.connect_timeout,
        request_timeout=settings.s3.read_timeout,
    )
