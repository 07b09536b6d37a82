"""Settings: every pair of the source order, profiles, masking and error messages."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse, LakehouseSettings

SOURCES = ["kwargs", "env", "dotenv", "profile", "standard", "default"]  # highest first


def _apply(source: str, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object], value: str) -> None:
    """Set s3.region through one source."""
    if source == "kwargs":
        kwargs["s3"] = {"region": value}
    elif source == "env":
        monkeypatch.setenv("LAKEHOUSE_S3__REGION", value)
    elif source == "dotenv":
        with Path(".env").open("a") as fh:
            fh.write(f"LAKEHOUSE_S3__REGION={value}\n")
    elif source == "profile":
        cfg = Path("lakehouse.toml")
        cfg.write_text(f'[dev]\nmode = "nodeport"\n[dev.s3]\nregion = "{value}"\n')
        monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(cfg))
        monkeypatch.setenv("LAKEHOUSE_PROFILE", "dev")
    elif source == "standard":
        monkeypatch.setenv("AWS_REGION", value)


@pytest.mark.parametrize(("high", "low"), list(itertools.combinations(SOURCES[:-1], 2)))
def test_every_pair_of_the_source_order(high: str, low: str, monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs: dict[str, object] = {}
    _apply(low, monkeypatch, kwargs, "from-low")
    _apply(high, monkeypatch, kwargs, "from-high")
    settings = LakehouseSettings(**kwargs)
    assert settings.s3.region == "from-high"
    expected = {
        "kwargs": "keyword argument",
        "env": "LAKEHOUSE_S3__REGION",
        "dotenv": ".env file",
        "profile": "profile 'dev'",
        "standard": "AWS_REGION",
    }[high]
    assert expected in settings.source_of("s3", "region")


@pytest.mark.parametrize("source", SOURCES[:-1])
def test_each_source_beats_the_default(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs: dict[str, object] = {}
    _apply(source, monkeypatch, kwargs, "eu-west-9")
    settings = LakehouseSettings(**kwargs)
    assert settings.s3.region == "eu-west-9"
    assert LakehouseSettings().s3.region == "us-east-1" or source in {"env", "dotenv", "profile", "standard"}


def test_defaults_come_from_the_reference_architecture() -> None:
    settings = LakehouseSettings()
    assert settings.mode == "auto"
    assert settings.nodeport_host == "localhost"
    assert settings.source_of("mode") == "default"
    assert settings.s3.warehouse_bucket == "warehouse"


def test_nested_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_S3__ACCESS_KEY", "AKIAEXAMPLE")
    monkeypatch.setenv("LAKEHOUSE_S3__SECRET_KEY", "s3cr3t-value")
    monkeypatch.setenv("LAKEHOUSE_POSTGRES__PASSWORD", "pg-pass-123")
    monkeypatch.setenv("LAKEHOUSE_TRINO__USER", "ana")
    settings = LakehouseSettings()
    assert settings.s3.access_key.get_secret_value() == "AKIAEXAMPLE"
    assert settings.s3.secret_key.get_secret_value() == "s3cr3t-value"
    assert settings.postgres.password.get_secret_value() == "pg-pass-123"
    assert settings.trino.user == "ana"
    assert settings.source_of("trino", "user") == "environment variable LAKEHOUSE_TRINO__USER"


def test_standard_variables_and_which_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "aws-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3.example:9000")
    monkeypatch.setenv("PGHOST", "db.example")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGPASSWORD", "pgpw-standard")
    monkeypatch.setenv("KUBECONFIG", "/tmp/kubeconfig")
    settings = LakehouseSettings()
    assert settings.s3.access_key.get_secret_value() == "aws-key"
    assert settings.endpoints == {"minio": "http://s3.example:9000", "postgres": "postgresql://db.example:6543"}
    assert settings.source_of("s3", "access_key") == "environment variable AWS_ACCESS_KEY_ID"
    assert settings.kube.kubeconfig == Path("/tmp/kubeconfig")
    monkeypatch.setenv("LAKEHOUSE_S3__ACCESS_KEY", "lakehouse-key")
    assert LakehouseSettings().s3.access_key.get_secret_value() == "lakehouse-key"
    endpoint = Lakehouse().endpoint("postgres")
    assert (endpoint.host, endpoint.port, endpoint.mode) == ("db.example", 6543, "explicit")
    assert "PGHOST/PGPORT" in endpoint.reason


def test_profile_default_and_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "config" / "lakehouse" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[default]\nnamespace = "base"\n[kind]\nnodeport_host = "172.18.0.2"\n[kind.trino]\nuser = "k"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert LakehouseSettings().namespace == "base"
    kind = Lakehouse(profile="kind")
    assert kind.settings.nodeport_host == "172.18.0.2"
    assert kind.settings.trino.user == "k"
    assert kind.endpoint("trino").url == "http://172.18.0.2:30081"
    assert kind.settings.source_of("nodeport_host") == f"profile 'kind' in {cfg}"


def test_unknown_profile_names_the_file_and_the_choices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[dev]\n[prod]\n")
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("LAKEHOUSE_PROFILE", "staging")
    with pytest.raises(ConfigurationError) as info:
        LakehouseSettings()
    text = str(info.value)
    assert "'staging'" in text
    assert "environment variable LAKEHOUSE_PROFILE" in text
    assert str(cfg) in text
    assert "dev, prod" in text


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigurationError, match="does not exist"):
        LakehouseSettings()


def test_bad_toml_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[dev\n")
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(cfg))
    with pytest.raises(ConfigurationError, match="TOML"):
        LakehouseSettings()


@pytest.mark.parametrize(
    ("env", "value", "fragment"),
    [
        ("LAKEHOUSE_MODE", "sideways", "mode = 'sideways'"),
        ("LAKEHOUSE_CONNECT_TIMEOUT", "soon", "connect_timeout = 'soon'"),
        ("LAKEHOUSE_S3__MAX_ATTEMPTS", "0", "s3.max_attempts = '0'"),
        ("LAKEHOUSE_SPARK__DRIVER_PORT", "70000", "spark.driver_port = '70000'"),
    ],
)
def test_bad_values_name_setting_source_and_fix(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigurationError) as info:
        LakehouseSettings()
    text = str(info.value)
    assert fragment in text
    assert f"environment variable {env}" in text
    assert isinstance(info.value, ValueError)


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="nodeprot_host"):
        LakehouseSettings(nodeprot_host="x")


def test_unknown_service_in_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_ENDPOINTS__PRESTO", "http://x:1")
    with pytest.raises(ConfigurationError, match="unknown service 'presto'"):
        LakehouseSettings()


def test_endpoint_without_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_ENDPOINTS__TRINO", "trino:8080")
    with pytest.raises(ConfigurationError) as info:
        LakehouseSettings()
    assert "LAKEHOUSE_ENDPOINTS__TRINO" in str(info.value)
    assert "scheme://host:port" in str(info.value)


def test_explain_lists_every_value_with_source_and_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_S3__SECRET_KEY", "very-secret-planted-value")
    monkeypatch.setenv("LAKEHOUSE_NAMESPACE", "data")
    settings = LakehouseSettings(trino={"user": "bob"})
    rows = {row.setting: row for row in settings.explain()}
    assert rows["s3.secret_key"].value == "***"
    assert rows["s3.secret_key"].source == "environment variable LAKEHOUSE_S3__SECRET_KEY"
    assert rows["namespace"].value == "data"
    assert rows["trino.user"].source == "keyword argument"
    assert rows["trino.schema"].value == "default"
    assert rows["mode"].source == "default"
    assert rows["s3.secret_key"].env_var == "LAKEHOUSE_S3__SECRET_KEY"
    text = settings.explain_text()
    assert "very-secret-planted-value" not in text
    assert "very-secret-planted-value" not in repr(settings)
    assert "very-secret-planted-value" not in str(settings.model_dump())


def test_secret_in_invalid_value_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as info:
        LakehouseSettings(s3={"secret_key": 12345678})
    assert "12345678" not in str(info.value)
    assert "s3.secret_key" in str(info.value)


def test_overrides_on_given_settings_merge_sections_and_validate() -> None:
    base = LakehouseSettings(s3={"region": "eu-1", "warehouse_bucket": "lake"})
    lh = Lakehouse(base, mode="nodeport", s3={"region": "eu-2"})
    assert lh.settings.mode == "nodeport"
    assert (lh.settings.s3.region, lh.settings.s3.warehouse_bucket) == ("eu-2", "lake")
    assert lh.settings.source_of("s3", "region") == "keyword argument"
    assert base.s3.region == "eu-1"  # the given settings are not changed
    with pytest.raises(ConfigurationError, match="connect_timeout"):
        Lakehouse(base, connect_timeout=-1)
    with pytest.raises(ConfigurationError, match="ambiguous"):
        Lakehouse(base, profile="dev")
