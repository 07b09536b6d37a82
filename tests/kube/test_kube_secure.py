"""Secure mode on a real API server (kwok nodes): the restricted namespace admits every pod, provisioning again
changes nothing (the certificate in the cluster is reused, Trino's password file renders the same), a new name
re-issues the certificate and rolls exactly the pods that mount it, and the clients' settings carry the CA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakehouse_sdk import LakehouseSettings, ProvisionOptions, provision, teardown
from lakehouse_sdk.kube.manage import provisioned_settings

NS = "lh-tls"


def test_secure_provision_is_admitted_idempotent_and_rolls_on_a_new_certificate(
    kube_settings: LakehouseSettings, api: Any, tmp_path: Path
) -> None:
    settings = kube_settings.with_overrides(secure=True, local={"state_dir": str(tmp_path)})
    options = ProvisionOptions(namespace=NS, timeout=90, poll_interval=0.3, network_policies=True)
    first = provision(options, settings=settings)
    assert {"Secret/lakehouse-tls", "Secret/lakehouse-trino-users"} <= set(first.changed)
    assert first.ca_file == str(tmp_path / "kube" / NS / "ca.pem")
    pods = api.list("Pod", NS)
    assert any(c["name"] == "tls-files" for p in pods for c in p["spec"].get("initContainers", []))

    assert provision(options, settings=settings).changed == []

    wider = options.model_copy(update={"tls_names": ("lakehouse.example.com",)})
    rolled = provision(wider, settings=settings).changed
    assert "Secret/lakehouse-tls" in rolled
    assert {"StatefulSet/object-store", "StatefulSet/postgres", "Deployment/trino"} <= set(rolled)
    assert "Secret/lakehouse-credentials" not in rolled and "Secret/lakehouse-trino-users" not in rolled

    client = provisioned_settings(settings.with_overrides(secure=False), namespace=NS)
    assert client.secure and client.ca_bundle == tmp_path / "kube" / NS / "ca.pem"
    assert client.trino.password is not None and len(client.trino.password.get_secret_value()) >= 40
    # a classic Spark session's executors run in the worker pods: the pods' truststore, not this machine's file
    assert "/etc/lakehouse-tls/truststore.p12" in client.spark.conf["spark.executor.extraJavaOptions"]

    gone = teardown(options, settings=settings, delete_data=True)
    assert "Secret/lakehouse-tls" in gone.deleted and gone.namespace_deleted
