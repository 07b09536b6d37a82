"""The stack as Kubernetes objects (plain dicts), grouped in layers of the reference startup order.

Layers, in order: ``namespace``; ``config`` (the credentials Secret and the ``trino-config``, ``hadoop-config``
and ``spark-config`` ConfigMaps, rendered from :mod:`lakehouse_sdk.stack.config` and
:mod:`lakehouse_sdk.stack.spark_config` with in-cluster addresses); ``object-store``; ``minio-init`` (the Job
that creates the buckets); ``postgres``; ``hive-metastore``; ``spark`` (master and workers); ``spark-connect``;
``trino`` (coordinator and workers). Every object carries :data:`LABELS`, and every pod template a
``lakehouse-sdk.io/config-hash`` annotation over the configuration and credentials it consumes, so that a
changed option rolls exactly the workloads it affects.

Rendering is pure: no cluster, no randomness. :func:`render_yaml` needs PyYAML (extra ``kube``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakehouse_sdk.kube import _network, _security, _spark, _tls
from lakehouse_sdk.kube import _workloads as w
from lakehouse_sdk.kube.credentials import CREDENTIALS_ANNOTATION, SECRET_NAME, Credentials
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack.components import COMPONENTS, ComponentSpec
from lakehouse_sdk.stack.components import layers as stack_layers
from lakehouse_sdk.stack.endpoints import ENDPOINTS
from lakehouse_sdk.stack.secure import trino_password_authenticator

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
    return stack_config.StackContext.in_cluster(options.stack_values())


def config_maps(options: ProvisionOptions) -> dict[str, Obj]:
    """``trino-config``, ``hadoop-config`` and ``spark-config``, from the sources the local runtime writes from."""
    ctx = stack_context(options)
    trino = {
        "config.properties": stack_config.to_properties(stack_config.trino_config_properties(ctx)),
        "node.properties": stack_config.to_properties(stack_config.trino_node_properties(ctx)),
        "jvm.config": stack_config.trino_jvm_config(ctx),
        "worker.config.properties": stack_config.to_properties(
            stack_config.trino_worker_config_properties(ctx, ENDPOINTS["trino"].dns_name)
        ),
        "worker.node.properties": stack_config.to_properties(stack_config.trino_worker_node_properties(ctx)),
        **{
            f"catalog.{name}.properties": stack_config.to_properties(props)
            for name, props in stack_config.trino_catalogs(ctx).items()
        },
    }
    if ctx.values.spooling:
        props = stack_config.trino_spooling_manager_properties(ctx)
        trino["spooling-manager.properties"] = stack_config.to_properties(props)
    if ctx.values.tls is not None:  # secure mode: the file authenticator (the password file is in a Secret)
        props = trino_password_authenticator(ctx.values.tls)
        trino["password-authenticator.properties"] = stack_config.to_properties(props)
    hadoop = {
        "core-site.xml": stack_config.to_hadoop_xml(stack_config.core_site(ctx)),
        "metastore-site.xml": stack_config.to_hadoop_xml(stack_config.metastore_site(ctx)),
    }
    spark = {"spark-connect.conf": stack_config.to_properties(_spark.spark_connect_conf(ctx))}
    out = {}
    for name, data in (("trino-config", trino), ("hadoop-config", hadoop), ("spark-config", spark)):
        out[name] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, options.namespace), "data": data}
    return out


def _secret(options: ProvisionOptions, credentials: Credentials) -> Obj:
    meta = _meta(SECRET_NAME, options.namespace)
    meta["annotations"] = {CREDENTIALS_ANNOTATION: credentials.origin}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": credentials.secret_data()}


def _service(options: ProvisionOptions, name: str, component: str) -> Obj:
    ports = []
    for spec in ENDPOINTS.values():
        if spec.dns_name != name:
            continue
        port: Obj = {"name": spec.port_name, "port": spec.port, "targetPort": spec.port, "protocol": "TCP"}
        if options.service_type == "NodePort":
            port["nodePort"] = spec.node_port
        ports.append(port)
    spec_: Obj = {"type": options.service_type, "selector": _selector(component), "ports": ports}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, options.namespace, component), "spec": spec_}


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _template(component: str, pod: Obj, config_hash: str) -> Obj:
    meta = {"labels": {**LABELS, **_selector(component)}, "annotations": {CONFIG_HASH_ANNOTATION: config_hash}}
    return {"metadata": meta, "spec": _security.restrict(component, pod)}


def _workload(kind: str, name: str, component: str, options: ProvisionOptions, pod: Obj, config_hash: str) -> Obj:
    spec: Obj = {"selector": {"matchLabels": _selector(component)}, "template": _template(component, pod, config_hash)}
    api = "apps/v1"
    if kind == "Deployment":
        replicas = _REPLICAS[component](options) if component in _REPLICAS else 1
        spec = {"replicas": replicas, **spec}
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


# How each component becomes a pod: a StatefulSet's single container (its volume is added here), or a pod.
_CONTAINERS: dict[str, Callable[[ProvisionOptions], Obj]] = {
    "object-store": w.object_store_container,
    "postgres": w.postgres_container,
}
_PODS: dict[str, Callable[[ProvisionOptions], Obj]] = {
    "minio-init": lambda options: w.pod_spec([w.init_job_container(options)]),
    "hive-metastore": w.metastore_pod,
    "spark-master": lambda options: _spark.spark_pod(options, "master"),
    "spark-worker": lambda options: _spark.spark_pod(options, "worker"),
    "spark-connect": _spark.spark_connect_pod,
    "trino": lambda options: w.trino_pod(options, "coordinator"),
    "trino-worker": lambda options: w.trino_pod(options, "worker"),
}
# Deployments whose replica count is an option (the rest run one replica)
_REPLICAS: dict[str, Callable[[ProvisionOptions], int]] = {
    "spark-worker": lambda options: options.spark_workers,
    "trino-worker": lambda options: options.trino_workers,
}
_SIZES = {"object-store": "object_store_size", "postgres": "postgres_size"}


def _component_objects(
    options: ProvisionOptions, spec: ComponentSpec, secret_hash: Any, cms: dict[str, Obj]
) -> list[Obj]:
    """The Services carrying ``spec``'s endpoints, then its workload."""
    # the hash covers the credentials and every ConfigMap holding a file the component reads
    read = [cm["data"] for cm in cms.values() if set(spec.config_files) & set(cm["data"])]
    extra = (options.buckets,) if spec.workload == "Job" else ()
    config_hash = _hash(secret_hash, *read, *extra)
    services = list(dict.fromkeys(ENDPOINTS[key].dns_name for key in spec.endpoint_keys))
    objects = [_service(options, name, spec.name) for name in services]
    if spec.workload == "StatefulSet":
        size = getattr(options, _SIZES[spec.name])
        objects.append(_stateful(options, spec.name, _CONTAINERS[spec.name](options), size, config_hash))
    else:
        objects.append(_workload(spec.workload, spec.name, spec.name, options, _PODS[spec.name](options), config_hash))
    if options.secure:
        _tls.secure_pod(spec.name, objects[-1]["spec"]["template"]["spec"], options)
    return objects


def render(
    options: ProvisionOptions,
    *,
    credentials: Credentials | None = None,
    tls: _tls.TlsMaterial | None = None,
    trino_user: str = "trino",
) -> list[Layer]:
    """Every object of the stack, in startup-order layers (derived from the component specs' dependencies).

    Args:
        options: what to deploy.
        credentials: the values of the ``lakehouse-credentials`` Secret; ``None`` renders the public
            development placeholders (as in the committed ``manifests/``).
        tls: secure mode: the contents of the ``lakehouse-tls`` Secret (``provision()`` makes them); ``None``
            renders no such Secret (it must exist, or ``options.tls_issuer`` has cert-manager write it).
        trino_user: secure mode: the Trino user of the password file (settings ``trino.user``).

    Returns:
        The layers, in the order they must be applied and become ready.
    """
    creds = credentials or Credentials.placeholder()
    secret_hash: Any = creds.values()
    cms = config_maps(options)
    secure = _tls.secure_objects(options, creds, tls, _meta, trino_user) if options.secure else []
    if secure:  # pods roll when a certificate or the Trino password file changes
        secret_hash = [secret_hash, tls.digest() if tls else options.tls_issuer, secure[0]["data"]]
    ns_meta = _meta(options.namespace, None)
    ns_meta["labels"] |= _security.pod_security_labels()
    ns_meta["annotations"] = {NAMESPACE_ANNOTATION: "true"}
    namespace: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": ns_meta}
    account = _security.workload_service_account(options.namespace, _meta(_security.WORKLOAD_SERVICE_ACCOUNT, None))
    # an external Secret is created and kept up to date elsewhere: only its values' hash goes into the pods
    secret = [] if creds.origin == "external" else [_secret(options, creds)]
    out = [Layer("namespace", [namespace]), Layer("config", [account, *secret, *secure, *cms.values()])]
    for layer, names in stack_layers().items():
        objects = [obj for name in names for obj in _component_objects(options, COMPONENTS[name], secret_hash, cms)]
        out.append(Layer(layer, objects))
    if options.network_policies:
        out[1].objects.extend(_policies(options, [obj for layer in out[2:] for obj in layer.objects]))
    return out


def _policies(options: ProvisionOptions, objects: list[Obj]) -> list[Obj]:
    fetchers = {
        obj["metadata"]["labels"]["app.kubernetes.io/name"]
        for obj in objects
        if any(
            c["name"] == "fetch-jars"
            for c in obj.get("spec", {}).get("template", {}).get("spec", {}).get("initContainers", [])
        )
    }
    return _network.network_policies(
        options.namespace,
        _meta("", None),
        exposed=options.exposed(),
        fetchers=fetchers,
        maven_repository=options.maven_repository,
    )


def render_objects(
    options: ProvisionOptions, *, credentials: Credentials | None = None, tls: _tls.TlsMaterial | None = None
) -> list[Obj]:
    """:func:`render`, flattened in apply order."""
    return [obj for layer in render(options, credentials=credentials, tls=tls) for obj in layer.objects]


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
