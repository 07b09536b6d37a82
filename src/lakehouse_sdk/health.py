"""Health checks for every service, run in parallel, and the doctor report.

Each check talks to its service for real (S3 list-buckets, ``SELECT 1``, a metastore call, the Spark
master's JSON status, a Spark Connect session with the token, Trino's ``/v1/info`` and a query) with its own
timeout, so one dead service never makes the report hang.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from lakehouse_sdk._health_report import CheckResult, HealthReport
from lakehouse_sdk.clients._connect import Failure, next_step, probe
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import (
    ConfigurationError,
    LakehouseError,
    MissingDependencyError,
    ServiceUnavailableError,
    redact,
)
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack import probes as probes

__all__ = ["CheckResult", "HealthReport", "check_all"]


@dataclass(frozen=True)
class _Site:
    """What a check needs: the settings and the endpoint of a service."""

    settings: LakehouseSettings
    endpoint: Callable[[str], Endpoint]


def _tls_context(settings: LakehouseSettings, endpoint: Endpoint) -> ssl.SSLContext | None:
    """For an https endpoint: verification against the settings' CA (secure mode: the stack's), else the
    system's; ``None`` for plain http."""
    if endpoint.scheme != "https":
        return None
    ca = settings.tls_ca()
    return ssl.create_default_context(cafile=str(ca) if ca else None)


def _http_text(url: str, timeout: float) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode(errors="replace"))


class _PartialCheck(Exception):  # noqa: N818 - a result, not an error
    """A check that could only be made at the protocol level: the client library is not installed."""

    def __init__(self, detail: str, extra: str) -> None:
        super().__init__(detail)
        self.detail = f"{detail}; install lakehouse-sdk[{extra}] for the full check"


def _bounded(site: _Site, timeout: float) -> LakehouseSettings:
    """Settings whose every timeout is ``timeout`` and that make one attempt: a check never outlives it."""
    s = site.settings
    return s.model_copy(
        update={
            "connect_timeout": timeout,
            "s3": s.s3.model_copy(update={"read_timeout": timeout, "max_attempts": 1}),
            "trino": s.trino.model_copy(update={"request_timeout": timeout}),
            "metastore": s.metastore.model_copy(update={"request_timeout": timeout}),
        }
    )


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _check_minio(site: _Site, timeout: float) -> tuple[str, str | None]:
    endpoint = site.endpoint("minio")
    if not _installed("boto3"):
        raise _PartialCheck(probes.s3_answers(endpoint.url, timeout), "s3")
    from lakehouse_sdk.clients.s3 import s3_client

    client = s3_client(_bounded(site, timeout), endpoint)
    buckets = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
    missing = [b for b in site.settings.s3.buckets if b not in buckets]
    if missing:
        raise LakehouseError(f"bucket(s) {', '.join(missing)} missing; run `lakehouse up --local` to create them")
    return f"{len(buckets)} bucket(s): {', '.join(buckets[:5])}", None


def _check_console(site: _Site, timeout: float) -> tuple[str, str | None]:
    endpoint = site.endpoint("minio-console")
    try:
        with urllib.request.urlopen(endpoint.url + "/", timeout=timeout) as response:
            return f"HTTP {response.status}", None
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):  # it answers, behind its login (the provisioned stack's console)
            return f"HTTP {exc.code} (login required)", None
        raise


def _check_postgres(site: _Site, timeout: float) -> tuple[str, str | None]:
    endpoint = site.endpoint("postgres")
    if not _installed("psycopg"):
        raise _PartialCheck(probes.postgres_answers(endpoint.host, endpoint.port, timeout), "postgres")
    from lakehouse_sdk.clients.postgres import postgres_connection

    with postgres_connection(_bounded(site, timeout), endpoint) as conn:
        row = conn.execute("SELECT 1, current_setting('server_version')").fetchone()
        if row is None or row[0] != 1:
            raise LakehouseError(f"SELECT 1 returned {row!r}")
        return "SELECT 1 ok", str(row[1])


def _check_metastore(site: _Site, timeout: float) -> tuple[str, str | None]:
    endpoint = site.endpoint("hive-metastore")
    if not (_installed("thrift") and _installed("pymetastore")):
        count = probes.metastore_databases(endpoint.host, endpoint.port, timeout)
        raise _PartialCheck(f"get_all_databases answered ({count} database(s))", "metastore")
    from lakehouse_sdk.clients.metastore import MetastoreClient

    with MetastoreClient(_bounded(site, timeout), endpoint) as hms:
        databases = hms.databases()
    return f"{len(databases)} database(s)", None


def _spark_version(page: str) -> str | None:
    match = re.search(r'class="version"[^>]*>\s*([0-9][^<\s]*)', page)
    return match.group(1) if match else None


def _check_spark_master(site: _Site, timeout: float) -> tuple[str, str | None]:
    ui = site.endpoint("spark-master-ui")
    probe(site.settings, site.endpoint("spark-master"), timeout)
    status = probes.http_json(ui.url + "/json/", timeout)
    alive = int(status.get("aliveworkers", 0))
    if status.get("status") != "ALIVE" or alive < 1:
        raise LakehouseError(f"master status {status.get('status')}, {alive} alive worker(s); a worker is needed")
    version = _spark_version(_http_text(ui.url + "/", timeout))
    return f"ALIVE, {alive} worker(s), {status.get('cores', '?')} cores", version


def _check_spark_worker(site: _Site, timeout: float) -> tuple[str, str | None]:
    ui = site.endpoint("spark-worker-ui")
    status = probes.http_json(ui.url + "/json/", timeout)
    return f"{status.get('cores', '?')} cores, master {status.get('masterurl', '?')}", None


def _check_spark_connect(site: _Site, timeout: float) -> tuple[str, str | None]:
    endpoint = site.endpoint("spark-connect")
    answer = probes.grpc_answers(endpoint.host, endpoint.port, timeout)
    if not (_installed("grpc") and _installed("pyspark.sql.connect")):
        raise _PartialCheck(answer, "spark-connect")
    from lakehouse_sdk.clients.spark_connect import connect_session

    # a session, its version (AnalyzePlan) and a Config call: real calls that need no executor, so an idle
    # server (its executors released) answers them as fast as a busy one
    session = connect_session(_bounded(site, timeout), endpoint)
    try:
        version = session.version
        app = session.conf.get("spark.app.name")
    finally:
        session.stop()
    return f"Connect session with the token ok (application {app})", version


def _check_trino(site: _Site, timeout: float) -> tuple[str, str | None]:
    endpoint = site.endpoint("trino")
    info = probes.http_json(endpoint.url + "/v1/info", timeout, context=_tls_context(site.settings, endpoint))
    if info.get("starting", True):
        raise LakehouseError("Trino reports starting=true; wait for it to finish starting")
    version = str(info.get("nodeVersion", {}).get("version", "")) or None
    if not _installed("trino"):
        raise _PartialCheck(f"/v1/info answered, version {version}", "trino")
    from lakehouse_sdk.clients.trino import trino_connection

    conn = trino_connection(_bounded(site, timeout), endpoint, max_attempts=1)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        rows = cur.fetchall()
        if rows != [[1]]:
            raise LakehouseError(f"SELECT 1 returned {rows!r}")
        # table splits need a node its node manager counts as active (information_schema and SELECT 1 do not)
        cur.execute("SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'")
        active = cur.fetchall()[0][0]
        if not active:
            raise LakehouseError("Trino has no active node yet (table queries fail with NO_NODES_AVAILABLE); wait")
    finally:
        conn.close()  # type: ignore[no-untyped-call]
    return f"SELECT 1 ok, {active} active node(s)", version


CHECKS: dict[str, Callable[[_Site, float], tuple[str, str | None]]] = {
    "minio": _check_minio,
    "minio-console": _check_console,
    "postgres": _check_postgres,
    "hive-metastore": _check_metastore,
    "spark-master": _check_spark_master,
    "spark-worker-ui": _check_spark_worker,
    "spark-connect": _check_spark_connect,
    "trino": _check_trino,
}


def _failure(exc: BaseException) -> Failure:
    """Whether a check failed to connect, or connected and got no answer in time."""
    import socket

    text = str(exc)
    if "connected but no answer" in text or isinstance(exc, socket.timeout | TimeoutError):
        return "no-answer"
    reason = getattr(exc, "reason", None)  # urllib's URLError wraps the socket error
    if isinstance(reason, socket.timeout | TimeoutError):
        return "no-answer"
    return "refused"


def _run_one(site: _Site, service: str, timeout: float) -> CheckResult:
    endpoint = site.endpoint(service)
    start = time.perf_counter()
    status, hint, version = "healthy", "", None
    try:
        detail, version = CHECKS[service](site, timeout)
    except _PartialCheck as partial:
        status, detail = "partial", partial.detail
    except MissingDependencyError as missing:  # a client library could not be imported: not the service's fault
        status, detail = "not checked", str(missing)
    except Exception as exc:
        status = "UNHEALTHY"
        detail = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])[:300]
        if isinstance(exc, ServiceUnavailableError):
            detail = redact(str(exc).split(". The endpoint came from")[0])[:300]
        hint = next_step(site.settings, endpoint, _failure(exc))
    elapsed = (time.perf_counter() - start) * 1000
    return CheckResult(service, endpoint.url, status != "UNHEALTHY", elapsed, detail, hint, version, status)


def _client_checks(results: list[CheckResult]) -> list[CheckResult]:
    """Client libraries against the servers they talk to: pyspark (full or thin) has the server's minor version."""
    from lakehouse_sdk.clients.spark_connect import client_version

    out: list[CheckResult] = []
    client = client_version()
    for name, server in (("pyspark-client", "spark-master"), ("spark-connect-client", "spark-connect")):
        result = next((r for r in results if r.service == server and r.version), None)
        if result is None or client is None:
            continue
        same = client.split(".")[:2] == (result.version or "").split(".")[:2]
        minor = ".".join((result.version or "").split(".")[:2])
        out.append(
            CheckResult(
                name,
                result.endpoint,
                same,
                0.0,
                f"pyspark {client}, {server} {result.version}",
                ""
                if same
                else f"install a client of Spark {minor}: pip install 'lakehouse-sdk[spark]' or '[spark-connect]'",
            )
        )
    return out


def check_all(
    settings: LakehouseSettings,
    endpoint: Callable[[str], Endpoint],
    *,
    timeout: float | None = None,
    services: list[str] | None = None,
) -> HealthReport:
    """Run every check in parallel; each is bounded by ``timeout`` (default: the connect timeout, min 5s).

    ``endpoint`` resolves an endpoint key (``Lakehouse.endpoint``; in port-forward mode it opens the forward).

    The checks run on daemon threads: a service that never answers cannot keep the process alive after
    this returns (which it does within ``timeout`` + 2 s).
    """
    site = _Site(settings, endpoint)
    limit = timeout if timeout is not None else max(5.0, settings.connect_timeout)
    if limit <= 0:
        raise ConfigurationError(f"health check timeout must be positive, not {limit:g} s")
    endpoints: dict[str, Endpoint] = {}
    for name in services or list(CHECKS):
        try:
            endpoints[name] = site.endpoint(name)  # port-forwards open here, not in the threads
        except ConfigurationError:
            if services or site.settings.mode != "explicit":
                raise  # explicit mode checks the services it has URLs for; anything else is an error
    names = list(endpoints)
    results: dict[str, CheckResult] = {}
    done = threading.Condition()

    def run(name: str) -> None:
        result = _run_one(site, name, limit)
        with done:
            results[name] = result
            done.notify_all()

    for name in names:
        threading.Thread(target=run, args=(name,), name=f"lakehouse-health-{name}", daemon=True).start()
    deadline = time.monotonic() + limit + 2
    with done:
        while len(results) < len(names) and (remaining := deadline - time.monotonic()) > 0:
            done.wait(remaining)
        finished = dict(results)
    ordered: list[CheckResult] = []
    for name in names:
        if name in finished:
            ordered.append(finished[name])
            continue
        target = endpoints[name]
        ordered.append(
            CheckResult(
                name,
                target.url,
                False,
                limit * 1000,
                f"no answer within {limit:g} s",
                next_step(site.settings, target, "no-answer"),
                None,
                "UNHEALTHY",
            )
        )
    return HealthReport(ordered, _client_checks(ordered))
