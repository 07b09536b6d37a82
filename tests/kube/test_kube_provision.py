"""provision(), teardown(), status() and the committed manifests against a real API server (kwok)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from lakehouse_sdk.errors import ProvisionError, ProvisionTimeoutError
from lakehouse_sdk.kube._api import KubeAPI
from lakehouse_sdk.kube.manage import read_credentials, scale_workers, status, teardown
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.provision import provision
from lakehouse_sdk.kube.render import LABEL_SELECTOR
from lakehouse_sdk.settings import LakehouseSettings
from tests.reference import REFERENCE_NODEPORTS

pytestmark = pytest.mark.kube

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
NS = "lh-provision"
KINDS = ("Secret", "ConfigMap", "Service", "Deployment", "StatefulSet", "Job", "PersistentVolumeClaim")


def _options(**values: Any) -> ProvisionOptions:
    return ProvisionOptions(**{"namespace": NS, "timeout": 60, "poll_interval": 0.3, **values})


def _ours(api: KubeAPI, ns: str) -> dict[str, dict[str, Any]]:
    return {f"{kind}/{o['metadata']['name']}": o for kind in KINDS for o in api.list(kind, ns, selector=LABEL_SELECTOR)}


def _versions(api: KubeAPI, ns: str) -> dict[str, tuple[str, int]]:
    return {
        k: (o["metadata"]["resourceVersion"], o["metadata"].get("generation", 0)) for k, o in _ours(api, ns).items()
    }


def test_kubectl_apply_k_manifests_deploys_the_stack(
    kube_cluster: Path, kube_bin: Path, kube_settings: LakehouseSettings
) -> None:
    kubectl = [str(kube_bin / "kubectl"), "--kubeconfig", str(kube_cluster)]
    subprocess.run([*kubectl, "apply", "-k", str(MANIFESTS)], check=True, capture_output=True, text=True)
    deadline = time.monotonic() + 60
    states = status(settings=kube_settings)
    while not all(c.ready for c in states):
        assert time.monotonic() < deadline, "\n".join(map(str, states))
        time.sleep(0.5)
        states = status(settings=kube_settings)
    result = teardown(settings=kube_settings, delete_data=True)
    assert result.namespace_deleted


def test_provision_to_ready(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    lines: list[str] = []
    start = time.monotonic()
    result = provision(_options(), settings=kube_settings, progress=lines.append)
    print(f"\nprovision to ready: {time.monotonic() - start:.1f}s")
    assert [layer.name for layer in result.layers] == [
        "namespace", "config", "object-store", "minio-init", "postgres", "hive-metastore", "spark", "spark-connect",
        "trino",
    ]  # fmt: skip
    assert all(c.ready for c in status(_options(), settings=kube_settings))
    assert any(line.startswith("[9/9] trino") for line in lines)
    assert read_credentials(kube_settings, namespace=NS).origin == "generated"


def test_second_provision_is_a_no_op(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    before = _versions(api, NS)
    result = provision(_options(), settings=kube_settings)
    assert result.changed == []
    assert _versions(api, NS) == before


def test_nodeports_equal_the_reference_table(api: KubeAPI) -> None:
    found = {
        (svc["metadata"]["name"], port["port"]): port.get("nodePort")
        for svc in api.list("Service", NS, selector=LABEL_SELECTOR)
        for port in svc["spec"]["ports"]
    }
    assert found == REFERENCE_NODEPORTS


def test_no_workload_or_configmap_carries_a_secret(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    credentials = read_credentials(kube_settings, namespace=NS)
    assert len(credentials.s3_secret_key) == 40
    for key, obj in _ours(api, NS).items():
        if key.startswith("Secret/"):
            continue
        text = json.dumps(obj)
        for value in credentials.values().values():
            assert value not in text, f"{key} carries a secret value"


def test_changed_option_rolls_only_the_affected_workloads(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    before = _versions(api, NS)
    result = provision(_options(trino_heap="3G"), settings=kube_settings)
    # the coordinator and the workers share jvm.config
    assert sorted(result.changed) == ["ConfigMap/trino-config", "Deployment/trino", "Deployment/trino-worker"]
    after = _versions(api, NS)
    assert after["Deployment/trino"][1] == before["Deployment/trino"][1] + 1
    assert {k for k in before if before[k][1] != after[k][1]} == {"Deployment/trino", "Deployment/trino-worker"}

    result = provision(_options(trino_heap="3G", spark_workers=2), settings=kube_settings)
    assert result.changed == ["Deployment/spark-worker"]
    assert api.get("Deployment", "spark-worker", NS)["status"]["availableReplicas"] == 2  # type: ignore[index]


def test_scale_workers(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    state = scale_workers(3, _options(), settings=kube_settings)
    assert state.ready
    assert api.get("Deployment", "spark-worker", NS)["status"]["availableReplicas"] == 3  # type: ignore[index]


def test_timeout_reports_conditions_and_events(kube_settings: LakehouseSettings) -> None:
    options = _options(namespace="lh-timeout", service_type="ClusterIP", timeout=4, resources={"trino": {"cpu": "500"}})
    with pytest.raises(ProvisionTimeoutError) as info:
        provision(options, settings=kube_settings)
    message = str(info.value)
    assert "layer 'trino' was not ready within 4s" in message
    assert "PodScheduled=False (Unschedulable" in message
    assert "Warning FailedScheduling" in message and "Insufficient cpu" in message
    assert "lower the resource requests" in message
    teardown(options.model_copy(update={"timeout": 60}), settings=kube_settings)


def test_nodeports_held_by_another_namespace_are_explained(kube_settings: LakehouseSettings) -> None:
    with pytest.raises(ProvisionError, match="NodePorts are cluster-wide") as info:
        provision(_options(namespace="lh-second"), settings=kube_settings)
    assert "30900" in str(info.value)
    teardown(_options(namespace="lh-second"), settings=kube_settings, delete_data=True)


def test_teardown_leaves_nothing_of_ours(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    result = teardown(_options(), settings=kube_settings)
    assert result.kept == []
    assert result.namespace_deleted
    assert api.get("Namespace", NS) is None


def test_teardown_keeps_volumes_unless_asked(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    for i in range(2):  # statically provisioned volumes: kwok has no storage provisioner
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"lh-test-pv-{i}"},
            "spec": {
                "capacity": {"storage": "100Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "lh-test-manual",
                "persistentVolumeReclaimPolicy": "Delete",
                "hostPath": {"path": f"/tmp/lh-test-pv-{i}"},
            },
        }
        api.client.call_api(
            "/api/v1/persistentvolumes", "POST", body=pv, header_params={"Content-Type": "application/json"},
            auth_settings=["BearerToken"], _preload_content=False,
        )  # fmt: skip
    options = _options(
        namespace="lh-persistent", service_type="ClusterIP", persistent=True, storage_class="lh-test-manual"
    )
    provision(options, settings=kube_settings)
    kept = teardown(options, settings=kube_settings)
    assert sorted(kept.kept) == [
        "PersistentVolumeClaim/data-object-store-0", "PersistentVolumeClaim/data-postgres-0",
        "Secret/lakehouse-credentials",
    ]  # fmt: skip
    assert not kept.namespace_deleted
    assert set(_ours(api, "lh-persistent")) == set(kept.kept)
    gone = teardown(options, settings=kube_settings, delete_data=True)
    assert gone.namespace_deleted
    assert api.get("Namespace", "lh-persistent") is None


def test_a_namespace_it_did_not_create_is_never_deleted(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lh-foreign"}}, field_manager="someone")
    options = _options(namespace="lh-foreign", service_type="ClusterIP")
    provision(options, settings=kube_settings)
    result = teardown(options, settings=kube_settings, delete_data=True)
    assert not result.namespace_deleted
    assert api.get("Namespace", "lh-foreign") is not None
    assert _ours(api, "lh-foreign") == {}
    api.delete("Namespace", "lh-foreign")


def test_kubectl_kustomize_builds_the_base(kube_bin: Path) -> None:
    """The committed base builds with the kubectl the test harness built (no skip: the binary must exist)."""
    out = subprocess.run(
        [str(kube_bin / "kubectl"), "kustomize", str(MANIFESTS)], capture_output=True, text=True, check=True
    )
    kinds = [line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if line.startswith("kind:")]
    assert kinds.count("Service") == 7
    assert {"Namespace", "Secret", "ConfigMap", "StatefulSet", "Deployment", "Job"} <= set(kinds)
