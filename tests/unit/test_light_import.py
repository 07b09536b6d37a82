"""`import lakehouse_sdk` and `Lakehouse()` stay light: no heavy client library is imported."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "boto3",
    "botocore",
    "pyspark",
    "trino",
    "psycopg",
    "thrift",
    "pyiceberg",
    "kubernetes",
    "pymetastore",
    "pandas",
    "pyarrow",
    "sqlalchemy",
    "s3fs",
    "yaml",
]


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_and_construct_do_not_import_heavy_clients() -> None:
    loaded = _modules_after("import lakehouse_sdk\nlh = lakehouse_sdk.Lakehouse()\nlh.endpoints()\nlh.spark_conf()")
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_a_client_imports_only_its_library() -> None:
    loaded = _modules_after("import lakehouse_sdk\nlakehouse_sdk.Lakehouse().s3(check=False)")
    assert "boto3" in loaded
    assert not {"pyspark", "trino", "psycopg", "pyiceberg"} & {m.split(".")[0] for m in loaded}
