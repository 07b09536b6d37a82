"""A SparkSession for the standalone master, wired to S3A, the metastore and the Iceberg catalog."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse_sdk._deps import require
from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.spark_config import spark_sql_properties
from lakehouse_sdk.stack.versions import spark_jar_artifacts

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "forget_stopped_sessions_file_systems",
    "local_jar_paths",
    "route_address",
    "spark_conf",
    "spark_session",
]


def local_jar_paths(settings: LakehouseSettings) -> list[Path]:
    """Where the local runtime caches the S3A and Iceberg jars."""
    return [settings.local.cache_path / "jars" / a.filename for a in spark_jar_artifacts()]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def route_address(host: str, port: int) -> str:
    """The local IP address that routes to ``host`` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))
        address: str = sock.getsockname()[0]
        return address


def spark_conf(
    settings: LakehouseSettings, *, master: Endpoint, metastore: Endpoint, s3: Endpoint, app_name: str | None = None
) -> dict[str, str]:
    """The Spark configuration ``lh.spark()`` uses (secrets included: do not log it)."""
    cfg = settings.spark
    conf: dict[str, str] = {
        "spark.master": f"spark://{master.address}",
        "spark.app.name": app_name or cfg.app_name,
        "spark.executor.memory": cfg.executor_memory,
        "spark.executor.cores": str(cfg.executor_cores),
        "spark.cores.max": str(cfg.cores_max),
        # S3A, spark_catalog and the Iceberg catalog: the Connect server's setup, with the credentials themselves
        **spark_sql_properties(
            s3_endpoint=s3.url,
            region=settings.s3.region,
            metastore_uri=f"thrift://{metastore.address}",
            warehouse_bucket=settings.s3.warehouse_bucket,
            catalog=settings.iceberg.catalog_name,
            access_key=settings.s3.access_key.get_secret_value(),
            secret_key=settings.s3.secret_key.get_secret_value(),
        ),
        "spark.hadoop.fs.s3a.connection.timeout": str(int(settings.s3.read_timeout * 1000)),
        # Hadoop 3.4 raises anything below 15 s to 15 s, with a warning on every session
        "spark.hadoop.fs.s3a.connection.establish.timeout": str(max(15000, int(settings.connect_timeout * 1000))),
        "spark.hadoop.fs.s3a.attempts.maximum": str(settings.s3.max_attempts),
    }
    conf.update(_driver_conf(settings, master))
    conf.update(_jar_conf(settings, master))
    conf.update(_trust_conf(settings))
    conf.update(_auth_conf(settings, master))
    conf.update(cfg.conf)
    return conf


def _auth_conf(settings: LakehouseSettings, master: Endpoint) -> dict[str, str]:
    """``spark.authenticate`` with the cluster's shared secret, where the master and the workers refuse an
    application without it: ``spark.auth_secret`` when set (provisioning sets it for a stack in secure mode),
    else, in secure mode, the local stack's own secret, while the local stack's master runs on this machine."""
    from lakehouse_sdk.errors import register_secret

    if settings.spark.auth_secret is not None:  # a provisioned stack in secure mode, or the user's cluster
        secret = settings.spark.auth_secret.get_secret_value()
        register_secret(secret)
        return {"spark.authenticate": "true", "spark.authenticate.secret": secret}
    state = settings.local.state_path
    if not settings.secure or not _is_loopback(master.host) or not (state / "run" / "spark-master.pid").is_file():
        return {}
    from lakehouse_sdk.stack.secure import SPARK_AUTH_SECRET_FILE

    path = state / "tls" / SPARK_AUTH_SECRET_FILE
    try:
        secret = path.read_text().strip()
    except OSError:
        return {}  # a stack that is not secure, or not started yet: the master says what it refuses
    register_secret(secret)
    return {"spark.authenticate": "true", "spark.authenticate.secret": secret}


def _trust_conf(settings: LakehouseSettings) -> dict[str, str]:
    """Secure mode (or a CA of the settings): the driver and the executors trust it for S3A over https."""
    ca = settings.tls_ca()
    if ca is None:
        return {}
    from lakehouse_sdk.tls import TRUSTSTORE_PASSWORD, truststore_for

    store = truststore_for(ca, settings.local.cache_path / "truststores")
    options = (
        f"-Djavax.net.ssl.trustStore={store} -Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD} "
        "-Djavax.net.ssl.trustStoreType=PKCS12"
    )
    return {"spark.driver.extraJavaOptions": options, "spark.executor.extraJavaOptions": options}


def _driver_conf(settings: LakehouseSettings, master: Endpoint) -> dict[str, str]:
    """Executors must connect back to the driver: make that address explicit outside the cluster."""
    cfg = settings.spark
    conf: dict[str, str] = {}
    host = cfg.driver_host
    if host is None and master.mode != "in-cluster":
        host = "127.0.0.1" if _is_loopback(master.host) else route_address(master.host, master.port)
    if host is not None:
        conf["spark.driver.host"] = host
        conf["spark.driver.bindAddress"] = cfg.driver_bind_address or ("127.0.0.1" if _is_loopback(host) else "0.0.0.0")
    if cfg.driver_port is not None:
        conf["spark.driver.port"] = str(cfg.driver_port)
    if cfg.block_manager_port is not None:
        conf["spark.blockManager.port"] = str(cfg.block_manager_port)
    return conf


def _jar_conf(settings: LakehouseSettings, master: Endpoint) -> dict[str, str]:
    mode = settings.spark.jars
    paths = local_jar_paths(settings)
    if mode == "auto":
        mode = "local" if all(p.is_file() for p in paths) else "packages"
    if mode == "local":
        classpath = ":".join(str(p) for p in paths)
        if _is_loopback(master.host):  # executors on this machine read the same files
            return {"spark.driver.extraClassPath": classpath, "spark.executor.extraClassPath": classpath}
        # executors elsewhere (pods) fetch the cached jars from the driver: nothing is downloaded at run time
        return {"spark.driver.extraClassPath": classpath, "spark.jars": ",".join(str(p) for p in paths)}
    # hadoop-aws brings its AWS SDK bundle as a dependency; Spark's Ivy resolves it
    packages = [a for a in spark_jar_artifacts() if a.group != "software.amazon.awssdk"]
    return {"spark.jars.packages": ",".join(a.package_coordinate for a in packages)}


_LAUNCH_KEYS: set[str] = set()  # the configuration the driver's JVM was started with (its system properties)


def spark_session(settings: LakehouseSettings, conf: dict[str, Any]) -> SparkSession:
    """Create (or return the active) SparkSession with ``conf``.

    When this process has no driver JVM yet, it is started with a quiet console (ERROR and up; the full log in
    ``<local state dir>/logs/spark-driver.log``, see :mod:`lakehouse_sdk.clients._driver_logging`).
    """
    sql = require("pyspark.sql", extra="spark", purpose="lh.spark()", package="pyspark")
    forget_stopped_sessions_file_systems()

    from pyspark import SparkContext

    # pyspark starts the JVM on the first SparkContext and keeps it for the process; PYSPARK_GATEWAY_PORT means
    # a launcher (spark-submit of a .py file) already started it, with its own logging
    if SparkContext._gateway is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        from lakehouse_sdk.clients._driver_logging import launch_quiet_gateway

        SparkContext._ensure_initialized(gateway=launch_quiet_gateway(settings, {k: str(v) for k, v in conf.items()}))
        _LAUNCH_KEYS.update(conf)
    elif _LAUNCH_KEYS and SparkContext._active_spark_context is None:
        # the JVM keeps the first session's configuration as system properties (spark-submit passed it as
        # --conf), and every later SparkConf loads them: what this session does not set must not come from an
        # earlier one (another stack's credentials, or its truststore for the executors)
        system = SparkContext._jvm.java.lang.System  # type: ignore[union-attr]
        for key in _LAUNCH_KEYS.difference(conf):
            system.clearProperty(key)
        _LAUNCH_KEYS.intersection_update(conf)
    builder = sql.SparkSession.Builder()
    for key, value in conf.items():
        builder = builder.config(key, value)
    session: SparkSession = builder.getOrCreate()
    return session


def forget_stopped_sessions_file_systems() -> bool:
    """Before a new classic session in a driver JVM that outlived an earlier one: drop Hadoop's cached file
    systems (``FileSystem.closeAll()``); True when it did.

    pyspark keeps its JVM for the whole Python process, and Hadoop caches one ``FileSystem`` per scheme, bucket
    and user in it, whatever the configuration: a stopped session's ``s3a://warehouse`` instance, with *its*
    endpoint and keys, would be handed to the next session, whose ``spark.hadoop.fs.s3a.*`` would then apply to
    its executors only. The driver would write the Iceberg metadata (metadata JSON, manifest lists, manifests)
    to the earlier session's object store while the executors wrote the data files to the configured one, and
    the metastore would name a metadata file missing from it (issue 10: a session on the local stack, then one
    on a cluster's NodePorts, in one pytest process). Nothing is done while a session is active (it is
    reused, file systems and all) or before the first one (the JVM starts empty).
    """
    try:
        from pyspark import SparkContext
    except ImportError:  # pyspark-client alone: no JVM here at all
        return False

    jvm = SparkContext._jvm
    if jvm is None or SparkContext._active_spark_context is not None:
        return False
    jvm.org.apache.hadoop.fs.FileSystem.closeAll()
    return True
