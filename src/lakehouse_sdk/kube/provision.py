"""``provision()``: deploy the stack layer by layer and wait for real readiness between layers.

Every object is sent with server-side apply under one field manager, so running ``provision()`` again with
the same options changes nothing (no object's ``resourceVersion`` moves), and a changed option rolls only
the workloads whose pod template or consumed configuration changed. Teardown, status, scaling and reading
the credentials back live in :mod:`lakehouse_sdk.kube.manage` and are re-exported here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lakehouse_sdk.errors import ProvisionError, ProvisionTimeoutError
from lakehouse_sdk.kube import _tls
from lakehouse_sdk.kube._api import KubeAPI, connect
from lakehouse_sdk.kube._readiness import WORKLOAD_KINDS, diagnose, pod_problems, readiness, selector_of
from lakehouse_sdk.kube.credentials import CREDENTIALS_ANNOTATION, REQUIRED_KEYS, SECRET_NAME, Credentials
from lakehouse_sdk.kube.manage import (
    ComponentStatus,
    TeardownResult,
    effective_namespace,
    provisioned_settings,
    read_credentials,
    scale_trino_workers,
    scale_workers,
    status,
    teardown,
)
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import MINIO_WARNING, NAMESPACE_ANNOTATION, Layer, render
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.endpoints import ENDPOINTS

__all__ = [
    "ComponentStatus",
    "LayerResult",
    "ProvisionResult",
    "TeardownResult",
    "provision",
    "provisioned_settings",
    "read_credentials",
    "scale_trino_workers",
    "scale_workers",
    "status",
    "teardown",
]

Obj = dict[str, Any]
Progress = Callable[[str], object]


@dataclass
class LayerResult:
    """One layer: its objects, which of them changed, and how long it took to become ready."""

    name: str
    objects: list[str]
    changed: list[str]
    seconds: float


@dataclass
class ProvisionResult:
    """What :func:`provision` did."""

    namespace: str
    cluster: str
    credentials: str
    service_type: str
    layers: list[LayerResult] = field(default_factory=list)
    seconds: float = 0.0
    # secure mode: where this machine keeps the stack's CA (clients: ca_bundle, or provisioned_settings())
    ca_file: str | None = None

    @property
    def changed(self) -> list[str]:
        """Every object whose ``resourceVersion`` moved (``Kind/name``); empty for a no-op."""
        return [name for layer in self.layers for name in layer.changed]

    def __str__(self) -> str:
        lines = [
            f"lakehouse ready in namespace {self.namespace!r} ({self.cluster}) after {self.seconds:.1f}s; "
            f"{len(self.changed)} object(s) changed; credentials: {self.credentials} (in Secret {SECRET_NAME})"
        ]
        if self.ca_file:
            lines.append(f"  secure mode: TLS and Trino passwords; the stack's CA is in {self.ca_file}")
        for spec in ENDPOINTS.values():
            where = f"NodePort {spec.node_port}" if self.service_type == "NodePort" else "ClusterIP only"
            address = f"{spec.dns_name}.{self.namespace}.svc:{spec.port}"
            lines.append(f"  {spec.key:<16} {address:<40} {where}")
        return "\n".join(lines)


def _ref(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _resolve_credentials(api: KubeAPI, options: ProvisionOptions, settings: LakehouseSettings, ns: str) -> Credentials:
    if options.credentials == "settings":
        return Credentials.from_settings(settings)
    existing = api.get("Secret", SECRET_NAME, ns)
    if options.credentials == "external":
        if existing is None:
            raise ProvisionError(
                f"credentials='external': there is no Secret {SECRET_NAME} in namespace {ns} ({api.where}). "
                "Create it first, where it is managed (External Secrets, Sealed Secrets, a vault), with the keys "
                f"{', '.join(REQUIRED_KEYS)}; or provision with credentials='generate'."
            )
        return Credentials.from_secret(existing, external=True)
    origin = ((existing or {}).get("metadata", {}).get("annotations") or {}).get(CREDENTIALS_ANNOTATION)
    if existing is not None and origin == "generated":
        return Credentials.from_secret(existing)
    return Credentials.generate()


def _client_ca(api: KubeAPI, options: ProvisionOptions, settings: LakehouseSettings, say: Progress) -> str:
    """Write the CA of ``lakehouse-tls`` for this machine's clients; with cert-manager, once it has issued."""
    deadline = time.monotonic() + options.timeout
    while (path := _tls.write_client_ca(api.get("Secret", _tls.TLS_SECRET, options.namespace), settings,
                                        options.namespace)) is None:  # fmt: skip
        if time.monotonic() > deadline:
            raise ProvisionTimeoutError(
                f"secure mode: Secret {_tls.TLS_SECRET} in namespace {options.namespace} has no ca.crt after "
                f"{options.timeout:.0f}s; cert-manager's Certificate {_tls.TLS_SECRET} (issuer "
                f"{options.tls_issuer}) has not issued. Check it with `kubectl describe certificate`."
            )
        say(f"  waiting for Secret {_tls.TLS_SECRET} (cert-manager)")
        time.sleep(options.poll_interval)
    return str(path)


def _apply(api: KubeAPI, obj: Obj, *, field_manager: str) -> bool:
    """Apply one object; ``True`` when it changed. A Job whose template changed is replaced (it is immutable)."""
    meta = obj["metadata"]
    before = api.get(obj["kind"], meta["name"], meta.get("namespace"))
    try:
        after = api.apply(obj, field_manager=field_manager)
    except api.ApiException as exc:
        if obj["kind"] != "Job" or api.status_of(exc) != 422:
            raise ProvisionError(
                f"applying {_ref(obj)} in namespace {meta.get('namespace')} was refused: {_api_message(exc)}. "
                + _hint(_api_message(exc))
            ) from exc
        api.delete("Job", meta["name"], meta["namespace"], propagation="Foreground")
        deadline = time.monotonic() + 120
        while api.get("Job", meta["name"], meta["namespace"]) is not None:
            if time.monotonic() > deadline:
                raise ProvisionTimeoutError(
                    f"Job {meta['name']} (being replaced because its template changed) was not deleted within 120s. "
                    "Check for stuck finalizers with `kubectl get job -o yaml`."
                ) from exc
            time.sleep(0.5)
        after = api.apply(obj, field_manager=field_manager)
    return before is None or before["metadata"]["resourceVersion"] != after["metadata"]["resourceVersion"]


def _api_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    try:
        return str(json.loads(body or "")["message"])
    except (TypeError, ValueError, KeyError):
        return str(body or exc)


def _hint(message: str) -> str:
    if "already allocated" in message:
        return (
            "NodePorts are cluster-wide: another stack (another namespace?) holds them. Tear it down, or "
            "provision this one with service_type='ClusterIP' (--service-type ClusterIP)."
        )
    if "forbidden" in message.lower():
        return "Your Kubernetes user lacks the permission; ask for a Role that allows it in this namespace."
    return "Check the options that shape this object."


def _ensure_namespace(api: KubeAPI, layer: Layer, *, field_manager: str, progress: Progress) -> list[str]:
    ns_obj = layer.objects[0]
    name = ns_obj["metadata"]["name"]
    existing = api.get("Namespace", name)
    if existing is not None and NAMESPACE_ANNOTATION not in (existing["metadata"].get("annotations") or {}):
        progress(f"namespace {name}: exists and was not created by lakehouse-sdk; using it as it is")
        return []
    return [_ref(ns_obj)] if _apply(api, ns_obj, field_manager=field_manager) else []


def _wait_layer(api: KubeAPI, layer: Layer, options: ProvisionOptions, ns: str, progress: Progress) -> None:
    workloads = [o for o in layer.objects if o["kind"] in WORKLOAD_KINDS]
    if not workloads:
        return
    deadline = time.monotonic() + options.timeout
    last = ""
    while True:
        current = [api.get(o["kind"], o["metadata"]["name"], ns) or o for o in workloads]
        states = [readiness(o) for o in current]
        pending = [(o, s) for o, s in zip(current, states, strict=True) if not s.ready]
        if not pending:
            return
        failed = [o for o, s in pending if s.failed]
        for obj, _ in pending:
            for pod in api.list("Pod", ns, selector=selector_of(obj)):
                if pod_problems(pod):
                    failed.append(obj)
                    break
        if failed:
            detail = "; ".join(f"{s.kind} {s.name}: {s.detail}" for s in states if not s.ready)
            raise ProvisionError(
                f"layer {layer.name!r} failed in namespace {ns!r} ({detail}).\n{diagnose(api, ns, failed)}\n"
                f"Fix the cause above (image, resources, Secret), then run provision again."
            )
        summary = "; ".join(f"{s.kind} {s.name} {s.detail}" for _, s in pending)
        if summary != last:
            progress(f"  waiting: {summary}")
            last = summary
        if time.monotonic() > deadline:
            raise ProvisionTimeoutError(
                f"layer {layer.name!r} was not ready within {options.timeout:.0f}s in namespace {ns!r} "
                f"({summary}).\n{diagnose(api, ns, [o for o, _ in pending])}\n"
                "If the cluster is just slow (image pulls), raise the timeout (--timeout); if pods are "
                "Unschedulable, lower the resource requests (--cpu/--memory) or add nodes."
            )
        time.sleep(options.poll_interval)


def provision(
    options: ProvisionOptions | None = None,
    *,
    settings: LakehouseSettings | None = None,
    progress: Progress | None = None,
) -> ProvisionResult:
    """Deploy the stack and wait until every component is ready, in the reference startup order.

    Args:
        options: what to deploy (``None``: the defaults). Without an explicit ``namespace``,
            ``settings.namespace`` is used.
        settings: chooses the cluster (``kube.kubeconfig``, ``kube.context``; ``None`` loads the usual
            settings) and, with ``options.credentials == "settings"``, supplies the credentials.
        progress: called with one line per step (``print`` shows them); ``None`` is silent.

    Returns:
        A :class:`ProvisionResult`; ``result.changed`` is empty when nothing had to change.

    Raises:
        ProvisionTimeoutError: a layer was not ready in ``options.timeout`` seconds (the message has the
            pods' conditions, recent events and log tails).
        ProvisionError: the API refused an object or a pod cannot start.
        MissingDependencyError: the ``kubernetes`` package (extra ``kube``) is missing.
    """
    settings = settings or LakehouseSettings()
    return provision_with(effective_namespace(options or ProvisionOptions(), settings), settings, progress, None)


def provision_with(
    options: ProvisionOptions, settings: LakehouseSettings, progress: Progress | None, credentials: Credentials | None
) -> ProvisionResult:
    """:func:`provision` with resolved options, and ``credentials`` to write instead of resolving them
    (``lakehouse rotate-credentials``)."""
    say: Progress = progress or (lambda _line: None)
    if options.object_store == "minio":
        say(f"warning: {MINIO_WARNING}")
    api = connect(settings)
    ns = options.namespace
    start = time.monotonic()
    credentials = credentials or _resolve_credentials(api, options, settings, ns)
    result = ProvisionResult(ns, api.where, credentials.origin, options.service_type)
    tls = _tls.resolve_material(api.get("Secret", _tls.TLS_SECRET, ns), options, settings) if options.secure else None
    layers = render(options, credentials=credentials, tls=tls, trino_user=settings.trino.user)
    for index, layer in enumerate(layers, 1):
        layer_start = time.monotonic()
        say(f"[{index}/{len(layers)}] {layer.name}")
        if layer.name == "namespace":
            changed = _ensure_namespace(api, layer, field_manager=options.field_manager, progress=say)
        else:
            changed = [_ref(o) for o in layer.objects if _apply(api, o, field_manager=options.field_manager)]
        _wait_layer(api, layer, options, ns, say)
        if layer.name == "config" and options.secure:
            result.ca_file = _client_ca(api, options, settings, say)
        seconds = time.monotonic() - layer_start
        result.layers.append(LayerResult(layer.name, [_ref(o) for o in layer.objects], changed, seconds))
        say(f"  ready in {seconds:.1f}s ({len(changed)} changed: {', '.join(changed) or 'none'})")
    result.seconds = time.monotonic() - start
    return result
