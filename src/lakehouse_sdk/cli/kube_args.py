"""The ``lakehouse`` flags that describe a Kubernetes deployment, and the options they build."""

from __future__ import annotations

import argparse
from typing import Any

from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.kube.options import ProvisionOptions, Resources, default_resources

__all__ = ["add_cli_arguments", "options_from_args", "rbac_yaml", "render_text"]


def render_text(args: argparse.Namespace, options: ProvisionOptions) -> str:
    """What ``lakehouse render`` prints: the stack's YAML, or with ``--rbac`` the provisioner's rights."""
    from lakehouse_sdk.kube.render import render_yaml

    if getattr(args, "kube_credentials", None) is not None:
        raise ConfigurationError(
            f"lakehouse render --credentials {args.kube_credentials}: render prints YAML and never writes "
            "credentials into it; its Secret holds the public development placeholders. Deploy with "
            f"`lakehouse provision --credentials {args.kube_credentials}`, or create the lakehouse-credentials "
            "Secret yourself before applying the rendered YAML (docs/provisioning.md)."
        )
    if getattr(args, "rbac", None):
        return rbac_yaml(args.rbac, options.namespace)
    return render_yaml(options)


def rbac_yaml(spec: str, namespace: str) -> str:
    """``lakehouse render --rbac KIND:[NAMESPACE/]NAME``: the provisioner's Role and ClusterRole, bound to it."""
    from lakehouse_sdk.kube._security import provisioner_rbac
    from lakehouse_sdk.kube.render import LABELS, to_yaml

    kind, _, name = spec.partition(":")
    subject_ns, _, subject_name = name.rpartition("/")
    if kind not in ("ServiceAccount", "User", "Group") or not subject_name:
        raise ConfigurationError(f"--rbac {spec!r}: write it as ServiceAccount:NAMESPACE/NAME, User:NAME or Group:NAME")
    subject: dict[str, str] = {"kind": kind, "name": subject_name}
    if kind == "ServiceAccount":
        subject["namespace"] = subject_ns or namespace
    else:
        subject["apiGroup"] = "rbac.authorization.k8s.io"
    return to_yaml(provisioner_rbac(namespace, subject, {"labels": dict(LABELS)}))


def options_from_args(args: argparse.Namespace) -> ProvisionOptions:
    """Options from the flags that :func:`add_cli_arguments` added; unset flags keep the defaults."""
    values: dict[str, Any] = {}
    for name in (
        "namespace",
        "object_store",
        "service_type",
        "storage_class",
        "spark_workers",
        "trino_workers",
        "credentials",
        "field_manager",
        "maven_repository",
        "timeout",
        "tls_issuer",
        "tls_ca_cert",
        "tls_ca_key",
    ):
        value = getattr(args, f"kube_{name}", None)
        if value is not None:
            values[name] = value
    if getattr(args, "kube_persistent", False):
        values["persistent"] = True
    if getattr(args, "kube_network_policies", False):
        values["network_policies"] = True
    if getattr(args, "kube_secure", False) or getattr(args, "kube_tls_issuer", None):
        values["secure"] = True
    if getattr(args, "kube_tls_names", None):
        values["tls_names"] = tuple(args.kube_tls_names)
    if getattr(args, "kube_expose", None) is not None:
        values["exposed_endpoints"] = tuple(e.strip() for e in args.kube_expose.split(",") if e.strip())
    if getattr(args, "kube_images", None):
        values["images"] = _pairs(args.kube_images, "--image")
    resources: dict[str, dict[str, str]] = {}
    for flag, field in (("kube_cpu", "cpu"), ("kube_memory", "memory")):
        for component, spec in _pairs(getattr(args, flag, None) or [], f"--{field}").items():
            request, _, limit = spec.partition(":")
            entry = resources.setdefault(component, default_resources().get(component, Resources()).model_dump())
            entry[field] = request
            if limit:
                entry[f"{field}_limit"] = limit
    if resources:
        values["resources"] = resources
    for component, size in _pairs(getattr(args, "kube_storage_size", None) or [], "--storage-size").items():
        if component not in {"object-store", "postgres"}:
            raise ConfigurationError(f"--storage-size {component}=...: only object-store and postgres have storage")
        values[f"{component.replace('-', '_')}_size"] = size
    return ProvisionOptions.build(**values)


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigurationError(f"{flag} {item!r}: write it as NAME=VALUE")
        out[key.strip().replace("_", "-") if flag != "--image" else key.strip().replace("-", "_")] = value.strip()
    return out


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the provisioning flags (``--namespace``, ``--object-store``, ...) to a command's parser."""
    g = parser.add_argument_group("Kubernetes options")
    g.add_argument("--namespace", dest="kube_namespace", help="namespace (default: settings.namespace)")
    g.add_argument("--object-store", dest="kube_object_store", choices=["seaweedfs", "minio"])
    g.add_argument("--service-type", dest="kube_service_type", choices=["NodePort", "ClusterIP"])
    g.add_argument("--persistent", dest="kube_persistent", action="store_true", help="PVCs instead of emptyDir")
    g.add_argument("--storage-class", dest="kube_storage_class", help="StorageClass of the PVCs")
    g.add_argument(
        "--storage-size", dest="kube_storage_size", action="append", metavar="COMPONENT=SIZE", help="e.g. postgres=20Gi"
    )
    g.add_argument("--spark-workers", dest="kube_spark_workers", type=int, metavar="N")
    g.add_argument("--trino-workers", dest="kube_trino_workers", type=int, metavar="N", help="beside the coordinator")
    g.add_argument("--image", dest="kube_images", action="append", metavar="NAME=IMAGE", help="e.g. trino=my/trino:476")
    g.add_argument("--cpu", dest="kube_cpu", action="append", metavar="COMPONENT=REQ[:LIMIT]", help="e.g. trino=2:4")
    g.add_argument("--memory", dest="kube_memory", action="append", metavar="COMPONENT=REQ[:LIMIT]")
    g.add_argument("--credentials", dest="kube_credentials", choices=["generate", "settings", "external"])
    g.add_argument("--field-manager", dest="kube_field_manager")
    g.add_argument(
        "--maven-repository", dest="kube_maven_repository", metavar="URL", help="where init containers fetch jars"
    )
    g.add_argument("--timeout", dest="kube_timeout", type=float, metavar="SECONDS", help="per layer")
    g.add_argument(
        "--network-policies",
        dest="kube_network_policies",
        action="store_true",
        help="default deny, then only the stack's own connections and ingress to the exposed endpoints",
    )
    g.add_argument(
        "--secure",
        dest="kube_secure",
        action="store_true",
        help="secure mode (also LAKEHOUSE_SECURE=true): TLS, Trino passwords, components trusting the stack's CA",
    )
    g.add_argument("--tls-issuer", dest="kube_tls_issuer", metavar="[ClusterIssuer/]NAME", help="cert-manager issuer")
    g.add_argument("--tls-ca-cert", dest="kube_tls_ca_cert", metavar="PEM", help="secure mode: your CA's certificate")
    g.add_argument("--tls-ca-key", dest="kube_tls_ca_key", metavar="PEM", help="secure mode: your CA's key")
    g.add_argument("--tls-name", dest="kube_tls_names", action="append", metavar="NAME", help="another name to certify")
    g.add_argument(
        "--expose",
        dest="kube_expose",
        metavar="ENDPOINT,...",
        help="with --network-policies: the endpoints reachable from outside (default: all), e.g. trino,minio",
    )
