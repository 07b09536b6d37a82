"""Background processes with a PID file, a log file and a whole-process-group stop.

Each service runs in its own session (process group), so ``stop`` reaches every child it spawned and leaves
no orphan. The PID file records the process's start time, so a reused PID is never mistaken for ours.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessHandle", "ProcessInfo", "demote", "port_is_free", "process_start_time"]


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie is dead for our purposes
        return None
    return int(fields[19])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port``."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) != 0


def demote(user: str) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child process run as ``user`` (PostgreSQL refuses root)."""
    entry = pwd.getpwnam(user)

    def preexec() -> None:
        os.setgid(entry.pw_gid)
        os.initgroups(user, entry.pw_gid)
        os.setuid(entry.pw_uid)

    return preexec


@dataclass(frozen=True)
class ProcessInfo:
    """What the PID file says."""

    pid: int
    start_time: int
    argv0: str
    started_at: float


class ProcessHandle:
    """One service process: start it detached, find it again from its PID file, stop it."""

    def __init__(self, name: str, run_dir: Path, log_file: Path) -> None:
        self.name = name
        self.pid_file = run_dir / f"{name}.pid"
        self.log_file = log_file

    def info(self) -> ProcessInfo | None:
        """The recorded process, if its PID file exists and that process still runs."""
        try:
            data = json.loads(self.pid_file.read_text())
            info = ProcessInfo(int(data["pid"]), int(data["start_time"]), str(data["argv0"]), float(data["started_at"]))
        except (OSError, ValueError, KeyError):
            return None
        if process_start_time(info.pid) != info.start_time:
            return None
        return info

    def has_pid_file(self) -> bool:
        return self.pid_file.is_file()

    def running(self) -> bool:
        return self.info() is not None

    def start(self, argv: list[str], *, env: dict[str, str], cwd: Path, user: str | None = None) -> int:
        """Start ``argv`` in a new session, output appended to the log file; returns the PID."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        preexec = demote(user) if user is not None else None
        with self.log_file.open("ab") as log:
            log.write(f"\n---- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}: {argv[0]}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=preexec,
                close_fds=True,
            )
        start_time = process_start_time(proc.pid)
        self.pid_file.write_text(
            json.dumps({"pid": proc.pid, "start_time": start_time or 0, "argv0": argv[0], "started_at": time.time()})
        )
        self._popen = proc
        return proc.pid

    def exited_early(self) -> int | None:
        """The exit code if the process we started in this Python process has already ended."""
        proc: subprocess.Popen[bytes] | None = getattr(self, "_popen", None)
        return None if proc is None else proc.poll()

    def stop(self, timeout: float) -> str:
        """SIGTERM the process group, SIGKILL it after ``timeout``; returns what happened."""
        info = self.info()
        self.pid_file.unlink(missing_ok=True)
        if info is None:
            return "not running"
        try:
            pgid = os.getpgid(info.pid)
        except ProcessLookupError:
            return "not running"
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._reap()
            if not _group_alive(pgid):
                return "stopped"
            time.sleep(0.2)
        os.killpg(pgid, signal.SIGKILL)
        for _ in range(50):
            self._reap()
            if not _group_alive(pgid):
                break
            time.sleep(0.1)
        return f"killed after {timeout:.0f}s"

    def _reap(self) -> None:
        proc: subprocess.Popen[bytes] | None = getattr(self, "_popen", None)
        if proc is not None:
            proc.poll()

    def tail(self, lines: int = 50) -> str:
        if lines < 0:
            raise ValueError(f"lines must be 0 or more, not {lines}")
        if lines == 0:
            return ""
        try:
            with self.log_file.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 256 * 1024))
                data = fh.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(data.splitlines()[-lines:])


def _group_alive(pgid: int) -> bool:
    """True while any non-zombie process of the group exists."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
