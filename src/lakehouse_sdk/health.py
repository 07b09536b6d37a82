"""Health checks for every service, run in parallel, and the doctor report.

Each check talks to its service for real (S3 list-buckets, ``SELECT 1``, a metastore call, the Spark
master's JSON status, Trino's ``/v1/info`` and a query) with its own timeout, so one dead service never
makes the report hang.
"""

from __future__ import annotations

import html
import json
import re
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse_sdk.clients._connect import next_step, probe
from lakehouse_sdk.errors import LakehouseError, redact

if TYPE_CHECKING:
    from lakehouse_sdk.lakehouse import Lakehouse

__all__ = ["CheckResult", "HealthReport", "check_all"]


@dataclass
class CheckResult:
    """The outcome of one service's check."""

    service: str
    endpoint: str
    ok: bool
    latency_ms: float
    detail: str
    hint: str = ""
    version: str | None = None


@dataclass
class HealthReport:
    """Results of :func:`check_all`; prints as a table, renders as HTML in a notebook."""

    results: list[CheckResult] = field(default_factory=list)
    client_checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every service and client check passed."""
        return all(r.ok for r in self.results + self.client_checks)

    def __getitem__(self, service: str) -> CheckResult:
        for result in self.results:
            if result.service == service:
                return result
        raise KeyError(service)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "services": [asdict(r) for r in self.results],
            "clients": [asdict(r) for r in self.client_checks],
        }

    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (r.service, "healthy" if r.ok else "UNHEALTHY", f"{r.latency_ms:.0f} ms", r.detail, "" if r.ok else r.hint)
            for r in self.results + self.client_checks
        ]

    def __str__(self) -> str:
        header = ("service", "status", "latency", "detail", "hint")
        rows = [header, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in rows
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"HealthReport(ok={self.ok})\n{self}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("service", "status", "latency", "detail", "hint"))
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="color:{"green" if cell == "healthy" else "red"}">{html.escape(cell)}</td>'
                if i == 1
                else f"<td>{html.escape(cell)}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
            for row in self._rows()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _http_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


def _http_text(url: str, timeout: float) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode(errors="replace"))


def _check_minio(lh: Lakehouse, timeout: float) -> tuple[str, str | None]:
    endpoint = lh.endpoint("minio")
    from lakehouse_sdk.clients.s3 import s3_client

    settings = lh.settings.model_copy(update={"connect_timeout": timeout})
    client = s3_client(settings, endpoint)
    buckets = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
    missing = [b for b in lh.settings.s3.buckets if b not in buckets]
    if missing:
        raise LakehouseError(f"bucket(s) {', '.join(missing)} missing; run `lakehouse up --local` to create them")
    return f"{len(buckets)} bucket(s): {', '.join(buckets[:5])}", None


def _check_console(lh: Lakehouse, timeout: float) -> tuple[str, str | None]:
    endpoint = lh.endpoint("minio-console")
    with urllib.request.urlopen(endpoint.url + "/", timeout=timeout) as response:
        return f"HTTP {response.status}", None


def _check_postgres(lh: Lakehouse, timeout: float) -> tuple[str, str | None]:
    from lakehouse_sdk.clients.postgres import postgres_connection

    settings = lh.settings.model_copy(update={"connect_timeout": timeout})
    with postgres_connection(settings, lh.endpoint("postgres")) as conn:
        row = conn.execute("SELECT 1, current_setting('server_version')").fetchone()
        assert row is not None
        assert row[0] == 1
        return "SELECT 1 ok", str(row[1])


def _check_metastore(lh: Lakehouse, timeout: float) -> tuple[str, str | None]:
    from lakehouse_sdk.clients.metastore import MetastoreClient

    settings = lh.settings.model_copy(update={"connect_timeout": timeout})
    with MetastoreClient(settings, lh.endpoint("hive-metastore")) as hms:
        databases = hms.databases()
    return f"{len(databases)} database(s)", None


def _spark_version(page: str) -> str | None:
    match = re.search(r'class="version"[^>]*>\s*([0-9][^<\s]*)', page)
    return match.group(1) if match else None


def _check_spark_master(lh: Lakehouse, timeout: float) -> tuple[str, str | None]:
    ui = lh.endpoint("spark-master-ui")
    probe(lh.settings, lh.endpoint("spark-master"), timeout)
    status = _http_json(ui.url + "/json/", timeout)
    alive = int(status.get("aliveworkers", 0))
    if status.get("status") != "ALIVE" or alive < 1:
        raise LakehouseError(f"master status {status.get('status')}, {alive} alive worker(s); a worker is needed")
    version = _spark_version(_http_text(ui.url + "/", timeout))
    return f"ALIVE, {alive} worker(s), {status.get('cores', '?')} cores", version


def _check_spark_worker(lh: Lakehouse, timeout: float) -> tuple[str, str | None]:
    ui = lh.endpoint("spark-worker-ui")
    status = _http_json(ui.url + "/json/", timeout)
    return f"{status.get('cores', '?')} cores, master {status.get('masterurl', '?')}", None


def _check_trino(lh: Lakehouse, timeout: float) -> tuple[str, str | None]:
    endpoint = lh.endpoint("trino")
    info = _http_json(endpoint.url + "/v1/info", timeout)
    if info.get("starting", True):
        raise LakehouseError("Trino reports starting=true; wait for it to finish starting")
    from lakehouse_sdk.clients.trino import trino_connection

    settings = lh.settings.model_copy(update={"connect_timeout": timeout})
    conn = trino_connection(settings, endpoint, request_timeout=timeout, max_attempts=1)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        rows = cur.fetchall()
        assert rows == [[1]], rows
    finally:
        conn.close()  # type: ignore[no-untyped-call]
    version = str(info.get("nodeVersion", {}).get("version", "")) or None
    return "SELECT 1 ok", version


CHECKS: dict[str, Callable[[Lakehouse, float], tuple[str, str | None]]] = {
    "minio": _check_minio,
    "minio-console": _check_console,
    "postgres": _check_postgres,
    "hive-metastore": _check_metastore,
    "spark-master": _check_spark_master,
    "spark-worker-ui": _check_spark_worker,
    "trino": _check_trino,
}


def _run_one(lh: Lakehouse, service: str, timeout: float) -> CheckResult:
    endpoint = lh.endpoint(service)
    start = time.perf_counter()
    try:
        detail, version = CHECKS[service](lh, timeout)
        ok, hint = True, ""
    except Exception as exc:
        detail = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])[:300]
        ok, version, hint = False, None, next_step(lh.settings, endpoint)
    return CheckResult(service, endpoint.url, ok, (time.perf_counter() - start) * 1000, detail, hint, version)


def _client_checks(results: list[CheckResult]) -> list[CheckResult]:
    """Client libraries against the servers they talk to."""
    out: list[CheckResult] = []
    master = next((r for r in results if r.service == "spark-master" and r.version), None)
    if master is not None:
        try:
            from importlib.metadata import version

            pyspark_version = version("pyspark")
        except Exception:
            pyspark_version = None
        if pyspark_version is not None:
            same = pyspark_version.split(".")[:2] == (master.version or "").split(".")[:2]
            out.append(
                CheckResult(
                    "pyspark-client",
                    master.endpoint,
                    same,
                    0.0,
                    f"pyspark {pyspark_version}, Spark master {master.version}",
                    "" if same else f"install the matching client: pip install 'pyspark=={master.version}'",
                )
            )
    return out


def check_all(lh: Lakehouse, *, timeout: float | None = None, services: list[str] | None = None) -> HealthReport:
    """Run every check in parallel; each is bounded by ``timeout`` (default: the connect timeout, min 5s)."""
    limit = timeout if timeout is not None else max(5.0, lh.settings.connect_timeout)
    names = services or list(CHECKS)
    pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="lakehouse-health")
    futures = {name: pool.submit(_run_one, lh, name, limit) for name in names}
    results: list[CheckResult] = []
    deadline = time.monotonic() + limit + 2
    for name, future in futures.items():
        try:
            results.append(future.result(timeout=max(0.1, deadline - time.monotonic())))
        except FutureTimeout:
            endpoint = lh.endpoint(name)
            results.append(
                CheckResult(
                    name,
                    endpoint.url,
                    False,
                    limit * 1000,
                    f"no answer within {limit:.0f}s",
                    next_step(lh.settings, endpoint),
                )
            )
    pool.shutdown(wait=False, cancel_futures=True)
    return HealthReport(results, _client_checks(results))
