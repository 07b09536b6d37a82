"""The stack as Kubernetes objects (plain dicts), grouped in layers of the reference startup order.

Layers, in order: ``namespace``; ``config`` (the credentials Secret and the ``trino-config`` and
``hadoop-config`` ConfigMaps, rendered from :mod:`lakehouse_sdk.stack.config` with in-cluster addresses);
``object-store``; ``minio-init`` (the Job that creates the buckets); ``postgres``; ``hive-metastore``;
``spark`` (master and workers); ``trino``. Every object carries :data:`LABELS`, and every pod template a
``lakehouse-sdk.io/config-hash`` annotation over the configuration and credentials it consumes, so that a
changed option rolls exactly the workloads it affects.

Rendering is pure: no cluster, no randomness. :func:`render_yaml` needs PyYAML (extra ``kube``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from lakehouse_sdk.kube import _workloads as w
from lakehouse_sdk.kube.credentials import CREDENTIALS_ANNOTATION, SECRET_NAME, Credentials
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack.services import SERVICES

__all__ = [
    "CONFIG_HASH_ANNOTATION",
    "LABELS",
    "NAMESPACE_ANNOTATION",
    "Layer",
    "config_maps",
    "render",
    "render_objects",
    "render_yaml",
    "stack_context",
    "to_yaml",
]

Obj = dict[str, Any]
LABELS = {"app.kubernetes.io/part-of": "lakehouse", "app.kubernetes.io/managed-by": "lakehouse-sdk"}
LABEL_SELECTOR = ",".join(f"{k}={v}" for k, v in LABELS.items())
CONFIG_HASH_ANNOTATION = "lakehouse-sdk.io/config-hash"
# On a Namespace: lakehouse-sdk created it, so teardown may delete it.
NAMESPACE_ANNOTATION = "lakehouse-sdk.io/created-namespace"

# Service port names, by endpoint key of stack.services.SERVICES.
_PORT_NAMES = {
    "minio": "s3",
    "minio-console": "console",
    "postgres": "postgres",
    "hive-metastore": "thrift",
    "spark-master": "spark",
    "spark-master-ui": "http",
    "spark-worker-ui": "http",
    "trino": "http",
}


@dataclass(frozen=True)
class Layer:
    """Objects applied together; the next layer starts once these are ready."""

    name: str
    objects: list[Obj]


def _meta(name: str, namespace: str | None, component: str | None = None) -> Obj:
    labels = dict(LABELS)
    if component:
        labels["app.kubernetes.io/name"] = component
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = labels
    return meta


def _selector(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "lakehouse", "app.kubernetes.io/name": component}


def stack_context(options: ProvisionOptions) -> stack_config.StackContext:
    """The services' addresses as they see each other inside the namespace (short Service names)."""
    return stack_config.StackContext(
        s3_endpoint=f"http://{SERVICES['minio'].dns_name}:{SERVICES['minio'].port}",
        metastore_uri=f"thrift://{SERVICES['hive-metastore'].dns_name}:{SERVICES['hive-metastore'].port}",
        postgres_host=SERVICES["postgres"].dns_name,
        postgres_port=SERVICES["postgres"].port,
        postgres_database=options.postgres_database,
        postgres_user=options.postgres_user,
        region=options.region,
        warehouse_bucket=options.warehouse_bucket,
        metastore_port=SERVICES["hive-metastore"].port,
        trino_port=SERVICES["trino"].port,
        trino_heap=options.trino_heap,
        trino_data_dir="/data/trino",
        trino_node_id="trino-coordinator",
    )


def config_maps(options: ProvisionOptions) -> dict[str, Obj]:
    """``trino-config`` and ``hadoop-config``, the same text the local runtime writes to disk."""
    ctx = stack_context(options)
    trino = {
        "config.properties": stack_config.to_properties(stack_config.trino_config_properties(ctx)),
        "node.properties": stack_config.to_properties(stack_config.trino_node_properties(ctx)),
        "jvm.config": stack_config.trino_jvm_config(ctx),
        **{
            f"catalog.{name}.properties": stack_config.to_properties(props)
            for name, props in stack_config.trino_catalogs(ctx).items()
        },
    }
    hadoop = {
        "core-site.xml": stack_config.to_hadoop_xml(stack_config.hadoop_s3a_properties(ctx)),
        "metastore-site.xml": stack_config.to_hadoop_xml(stack_config.metastore_site(ctx)),
    }
    out = {}
    for name, data in (("trino-config", trino), ("hadoop-config", hadoop)):
        out[name] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, options.namespace), "data": data}
    return out


def _secret(options: ProvisionOptions, credentials: Credentials) -> Obj:
    meta = _meta(SECRET_NAME, options.namespace)
    meta["annotations"] = {CREDENTIALS_ANNOTATION: credentials.origin}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": credentials.secret_data()}


def _service(options: ProvisionOptions, name: str, component: str) -> Obj:
    ports = []
    for key, spec in SERVICES.items():
        if spec.dns_name != name:
            continue
        port: Obj = {"name": _PORT_NAMES[key], "port": spec.port, "targetPort": spec.port, "protocol": "TCP"}
        if options.service_type == "NodePort":
            port["nodePort"] = spec.node_port
        ports.append(port)
    spec_: Obj = {"type": options.service_type, "selector": _selector(component), "ports": ports}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, options.namespace, component), "spec": spec_}


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _template(component: str, pod: Obj, config_hash: str) -> Obj:
    meta = {"labels": {**LABELS, **_selector(component)}, "annotations": {CONFIG_HASH_ANNOTATION: config_hash}}
    return {"metadata": meta, "spec": pod}


def _workload(kind: str, name: str, component: str, options: ProvisionOptions, pod: Obj, config_hash: str) -> Obj:
    spec: Obj = {"selector": {"matchLabels": _selector(component)}, "template": _template(component, pod, config_hash)}
    api = "apps/v1"
    if kind == "Deployment":
        spec = {"replicas": options.spark_workers if component == "spark-worker" else 1, **spec}
        spec["revisionHistoryLimit"] = 3
    elif kind == "StatefulSet":
        spec = {"replicas": 1, "serviceName": name if name != "object-store" else "minio", **spec}
        spec["revisionHistoryLimit"] = 3
    else:  # Job
        api = "batch/v1"
        spec = {"backoffLimit": 6, "template": spec["template"]}
        spec["template"]["spec"]["restartPolicy"] = "OnFailure"
    return {"apiVersion": api, "kind": kind, "metadata": _meta(name, options.namespace, component), "spec": spec}


def _stateful(options: ProvisionOptions, name: str, container: Obj, size: str, config_hash: str) -> Obj:
    pod = w.pod_spec([container], volumes=None if options.persistent else [{"name": "data", "emptyDir": {}}])
    sts = _workload("StatefulSet", name, name, options, pod, config_hash)
    if options.persistent:
        claim: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
        if options.storage_class:
            claim["storageClassName"] = options.storage_class
        meta = {"name": "data", "labels": {**LABELS, "app.kubernetes.io/name": name}}
        sts["spec"]["volumeClaimTemplates"] = [
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": claim}
        ]
    return sts


def render(options: ProvisionOptions, *, credentials: Credentials | None = None) -> list[Layer]:
    """Every object of the stack, in startup-order layers.

    Args:
        options: what to deploy.
        credentials: the values of the ``lakehouse-credentials`` Secret; ``None`` renders the public
            development placeholders (as in the committed ``manifests/``).

    Returns:
        The layers, in the order they must be applied and become ready.
    """
    creds = credentials or Credentials.placeholder()
    secret_hash = creds.values()
    cms = config_maps(options)
    ns_meta = _meta(options.namespace, None)
    ns_meta["annotations"] = {NAMESPACE_ANNOTATION: "true"}
    namespace: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": ns_meta}
    store = _stateful(
        options, "object-store", w.object_store_container(options), options.object_store_size, _hash(secret_hash)
    )
    job_pod = w.pod_spec([w.init_job_container(options)])
    job = _workload("Job", "minio-init", "minio-init", options, job_pod, _hash(secret_hash, options.buckets))
    postgres = _stateful(options, "postgres", w.postgres_container(options), options.postgres_size, _hash(secret_hash))
    hadoop_hash = _hash(secret_hash, cms["hadoop-config"]["data"])
    hms = _workload("Deployment", "hive-metastore", "hive-metastore", options, w.metastore_pod(options), hadoop_hash)
    master = _workload(
        "Deployment", "spark-master", "spark-master", options, w.spark_pod(options, "master"), hadoop_hash
    )
    worker = _workload(
        "Deployment", "spark-worker", "spark-worker", options, w.spark_pod(options, "worker"), hadoop_hash
    )
    trino_hash = _hash(secret_hash, cms["trino-config"]["data"])
    trino = _workload("Deployment", "trino", "trino", options, w.trino_pod(options), trino_hash)
    return [
        Layer("namespace", [namespace]),
        Layer("config", [_secret(options, creds), *cms.values()]),
        Layer("object-store", [_service(options, "minio", "object-store"), store]),
        Layer("minio-init", [job]),
        Layer("postgres", [_service(options, "postgres", "postgres"), postgres]),
        Layer("hive-metastore", [_service(options, "hive-metastore", "hive-metastore"), hms]),
        Layer(
            "spark",
            [
                _service(options, "spark-master", "spark-master"),
                master,
                _service(options, "spark-worker", "spark-worker"),
                worker,
            ],
        ),
        Layer("trino", [_service(options, "trino", "trino"), trino]),
    ]


def render_objects(options: ProvisionOptions, *, credentials: Credentials | None = None) -> list[Obj]:
    """:func:`render`, flattened in apply order."""
    return [obj for layer in render(options, credentials=credentials) for obj in layer.objects]


def to_yaml(objects: list[Obj]) -> str:
    """Objects as a multi-document YAML stream; configuration files as literal blocks."""
    from lakehouse_sdk._deps import require

    yaml = require("yaml", extra="kube", purpose="rendering Kubernetes YAML", package="pyyaml")

    class _Dumper(yaml.SafeDumper):  # type: ignore[name-defined,misc]
        pass

    def _str(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    docs = [yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=120) for obj in objects]
    return "---\n" + "---\n".join(docs)


def render_yaml(options: ProvisionOptions, *, credentials: Credentials | None = None) -> str:
    """The whole stack as YAML, for ``kubectl apply -f -`` or GitOps (``lakehouse render``).

    Args:
        options: what to deploy.
        credentials: Secret values; ``None`` writes the public development placeholders, never real ones.

    Returns:
        A multi-document YAML stream in apply order.
    """
    if options.object_store == "minio":
        import warnings

        warnings.warn(MINIO_WARNING, UserWarning, stacklevel=2)
    return to_yaml(render_objects(options, credentials=credentials))


MINIO_WARNING = (
    "object_store='minio': MinIO's community edition is archived (April 2026) and its Docker Hub images were "
    "deleted (2026-09-12); the image is the last frozen release from quay.io and gets no security fixes. "
    "Prefer the default object_store='seaweedfs'."
)
