"""The Spark Connect server, from the installed pyspark's jars, with the stack's static Spark configuration."""

from __future__ import annotations

import os

from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import LakehouseError
from lakehouse_sdk.local.services._base import LOOPBACK, Launch, stack_secret
from lakehouse_sdk.local.services.spark import _Spark
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack import probes
from lakehouse_sdk.stack.components import COMPONENTS
from lakehouse_sdk.stack.secure import SPARK_AUTH_SECRET_FILE
from lakehouse_sdk.stack.spark_config import CONNECT_SERVER_CLASS, spark_connect_properties

__all__ = ["SparkConnect"]


class SparkConnect(_Spark):
    """``spark-submit --class SparkConnectServer``: the driver of Connect sessions, executors on the local worker.

    Its token reaches it as ``SPARK_CONNECT_AUTHENTICATE_TOKEN`` (the only process that gets it). The properties
    file (0600) holds no secret, except in secure mode ``spark.authenticate.secret``: Spark requires an
    application of a standalone master to have it in its configuration. Ready when a Connect session with the
    token runs SQL on both catalogs.
    """

    spec = COMPONENTS["spark-connect"]

    def _properties(self) -> dict[str, str]:
        spark = self.ctx.settings.spark
        jars = [str(p) for p in self.ctx.artifacts.spark_jars()]
        return spark_connect_properties(
            self.ctx.stack_context,
            jars=jars,
            executors_share_files=True,
            executor_memory=spark.executor_memory,
            executor_cores=spark.executor_cores,
            cores_max=spark.cores_max,
        )

    def prepare(self) -> None:
        conf = self.ctx.conf_dir("spark-connect")
        props = {
            **self._properties(),
            "spark.driver.host": LOOPBACK,
            "spark.driver.bindAddress": LOOPBACK,
            "spark.local.dir": str(self.ctx.data_dir("spark-connect-local")),
        }
        # its executors' temporary files (native libraries they unpack, which a killed executor leaves behind)
        executor_tmp = f"-Djava.io.tmpdir={self.ctx.tmp_dir('spark-connect-executors')}"
        options = [props.get("spark.executor.extraJavaOptions", ""), executor_tmp]
        props["spark.executor.extraJavaOptions"] = " ".join(o for o in options if o)
        if self.ctx.settings.secure:  # a Spark application of a standalone master must have it in its conf
            props["spark.authenticate"] = "true"
            props["spark.authenticate.secret"] = stack_secret(self.ctx.state, SPARK_AUTH_SECRET_FILE)
        path = conf / "spark-connect.conf"
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(stack_config.to_properties(props))

    def launch(self) -> Launch:
        env = self._env()
        env[stack_config.SECRET_ENV["spark_connect_token"]] = self.ctx.settings.spark.connect_token.get_secret_value()
        # spark-submit sizes the Connect server (a daemon, like the Thrift server) by SPARK_DAEMON_MEMORY first
        env["SPARK_DAEMON_MEMORY"] = self.ctx.settings.local.spark_connect_memory
        argv = [
            str(self.ctx.artifacts.spark_home() / "bin" / "spark-submit"),
            "--class",
            CONNECT_SERVER_CLASS,
            "--name",
            "lakehouse-spark-connect",
            "--properties-file",
            str(self.ctx.conf_dir("spark-connect") / "spark-connect.conf"),
            "spark-internal",
        ]
        return Launch(argv, env, self.ctx.data_dir("spark-connect"))

    def check(self) -> str | None:
        port = self.ctx.port("spark-connect")
        try:
            probes.grpc_answers(LOOPBACK, port, 2.0)
        except OSError as exc:
            return f"the gRPC port {port} does not answer yet ({exc})"
        return connect_call(self.ctx.settings, Endpoint("spark-connect", "sc", LOOPBACK, port, "nodeport", "local"))


def connect_call(settings: LakehouseSettings, endpoint: Endpoint) -> str | None:
    """A real Connect session with the token: SQL through ``spark_catalog`` and the Iceberg catalog.

    These commands run on the server's driver; nothing here waits for an executor (the server starts with none).
    """
    from lakehouse_sdk.clients.spark_connect import connect_session

    try:
        session = connect_session(settings, endpoint)
    except LakehouseError as exc:
        return f"no Connect session yet: {exc}"
    try:
        session.sql("SHOW NAMESPACES IN spark_catalog").collect()
        session.sql(f"SHOW NAMESPACES IN `{settings.iceberg.catalog_name}`").collect()
    except Exception as exc:
        return f"a Connect session could not list the catalogs' namespaces: {type(exc).__name__}: {exc}"
    finally:
        session.stop()
    return None
