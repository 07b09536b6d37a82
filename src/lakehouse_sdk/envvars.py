"""Environment variables that point other tools (aws CLI, psql, trino CLI, pyiceberg, Spark) at the stack."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings

__all__ = ["export_lines", "tool_environment"]


def tool_environment(
    settings: LakehouseSettings, endpoint: Callable[[str], Endpoint], *, secrets: bool = True
) -> dict[str, str]:
    """The variables; with ``secrets=False`` the secret ones are left out. ``endpoint`` resolves a key."""
    s = settings
    s3, pg, trino = endpoint("minio"), endpoint("postgres"), endpoint("trino")
    hms, master = endpoint("hive-metastore"), endpoint("spark-master")
    cat = s.iceberg.catalog_name.upper()
    env = {
        # aws CLI and every AWS SDK (path-style is implied by a custom endpoint for SeaweedFS and MinIO)
        "AWS_ACCESS_KEY_ID": s.s3.access_key.get_secret_value(),
        "AWS_SECRET_ACCESS_KEY": s.s3.secret_key.get_secret_value(),
        "AWS_ENDPOINT_URL_S3": s3.url,
        "AWS_REGION": s.s3.region,
        # psql and libpq
        "PGHOST": pg.host,
        "PGPORT": str(pg.port),
        "PGUSER": s.postgres.user,
        "PGPASSWORD": s.postgres.password.get_secret_value(),
        "PGDATABASE": s.postgres.database,
        # trino CLI: `trino --server "$TRINO_SERVER" --user "$TRINO_USER"` (the CLI 476 does not read TRINO_USER)
        "TRINO_SERVER": trino.url,
        "TRINO_USER": s.trino.user,
        # pyiceberg: load_catalog("iceberg")
        f"PYICEBERG_CATALOG__{cat}__TYPE": "hive",
        f"PYICEBERG_CATALOG__{cat}__URI": f"thrift://{hms.address}",
        f"PYICEBERG_CATALOG__{cat}__S3__ENDPOINT": s3.url,
        f"PYICEBERG_CATALOG__{cat}__S3__ACCESS_KEY_ID": s.s3.access_key.get_secret_value(),
        f"PYICEBERG_CATALOG__{cat}__S3__SECRET_ACCESS_KEY": s.s3.secret_key.get_secret_value(),
        f"PYICEBERG_CATALOG__{cat}__S3__REGION": s.s3.region,
        # spark-submit / pyspark: the master, and the metastore; S3A reads the AWS_* variables above
        "MASTER": f"spark://{master.address}",
        "SPARK_MASTER_URL": f"spark://{master.address}",
        "HIVE_METASTORE_URIS": f"thrift://{hms.address}",
    }
    env.update(_secure_environment(settings, s3, cat))
    if not secrets:
        env = {k: v for k, v in env.items() if k not in _secret_paths(settings)}
    return env


def _secure_environment(settings: LakehouseSettings, s3: Endpoint, cat: str) -> dict[str, str]:
    """Secure mode: what the aws CLI, psql, the Trino CLI and pyiceberg need to verify the stack's CA, and
    the Trino password (the CLI reads TRINO_PASSWORD with ``--password``)."""
    if not settings.secure:
        return {}
    env = {"PGSSLMODE": "verify-full"}
    ca = settings.tls_ca()
    if ca is not None:
        env.update(
            {
                "AWS_CA_BUNDLE": str(ca),
                "PGSSLROOTCERT": str(ca),
                # `trino --server "$TRINO_SERVER" --truststore-path "$TRINO_TRUSTSTORE_PATH" --password`
                "TRINO_TRUSTSTORE_PATH": str(ca),
            }
        )
        if s3.scheme == "https":
            env[f"PYICEBERG_CATALOG__{cat}__PY_IO_IMPL"] = "lakehouse_sdk.clients._iceberg_io.TrustingPyArrowFileIO"
            env[f"PYICEBERG_CATALOG__{cat}__LAKEHOUSE__S3__CA_FILE"] = str(ca)
    if settings.trino.password is not None:
        env["TRINO_PASSWORD"] = settings.trino.password.get_secret_value()
    return env


def _secret_paths(settings: LakehouseSettings) -> dict[str, str]:
    """Secret variables and the setting each comes from."""
    cat = settings.iceberg.catalog_name.upper()
    return {
        "AWS_SECRET_ACCESS_KEY": "s3.secret_key",
        "PGPASSWORD": "postgres.password",
        f"PYICEBERG_CATALOG__{cat}__S3__SECRET_ACCESS_KEY": "s3.secret_key",
        "TRINO_PASSWORD": "trino.password",
    }


def export_lines(
    settings: LakehouseSettings, endpoint: Callable[[str], Endpoint], *, show_secrets: bool = False
) -> str:
    """``export`` lines for a shell. Secrets are fetched at eval time unless ``show_secrets``."""
    env = tool_environment(settings, endpoint, secrets=True)
    secret_paths = _secret_paths(settings)
    lines = []
    for name, value in env.items():
        if name in secret_paths and not show_secrets:
            lines.append(f'export {name}="$(lakehouse credentials --show {secret_paths[name]})"')
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    return "\n".join(lines)
