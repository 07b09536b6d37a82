"""The pytest plugin offline: its options, its schema names, its entry point, and that it is inert."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lakehouse_sdk
from lakehouse_sdk import pytest_plugin
from lakehouse_sdk._health_report import CheckResult, HealthReport
from lakehouse_sdk.testing import PREFIX_ROOT, ScratchSchema, schema_name
from tests.plugin_support import PLUGIN_MODULE, entry_point_installed, plugin_args
from tests.unit.test_light_import import HEAVY

if sys.version_info >= (3, 11):
    import tomllib
else:  # the backport, a dependency on 3.10
    import tomli as tomllib

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


# -- names --------------------------------------------------------------------------------------------------


def test_schema_name_is_readable_and_carries_worker_and_token() -> None:
    assert schema_name("test_orders", worker="gw3", token="0123abcd") == "pytest_test_orders_gw3_0123abcd"
    assert schema_name("test_orders", token="0123abcd") == "pytest_test_orders_main_0123abcd"


@pytest.mark.parametrize(
    "test_name",
    ["test_x[1-a]", "test_UPPER[ä-ß]", "Test Class::test method", "[]", "", "x" * 300, "test_-_-_", "Ünïcode"],
)
def test_schema_name_is_a_plain_identifier_everywhere(test_name: str) -> None:
    name = schema_name(test_name, worker="gw12")
    assert IDENTIFIER.match(name), name
    assert len(name) <= 56


def test_schema_names_differ_between_calls_and_workers() -> None:
    names = {schema_name("test_same", worker=worker) for worker in ("gw0", "gw1", "main") for _ in range(50)}
    assert len(names) == 150


@pytest.mark.parametrize(("worker", "token"), [("gw-0", None), ("", None), ("x" * 13, None), ("gw0", "XYZ")])
def test_schema_name_refuses_what_would_not_be_an_identifier(worker: str, token: str | None) -> None:
    with pytest.raises(ValueError, match=r"worker id|token"):
        schema_name("t", worker=worker, token=token)


def test_scratch_schema_names_its_tables_and_location() -> None:
    schema = ScratchSchema("pytest_t_main_0123abcd", "warehouse", f"{PREFIX_ROOT}pytest_t_main_0123abcd/")
    assert str(schema) == "pytest_t_main_0123abcd"
    assert f"{schema}" == schema.name
    assert schema.qualified == "iceberg.pytest_t_main_0123abcd"
    assert schema.table("orders") == "iceberg.pytest_t_main_0123abcd.orders"
    assert schema.location == "s3://warehouse/pytest/pytest_t_main_0123abcd/"
    with pytest.raises(ValueError, match="plain identifier"):
        schema.table("orders; DROP SCHEMA x")


# -- the message when the stack is down ---------------------------------------------------------------------


def test_down_message_is_the_doctor_report_with_what_to_do() -> None:
    report = HealthReport(
        [
            CheckResult("minio", "http://localhost:1", True, 1.0, "2 bucket(s)"),
            CheckResult("trino", "http://localhost:2", False, 1.0, "refused", "start it", status="UNHEALTHY"),
        ]
    )
    message = pytest_plugin.down_message(report, tried_up=False)
    assert message.startswith("the lakehouse stack is not reachable (trino failed, as `lakehouse doctor` reports)")
    assert str(report) in message
    assert "`lakehouse up --local`" in message and "--lakehouse-up" in message
    assert "--lakehouse-skip-if-down" in message
    after_up = pytest_plugin.down_message(report, tried_up=True)
    assert "ran and the stack is still not healthy" in after_up


# -- options and registration -------------------------------------------------------------------------------


def test_options_default_off_and_parse(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig(*plugin_args())
    for flag in pytest_plugin.OPTIONS:
        assert config.getoption(flag) is False
    config = pytester.parseconfig(*plugin_args(), *pytest_plugin.OPTIONS)
    for flag in pytest_plugin.OPTIONS:
        assert config.getoption(flag) is True


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*plugin_args(), "--help")
    for flag in pytest_plugin.OPTIONS:
        result.stdout.fnmatch_lines([f"*{flag}*"])


def test_worker_id_is_main_without_xdist(pytester: pytest.Pytester) -> None:
    assert pytest_plugin.worker_id(pytester.parseconfig(*plugin_args())) == "main"


def test_entry_point_and_extra_are_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"lakehouse": PLUGIN_MODULE}
    extra = " ".join(project["optional-dependencies"]["pytest"])
    assert "pytest" in extra and "s3" in extra and "metastore" in extra
    assert any(dep.startswith("pytest-xdist") for dep in project["optional-dependencies"]["dev"])


def test_setup_installs_the_dev_extra_with_xdist() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert '-e ".[all,dev]"' in setup
    assert "xdist" in setup  # a venv without it is reinstalled
    assert re.search(r"^pytest-xdist==", (ROOT / "scripts" / "constraints.txt").read_text(), re.M)


# -- inert ----------------------------------------------------------------------------------------------------

PROBE = """
import json, sys
import pytest

code = pytest.main([*sys.argv[1:], "-q", "-p", "no:cacheprovider", "tests_here"])
print(json.dumps({"code": int(code), "modules": sorted(sys.modules)}))
"""


def test_plugin_is_inert_when_its_fixtures_are_not_used(tmp_path: Path) -> None:
    """A suite that uses no fixture of the plugin: no client library, no health check, no stack code."""
    tests = tmp_path / "tests_here"
    tests.mkdir()
    (tests / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    src = str(Path(lakehouse_sdk.__file__).resolve().parents[1])
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([src, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]).rstrip(os.pathsep),
        # were the plugin to connect, it would find nothing here and fail
        "LAKEHOUSE_NODEPORT_HOST": "192.0.2.1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *plugin_args()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, proc.stdout + proc.stderr
    loaded = set(result["modules"])
    assert PLUGIN_MODULE in loaded, "the plugin was not loaded"
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []
    stack_code = {"lakehouse_sdk.local.runtime", "lakehouse_sdk.testing", "lakehouse_sdk.clients.metastore"}
    assert not stack_code & loaded


def test_entry_point_loads_the_plugin_module_when_installed() -> None:
    if not entry_point_installed():
        pytest.skip("the installed metadata predates the entry point: `pip install -e .` (scripts/setup.sh)")
    from importlib.metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="pytest11") if ep.value == PLUGIN_MODULE]
    assert ep.load() is pytest_plugin


def test_importing_the_package_imports_no_settings_code() -> None:
    """pytest imports the plugin, hence the package, in every session: the package's import is free."""
    probe = "import json, sys\nimport lakehouse_sdk.pytest_plugin\nprint(json.dumps(sorted(sys.modules)))"
    src = str(Path(lakehouse_sdk.__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(proc.stdout))
    assert not {"pydantic", "pydantic_settings", "lakehouse_sdk.settings", "lakehouse_sdk.lakehouse"} & loaded


def test_public_names_resolve_lazily_and_are_sorted() -> None:
    assert lakehouse_sdk.__all__ == sorted(lakehouse_sdk.__all__)
    for name in lakehouse_sdk.__all__:
        assert getattr(lakehouse_sdk, name) is not None
    assert lakehouse_sdk.ScratchSchema is ScratchSchema
    assert "Lakehouse" in dir(lakehouse_sdk)
