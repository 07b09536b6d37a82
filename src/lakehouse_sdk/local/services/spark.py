"""The Spark standalone master and worker, from the installed pyspark."""

from __future__ import annotations

from typing import Any

from lakehouse_sdk.local.services._base import LOOPBACK, Launch, LocalService, stack_secret
from lakehouse_sdk.stack import probes
from lakehouse_sdk.stack.components import COMPONENTS
from lakehouse_sdk.stack.secure import SPARK_AUTH_SECRET_ENV, SPARK_AUTH_SECRET_FILE
from lakehouse_sdk.stack.spark_config import SPARK_DAEMON_JAVA_OPTS

__all__ = ["SparkMaster", "SparkWorker"]


def _master_status(url: str) -> Any:
    try:
        return probes.http_json(url)
    except (OSError, ValueError):
        return None


class _Spark(LocalService):
    def _env(self) -> dict[str, str]:
        java_home = self.ctx.artifacts.spark_java_home()
        env = self.ctx.base_env(java_home)
        spark_home = self.ctx.artifacts.spark_home()
        conf = self.ctx.conf_dir("spark")
        env.update(
            {
                "SPARK_HOME": str(spark_home),
                "SPARK_CONF_DIR": str(conf),
                "SPARK_LOCAL_IP": LOOPBACK,
                "SPARK_DAEMON_MEMORY": "256m",
                "SPARK_LOCAL_DIRS": str(self.ctx.data_dir("spark-local")),
                "SPARK_WORKER_DIR": str(self.ctx.data_dir("spark-work")),
                "SPARK_NO_DAEMONIZE": "1",
                # the user's own options come after the stack's, so theirs win
                "SPARK_DAEMON_JAVA_OPTS": f"{SPARK_DAEMON_JAVA_OPTS} -Djava.io.tmpdir={self.ctx.tmp_dir(self.name)} "
                f"{env.get('SPARK_DAEMON_JAVA_OPTS', '')}".strip(),
                "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
                "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=3600",
            }
        )
        if self.ctx.settings.secure:
            # spark.authenticate: the master, the worker and every application share one secret; the daemons
            # read it from Spark's own variable (never a command line), the worker hands it to executors so
            for name in ("SPARK_MASTER_OPTS", "SPARK_WORKER_OPTS"):
                env[name] += " -Dspark.authenticate=true"
            env[SPARK_AUTH_SECRET_ENV] = stack_secret(self.ctx.state, SPARK_AUTH_SECRET_FILE)
        return env

    def _spark_class(self) -> str:
        return str(self.ctx.artifacts.spark_home() / "bin" / "spark-class")


class SparkMaster(_Spark):
    """The Spark standalone master from the installed pyspark."""

    spec = COMPONENTS["spark-master"]

    def launch(self) -> Launch:
        argv = [
            self._spark_class(),
            "org.apache.spark.deploy.master.Master",
            "--host",
            LOOPBACK,
            "--port",
            str(self.ctx.port("spark-master")),
            "--webui-port",
            str(self.ctx.port("spark-master-ui")),
        ]
        return Launch(argv, self._env(), self.ctx.data_dir("spark-work"))

    def check(self) -> str | None:
        status = _master_status(self.url("spark-master-ui", "/json/"))
        if not status or status.get("status") != "ALIVE":
            return "master JSON status is not ALIVE yet"
        return None


class SparkWorker(_Spark):
    """One Spark worker registered with the master; executors get the S3A and Iceberg jars."""

    spec = COMPONENTS["spark-worker"]

    def launch(self) -> Launch:
        local = self.ctx.settings.local
        argv = [
            self._spark_class(),
            "org.apache.spark.deploy.worker.Worker",
            f"spark://{LOOPBACK}:{self.ctx.port('spark-master')}",
            "--host",
            LOOPBACK,
            "--port",
            str(self.extra_ports[0]),
            "--webui-port",
            str(self.ctx.port("spark-worker-ui")),
            "--cores",
            str(local.spark_worker_cores),
            "--memory",
            local.spark_worker_memory,
            "--work-dir",
            str(self.ctx.data_dir("spark-work")),
        ]
        return Launch(argv, self._env(), self.ctx.data_dir("spark-work"))

    def check(self) -> str | None:
        status = _master_status(self.url("spark-master-ui", "/json/"))
        if not status or int(status.get("aliveworkers", 0)) < 1:
            return "no alive worker registered with the master yet"
        return None
