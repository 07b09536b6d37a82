"""A classic driver's console shows only the user's output and real errors; the full log is in a file."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from lakehouse_sdk import ConfigurationError, LakehouseSettings
from lakehouse_sdk.clients._driver_logging import (
    StderrFilter,
    _quote,
    driver_log_file,
    log4j2_properties,
    write_log4j2_config,
)
from lakehouse_sdk.clients.spark import local_jar_paths

# what a classic driver printed into the terminal before (issue 14)
NOISE = ("WARN", "loopback address", "NativeCodeLoader", "SLF4J", "Setting default log level", "log4j profile")


def test_console_at_error_by_default_and_the_file_from_info(tmp_path: Path) -> None:
    props = log4j2_properties("ERROR", tmp_path / "driver.log")
    assert props["appender.console.filter.threshold.level"] == "ERROR"
    assert props["appender.console.target"] == "SYSTEM_ERR"
    assert props["rootLogger.level"] == "INFO"
    assert props["appender.file.fileName"] == str(tmp_path / "driver.log")
    # Spark's shell-level override only applies when this logger and the root disagree
    assert props["logger.pyspark_shell.level"] == props["rootLogger.level"]


@pytest.mark.parametrize(("console", "root"), [("WARN", "INFO"), ("INFO", "INFO"), ("DEBUG", "DEBUG"), ("OFF", "INFO")])
def test_the_root_level_lets_through_what_the_console_asks_for(console: str, root: str, tmp_path: Path) -> None:
    props = log4j2_properties(console, tmp_path / "driver.log")
    assert (props["appender.console.filter.threshold.level"], props["rootLogger.level"]) == (console, root)


def test_the_setting_and_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LakehouseSettings().spark.console_log_level == "ERROR"
    monkeypatch.setenv("LAKEHOUSE_SPARK__CONSOLE_LOG_LEVEL", "warn")
    assert LakehouseSettings().spark.console_log_level == "WARN"
    monkeypatch.setenv("LAKEHOUSE_SPARK__CONSOLE_LOG_LEVEL", "loud")
    with pytest.raises(ConfigurationError, match="LAKEHOUSE_SPARK__CONSOLE_LOG_LEVEL"):
        LakehouseSettings()


def test_the_config_file_is_written_under_the_state_dir_with_escaping(tmp_path: Path) -> None:
    state = tmp_path / "state with space"
    settings = LakehouseSettings(local={"state_dir": state}, spark={"console_log_level": "info"})
    path, log_file = write_log4j2_config(settings)
    assert path == state / "conf" / "spark-driver" / "log4j2-info.properties"
    assert log_file == driver_log_file(settings) == state / "logs" / "spark-driver.log"
    text = path.read_text()
    assert "appender.console.filter.threshold.level=INFO\n" in text
    assert f"appender.file.fileName={state}/logs/spark-driver.log\n" in text
    assert driver_log_file(settings).parent.is_dir()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")], "no partial file left behind"


def test_an_unwritable_state_dir_falls_back_to_the_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    path, log_file = write_log4j2_config(LakehouseSettings(local={"state_dir": blocker / "state"}))
    assert path.is_file() and log_file.parent.is_dir()
    assert log_file == tmp_path / "tmp" / f"lakehouse-sdk-{os.getuid()}" / "logs" / "spark-driver.log"
    assert f"appender.file.fileName={log_file}\n" in path.read_text()


def test_java_options_quoting() -> None:
    assert _quote("/home/ana/state/log4j2.properties") == "/home/ana/state/log4j2.properties"
    assert _quote("/Users/Ana Lima/x") == '"/Users/Ana Lima/x"'
    assert _quote('a"b\\c') == '"a\\"b\\\\c"'


def test_stderr_filter_keeps_everything_in_the_file_and_passes_on_real_lines(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    out = io.StringIO()
    log = tmp_path / "driver.log"
    reader = StderrFilter(os.fdopen(read_end, "rb"), log, out)
    reader.start()
    lines = [
        b"WARNING: Using incubator modules: jdk.incubator.vector\n",
        b'SLF4J: Failed to load class "org.slf4j.impl.StaticLoggerBinder".\n',
        b"26/01/01 00:00:00 ERROR Executor: Exception in task 0.0\n",
        b'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n',
    ]
    with os.fdopen(write_end, "wb") as pipe:
        pipe.writelines(lines)
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert log.read_bytes() == b"".join(lines)
    assert out.getvalue() == (lines[2] + lines[3]).decode()


def test_stderr_filter_drains_the_pipe_even_without_a_log_file(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    out = io.StringIO()
    reader = StderrFilter(os.fdopen(read_end, "rb"), tmp_path / "missing-dir" / "driver.log", out)
    reader.start()
    with os.fdopen(write_end, "wb") as pipe:
        pipe.write(b"real error\n" * 20_000)  # more than a pipe buffer
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert out.getvalue().count("real error\n") == 20_000


@pytest.mark.timeout(900)
def test_a_local_driver_prints_only_what_the_script_prints(tmp_path: Path) -> None:
    """A plain local[1] session (no stack) started by lh.spark() in a fresh interpreter: nothing on stderr,
    the script's own lines on stdout, Spark's full log (its warnings included) in the state directory."""
    script = tmp_path / "first_run.py"
    script.write_text(
        textwrap.dedent(
            """\
            import sys

            from lakehouse_sdk import Lakehouse

            lh = Lakehouse(spark={"jars": "local", "conf": {"spark.master": "local[1]", "spark.ui.enabled": "false"}})
            spark = lh.spark(app_name="quiet-first-run")
            print("rows:", spark.range(5).count())
            if "--aws-sdk" in sys.argv:
                # what S3A does on its first request: the AWS SDK bundle's shaded SLF4J looks for a binding
                spark._jvm.software.amazon.awssdk.utils.Logger.loggerFor("first-run")
            spark.stop()
            print("done")
            """
        )
    )
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "SPARK_", "PYSPARK_"))}
    env["LAKEHOUSE_LOCAL__STATE_DIR"] = str(state)
    if "LAKEHOUSE_LOCAL__CACHE_DIR" in os.environ:
        env["LAKEHOUSE_LOCAL__CACHE_DIR"] = os.environ["LAKEHOUSE_LOCAL__CACHE_DIR"]
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"), env.get("PYTHONPATH", "")])
    bundle = any(p.name.startswith("bundle-") and p.is_file() for p in local_jar_paths(LakehouseSettings()))
    proc = subprocess.run(
        [sys.executable, str(script), *(["--aws-sdk"] if bundle else [])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout == "rows: 5\ndone\n"
    assert proc.stderr == "", f"the driver printed into the terminal:\n{proc.stderr}"
    log = (state / "logs" / "spark-driver.log").read_text()
    assert "Running Spark version" in log and "NativeCodeLoader" in log
    assert "loopback address" not in log  # SPARK_LOCAL_IP: Spark never looked for an address
    if bundle:  # the jars are in the component cache (scripts/setup.sh fetches them)
        assert 'SLF4J: Failed to load class "org.slf4j.impl.StaticLoggerBinder"' in log
    assert not [word for word in NOISE if word in proc.stdout]
