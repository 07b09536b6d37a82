"""Hostile input and hung services (issue 8): one test per reported defect, on loopback only."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse, LakehouseSettings, ServiceUnavailableError
from lakehouse_sdk.cli import main
from lakehouse_sdk.settings import SettingsWarning
from tests.unit.blackhole import silent_server, unaccepting_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, so that a test's .env is the only one read."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# -- 1. a shared .env -----------------------------------------------------------------------------------------


def test_foreign_dotenv_lines_are_ignored_and_never_printed(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / ".env").write_text("AWS_SECRET_ACCESS_KEY=S3CR3T\nDATABASE_URL=postgres://x:S3CR3T@h/db\n")
    code, out, err = _cli(capsys, "config")
    assert code == 0, err
    assert "S3CR3T" not in out + err
    assert LakehouseSettings().s3.secret_key.get_secret_value() == "minioadmin"  # not ours: ignored


def test_dotenv_lakehouse_lines_still_apply(workdir: Path) -> None:
    (workdir / ".env").write_text("OTHER=1\nLAKEHOUSE_TRINO__USER=ana\n")
    settings = LakehouseSettings()
    assert settings.trino.user == "ana"
    assert ".env file" in settings.source_of("trino", "user")


# -- 2. hung services: every call bounded ---------------------------------------------------------------------


def _all_at(port: int, **extra: Any) -> Lakehouse:
    """Every service at one loopback port (explicit mode), with short bounds."""
    return Lakehouse(
        mode="explicit",
        connect_timeout=1,
        endpoints={
            "minio": f"http://127.0.0.1:{port}",
            "minio-console": f"http://127.0.0.1:{port}",
            "trino": f"http://127.0.0.1:{port}",
            "postgres": f"postgresql://127.0.0.1:{port}",
            "hive-metastore": f"thrift://127.0.0.1:{port}",
            "spark-master": f"spark://127.0.0.1:{port}",
            "spark-master-ui": f"http://127.0.0.1:{port}",
            "spark-worker-ui": f"http://127.0.0.1:{port}",
        },
        s3={"read_timeout": 1, "max_attempts": 2},
        trino={"request_timeout": 1.5},
        metastore={"request_timeout": 1.5},
        **extra,
    )


def _sqlalchemy(lh: Lakehouse) -> None:
    import sqlalchemy

    with lh.sqlalchemy_engine().connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 1"))


def _cursor(lh: Lakehouse) -> None:
    lh.trino().cursor().execute("SELECT 1")


def _metastore(lh: Lakehouse) -> None:
    with lh.metastore() as hms:
        hms.databases()


# (name, call, bound in seconds for the settings of _all_at, the setting that the message names)
CLIENTS: list[tuple[str, Callable[[Lakehouse], object], float, str]] = [
    ("s3", lambda lh: lh.s3().list_buckets(), 2 * (1 + 1) + 1 + 1, "s3.read_timeout"),
    ("trino-cursor", _cursor, 1 + 1.5 + 1, "trino.request_timeout"),
    ("query", lambda lh: lh.query("SELECT 1"), 1 + 1.5 + 1, "trino.request_timeout"),
    ("sqlalchemy", _sqlalchemy, 1 + 1.5 + 1, "trino.request_timeout"),
    ("metastore", _metastore, 1 + 1.5, "metastore.request_timeout"),
    ("postgres", lambda lh: lh.postgres(), 1 + 2, "connect_timeout"),
    ("iceberg", lambda lh: lh.iceberg().list_namespaces(), 1 + 1.5 + 1, "metastore.request_timeout"),
    ("spark", lambda lh: lh.spark(), 1 + 1.5 + 1, "metastore.request_timeout"),
]


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    with silent_server() as port:
        yield port


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    with unaccepting_server() as port:
        yield port


@pytest.mark.parametrize(("name", "call", "bound", "setting"), CLIENTS, ids=[c[0] for c in CLIENTS])
def test_a_silent_service_fails_within_its_bound(
    silent_port: int, name: str, call: Callable[[Lakehouse], object], bound: float, setting: str
) -> None:
    lh = _all_at(silent_port)
    start = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as info:
        call(lh)
    elapsed = time.monotonic() - start
    assert elapsed <= bound * 1.2, f"{name}: {elapsed:.1f}s > {bound}s + 20%"
    text = str(info.value)
    assert "connected but no answer within" in text
    assert setting in text
    assert f"127.0.0.1:{silent_port}" in text
    assert "lakehouse up --local" not in text  # it runs; starting it is not the fix


@pytest.mark.parametrize(("name", "call", "bound", "setting"), CLIENTS, ids=[c[0] for c in CLIENTS])
def test_a_port_that_never_accepts_fails_within_the_connect_timeout(
    closed_port: int, name: str, call: Callable[[Lakehouse], object], bound: float, setting: str
) -> None:
    lh = _all_at(closed_port)
    start = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as info:
        call(lh)
    assert time.monotonic() - start <= 1 * 1.2 + 0.3, name  # the TCP check, one connect_timeout
    assert "no TCP connection within 1 s" in str(info.value)


def test_health_is_bounded_and_the_process_exits_promptly(silent_port: int) -> None:
    script = (
        "import time; from tests.unit.test_hardening import _all_at\n"
        f"lh = _all_at({silent_port}); t = time.monotonic(); report = lh.health(timeout=1)\n"
        "print(round(time.monotonic() - t, 2), report.ok, report['trino'].hint)\n"
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    total = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    elapsed, ok, hint = proc.stdout.split(" ", 2)
    assert float(elapsed) <= (1 + 2) * 1.2
    assert ok == "False"
    assert "accepted the connection but is not answering" in hint
    assert total <= float(elapsed) + 10  # interpreter start and imports, not the hung checks' threads


def test_doctor_timeout_is_honoured_and_the_command_exits(silent_port: int) -> None:
    env_vars = {
        "LAKEHOUSE_MODE": "explicit",
        "LAKEHOUSE_ENDPOINTS": json.dumps(
            {
                "trino": f"http://127.0.0.1:{silent_port}",
                "minio": f"http://127.0.0.1:{silent_port}",
                "hive-metastore": f"thrift://127.0.0.1:{silent_port}",
            }
        ),
    }
    import os

    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse_sdk.cli", "doctor", "--timeout", "1", "--json"],
        cwd=ROOT,
        env={**os.environ, **env_vars},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - start <= 12
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert {s["service"] for s in report["services"] if not s["ok"]} >= {"trino", "minio", "hive-metastore"}


def test_a_stopped_local_service_gets_the_hint_for_a_hung_one(silent_port: int) -> None:
    lh = Lakehouse(
        nodeport_range="1-65535", nodeports={"trino": silent_port}, connect_timeout=1, trino={"request_timeout": 1}
    )
    with pytest.raises(ServiceUnavailableError) as info:
        lh.query("SELECT 1")
    text = str(info.value)
    assert "lakehouse logs trino" in text
    assert "start the local stack" not in text


# -- 3. injection through newlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("LAKEHOUSE_S3__REGION", "us-east-1\nhive.metastore.uri=thrift://evil:9083"),
        ("LAKEHOUSE_LOCAL__TRINO_HEAP", "2G\n-javaagent:evil.jar"),
        ("LAKEHOUSE_POSTGRES__DATABASE", 'metastore"; DROP DATABASE x; --'),
        ("LAKEHOUSE_TRINO__USER", "ana\r\nX-Trino-Role: admin"),
    ],
)
def test_values_that_would_inject_are_refused_with_their_source(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigurationError) as info:
        LakehouseSettings()
    text = str(info.value)
    assert f"environment variable {env}" in text
    assert "evil" not in text.replace(repr(value), "")  # only ever shown quoted, on its own line


def test_the_render_options_refuse_them_too() -> None:
    from lakehouse_sdk.kube.options import ProvisionOptions

    with pytest.raises(ConfigurationError, match="option region"):
        ProvisionOptions.build(region="us-east-1\nhive.metastore.uri=thrift://evil:9083")


def test_properties_are_escaped_even_for_values_that_pass() -> None:
    from lakehouse_sdk.stack.config import to_properties

    text = to_properties({"a": "x\ny=z", "b c": "#not a comment"})
    assert text.count("\n") == 2
    assert "b\\ c=\\#not a comment" in text


# -- 4. NodePort ranges ---------------------------------------------------------------------------------------


def test_nodeports_outside_the_range_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_NODEPORTS__MINIO", "105538")
    with pytest.raises(ConfigurationError) as info:
        LakehouseSettings()
    assert "LAKEHOUSE_NODEPORTS__MINIO" in str(info.value)
    monkeypatch.setenv("LAKEHOUSE_NODEPORTS__MINIO", "8080")
    with pytest.raises(ConfigurationError, match="outside the NodePort range 30000-32767"):
        LakehouseSettings()
    monkeypatch.setenv("LAKEHOUSE_NODEPORT_RANGE", "1024-65535")
    assert LakehouseSettings().nodeports["minio"] == 8080


# -- 5. credentials inside URLs -------------------------------------------------------------------------------


def test_passwords_in_endpoint_urls_are_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    monkeypatch.setenv("LAKEHOUSE_ENDPOINTS__POSTGRES", "postgresql://u:PWplanted@h:1")
    for argv in (["config"], ["config", "--json"], ["endpoints"]):
        code, out, err = _cli(capsys, *argv)
        assert code == 0, err
        assert "PWplanted" not in out + err
    assert "u:***@h" in _cli(capsys, "config")[1]
    assert "PWplanted" not in repr(LakehouseSettings())


# -- 6. raw or unattributed errors ----------------------------------------------------------------------------


def test_a_comma_separated_bucket_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_S3__BUCKETS", "a1b,c2d")
    assert LakehouseSettings().s3.buckets == ["a1b", "c2d"]
    monkeypatch.setenv("LAKEHOUSE_S3__BUCKETS", '["x1y"]')
    assert LakehouseSettings().s3.buckets == ["x1y"]


def test_a_bad_json_table_names_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_ENDPOINTS", "{not json")
    with pytest.raises(ConfigurationError, match="LAKEHOUSE_"):
        LakehouseSettings()


def test_invalid_utf8_names_the_file(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / ".env").write_bytes(b"LAKEHOUSE_TRINO__USER=\xff\xfe\n")
    with pytest.raises(ConfigurationError, match=r"\.env.*not valid UTF-8 \(line 1"):
        LakehouseSettings()
    (workdir / ".env").unlink()
    cfg = workdir / "c.toml"
    cfg.write_bytes(b'[default]\nnamespace = "\xff"\n')
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(cfg))
    with pytest.raises(ConfigurationError, match=r"c\.toml is not valid UTF-8"):
        LakehouseSettings()


def test_unknown_service_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown service 'nosuch'"):
        Lakehouse().endpoint("nosuch")


def test_explicit_mode_without_endpoints(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LAKEHOUSE_MODE", "explicit")
    code, out, err = _cli(capsys, "endpoints")
    assert code == 0, err
    assert "no endpoints" in out
    assert "LAKEHOUSE_ENDPOINTS__" in out


def test_invalid_endpoint_names_the_exact_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_ENDPOINTS__TRINO", "http://h:notaport")
    with pytest.raises(ConfigurationError) as info:
        LakehouseSettings()
    assert "LAKEHOUSE_ENDPOINTS__TRINO" in str(info.value)
    assert "environment variable LAKEHOUSE_ENDPOINTS__TRINO" in str(info.value)


def test_overrides_of_given_settings_name_the_keyword_argument() -> None:
    base = LakehouseSettings()
    with pytest.raises(ConfigurationError) as info:
        Lakehouse(base, connect_timeout=-1)
    assert "from keyword argument" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        Lakehouse(base, s3={"region": "Bad Region"})
    assert "s3.region" in str(info.value)
    assert "from keyword argument" in str(info.value)
    with pytest.raises(ConfigurationError, match="unknown setting"):
        Lakehouse(base, foo=1)


# -- 7. typos -------------------------------------------------------------------------------------------------


def test_unknown_variables_warn_with_the_closest_name(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_NODEPORT__TRINO", "1")
    with pytest.warns(SettingsWarning, match="did you mean LAKEHOUSE_NODEPORTS__TRINO"):
        LakehouseSettings()
    monkeypatch.delenv("LAKEHOUSE_NODEPORT__TRINO")
    (workdir / ".env").write_text("LAKEHOUSE_NODEPORT__TRINO=1\n")
    with pytest.warns(SettingsWarning, match=r"\.env file.*did you mean LAKEHOUSE_NODEPORTS__TRINO"):
        settings = LakehouseSettings()
    assert settings.nodeports == {}


def test_unknown_profile_keys_warn(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = workdir / "c.toml"
    cfg.write_text('[default]\nnamspace = "x"\n[default.s3]\nregoin = "eu-1"\nregion = "eu-2"\n')
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(cfg))
    with pytest.warns(SettingsWarning) as record:
        settings = LakehouseSettings()
    messages = " ".join(str(w.message) for w in record)
    assert "LAKEHOUSE_NAMESPACE" in messages
    assert "LAKEHOUSE_S3__REGION" in messages
    assert settings.s3.region == "eu-2"


def test_known_variables_do_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_SPARK__CONF__spark.sql.shuffle.partitions", "4")
    monkeypatch.setenv("LAKEHOUSE_ENDPOINTS__S3", "http://h:9000")
    monkeypatch.setenv("LAKEHOUSE_TRINO__SCHEMA", "sales")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingsWarning)
        settings = LakehouseSettings()
    assert settings.spark.conf == {"spark.sql.shuffle.partitions": "4"}


# -- 8. small ones --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [["doctor", "--timeout", "-1"], ["doctor", "--timeout", "0"], ["logs", "trino", "-n", "-5"]]
)
def test_cli_numbers_are_validated(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = _cli(capsys, *argv)
    assert code == 2
    assert "must be" in err


def test_logs_zero_lines_prints_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_LOCAL__STATE_DIR", str(tmp_path))
    log = tmp_path / "logs" / "trino.log"
    log.parent.mkdir(parents=True)
    log.write_text("one\ntwo\nthree\n")
    from lakehouse_sdk.local.runtime import LocalStack

    stack = LocalStack()
    assert stack.logs("trino", lines=0) == ""
    assert stack.logs("trino", lines=2) == "two\nthree"


def test_credentials_show_empty_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "credentials", "--show", "")
    assert code == 1
    assert "unknown setting ''" in err


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"nodeport_host": ""}, "nodeport_host"),
        ({"namespace": ""}, "namespace"),
        ({"endpoints": {"trino": "ftp://h:1"}}, "scheme 'ftp'"),
        ({"endpoints": {"trino": "http://h h:1"}}, "a space"),
        ({"endpoints": {"hive-metastore": "http://h:9083"}}, "thrift"),
    ],
)
def test_empty_and_malformed_values_are_refused(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        LakehouseSettings(**kwargs)


def test_a_config_file_that_is_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(tmp_path))
    with pytest.raises(ConfigurationError, match="is a directory"):
        LakehouseSettings()


def test_an_unterminated_quote_in_dotenv_is_reported(workdir: Path) -> None:
    (workdir / ".env").write_text('LAKEHOUSE_TRINO__USER="ana\nLAKEHOUSE_NAMESPACE=data\n')
    with pytest.raises(ConfigurationError, match="line 1"):
        LakehouseSettings()
    (workdir / ".env").write_text('OTHER="abc\nLAKEHOUSE_NAMESPACE=data\nX="\n')
    with pytest.raises(ConfigurationError, match="OTHER"):
        LakehouseSettings()


# -- 9. render --credentials ----------------------------------------------------------------------------------


def test_render_refuses_a_credentials_flag_it_cannot_honour(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "render", "--credentials", "settings")
    assert code == 1
    assert "lakehouse provision --credentials settings" in err
    assert out == ""


def test_a_client_library_that_cannot_be_imported_is_not_a_broken_service(tmp_path: Path) -> None:
    """Trino answers /v1/info, but the trino package cannot be imported: 'not checked', never UNHEALTHY."""
    script = """
import http.server, json, sys, threading
class Info(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"starting": False, "nodeVersion": {"version": "476"}}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Info)
threading.Thread(target=server.serve_forever, daemon=True).start()
from lakehouse_sdk import Lakehouse
lh = Lakehouse(mode="explicit", endpoints={"trino": f"http://127.0.0.1:{server.server_port}"})
result = lh.health(timeout=5)["trino"]
print(json.dumps([result.ok, result.status, result.detail, result.hint]))
"""
    # a broken install: a 'trino' that is found but cannot be imported (the working directory comes first)
    (tmp_path / "trino").mkdir()
    (tmp_path / "trino" / "__init__.py").write_text("raise ImportError('broken install', name='trino')\n")
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    ok, status, detail, hint = json.loads(proc.stdout)
    assert (ok, status) == (True, "not checked"), detail
    assert "lakehouse-sdk[trino]" in detail
    assert "lakehouse up --local" not in hint
