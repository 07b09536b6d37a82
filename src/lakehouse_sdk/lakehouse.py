"""The ``Lakehouse`` facade: configured, working clients for every part of the stack."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from lakehouse_sdk._closing import Closing
from lakehouse_sdk._data import DataMethods
from lakehouse_sdk.clients import _connect
from lakehouse_sdk.endpoints import Endpoint, forwarded_endpoint, resolve_endpoint, resolve_endpoints, resolve_mode
from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.settings import LakehouseSettings

if TYPE_CHECKING:
    import psycopg
    from mypy_boto3_s3 import S3Client
    from pyarrow.fs import S3FileSystem
    from pyiceberg.catalog.hive import HiveCatalog
    from pyspark.sql import SparkSession
    from sqlalchemy.engine import Engine
    from trino.dbapi import Connection as TrinoConnection

    from lakehouse_sdk.clients.metastore import MetastoreClient
    from lakehouse_sdk.health import HealthReport
    from lakehouse_sdk.kube.manage import ComponentStatus, TeardownResult
    from lakehouse_sdk.kube.options import ProvisionOptions
    from lakehouse_sdk.kube.portforward import PortForwarder
    from lakehouse_sdk.kube.provision import Progress, ProvisionResult

__all__ = ["Lakehouse"]


class Lakehouse(DataMethods, Closing):
    """Entry point of lakehouse-sdk.

    Args:
        settings: effective settings. ``None`` (the default) loads them from keyword ``overrides``,
            ``LAKEHOUSE_*`` environment variables, ``.env``, the config-file profile, the standard variables
            of other tools (``AWS_*``, ``PG*``) and the reference architecture's defaults, in that order.
        profile: shorthand for ``overrides["profile"]``.
        **overrides: settings given as keyword arguments (``mode="nodeport"``, ``s3={"region": "eu"}``).

    Client factories return new objects the caller owns (connections are context managers); nothing here
    opens a connection until a client is asked for. In ``port-forward`` mode the Lakehouse owns the
    port-forwards it opens: close it (or use it as a context manager) when done.
    """

    def __init__(
        self, settings: LakehouseSettings | None = None, *, profile: str | None = None, **overrides: Any
    ) -> None:
        if settings is not None and profile is not None:
            raise ConfigurationError(
                "Lakehouse(settings, profile=...) is ambiguous: a profile is read when settings are loaded. "
                "Pass LakehouseSettings(profile=...) or leave settings out."
            )
        if settings is not None and overrides:
            settings = settings.with_overrides(**overrides)
        elif settings is None:
            if profile is not None:
                overrides["profile"] = profile
            settings = LakehouseSettings(**overrides)
        if settings.kube.credentials_from_secret:
            from lakehouse_sdk.kube.manage import provisioned_settings

            settings = provisioned_settings(settings)
        self.settings: LakehouseSettings = settings
        self._forwarder: PortForwarder | None = None
        self._forwarder_lock = threading.Lock()

    def __repr__(self) -> str:
        mode, _ = resolve_mode(self.settings)
        return f"Lakehouse(mode={mode!r}, namespace={self.settings.namespace!r})"

    # -- endpoints --------------------------------------------------------------------------------------------

    @cached_property
    def _mode(self) -> tuple[str, str]:
        return resolve_mode(self.settings)

    def _port_forwarder(self) -> PortForwarder:
        with self._forwarder_lock:
            if self._forwarder is None:
                from lakehouse_sdk.kube.portforward import PortForwarder

                self._forwarder = PortForwarder(self.settings)
            return self._forwarder

    def endpoint(self, service: str) -> Endpoint:
        """The resolved endpoint of one service (``minio``, ``trino``, ``hive-metastore``, ...).

        In ``port-forward`` mode this opens (once) a local port-forward to the service through the
        Kubernetes API; every other mode only computes the address.
        """
        from lakehouse_sdk.stack.endpoints import ENDPOINTS, canonical_endpoint_key

        key = canonical_endpoint_key(service)
        if key is None:
            raise ConfigurationError(f"unknown service {service!r}; services are: {', '.join(ENDPOINTS)}")
        if self._mode[0] == "port-forward" and key not in self.settings.endpoints:
            address = self._port_forwarder().local_address(key)
            return forwarded_endpoint(self.settings, key, address, self._mode[1])
        return resolve_endpoint(self.settings, key, self._mode)

    def endpoints(self) -> dict[str, Endpoint]:
        """Every service's endpoint, resolved without touching the network (``port-forward`` mode starts the
        forwards of the services the cluster has)."""
        if self._mode[0] != "port-forward":
            return resolve_endpoints(self.settings)
        forwarder = self._port_forwarder()
        forwarder.start()
        out = {
            key: forwarded_endpoint(self.settings, key, address, self._mode[1])
            for key, address in forwarder.addresses().items()
        }
        out.update({key: resolve_endpoint(self.settings, key, self._mode) for key in self.settings.endpoints})
        return out

    def close(self) -> None:
        """Close the port-forwards this Lakehouse opened (nothing to do in other modes); safe to call twice."""
        with self._forwarder_lock:
            forwarder, self._forwarder = self._forwarder, None
        if forwarder is not None:
            forwarder.close()

    def _reachable(self, service: str) -> Endpoint:
        endpoint = self.endpoint(service)
        _connect.probe(self.settings, endpoint)
        return endpoint

    # -- object store -----------------------------------------------------------------------------------------

    def s3(self, *, check: bool = True) -> S3Client:
        """A boto3 S3 client (path-style, SigV4, timeouts, standard retries) for the object store."""
        from lakehouse_sdk.clients.s3 import s3_client

        endpoint = self._reachable("minio") if check else self.endpoint("minio")
        return s3_client(self.settings, endpoint)

    def storage_options(self) -> dict[str, Any]:
        """``storage_options`` for pandas / fsspec (s3fs), e.g. ``df.to_parquet("s3://b/k", storage_options=...)``."""
        from lakehouse_sdk.clients.s3 import storage_options

        return storage_options(self.settings, self.endpoint("minio"))

    def arrow_filesystem(self) -> S3FileSystem:
        """A ``pyarrow.fs.S3FileSystem`` for the object store."""
        from lakehouse_sdk.clients.s3 import arrow_filesystem

        return arrow_filesystem(self.settings, self.endpoint("minio"))

    # -- Trino ------------------------------------------------------------------------------------------------

    def trino(self, *, catalog: str | None = None, schema: str | None = None, **kwargs: Any) -> TrinoConnection:
        """A ``trino.dbapi`` connection (basic or JWT auth and TLS verification when configured)."""
        from lakehouse_sdk.clients.trino import trino_connection

        return trino_connection(self.settings, self._reachable("trino"), catalog=catalog, schema=schema, **kwargs)

    def sqlalchemy_url(self, *, catalog: str | None = None, schema: str | None = None) -> str:
        """A SQLAlchemy URL for Trino, without credentials (see :meth:`sqlalchemy_engine`)."""
        from lakehouse_sdk.clients.trino import sqlalchemy_url

        return sqlalchemy_url(self.settings, self.endpoint("trino"), catalog=catalog, schema=schema)

    def sqlalchemy_engine(self, *, catalog: str | None = None, schema: str | None = None, **kwargs: Any) -> Engine:
        """A SQLAlchemy engine on Trino with auth and TLS settings in ``connect_args``."""
        from lakehouse_sdk._deps import require
        from lakehouse_sdk.clients.trino import bounded_session, sqlalchemy_connect_args, sqlalchemy_url

        sqlalchemy = require("sqlalchemy", extra="trino", purpose="lh.sqlalchemy_engine()")
        endpoint = self.endpoint("trino")
        engine: Engine = sqlalchemy.create_engine(
            sqlalchemy_url(self.settings, endpoint, catalog=catalog, schema=schema),
            connect_args=sqlalchemy_connect_args(self.settings, endpoint),
            **kwargs,
        )

        def bounded(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
            # every pooled connection gets its own session whose timeouts end the call with a clear error
            cparams.setdefault("http_session", bounded_session(self.settings, endpoint))

        sqlalchemy.event.listen(engine, "do_connect", bounded)
        return engine

    # -- Spark ------------------------------------------------------------------------------------------------

    def spark_conf(self, *, app_name: str | None = None) -> dict[str, str]:
        """The configuration :meth:`spark` uses (contains the S3 secret: do not print it)."""
        from lakehouse_sdk.clients.spark import spark_conf

        return spark_conf(
            self.settings,
            master=self.endpoint("spark-master"),
            metastore=self.endpoint("hive-metastore"),
            s3=self.endpoint("minio"),
            app_name=app_name,
        )

    def spark(self, *, app_name: str | None = None) -> SparkSession:
        """A SparkSession with S3A, the metastore (``spark_catalog``) and the ``iceberg`` catalog.

        Over Spark Connect (a thin gRPC client; the driver is the stack's ``spark-connect`` server; each call
        opens a new session, which the caller stops) when ``spark.connect`` is ``true``, or ``auto`` where a
        classic driver cannot work: in ``port-forward`` mode, or with only ``pyspark-client`` installed.
        Otherwise a classic session (a JVM driver here, executors on the standalone master; the active session
        is reused).
        """
        from lakehouse_sdk.clients import spark_connect

        connect, why = spark_connect.use_connect(self.settings, self._mode[0])
        if connect:
            # the Connect session has the classic one's API (pyspark types them as two classes)
            session = spark_connect.connect_session(self.settings, self.endpoint("spark-connect"), app_name=app_name)
            return cast("SparkSession", session)
        from lakehouse_sdk.clients.spark import spark_session

        if self._mode[0] == "port-forward":
            raise ConfigurationError(
                f"a classic lh.spark() cannot work in mode=port-forward ({self.settings.source_of('mode')}): the "
                "executors run in the cluster and cannot connect back to a driver outside it, and would be handed "
                f"this machine's 127.0.0.1 forwards for S3 and the metastore ({why}). Use Spark Connect "
                "(LAKEHOUSE_SPARK__CONNECT=auto or true), run the driver in the cluster (mode in-cluster), or use "
                "NodePorts with LAKEHOUSE_SPARK__DRIVER_HOST set to an address the pods can reach."
            )

        conf = self.spark_conf(app_name=app_name)
        # a local master (spark.conf: spark.master=local[...]) needs nothing of the stack to start; its catalogs
        # connect when first used
        if not conf.get("spark.master", "").startswith("local"):
            self._spark_services_answer()
        return spark_session(self.settings, conf)

    def _spark_services_answer(self) -> None:
        """Before a JVM starts: the master, the metastore and the object store answer within their bounds.

        A hung master or metastore would otherwise hold the new session for minutes (Spark's own registration
        retries), so each is asked something small at the protocol level first.
        """
        import urllib.error

        from lakehouse_sdk.stack import probes

        for service in ("spark-master", "hive-metastore", "minio"):
            self._reachable(service)
        metastore = self.endpoint("hive-metastore")
        timeout = self.settings.metastore.request_timeout
        try:
            probes.metastore_databases(metastore.host, metastore.port, timeout)
        except TimeoutError:
            raise _connect.no_answer(self.settings, metastore, timeout, "metastore.request_timeout") from None
        except (OSError, ConnectionError) as exc:
            raise _connect.unavailable(self.settings, metastore, f"no metastore answer ({exc})") from None
        try:
            ui = self.endpoint("spark-master-ui")
        except ConfigurationError:
            return  # explicit mode without the UI's URL: the TCP check above is all there is
        try:
            probes.http_json(ui.url + "/json/", self.settings.connect_timeout)
        except TimeoutError:
            raise _connect.no_answer(self.settings, ui, self.settings.connect_timeout, "connect_timeout") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _connect.no_answer(self.settings, ui, self.settings.connect_timeout, "connect_timeout") from None
            raise _connect.unavailable(self.settings, ui, f"the master's status page failed ({exc.reason})") from None
        except ValueError:
            pass  # answered, but not JSON: something else serves the UI port; the master itself decides

    # -- metastore, PostgreSQL, Iceberg -------------------------------------------------------------------------

    def metastore(self) -> MetastoreClient:
        """A Hive Metastore Thrift client (a context manager) with the connect timeout."""
        from lakehouse_sdk.clients.metastore import MetastoreClient

        return MetastoreClient(self.settings, self.endpoint("hive-metastore"))

    def postgres(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A psycopg connection to the metastore database (the caller closes it)."""
        from lakehouse_sdk.clients.postgres import postgres_connection

        return postgres_connection(self.settings, self._reachable("postgres"), **kwargs)

    def iceberg(self, **properties: Any) -> HiveCatalog:
        """A pyiceberg catalog on the metastore with the object store's S3 properties."""
        from lakehouse_sdk.clients.iceberg import iceberg_catalog

        metastore = self._reachable("hive-metastore")
        return iceberg_catalog(self.settings, metastore, self.endpoint("minio"), **properties)

    # -- environment and health --------------------------------------------------------------------------------

    def env(self, *, secrets: bool = True) -> dict[str, str]:
        """Environment variables that point the aws CLI, psql, the trino CLI, pyiceberg and Spark here."""
        from lakehouse_sdk.envvars import tool_environment

        return tool_environment(self.settings, self.endpoint, secrets=secrets)

    def health(self, *, timeout: float | None = None) -> HealthReport:
        """Check every service for real, in parallel, each with its own timeout."""
        from lakehouse_sdk.health import check_all

        return check_all(self.settings, self.endpoint, timeout=timeout)

    # -- Kubernetes -------------------------------------------------------------------------------------------

    def provision(
        self, options: ProvisionOptions | None = None, *, progress: Progress | None = None, **option_values: Any
    ) -> ProvisionResult:
        """Deploy the stack on Kubernetes (see :func:`lakehouse_sdk.provision`) with these settings' cluster.

        ``option_values`` build :class:`~lakehouse_sdk.kube.options.ProvisionOptions` when ``options`` is None.
        """
        from lakehouse_sdk.kube.options import ProvisionOptions
        from lakehouse_sdk.kube.provision import provision

        opts = options if options is not None else ProvisionOptions.build(**option_values)
        return provision(opts, settings=self.settings, progress=progress)

    def teardown(
        self, options: ProvisionOptions | None = None, *, delete_data: bool = False, progress: Progress | None = None
    ) -> TeardownResult:
        """Remove what :meth:`provision` created (volumes are kept unless ``delete_data``)."""
        from lakehouse_sdk.kube.manage import teardown

        return teardown(options, settings=self.settings, delete_data=delete_data, progress=progress)

    def kube_status(self, options: ProvisionOptions | None = None) -> list[ComponentStatus]:
        """Every workload of the provisioned stack and whether it is ready."""
        from lakehouse_sdk.kube.manage import status

        return status(options, settings=self.settings)

    def scale_workers(self, replicas: int, *, options: ProvisionOptions | None = None) -> None:
        """Scale the Spark workers of the provisioned stack; return once the master lists ``replicas`` alive."""
        from lakehouse_sdk.kube.manage import scale_workers
        from lakehouse_sdk.kube.registered import alive_spark_workers, wait_for_workers

        scale_workers(replicas, options, settings=self.settings)
        ui = self.endpoint("spark-master-ui").url
        wait_for_workers(
            lambda: alive_spark_workers(ui, self.settings.connect_timeout),
            f"the Spark master ({ui})",
            replicas,
            options.timeout if options else 600.0,
            hint=f"Look at the workers' logs: kubectl -n {self.settings.namespace} logs deploy/spark-worker",
        )

    def scale_trino_workers(self, replicas: int, *, options: ProvisionOptions | None = None) -> None:
        """Scale the Trino workers; return once ``system.runtime.nodes`` lists ``replicas`` active workers."""
        from lakehouse_sdk.kube.manage import scale_trino_workers
        from lakehouse_sdk.kube.registered import active_trino_workers, wait_for_workers

        scale_trino_workers(replicas, options, settings=self.settings)
        wait_for_workers(
            lambda: active_trino_workers(self.query),
            f"Trino's system.runtime.nodes ({self.endpoint('trino').url})",
            replicas,
            options.timeout if options else 600.0,
            hint=f"Look at the workers' logs: kubectl -n {self.settings.namespace} logs deploy/trino-worker",
        )
