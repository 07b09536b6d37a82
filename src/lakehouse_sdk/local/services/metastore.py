"""The standalone Hive Metastore on PostgreSQL and the object store."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lakehouse_sdk.errors import StackError
from lakehouse_sdk.local.services._base import LOOPBACK, Launch, LocalService, java_add_opens
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack import probes
from lakehouse_sdk.stack.components import COMPONENTS
from lakehouse_sdk.stack.secure import jvm_trust_options
from lakehouse_sdk.stack.versions import VERSIONS

__all__ = ["HiveMetastore"]

SCHEMA_TOOL = {
    "3": "org.apache.hadoop.hive.metastore.tools.MetastoreSchemaTool",
    "4": "org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool",
}

_LOG4J2 = """status = WARN
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %5p [%t] %c{2}: %m%n
rootLogger.level = INFO
rootLogger.appenderRef.root.ref = console
logger.DataNucleus.name = DataNucleus
logger.DataNucleus.level = ERROR
logger.Datastore.name = Datastore
logger.Datastore.level = ERROR
"""


class HiveMetastore(LocalService):
    """The standalone Hive Metastore on PostgreSQL, schema initialised by its own schema tool."""

    spec = COMPONENTS["hive-metastore"]

    def _java(self) -> tuple[Path, list[str]]:
        home = self.ctx.artifacts.hive_home()
        conf = self.ctx.conf_dir("hive-metastore")
        classpath = ":".join([str(conf), f"{home}/lib/*", f"{home}/hadoop-lib/*"])
        java_home = self.ctx.artifacts.java_home()
        jvm = [
            str(java_home / "bin" / "java"),
            "-Xms128m",
            f"-Xmx{self.ctx.settings.local.metastore_heap}",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Djava.io.tmpdir={self.ctx.tmp_path(self.name)}",  # made by launch()
            f"-Dlog4j.configurationFile={conf}/log4j2.properties",
            *java_add_opens(),
            *jvm_trust_options(self.ctx.tls),  # secure mode: S3A over https, trusting the stack's CA
            "-cp",
            classpath,
        ]
        return java_home, jvm

    def prepare(self) -> None:
        conf = self.ctx.conf_dir("hive-metastore")
        site = stack_config.metastore_site(self.ctx.stack_context)
        (conf / "metastore-site.xml").write_text(stack_config.to_hadoop_xml(site))
        (conf / "log4j2.properties").write_text(_LOG4J2)

    def init_schema(self) -> None:
        """Create the metastore schema in PostgreSQL unless it is there (a marker remembers it)."""
        marker = self.ctx.data_dir("hive-metastore") / "schema-initialised"
        if marker.is_file():
            return
        java_home, jvm = self._java()
        env = self.ctx.base_env(java_home)
        env["METASTORE_HOME"] = str(self.ctx.artifacts.hive_home())
        tool = [*jvm, SCHEMA_TOOL[VERSIONS["hive-metastore"].split(".")[0]], "-dbType", "postgres"]
        log = self.ctx.state / "logs" / "hive-metastore-schematool.log"
        cwd = self.ctx.data_dir("hive-metastore")

        def run(*args: str) -> int:
            with log.open("ab") as fh:
                done = subprocess.run(
                    [*tool, *args], stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=False, timeout=600
                )
            return done.returncode

        # -info succeeds only when a schema exists; a fresh database gets -initSchema
        if run("-info") != 0 and (code := run("-initSchema")) != 0:
            raise StackError(f"the metastore schema tool failed (exit {code}); see {log}")
        marker.write_text("ok")

    def launch(self) -> Launch:
        self.ctx.tmp_dir(self.name)  # empty, for this start and its schema tool
        self.init_schema()
        java_home, jvm = self._java()
        env = self.ctx.base_env(java_home)
        env["METASTORE_HOME"] = str(self.ctx.artifacts.hive_home())
        return Launch(
            [*jvm, "org.apache.hadoop.hive.metastore.HiveMetaStore"], env, self.ctx.data_dir("hive-metastore")
        )

    def check(self) -> str | None:
        try:
            probes.metastore_databases(LOOPBACK, self.ctx.port("hive-metastore"), timeout=3.0)
        except (OSError, ValueError) as exc:
            return f"metastore call failed: {type(exc).__name__}"
        return None
