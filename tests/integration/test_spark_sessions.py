"""Classic sessions one after another in one process: the second gets its own configuration, not the first's.

pyspark starts the driver's JVM once per process with the first session's configuration, and spark-submit
makes that configuration system properties, which every later ``SparkConf`` loads. A second ``Lakehouse``
(another stack, other credentials, no CA) must not inherit what it does not set itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import Stack

SCRIPT = """
from lakehouse_sdk import Lakehouse

probe = {"spark.lakehouse.probe": "first", "spark.executor.extraJavaOptions": "-Dlakehouse.probe=first"}
first = Lakehouse(spark={"conf": probe}).spark(app_name="first")  # starts the driver's JVM with it
print("first", first.sparkContext.getConf().get("spark.lakehouse.probe"))
first.stop()
second = Lakehouse().spark(app_name="second")
conf = second.sparkContext.getConf()
print("second", conf.get("spark.lakehouse.probe", "unset"), conf.get("spark.executor.extraJavaOptions", "unset"))
print("app", conf.get("spark.app.name"), second.range(10).selectExpr("sum(id)").collect()[0][0])
second.stop()
"""


def test_a_second_session_does_not_inherit_the_first_ones_configuration(stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "sessions.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "first first" in proc.stdout
    second = next(line for line in proc.stdout.splitlines() if line.startswith("second "))
    assert second.startswith("second unset ") and "lakehouse.probe" not in second, second
    assert "app second 45" in proc.stdout
