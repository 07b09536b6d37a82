"""A minimal install (`pip install 'lakehouse-sdk[trino]'`) checks every service without reporting it broken.

The process below cannot import boto3, psycopg, thrift or pymetastore (as in an install with only the
``trino`` extra); ``health()`` must still check the object store, PostgreSQL and the metastore at the
protocol level, call them healthy-but-partial, and never hint at starting a stack that is running.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Stack, stack_environment

SCRIPT = """
import json, sys
for name in ("boto3", "botocore", "psycopg", "thrift", "pymetastore"):
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
from lakehouse_sdk import Lakehouse
report = Lakehouse().health(timeout=20)
print(json.dumps(report.to_dict()))
"""


def test_health_without_the_client_libraries(stack: Stack, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=stack_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    services = {s["service"]: s for s in report["services"]}
    for name, extra in (("minio", "s3"), ("postgres", "postgres"), ("hive-metastore", "metastore")):
        result = services[name]
        assert result["ok"], result
        assert result["status"] == "partial", result
        assert f"lakehouse-sdk[{extra}]" in result["detail"]
        assert "lakehouse up --local" not in result["hint"]
    assert "answered" in services["hive-metastore"]["detail"]
    assert services["trino"]["status"] == "healthy"
    assert report["ok"] is True
