"""The documented provisioner rights, Pod Security admission and NetworkPolicies against a real API server (kwok).

A ServiceAccount that holds nothing but ``lakehouse render --rbac``'s Role and ClusterRole provisions the stack
with NetworkPolicies, scales it and tears it down; the API server's own Pod Security admission (enforce:
restricted on the namespace) admits every pod of the stack and refuses a pod that runs as root.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from lakehouse_sdk.errors import ProvisionError
from lakehouse_sdk.kube._api import KubeAPI, connect
from lakehouse_sdk.kube.manage import scale_workers, status, teardown
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.provision import provision
from lakehouse_sdk.kube.render import CONFIG_HASH_ANNOTATION, render
from lakehouse_sdk.kube.rotate import rotate_credentials
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.components import COMPONENTS

pytestmark = pytest.mark.kube

NS = "lh-secured"


def _options(**values: Any) -> ProvisionOptions:
    return ProvisionOptions(**{"namespace": NS, "timeout": 90, "poll_interval": 0.3, **values})


def _deployer_kubeconfig(kube_cluster: Path, kube_bin: Path, tmp_path: Path) -> Path:
    """A kubeconfig for ServiceAccount ci/deployer (a token), on the same API server as the admin's."""
    kubectl = [str(kube_bin / "kubectl"), "--kubeconfig", str(kube_cluster)]
    for args in (("create", "namespace", "ci"), ("create", "serviceaccount", "deployer", "-n", "ci")):
        subprocess.run([*kubectl, *args], check=True, capture_output=True, text=True)
    token = subprocess.run(
        [*kubectl, "create", "token", "deployer", "-n", "ci", "--duration", "1h"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    admin = yaml.safe_load(kube_cluster.read_text())
    cluster = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "deployer", "user": {"token": token}}],
        "contexts": [{"name": "deployer", "context": {"cluster": cluster["name"], "user": "deployer"}}],
        "current-context": "deployer",
    }
    path = tmp_path / "deployer.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_documented_rights_provision_a_restricted_stack_with_network_policies(
    kube_cluster: Path, kube_bin: Path, api: KubeAPI, tmp_path: Path
) -> None:
    options = _options(network_policies=True, exposed_endpoints=("trino", "minio", "spark-connect"))
    # the cluster admin's part: the namespace (as `lakehouse render` prints it) and the provisioner's rights
    api.apply(render(options)[0].objects[0], field_manager="admin")
    kubeconfig = _deployer_kubeconfig(kube_cluster, kube_bin, tmp_path)
    rbac = subprocess.run(  # as the docs say: lakehouse render --rbac ... | kubectl apply -f -
        [
            sys.executable,
            "-m",
            "lakehouse_sdk.cli",
            "render",
            "--namespace",
            NS,
            "--rbac",
            "ServiceAccount:ci/deployer",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    kubectl = [str(kube_bin / "kubectl"), "--kubeconfig", str(kube_cluster)]
    subprocess.run([*kubectl, "apply", "-f", "-"], input=rbac, check=True, capture_output=True, text=True)
    deployer = LakehouseSettings(kube={"kubeconfig": kubeconfig})

    # nothing beyond the stack's namespace
    with pytest.raises(ApiException, match=r"(?i)forbidden"):
        connect(deployer).list("Secret", "default")

    result = provision(options, settings=deployer)
    assert result.layers[-1].name == "trino"
    assert all(c.ready for c in status(options, settings=deployer))
    policies = {p["metadata"]["name"] for p in api.list("NetworkPolicy", NS)}
    assert policies == {"default-deny", *(f"lakehouse-{name}" for name in COMPONENTS)}
    pods = api.list("Pod", NS)
    assert {p["metadata"]["labels"]["app.kubernetes.io/name"] for p in pods} >= set(COMPONENTS) - {"trino-worker"}
    assert all(p["spec"]["securityContext"]["runAsNonRoot"] for p in pods)

    scale_workers(2, options, settings=deployer)
    assert api.get("Deployment", "spark-worker", NS)["spec"]["replicas"] == 2  # type: ignore[index]

    gone = teardown(options, settings=deployer, delete_data=True)
    assert gone.namespace_deleted
    subprocess.run(
        [*kubectl, "delete", "-f", "-", "--ignore-not-found"], input=rbac, check=True, capture_output=True, text=True
    )
    subprocess.run([*kubectl, "delete", "namespace", "ci"], check=True, capture_output=True)


def test_the_api_server_refuses_a_root_pod_in_the_stacks_namespace(api: KubeAPI) -> None:
    api.apply(render(_options())[0].objects[0], field_manager="admin")
    root_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "as-root", "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"runAsUser": 0}}]},
    }
    try:
        with pytest.raises(ApiException, match=r"violates PodSecurity"):
            api.apply(root_pod, field_manager="test")
    finally:
        api.delete("Namespace", NS)


EXTERNAL_NS = "lh-external"


def _external_secret(**overrides: str) -> dict[str, Any]:
    values = {
        "s3-access-key": "EXTERNALACCESSKEY01",
        "s3-secret-key": "external-secret-key-0123456789abcdefghij",
        "postgres-password": "external-postgres-password",
        "spark-connect-token": "external-connect-token",
        "trino-spooling-key": base64.b64encode(b"k" * 32).decode(),
        **overrides,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "lakehouse-credentials", "namespace": EXTERNAL_NS},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items() if v},
    }


def test_an_external_secret_is_required_used_and_never_written(kube_settings: LakehouseSettings, api: KubeAPI) -> None:
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": EXTERNAL_NS}}, field_manager="admin")
    options = _options(namespace=EXTERNAL_NS, credentials="external", service_type="ClusterIP")
    try:
        with pytest.raises(ProvisionError, match=rf"no Secret lakehouse-credentials in namespace {EXTERNAL_NS}"):
            provision(options, settings=kube_settings)
        with pytest.raises(ProvisionError, match="nothing is provisioned there"):
            rotate_credentials(options, settings=kube_settings)
        api.apply(_external_secret(**{"trino-spooling-key": ""}), field_manager="external-secrets")
        with pytest.raises(ProvisionError, match="has no key 'trino-spooling-key'"):
            provision(options, settings=kube_settings)

        api.apply(_external_secret(), field_manager="external-secrets")
        before = api.get("Secret", "lakehouse-credentials", EXTERNAL_NS)
        assert before is not None
        result = provision(options, settings=kube_settings)
        assert result.credentials == "external"
        after = api.get("Secret", "lakehouse-credentials", EXTERNAL_NS)
        assert after is not None
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert {m["manager"] for m in after["metadata"]["managedFields"]} == {"external-secrets"}

        # the manager rotates a value: provisioning again rolls the workloads that read it
        hash_before = _trino_hash(api)
        api.apply(_external_secret(**{"postgres-password": "rotated-elsewhere"}), field_manager="external-secrets")
        provision(options, settings=kube_settings)
        assert _trino_hash(api) != hash_before

        # rotation is for generated credentials: an external Secret is rotated where it is managed
        with pytest.raises(ProvisionError, match=r"holds external credentials.*where the Secret is managed"):
            rotate_credentials(options, settings=kube_settings)

        teardown(options, settings=kube_settings, delete_data=True)
        assert api.get("Secret", "lakehouse-credentials", EXTERNAL_NS) is not None
    finally:
        api.delete("Namespace", EXTERNAL_NS)


def _trino_hash(api: KubeAPI) -> str:
    trino = api.get("Deployment", "trino", EXTERNAL_NS)
    assert trino is not None
    return str(trino["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION])
