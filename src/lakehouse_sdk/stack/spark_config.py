"""Spark's configuration: one source for a classic session (``lh.spark()``) and the Spark Connect server.

Both get the same SQL setup from :func:`spark_sql_properties`: S3A on the stack's object store, Spark's
``spark_catalog`` on the metastore, and the Iceberg catalog (named as in Trino) on the same metastore. A classic
session passes the credentials themselves; the Connect server's file holds references to environment variables
(``${env.NAME}``, expanded by Hadoop's Configuration in the server and in its executors), never a secret.

The Connect server's static configuration (:func:`spark_connect_properties`) is what a client cannot change:
jars, extensions, catalogs, where executors run. It releases idle executors (dynamic allocation), so a server
that nobody uses does not hold the standalone workers' cores that classic sessions need.
"""

from __future__ import annotations

from lakehouse_sdk.stack.config import StackContext, hadoop_s3a_properties
from lakehouse_sdk.stack.secure import jvm_trust_options

__all__ = [
    "CONNECT_SERVER_CLASS",
    "ICEBERG_EXTENSIONS",
    "SPARK_DAEMON_JAVA_OPTS",
    "spark_connect_properties",
    "spark_sql_properties",
]

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
# The JVM options of the stack's Spark daemons: the master, the worker and the Connect server (spark-class and
# spark-submit read them from the variable of this name), locally and in the pods. None of them runs a task
# (executors keep the JVM's defaults), so they need no optimising compiler (C2): measured on a 2-core machine,
# the three used 31-35 CPU seconds to start with the defaults and 20-21 with these, a warm `lakehouse up --local`
# went from 34 s to 24 s (median of 3, interleaved), and the Connect server's queries (planning, collecting
# 1 M rows) were no slower.
SPARK_DAEMON_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def spark_sql_properties(
    *,
    s3_endpoint: str,
    region: str,
    metastore_uri: str,
    warehouse_bucket: str,
    catalog: str,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> dict[str, str]:
    """S3A, ``spark_catalog`` on the metastore and the Iceberg catalog ``catalog``.

    Without ``access_key``/``secret_key`` the S3A credentials are references to the stack's credential
    variables (the servers' way); a client passes the values.
    """
    keys = {} if access_key is None or secret_key is None else {"access_key": access_key, "secret_key": secret_key}
    warehouse = f"s3a://{warehouse_bucket}/"
    return {
        **{f"spark.hadoop.{k}": v for k, v in hadoop_s3a_properties(s3_endpoint, region, **keys).items()},
        # Hive tables through the metastore
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.hive.metastore.uris": metastore_uri,
        "spark.sql.warehouse.dir": warehouse,
        # Iceberg tables through the same metastore, under the same name as in Trino
        "spark.sql.extensions": ICEBERG_EXTENSIONS,
        f"spark.sql.catalog.{catalog}": "org.apache.iceberg.spark.SparkCatalog",
        f"spark.sql.catalog.{catalog}.type": "hive",
        f"spark.sql.catalog.{catalog}.uri": metastore_uri,
        f"spark.sql.catalog.{catalog}.warehouse": warehouse,
        # other engines commit to these tables too (Trino, pyiceberg's lh.write_table): read the metastore's
        # current snapshot on every query instead of a cached one up to 30 s old
        f"spark.sql.catalog.{catalog}.cache-enabled": "false",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.ui.showConsoleProgress": "false",
    }


def spark_connect_properties(
    ctx: StackContext,
    *,
    jars: list[str],
    executors_share_files: bool,
    executor_memory: str = "1g",
    executor_cores: int = 1,
    cores_max: int = 1,
) -> dict[str, str]:
    """The Connect server's ``--properties-file``: where it listens, its executors, and the SQL setup.

    Args:
        ctx: the stack's addresses as the server sees them (loopback locally, Service names in a cluster).
        jars: the S3A, AWS SDK and Iceberg jars, as paths the server can read.
        executors_share_files: the executors see the same paths (the local stack); otherwise they fetch the
            jars from the server (pods).
        executor_memory, executor_cores, cores_max: the size of the server's executors.
    """
    classpath = ":".join(jars)
    trust = " ".join(jvm_trust_options(ctx.values.tls))  # secure mode: S3A over https
    trust_conf = {"spark.driver.extraJavaOptions": trust, "spark.executor.extraJavaOptions": trust} if trust else {}
    jar_conf = (
        {"spark.driver.extraClassPath": classpath, "spark.executor.extraClassPath": classpath}
        if executors_share_files
        else {"spark.driver.extraClassPath": classpath, "spark.jars": ",".join(jars)}
    )
    return {
        "spark.master": ctx.spark_master_url,
        "spark.app.name": "lakehouse-spark-connect",
        "spark.connect.grpc.binding.address": ctx.spark_connect_bind,
        "spark.connect.grpc.binding.port": str(ctx.spark_connect_port),
        "spark.executor.memory": executor_memory,
        "spark.executor.cores": str(executor_cores),
        "spark.cores.max": str(cores_max),
        # executors only while sessions work: idle ones go back to the workers for classic sessions
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.shuffleTracking.enabled": "true",
        "spark.dynamicAllocation.shuffleTracking.timeout": "120s",
        "spark.dynamicAllocation.minExecutors": "0",
        "spark.dynamicAllocation.initialExecutors": "0",
        "spark.dynamicAllocation.maxExecutors": str(max(1, cores_max // max(1, executor_cores))),
        "spark.dynamicAllocation.executorIdleTimeout": "60s",
        "spark.dynamicAllocation.cachedExecutorIdleTimeout": "600s",
        **jar_conf,
        **trust_conf,
        **spark_sql_properties(
            s3_endpoint=ctx.s3_endpoint,
            region=ctx.values.region,
            metastore_uri=ctx.metastore_uri,
            warehouse_bucket=ctx.values.warehouse_bucket,
            catalog=ctx.values.iceberg_catalog,
        ),
    }
