"""Killing a service of the session stack in the middle of a write, and bringing it back.

:func:`kill_during` starts the write on a thread, waits until a trigger says it is under way (parts sent, the
query RUNNING, data files in the bucket), sends SIGKILL to the service's whole process group (as when its
container dies: PostgreSQL's backends die with the postmaster), waits for the writer to answer, then runs
`lakehouse up --local`, which restarts what is down. It records which way the write went (``failed`` or
``completed``), the time from the kill to the writer's answer and the time `up` took.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from lakehouse_sdk import LocalStack
from lakehouse_sdk.local.services import SERVICE_ORDER

from .conftest import lakehouse_cli

T = TypeVar("T")


@dataclass
class FaultRun(Generic[T]):
    """What one kill did to one write."""

    service: str
    operation: str
    landed_during: bool = False  # the writer had not answered when the kill was sent
    outcome: str = ""  # failed | completed: what the writer was told
    visible: str = ""  # what a reader sees after the restart (set by the test)
    error: str = ""
    answer_seconds: float | None = None  # from the kill to the writer's answer ("time to detect")
    up_seconds: float | None = None  # `lakehouse up --local` ("time to recover")
    restarted: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    result: T | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    def report(self) -> str:
        data = {k: v for k, v in asdict(self).items() if k != "result"}
        return json.dumps(data, default=str)


def describe(exc: BaseException) -> str:
    """The error's type and first line; for a Java error from Spark, the Java exception's."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    return f"{type(exc).__name__}: {(text.splitlines() or [''])[0][:240]}"


def kill_9(service: str) -> None:
    """SIGKILL the service's process group (each service runs in a session of its own), and wait until the
    stack sees it gone."""
    handle = LocalStack().handle(service)
    info = handle.info()
    assert info is not None, f"{service} is not running"
    os.killpg(os.getpgid(info.pid), signal.SIGKILL)
    deadline = time.monotonic() + 15
    while handle.running():
        assert time.monotonic() < deadline, f"{service} still runs 15 s after SIGKILL"
        time.sleep(0.02)


def restore() -> tuple[float, list[str]]:
    """`lakehouse up --local`: how long it took and which services it restarted."""
    start = time.monotonic()
    up = lakehouse_cli("up", "--local")
    took = time.monotonic() - start
    table = [line.split() for line in up.stdout.splitlines() if line and not line.startswith("[")]
    return took, sorted(cells[0] for cells in table if len(cells) > 1 and cells[1] == "restarted")


def restore_if_down() -> None:
    """After a test that stopped early: start whatever is not running, so the next tests have the stack."""
    stack = LocalStack()
    if not all(stack.handle(name).running() for name in SERVICE_ORDER):
        restore()


def kill_during(
    service: str,
    operation: str,
    write: Callable[[], T],
    under_way: Callable[[], bool],
    *,
    record: Callable[[str, object], None],
    start_within: float = 120.0,
    answer_within: float = 120.0,
) -> FaultRun[T]:
    """Run ``write`` on a thread, kill ``service`` once ``under_way()`` is true, restore the stack.

    ``record`` is pytest's ``record_property``: the run is recorded as ``fault`` at once, so that the end of
    the pytest output shows it with what the test adds to it, also when the test fails. The writer must
    answer (return or raise) by ``answer_within`` seconds after the kill, or, if it waits for the service,
    soon after the restart.
    """
    run: FaultRun[T] = FaultRun(service, operation)
    record("fault", run)
    answer: dict[str, Any] = {}

    def target() -> None:
        try:
            answer["result"] = write()
        except BaseException as exc:  # what the writer was told is the point: keep it
            answer["error"] = exc
        finally:
            answer["at"] = time.monotonic()

    thread = threading.Thread(target=target, daemon=True, name=f"write-{service}")
    thread.start()
    deadline = time.monotonic() + start_within
    while not under_way():
        if not thread.is_alive():
            break
        assert time.monotonic() < deadline, f"{operation} showed no progress within {start_within:.0f} s"
        time.sleep(0.02)
    run.landed_during = thread.is_alive()
    kill_9(service)
    killed = time.monotonic()
    thread.join(answer_within)
    answered_before_restart = not thread.is_alive()
    run.up_seconds, run.restarted = restore()
    thread.join(answer_within)
    assert not thread.is_alive(), f"{operation}: the writer never answered, even after the restart"
    run.answer_seconds = answer["at"] - killed
    run.notes["answered_before_restart"] = answered_before_restart
    if "error" in answer:
        run.outcome, run.error = "failed", describe(answer["error"])
    else:
        run.outcome, run.result = "completed", answer["result"]
    return run
