"""A planted secret never appears in a repr, a log line, an error or CLI output."""

from __future__ import annotations

import logging
import socket

import pytest

from lakehouse_sdk import Lakehouse, LakehouseError, LakehouseSettings
from lakehouse_sdk.cli import main

PLANTED = {
    "LAKEHOUSE_S3__ACCESS_KEY": "AKIA-PLANTED-ACCESS-1",
    "LAKEHOUSE_S3__SECRET_KEY": "planted-s3-secret-Zx81",
    "LAKEHOUSE_POSTGRES__PASSWORD": "planted-pg-password-Qw5",
    "LAKEHOUSE_TRINO__PASSWORD": "planted-trino-password-Lk2",
}
SECRETS = [v for k, v in PLANTED.items() if k != "LAKEHOUSE_S3__ACCESS_KEY"]


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PLANTED.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for service in ("trino", "postgres", "minio", "hive-metastore"):
        monkeypatch.setenv(f"LAKEHOUSE_NODEPORTS__{service.upper().replace('-', '_')}", str(port))
    monkeypatch.setenv("LAKEHOUSE_NODEPORT_RANGE", "1-65535")
    monkeypatch.setenv("LAKEHOUSE_CONNECT_TIMEOUT", "0.5")


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_reprs_and_explain(planted: None) -> None:
    lh = Lakehouse()
    for text in (
        repr(lh),
        repr(lh.settings),
        str(lh.settings),
        lh.settings.explain_text(),
        lh.settings.model_dump_json(),
        repr(lh.endpoints()),
    ):
        _assert_clean(text)


def test_errors(planted: None) -> None:
    lh = Lakehouse()
    for call in (lh.postgres, lh.s3, lh.metastore().open):
        with pytest.raises(LakehouseError) as info:
            call()
        _assert_clean(str(info.value))
        _assert_clean(repr(info.value))


def test_error_messages_built_with_a_secret_are_scrubbed(planted: None) -> None:
    LakehouseSettings()  # registers the secrets
    err = LakehouseError(f"failed with password {PLANTED['LAKEHOUSE_POSTGRES__PASSWORD']} in postgresql://u:pw@h/db")
    assert "***" in str(err)
    _assert_clean(str(err))
    assert "pw@" not in str(err)


def test_logs(planted: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    lh = Lakehouse()
    lh.s3(check=False)
    lh.health(timeout=1)
    _assert_clean(caplog.text)


@pytest.mark.parametrize(
    "args",
    [
        ["config"],
        ["config", "--json"],
        ["env"],
        ["credentials"],
        ["endpoints"],
        ["doctor", "--timeout", "1"],
        ["doctor", "--json", "--timeout", "1"],
        ["sql", "SELECT 1"],
    ],
)
def test_cli_output(planted: None, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    main(args)
    out = capsys.readouterr()
    _assert_clean(out.out + out.err)


def test_credentials_show_prints_a_value_only_on_request(planted: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credentials", "--show", "s3.secret_key"]) == 0
    assert capsys.readouterr().out.strip() == PLANTED["LAKEHOUSE_S3__SECRET_KEY"]


def test_env_fetches_secrets_at_eval_time(planted: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert 'export AWS_SECRET_ACCESS_KEY="$(lakehouse credentials --show s3.secret_key)"' in out
    assert "export AWS_ENDPOINT_URL_S3=" in out
    assert main(["env", "--show-secrets"]) == 0
    assert PLANTED["LAKEHOUSE_S3__SECRET_KEY"] in capsys.readouterr().out
