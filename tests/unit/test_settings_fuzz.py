"""Arbitrary strings for every string setting, through every source, then every configuration file.

Each attempt ends one of two ways: a ``ConfigurationError`` that names the setting and its source, or
settings whose rendered files (the local stack's Trino properties, jvm.config and metastore-site.xml, and
the manifests' ConfigMaps) parse back to exactly the keys and values the stack description intended.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lakehouse_sdk import ConfigurationError, LakehouseSettings
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import render_objects, stack_context
from lakehouse_sdk.local.runtime import LocalStack
from lakehouse_sdk.stack import config as stack_config

# Every string setting, as (section, name); None for top-level settings.
STRING_SETTINGS = [
    ("s3", "region"),
    ("s3", "warehouse_bucket"),
    ("postgres", "user"),
    ("postgres", "database"),
    ("trino", "user"),
    ("trino", "catalog"),
    ("trino", "schema"),
    ("spark", "app_name"),
    ("spark", "executor_memory"),
    ("spark", "driver_host"),
    ("iceberg", "catalog_name"),
    ("local", "trino_heap"),
    ("local", "metastore_heap"),
    ("local", "spark_worker_memory"),
    (None, "namespace"),
    (None, "nodeport_host"),
    (None, "nodeport_range"),
]


def load_properties(text: str) -> dict[str, str]:
    """``java.util.Properties.load`` for the escapes Java defines (a test oracle, written from its Javadoc)."""
    logical: list[str] = []
    pending = ""
    for raw in text.split("\n"):
        line = raw.lstrip(" \t\f")
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        logical.append(pending + line)
        pending = ""
    out: dict[str, str] = {}
    for line in logical:
        key, i = _read(line, 0, terminators=" \t\f=:")
        while i < len(line) and line[i] in " \t\f":
            i += 1
        if i < len(line) and line[i] in "=:":
            i += 1
        while i < len(line) and line[i] in " \t\f":
            i += 1
        value, _ = _read(line, i, terminators="")
        out[key] = value
    return out


def _read(line: str, i: int, terminators: str) -> tuple[str, int]:
    out = []
    while i < len(line):
        char = line[i]
        if char == "\\":
            nxt = line[i + 1]
            if nxt == "u":
                out.append(chr(int(line[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(nxt, nxt))
            i += 2
            continue
        if char in terminators:
            break
        out.append(char)
        i += 1
    text = "".join(out)
    # \uXXXX pairs that form one character
    return text.encode("utf-16", "surrogatepass").decode("utf-16"), i


def load_hadoop_xml(text: str) -> dict[str, str]:
    root = ET.fromstring(text)
    return {p.findtext("name") or "": p.findtext("value") or "" for p in root.iter("property")}


def _expected_files(ctx: stack_config.StackContext) -> dict[str, dict[str, str]]:
    return {
        **{f"catalog/{name}.properties": props for name, props in stack_config.trino_catalogs(ctx).items()},
        "config.properties": stack_config.trino_config_properties(ctx),
        "node.properties": stack_config.trino_node_properties(ctx),
        "metastore-site.xml": stack_config.metastore_site(ctx),
        "core-site.xml": stack_config.core_site(ctx),
    }


def _check_rendered(ctx: stack_config.StackContext, region: str, heap: str) -> None:
    for name, props in _expected_files(ctx).items():
        if name.endswith(".xml"):
            assert load_hadoop_xml(stack_config.to_hadoop_xml(props)) == props, name
        else:
            assert load_properties(stack_config.to_properties(props)) == props, name
    catalogs = stack_config.trino_catalogs(ctx)
    assert load_properties(stack_config.to_properties(catalogs["iceberg"]))["s3.region"] == region
    jvm = stack_config.trino_jvm_config(ctx).splitlines()
    assert [line for line in jvm if line.startswith("-Xmx")] == [f"-Xmx{heap}"]
    assert all(re.fullmatch(r"\S+", line) for line in jvm if line)


def _manifests(settings_: LakehouseSettings) -> None:
    try:
        options = ProvisionOptions.build(
            namespace=settings_.namespace,
            region=settings_.s3.region,
            warehouse_bucket=settings_.s3.warehouse_bucket,
            postgres_user=settings_.postgres.user,
            postgres_database=settings_.postgres.database,
            trino_heap=settings_.local.trino_heap,
        )
    except ConfigurationError as exc:  # pragma: no cover - the settings already refused what options refuse
        raise AssertionError(f"settings accepted what the provisioning options refuse: {exc}") from exc
    objects = yaml.safe_load_all(yaml.safe_dump_all(render_objects(options)))
    maps = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    ctx = stack_context(options)
    for key, text in maps["trino-config"].items():
        if key.endswith(".properties"):
            name = key.removeprefix("catalog.").replace(".properties", "")
            expected = (
                stack_config.trino_catalogs(ctx).get(name)
                or {
                    "config": stack_config.trino_config_properties(ctx),
                    "node": stack_config.trino_node_properties(ctx),
                    "worker.config": stack_config.trino_worker_config_properties(ctx, "trino"),
                    "worker.node": stack_config.trino_worker_node_properties(ctx),
                    "spooling-manager": stack_config.trino_spooling_manager_properties(ctx),
                }[name]
            )
            assert load_properties(text) == expected, key
    assert load_hadoop_xml(maps["hadoop-config"]["metastore-site.xml"]) == stack_config.metastore_site(ctx)


def _apply(source: str, section: str | None, name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    env = "LAKEHOUSE_" + (f"{section}__{name}" if section else name).upper()
    if source == "kwargs":
        return {section: {name: value}} if section else {name: value}
    if source == "env":
        monkeypatch.setenv(env, value)
    else:
        quoted = value.replace("\\", "\\\\").replace("'", "\\'")
        Path(".env").write_text(f"{env}='{quoted}'\n", encoding="utf-8")
    return {}


_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["eu-west-1", "2G", "512m", "lake", "ana", "h.example", "30000-32000", "a1b"]).flatmap(
        lambda base: st.tuples(st.just(base), st.text(max_size=6)).map(lambda t: t[0] + t[1])
    ),
)


@given(
    which=st.sampled_from(STRING_SETTINGS),
    source=st.sampled_from(["kwargs", "env", "dotenv"]),
    value=_TEXT,
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_string_is_refused_with_its_source_or_renders_exactly(
    which: tuple[str | None, str],
    source: str,
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    section, name = which
    if source != "kwargs" and "\x00" in value:
        return  # the OS refuses NUL in the environment: not a settings question
    path = ".".join(p for p in (section, name) if p)
    with monkeypatch.context() as m:
        m.chdir(tmp_path)
        for var in [v for v in os.environ if v.startswith("LAKEHOUSE_")]:
            m.delenv(var)
        Path(".env").unlink(missing_ok=True)
        m.setenv("LAKEHOUSE_LOCAL__STATE_DIR", str(tmp_path / "state"))
        kwargs = _apply(source, section, name, value, m)
        try:
            loaded = LakehouseSettings(**kwargs)
        except ConfigurationError as exc:
            text = str(exc)
            assert f"setting {path}" in text or f"{path} " in text, text
            assert {"kwargs": "keyword argument", "env": "environment variable", "dotenv": ".env file"}[source] in text
            event("refused")
            return
        event("accepted")
        got = loaded.value_at(*path.split("."))
        assert got == value or str(got) == value, (got, value)
        ctx = LocalStack(loaded).ctx.stack_context
        _check_rendered(ctx, loaded.s3.region, loaded.local.trino_heap)
        _manifests(loaded)
