"""`pip install 'lakehouse-sdk[spark-connect]'` alone (the thin ``pyspark-client``, no JVM, no full pyspark):
``lh.spark()`` is a Spark Connect session on the stack's server, chosen by ``spark.connect=auto``.

The project is installed for real into a fresh virtual environment (from the pip cache the machine's setup
filled), so what the extra brings is what the test runs with.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.conftest import Stack, stack_environment

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib.util, json, sys
from lakehouse_sdk import Lakehouse
lh = Lakehouse()
spark = lh.spark(app_name="thin-client")
out = {
    "count": spark.range(1000).count(),
    "session": type(spark).__module__,
    "server": spark.version,
    "classic": importlib.util.find_spec("pyspark.core") is not None,
    "py4j": importlib.util.find_spec("py4j") is not None,
}
spark.stop()
print(json.dumps(out))
"""


def test_the_thin_client_extra_alone_gets_a_connect_session(stack: Stack, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-c", str(ROOT / "scripts" / "constraints.txt"),
         f"{ROOT}[spark-connect]"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    print(f"\n[thin client] venv with lakehouse-sdk[spark-connect] in {time.monotonic() - start:.1f}s")
    env = stack_environment(tmp_path)
    env.pop("PYTHONPATH", None)  # the installed package, not the checkout
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", SCRIPT],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["count"] == 1000
    assert out["session"].startswith("pyspark.sql.connect"), out
    assert not out["classic"] and not out["py4j"], "the thin client must not bring classic pyspark or py4j"
    assert out["server"].startswith("4.1."), out
