"""``LocalStack``: the reference architecture as local processes (``lakehouse up --local``).

Independent services start in parallel (the object store, PostgreSQL and the Spark master together);
dependants wait on real health checks of what they need, not on sleeps. ``up`` is idempotent and reports
the time each service took; ``down`` stops in reverse order, gracefully, then forcibly; data survives
``down``/``up`` and ``down(purge=True)`` removes it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from lakehouse_sdk.errors import LakehouseError, PortInUseError, StackError
from lakehouse_sdk.local.artifacts import Artifacts
from lakehouse_sdk.local.process import ProcessHandle, port_is_free
from lakehouse_sdk.local.services import SERVICE_ORDER, LocalService, RuntimeContext, build_services
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    from lakehouse_sdk.lakehouse import Lakehouse

__all__ = ["LocalStack", "ServiceStatus", "UpReport", "format_status"]


@dataclass
class ServiceTiming:
    """When one service started and became healthy, in seconds since ``up`` began."""

    service: str
    action: str  # started | already running | restarted
    started_at: float
    ready_at: float
    waited_for: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.ready_at - self.started_at


@dataclass
class UpReport:
    """What ``up`` did."""

    timings: list[ServiceTiming]
    total_seconds: float
    state_dir: Path

    def critical_path(self) -> tuple[list[str], float]:
        """The longest chain of dependent services, weighted by each one's own start-up time.

        Wall time below it means overlapping start-ups paid off (Trino boots while the metastore does).
        """
        by_name = {t.service: t for t in self.timings}
        best: dict[str, tuple[float, list[str]]] = {}

        def longest(name: str) -> tuple[float, list[str]]:
            if name not in best:
                timing = by_name[name]
                chains = [longest(dep) for dep in timing.waited_for if dep in by_name]
                length, chain = max(chains, default=(0.0, []))
                best[name] = (length + timing.seconds, [*chain, name])
            return best[name]

        length, chain = max((longest(name) for name in by_name), default=(0.0, []))
        return chain, length

    def to_dict(self) -> dict[str, Any]:
        chain, length = self.critical_path()
        return {
            "total_seconds": self.total_seconds,
            "state_dir": str(self.state_dir),
            "services": [{**asdict(t), "seconds": t.seconds} for t in self.timings],
            "critical_path": chain,
            "critical_path_seconds": length,
        }

    def __str__(self) -> str:
        lines = [f"{'service':<16} {'action':<16} {'ready after':>11} {'took':>7}"]
        for t in sorted(self.timings, key=lambda t: t.ready_at):
            lines.append(f"{t.service:<16} {t.action:<16} {t.ready_at:>10.1f}s {t.seconds:>6.1f}s")
        chain, length = self.critical_path()
        lines.append(
            f"all healthy in {self.total_seconds:.1f}s; critical path {' -> '.join(chain)} "
            f"({length:.1f}s of start-up time one after another; services that boot in parallel make the wall "
            f"time shorter); state in {self.state_dir}"
        )
        return "\n".join(lines)


@dataclass
class ServiceStatus:
    """One service as ``status`` sees it."""

    service: str
    running: bool
    pid: int | None
    ports: dict[str, int]
    healthy: bool | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_status(statuses: list[ServiceStatus]) -> str:
    lines = [f"{'service':<16} {'state':<10} {'pid':>7}  ports  detail"]
    for s in statuses:
        state = (
            "running"
            if s.running and s.healthy is not False
            else ("unhealthy" if s.running else ("CRASHED" if "crashed" in s.detail else "stopped"))
        )
        ports = ",".join(str(p) for k, p in s.ports.items() if "internal" not in k)
        lines.append(f"{s.service:<16} {state:<10} {s.pid or '-':>7}  {ports}  {s.detail}")
    return "\n".join(lines)


class LocalStack:
    """The local stack. Use it as a context manager to bring it up and tear it down::

        with LocalStack() as stack:
            lh = stack.lakehouse()

    Args:
        settings: effective settings (``None`` loads them the usual way); ``settings.local`` holds the
            state and cache directories, JDK paths, heap sizes and timeouts; ``settings.nodeports`` moves
            ports.
    """

    def __init__(self, settings: LakehouseSettings | None = None, *, log: Any = None) -> None:
        self.settings = settings or LakehouseSettings()
        self.state_dir = self.settings.local.state_path
        self.artifacts = Artifacts(self.settings, log=log)
        self._log = log or (lambda message: print(message, flush=True))
        self.ctx = RuntimeContext(self.settings, self.artifacts, self.state_dir, say=self._log)
        self.services: dict[str, LocalService] = build_services(self.ctx)
        self._purge_on_exit = False

    def __repr__(self) -> str:
        return f"LocalStack(state_dir={str(self.state_dir)!r})"

    def handle(self, name: str) -> ProcessHandle:
        return ProcessHandle(name, self.state_dir / "run", self.state_dir / "logs" / f"{name}.log")

    def lakehouse(self) -> Lakehouse:
        """A :class:`~lakehouse_sdk.Lakehouse` pointed at this stack."""
        from lakehouse_sdk.lakehouse import Lakehouse

        return Lakehouse(self.settings.model_copy(update={"mode": "nodeport", "nodeport_host": "127.0.0.1"}))

    # -- up ---------------------------------------------------------------------------------------------

    def _check_ports(self, service: LocalService) -> None:
        for key, port in service.ports().items():
            if not port_is_free(port):
                where = f"LAKEHOUSE_NODEPORTS__{key.upper().replace('-', '_')}" if "internal" not in key else None
                fix = (
                    f"stop what listens there, or move the service with {where}=<port>"
                    if where
                    else "stop what listens there (an internal port of the object store)"
                )
                raise PortInUseError(
                    f"port {port} is already in use, and the local {service.name} needs it for {key}; {fix}. "
                    "If it is an earlier stack, `lakehouse down` stops it.",
                    port=port,
                    service=service.name,
                )

    def _wait_ready(self, service: LocalService, handle: ProcessHandle) -> None:
        deadline = time.monotonic() + self.settings.local.start_timeout
        reason: str | None = "not checked"
        while time.monotonic() < deadline:
            reason = service.check()
            if reason is None:
                return
            code = handle.exited_early()
            if code is not None or not handle.running():
                raise StackError(
                    f"{service.name} exited during start-up (exit code {code}). Last log lines from "
                    f"{handle.log_file}:\n{handle.tail(25)}"
                )
            time.sleep(0.5)
        raise StackError(
            f"{service.name} did not become healthy within {self.settings.local.start_timeout:.0f}s "
            f"(LAKEHOUSE_LOCAL__START_TIMEOUT): {reason}. Last log lines from {handle.log_file}:\n{handle.tail(25)}"
        )

    def _start_one(self, name: str, t0: float, deps: dict[str, Future[ServiceTiming]]) -> ServiceTiming:
        service = self.services[name]
        for dep in service.start_dependencies:
            deps[dep].result()  # raises if a dependency failed
        started = time.monotonic() - t0
        handle = self.handle(name)
        if handle.running():
            for dep in service.depends_on:  # a dependency that is being restarted must be back first
                deps[dep].result()
            if service.check() is None:
                return ServiceTiming(name, "already running", started, time.monotonic() - t0, list(service.depends_on))
            self._log(f"[up] {name} runs but is not healthy; waiting for it")
            self._wait_ready(service, handle)
            return ServiceTiming(name, "was starting", started, time.monotonic() - t0, list(service.depends_on))
        action = "restarted" if handle.has_pid_file() else "started"
        self._check_ports(service)
        self._log(f"[up] starting {name}: {service.spec.description}")
        service.prepare()
        launch = service.launch()
        handle.start(launch.argv, env=launch.env, cwd=launch.cwd, user=launch.user)
        for dep in service.depends_on:
            deps[dep].result()
        self._wait_ready(service, handle)
        service.after_ready()
        timing = ServiceTiming(name, action, started, time.monotonic() - t0, list(service.depends_on))
        self._log(f"[up] {name:<15} {action} and healthy in {timing.seconds:.1f}s")
        return timing

    def up(self, *, progress: bool = True) -> UpReport:
        """Start every service that is not running, in parallel where dependencies allow; idempotent."""
        if not progress:
            self._log = lambda message: None
            self.artifacts._log = lambda message: None
        for sub in ("run", "logs", "data", "conf"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        self.artifacts.ensure_all(progress=progress)
        if self.settings.secure:
            self._secure_files()
        t0 = time.monotonic()
        futures: dict[str, Future[ServiceTiming]] = {}
        with ThreadPoolExecutor(max_workers=len(self.services), thread_name_prefix="lakehouse-up") as pool:
            for name in SERVICE_ORDER:
                futures[name] = pool.submit(self._start_one, name, t0, futures)
            errors: list[str] = []
            timings: list[ServiceTiming] = []
            for name, future in futures.items():
                try:
                    timings.append(future.result())
                except LakehouseError as exc:
                    errors.append(f"{name}: {exc}")
                except Exception as exc:
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
        if errors:
            raise StackError(
                "the local stack did not come up:\n"
                + "\n".join(errors)
                + "\nRunning services were left up; `lakehouse status` shows them, "
                "`lakehouse down` stops them."
            )
        return UpReport(timings, time.monotonic() - t0, self.state_dir)

    def _secure_files(self) -> None:
        """Secure mode: the stack's CA and server certificate (kept while valid) in ``<state>/tls``."""
        from lakehouse_sdk.tls import ensure_tls

        names = list(dict.fromkeys(["localhost", "127.0.0.1", "::1", self.settings.nodeport_host]))
        files = ensure_tls(self.state_dir / "tls", names)
        self._log(f"secure mode: TLS with the CA {files.ca_cert} (clients of this machine trust it by default)")

    # -- down, status, logs ---------------------------------------------------------------------------------

    def down(self, *, purge: bool = False) -> str:
        """Stop every service in reverse order (gracefully, then SIGKILL); ``purge`` deletes all data."""
        lines = []
        for name in reversed(SERVICE_ORDER):
            result = self.handle(name).stop(self.settings.local.stop_timeout)
            lines.append(f"{name:<16} {result}")
        shutil.rmtree(self.state_dir / "tmp", ignore_errors=True)  # the services' temporary files
        if purge:
            for sub in ("data", "conf", "logs", "run", "runtime"):
                shutil.rmtree(self.state_dir / sub, ignore_errors=True)
            lines.append(f"purged {self.state_dir}")
        return "\n".join(lines)

    def status(self) -> list[ServiceStatus]:
        """Each service: running or not (a PID file without its process means it crashed), and healthy."""
        out = []
        for name in SERVICE_ORDER:
            service, handle = self.services[name], self.handle(name)
            info = handle.info()
            if info is None:
                detail = (
                    "crashed: PID file present but the process is gone; `lakehouse up --local` restarts it"
                    if handle.has_pid_file()
                    else "stopped"
                )
                out.append(ServiceStatus(name, False, None, service.ports(), None, detail))
                continue
            reason = _safe_check(service)
            out.append(ServiceStatus(name, True, info.pid, service.ports(), reason is None, reason or "healthy"))
        return out

    def logs(self, service: str, *, lines: int = 50) -> str:
        """The last ``lines`` lines of one service's log."""
        if service not in self.services:
            raise StackError(f"unknown local service {service!r}; services: {', '.join(SERVICE_ORDER)}")
        return self.handle(service).tail(lines)

    def follow(self, service: str, *, poll: float = 0.5) -> Iterator[str]:
        """Lines appended to one service's log from now on (``lakehouse logs -f``); stops when interrupted."""
        self.logs(service, lines=0)  # validates the name
        path = self.handle(service).log_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        with path.open("r", errors="replace") as fh:
            fh.seek(0, os.SEEK_END)
            while True:
                line = fh.readline()
                if line:
                    yield line.rstrip("\n")
                else:
                    time.sleep(poll)

    # -- context manager -----------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.up()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down(purge=self._purge_on_exit)


def _safe_check(service: LocalService) -> str | None:
    result: list[str | None] = ["check timed out"]

    def run() -> None:
        try:
            result[0] = service.check()
        except Exception as exc:
            result[0] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    return result[0]
