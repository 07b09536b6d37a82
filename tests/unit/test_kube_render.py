"""Rendering: every variant is valid Kubernetes, ports match the reference, no secret leaks."""

from __future__ import annotations

import base64
import json
from typing import Any

import kubernetes_validate
import pytest

from lakehouse_sdk.kube._workloads import trino_info_check
from lakehouse_sdk.kube.credentials import SECRET_NAME, Credentials
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import (
    CONFIG_HASH_ANNOTATION,
    LABELS,
    config_maps,
    render,
    render_objects,
    render_yaml,
)
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack.versions import VERSIONS
from tests.reference import REFERENCE_NODEPORTS

K8S_VERSION = "1.33"
SECRETS = Credentials(
    "AKIDTESTsecretaccess", "sEcReT-value-that-must-not-leak-0123456789", "pg-pass-must-not-leak", "settings"
)

VARIANTS = [
    ProvisionOptions(),
    ProvisionOptions(object_store="minio"),
    ProvisionOptions(service_type="ClusterIP"),
    ProvisionOptions(persistent=True),
    ProvisionOptions(persistent=True, storage_class="fast-ssd", object_store_size="100Gi", postgres_size="20Gi"),
    ProvisionOptions(namespace="data-team", spark_workers=3, buckets=("raw", "curated"), warehouse_bucket="lake"),
    ProvisionOptions.build(spark_workers=0, resources={"trino": {"cpu": "2", "memory": "8Gi", "cpu_limit": "4"}}),
]


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: o.model_dump_json(exclude_defaults=True) or "defaults")
@pytest.mark.parametrize("credentials", [None, SECRETS], ids=["placeholder", "supplied"])
def test_every_variant_validates_against_the_kubernetes_schema(
    options: ProvisionOptions, credentials: Credentials | None
) -> None:
    for obj in render_objects(options, credentials=credentials):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_layers_follow_the_reference_startup_order() -> None:
    names = [layer.name for layer in render(ProvisionOptions())]
    assert names == [
        "namespace",
        "config",
        "object-store",
        "minio-init",
        "postgres",
        "hive-metastore",
        "spark",
        "spark-connect",
        "trino",
    ]
    config = render(ProvisionOptions())[1]
    config_names = {o["metadata"]["name"] for o in config.objects}
    assert config_names == {SECRET_NAME, "trino-config", "hadoop-config", "spark-config", "lakehouse-workload"}


def test_nodeports_equal_the_reference_table() -> None:
    found = {}
    for svc in _by_kind(render_objects(ProvisionOptions()), "Service"):
        assert svc["spec"]["type"] == "NodePort"
        for port in svc["spec"]["ports"]:
            found[(svc["metadata"]["name"], port["port"])] = port["nodePort"]
    assert found == REFERENCE_NODEPORTS


def test_cluster_ip_has_no_nodeports() -> None:
    services = _by_kind(render_objects(ProvisionOptions(service_type="ClusterIP")), "Service")
    assert {s["metadata"]["name"] for s in services} == {n for n, _ in REFERENCE_NODEPORTS}
    assert all("nodePort" not in p for s in services for p in s["spec"]["ports"])


@pytest.mark.parametrize("options", VARIANTS[:2])
def test_no_secret_value_outside_the_secret(options: ProvisionOptions) -> None:
    objects = render_objects(options, credentials=SECRETS)
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = json.dumps(obj)
        for value in SECRETS.values().values():
            assert value not in text, f"{obj['kind']}/{obj['metadata']['name']} carries a secret"
            assert base64.b64encode(value.encode()).decode() not in text
    secret = _by_kind(objects, "Secret")[0]
    assert base64.b64decode(secret["data"]["s3-secret-key"]).decode() == SECRETS.s3_secret_key


def test_credentials_reach_containers_only_through_secret_refs() -> None:
    for obj in render_objects(ProvisionOptions()):
        pod = obj.get("spec", {}).get("template", {}).get("spec")
        if not pod:
            continue
        assert pod["enableServiceLinks"] is False
        for container in pod.get("initContainers", []) + pod["containers"]:
            for env in container.get("env", []):
                if any(word in env["name"] for word in ("KEY", "PASSWORD", "ROOT_USER")):
                    assert env["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME, env["name"]


def test_config_maps_are_the_stack_config_with_in_cluster_addresses() -> None:
    cms = config_maps(ProvisionOptions())
    hive = cms["trino-config"]["data"]["catalog.hive.properties"]
    assert "hive.metastore.uri=thrift://hive-metastore:9083" in hive
    assert "s3.endpoint=http://minio:9000" in hive
    assert "${ENV:" + stack_config.SECRET_ENV["s3_secret_key"] + "}" in hive
    site = cms["hadoop-config"]["data"]["metastore-site.xml"]
    assert "jdbc:postgresql://postgres:5432/metastore" in site
    assert "${env." + stack_config.SECRET_ENV["postgres_password"] + "}" in site


def test_every_object_is_labelled_and_every_pod_template_hashed() -> None:
    for obj in render_objects(ProvisionOptions()):
        assert LABELS.items() <= obj["metadata"]["labels"].items()
        template = obj.get("spec", {}).get("template")
        if template:
            assert CONFIG_HASH_ANNOTATION in template["metadata"]["annotations"]


def _hashes(options: ProvisionOptions, credentials: Credentials | None = None) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
        for o in render_objects(options, credentials=credentials)
        if "template" in o.get("spec", {})
    }


def test_config_hash_moves_only_for_the_workloads_a_change_affects() -> None:
    base = _hashes(ProvisionOptions())
    trino_heap = _hashes(ProvisionOptions(trino_heap="3G"))
    assert {k for k in base if base[k] != trino_heap[k]} == {"trino", "trino-worker"}  # one jvm.config
    region = _hashes(ProvisionOptions(region="eu-west-1"))
    # the configuration files change for these; minio-init's pod template itself changes (AWS_REGION)
    changed = {k for k in base if base[k] != region[k]}
    assert changed == {"trino", "trino-worker", "hive-metastore", "spark-master", "spark-worker", "spark-connect"}
    assert _hashes(ProvisionOptions(), SECRETS).keys() == base.keys()
    assert all(_hashes(ProvisionOptions(), SECRETS)[k] != base[k] for k in base)


def test_persistent_storage_uses_claim_templates_with_our_labels() -> None:
    objects = render_objects(ProvisionOptions(persistent=True, storage_class="fast"))
    for sts in _by_kind(objects, "StatefulSet"):
        claim = sts["spec"]["volumeClaimTemplates"][0]
        assert claim["spec"]["storageClassName"] == "fast"
        assert LABELS.items() <= claim["metadata"]["labels"].items()
        assert "volumes" not in sts["spec"]["template"]["spec"]
    default = _by_kind(render_objects(ProvisionOptions()), "StatefulSet")
    assert all(s["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}] for s in default)


def test_images_are_pinned_to_the_stack_versions() -> None:
    images = {c["image"] for o in render_objects(ProvisionOptions()) for c in _containers(o)}
    assert f"docker.io/trinodb/trino:{VERSIONS['trino']}" in images
    assert f"docker.io/apache/hive:{VERSIONS['hive-metastore']}" in images
    assert f"docker.io/apache/spark:{VERSIONS['spark']}" in images
    assert f"docker.io/library/postgres:{VERSIONS['postgresql']}" in images
    assert not any(i.endswith(":latest") or ":" not in i.rsplit("/", 1)[-1] for i in images)


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = obj.get("spec", {}).get("template", {}).get("spec") or {}
    return list(pod.get("initContainers", [])) + list(pod.get("containers", []))


def test_minio_renders_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="archived"):
        text = render_yaml(ProvisionOptions(object_store="minio"))
    assert "quay.io/minio/minio" in text


def test_probes_use_the_monitoring_endpoints() -> None:
    objects = {o["metadata"]["name"]: o for o in render_objects(ProvisionOptions(object_store="minio"))}
    # /v1/info answers while Trino is starting: the image's health-check waits for "starting":false; ready also
    # waits for the uptime after which table queries find their catalogs' nodes (tests/unit/test_trino_probe.py)
    trino = _containers(objects["trino"])[-1]
    assert trino["livenessProbe"]["exec"] == {"command": ["/usr/lib/trino/bin/health-check"]}
    assert trino["readinessProbe"]["exec"] == {"command": trino_info_check("http://localhost:8080", settled=True)}
    assert _containers(objects["object-store"])[-1]["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"
    assert _containers(objects["spark-master"])[-1]["readinessProbe"]["httpGet"]["port"] == 8080
    assert _containers(objects["spark-worker"])[-1]["readinessProbe"]["httpGet"]["port"] == 8081
    assert "tcpSocket" in _containers(objects["hive-metastore"])[-1]["readinessProbe"]


def test_credentials_repr_hides_values() -> None:
    assert SECRETS.s3_secret_key not in repr(SECRETS)
    generated = Credentials.generate()
    assert len(generated.s3_secret_key) == 40
    assert generated.s3_secret_key != Credentials.generate().s3_secret_key


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_trino_workers_join_the_coordinator_and_read_their_own_files() -> None:
    objects = render_objects(ProvisionOptions(trino_workers=2))
    deployments = {d["metadata"]["name"]: d for d in _by_kind(objects, "Deployment")}
    assert deployments["trino-worker"]["spec"]["replicas"] == 2
    assert deployments["trino"]["spec"]["replicas"] == 1
    assert render_objects(ProvisionOptions())[0]  # default: no workers
    default = {d["metadata"]["name"]: d for d in _by_kind(render_objects(ProvisionOptions()), "Deployment")}
    assert default["trino-worker"]["spec"]["replicas"] == 0

    cm = next(o for o in _by_kind(objects, "ConfigMap") if o["metadata"]["name"] == "trino-config")["data"]
    worker = _properties(cm["worker.config.properties"])
    assert worker["coordinator"] == "false"
    assert worker["discovery.uri"] == "http://trino:8080"  # the coordinator's Service
    coordinator = _properties(cm["config.properties"])
    assert coordinator["coordinator"] == "true"
    assert coordinator["node-scheduler.include-coordinator"] == "true"
    assert "node.id" not in _properties(cm["worker.node.properties"])  # each replica gets its own
    assert _properties(cm["node.properties"])["node.id"] == "trino-coordinator"

    pod = deployments["trino-worker"]["spec"]["template"]["spec"]
    items = {i["key"]: i["path"] for i in pod["volumes"][0]["configMap"]["items"]}
    assert items["worker.config.properties"] == "config.properties"
    assert items["worker.node.properties"] == "node.properties"
    assert "config.properties" not in items and "node.properties" not in items
    # the worker pods are not behind the coordinator's Service, and have none of their own
    labels = deployments["trino-worker"]["spec"]["template"]["metadata"]["labels"]
    service = next(o for o in _by_kind(objects, "Service") if o["metadata"]["name"] == "trino")
    assert not service["spec"]["selector"].items() <= labels.items()
    assert not [o for o in _by_kind(objects, "Service") if o["metadata"]["name"].startswith("trino-worker")]
    init = pod["initContainers"][0]["command"][-1]
    assert "/dev/tcp/trino/8080" in init


def test_spark_daemons_run_with_the_stacks_jvm_options() -> None:
    from lakehouse_sdk.stack.spark_config import SPARK_DAEMON_JAVA_OPTS

    assert "-XX:TieredStopAtLevel=1" in SPARK_DAEMON_JAVA_OPTS.split()
    kinds = ("StatefulSet", "Deployment")
    workloads = {o["metadata"]["name"]: o for o in render_objects(ProvisionOptions()) if o["kind"] in kinds}
    daemons = {name: w for name, w in workloads.items() if name.startswith("spark-")}
    assert set(daemons) == {"spark-master", "spark-worker", "spark-connect"}, sorted(workloads)
    for name, workload in daemons.items():
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["SPARK_DAEMON_JAVA_OPTS"] == SPARK_DAEMON_JAVA_OPTS, name
