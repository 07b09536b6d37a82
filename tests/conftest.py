"""Shared fixtures: every test starts from a clean configuration environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

STANDARD_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "KUBECONFIG",
    "KUBERNETES_SERVICE_HOST",
)


@pytest.fixture(autouse=True)
def clean_config_env(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Clear LAKEHOUSE_* and the standard variables, hide the user's config file and any .env.

    The cache and state directories are kept: the integration tests' session stack sets them. Integration
    tests also keep LAKEHOUSE_NODEPORTS__* (and LAKEHOUSE_NODEPORT_RANGE, for ports outside 30000-32767) so that a
    developer can run the suite beside a stack of their own.
    """
    keep = {"LAKEHOUSE_LOCAL__CACHE_DIR", "LAKEHOUSE_LOCAL__STATE_DIR"}
    integration = request.node.get_closest_marker("integration") is not None
    for name in list(os.environ):
        if integration and (name.startswith("LAKEHOUSE_NODEPORTS__") or name == "LAKEHOUSE_NODEPORT_RANGE"):
            continue
        if (name.startswith("LAKEHOUSE_") and name not in keep) or name in STANDARD_VARS:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.chdir(home)
    return


@pytest.fixture
def sa_dir(tmp_path: Path) -> Path:
    """A fake service-account directory, as Kubernetes mounts it in a pod."""
    d = tmp_path / "serviceaccount"
    d.mkdir()
    (d / "token").write_text("eyJhbGciOi.fake.token")
    (d / "namespace").write_text("jobs")
    return d
