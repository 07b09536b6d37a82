"""The Kubernetes probe command that calls Trino's coordinator ready, run by bash against canned ``/v1/info``
answers (a ``curl`` on PATH that prints them), as the kubelet runs it in the pod."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from lakehouse_sdk.kube._workloads import trino_info_check


def _run(tmp_path: Path, command: list[str], answer: str | None) -> int:
    curl = tmp_path / "curl"
    body = f"cat <<'JSON'\n{answer}\nJSON\n" if answer is not None else "exit 7\n"
    curl.write_text("#!/bin/sh\n" + body)
    curl.chmod(curl.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    return subprocess.run(command, env=env, check=False).returncode


def _info(starting: bool, uptime: str | None) -> str:
    doc: dict[str, object] = {"nodeVersion": {"version": "476"}, "coordinator": True, "starting": starting}
    if uptime is not None:
        doc["uptime"] = uptime
    return json.dumps(doc, separators=(",", ":"))


@pytest.mark.parametrize(
    ("starting", "uptime", "ready"),
    [
        (True, "30.00s", False),
        (False, "6.79s", False),
        (False, "850.00ms", False),
        (False, "10.99s", False),
        (False, "11.02s", True),
        (False, "1.50m", True),
        (False, "2.00d", True),
        (False, None, True),  # no uptime to go by: starting=false is all there is
    ],
)
def test_the_coordinator_is_ready_once_started_and_settled(
    tmp_path: Path, starting: bool, uptime: str | None, ready: bool
) -> None:
    command = trino_info_check("http://localhost:8080", settled=True)
    assert _run(tmp_path, command, _info(starting, uptime)) == (0 if ready else 1)


def test_liveness_asks_only_that_it_started(tmp_path: Path) -> None:
    command = trino_info_check("https://localhost:8443", cacert="/etc/lakehouse-tls/ca.crt")
    assert "--cacert /etc/lakehouse-tls/ca.crt https://localhost:8443/v1/info" in command[-1]
    assert _run(tmp_path, command, _info(False, "1.00s")) == 0
    assert _run(tmp_path, command, _info(True, "1.00s")) == 1
    assert _run(tmp_path, command, None) == 1  # curl fails: not ready
