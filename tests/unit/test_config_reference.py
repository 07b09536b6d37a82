"""docs/configuration.md's settings table is exactly what docs/gen_config_reference.py generates."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lakehouse_sdk import LakehouseSettings
from lakehouse_sdk.stack.endpoints import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "gen_config_reference.py"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_table_equals_generated(gen: ModuleType) -> None:
    committed = gen.committed_block((ROOT / "docs" / "configuration.md").read_text())
    assert committed, "docs/configuration.md lost its config-reference markers"
    assert committed == gen.render(), "docs/configuration.md is out of date: run python docs/gen_config_reference.py"


def test_check_mode_passes(gen: ModuleType) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_explained_setting_has_a_row_with_its_env_var(gen: ModuleType) -> None:
    rows = {row[0].strip("`"): row[1].strip("`") for row in gen.settings_rows()}
    explained = LakehouseSettings().explain()
    assert len(explained) > 40
    for row in explained:
        if row.setting in {"endpoints", "nodeports"}:  # expanded to one row per service
            continue
        assert rows.get(row.setting) == row.env_var, row.setting
    for kind in ("endpoints", "nodeports"):
        for service in ENDPOINTS:
            assert f"{kind}.{service}" in rows


def test_env_vars_in_the_table_are_read(gen: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The env var printed in the table really sets the setting (one of each kind)."""
    rows = {row[0].strip("`"): row[1].strip("`") for row in gen.settings_rows()}
    monkeypatch.setenv(rows["trino.user"], "ana")
    monkeypatch.setenv(rows["nodeports.trino"], "31081")
    monkeypatch.setenv(rows["local.trino_heap"], "3G")
    settings = LakehouseSettings()
    assert settings.trino.user == "ana"
    assert settings.nodeports["trino"] == 31081
    assert settings.local.trino_heap == "3G"
    assert settings.source_of("trino", "user") == f"environment variable {rows['trino.user']}"


def test_defaults_in_the_table(gen: ModuleType) -> None:
    rows = {row[0].strip("`"): row for row in gen.settings_rows()}
    assert rows["nodeports.trino"][3] == "`30081`"
    assert rows["s3.warehouse_bucket"][3] == "`warehouse`"
    assert "minioadmin" not in gen.render()
    assert rows["s3.access_key"][4] == "`AWS_ACCESS_KEY_ID`"
