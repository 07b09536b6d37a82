"""Operating a provisioned stack: status, scaling the Spark workers, teardown, and the credentials.

Everything here finds the stack's objects by their labels (:data:`lakehouse_sdk.kube.render.LABELS`) in the
namespace of the options (or ``settings.namespace``), so it also works on a stack deployed with
``kubectl apply -k manifests/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lakehouse_sdk.errors import ProvisionError, ProvisionTimeoutError
from lakehouse_sdk.kube._api import KubeAPI, connect
from lakehouse_sdk.kube._readiness import WORKLOAD_KINDS, diagnose, pod_problems, readiness, selector_of
from lakehouse_sdk.kube.credentials import SECRET_NAME, Credentials
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import LABEL_SELECTOR, NAMESPACE_ANNOTATION, render_objects
from lakehouse_sdk.settings import LakehouseSettings

__all__ = [
    "ComponentStatus",
    "TeardownResult",
    "effective_namespace",
    "provisioned_settings",
    "read_credentials",
    "scale_trino_workers",
    "scale_workers",
    "status",
    "teardown",
]

Progress = Callable[[str], object]


def effective_namespace(options: ProvisionOptions, settings: LakehouseSettings) -> ProvisionOptions:
    """``options`` with the namespace and stack values of ``settings`` where the options set none themselves."""
    return options.for_settings(settings)


@dataclass(frozen=True)
class ComponentStatus:
    """One workload of the stack: ``ready`` and what its controller reports."""

    component: str
    kind: str
    ready: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.component:<16} {self.kind:<12} {'ready' if self.ready else 'NOT READY':<10} {self.detail}"


@dataclass
class TeardownResult:
    """What :func:`teardown` deleted and what it kept."""

    namespace: str
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    namespace_deleted: bool = False

    def __str__(self) -> str:
        lines = [f"teardown of namespace {self.namespace!r}: {len(self.deleted)} object(s) deleted"]
        if self.kept:
            lines.append(f"kept (delete with --delete-data): {', '.join(self.kept)}")
        lines.append("namespace deleted" if self.namespace_deleted else "namespace kept")
        return "\n".join(lines)


def _setup(
    options: ProvisionOptions | None, settings: LakehouseSettings | None
) -> tuple[KubeAPI, ProvisionOptions, LakehouseSettings]:
    settings = settings or LakehouseSettings()
    options = effective_namespace(options or ProvisionOptions(), settings)
    return connect(settings), options, settings


def status(
    options: ProvisionOptions | None = None, *, settings: LakehouseSettings | None = None
) -> list[ComponentStatus]:
    """The state of every workload of the stack (``ready`` as in :func:`~lakehouse_sdk.kube.provision.provision`).

    Args:
        options: where the stack is (its namespace); ``None`` uses ``settings.namespace``.
        settings: chooses the cluster; ``None`` loads the usual settings.
    """
    api, options, _ = _setup(options, settings)
    out = []
    for obj in render_objects(options):
        if obj["kind"] not in WORKLOAD_KINDS:
            continue
        name = obj["metadata"]["name"]
        current = api.get(obj["kind"], name, options.namespace)
        if current is None:
            out.append(ComponentStatus(name, obj["kind"], False, "not deployed"))
            continue
        state = readiness(current)
        out.append(ComponentStatus(name, obj["kind"], state.ready, state.detail))
    return out


def scale_workers(
    replicas: int,
    options: ProvisionOptions | None = None,
    *,
    settings: LakehouseSettings | None = None,
    wait: bool = True,
) -> ComponentStatus:
    """Scale the Spark workers to ``replicas`` and (by default) wait until they are available.

    The next ``provision()`` sets the count of its ``spark_workers`` option again: pass the same number
    there to keep it.

    Raises:
        ProvisionError: the stack is not deployed or ``replicas`` is negative.
        ProvisionTimeoutError: the workers were not available within ``options.timeout``.
    """
    return _scale("spark-worker", "spark_workers", "scale_workers", replicas, options, settings=settings, wait=wait)


def scale_trino_workers(
    replicas: int,
    options: ProvisionOptions | None = None,
    *,
    settings: LakehouseSettings | None = None,
    wait: bool = True,
) -> ComponentStatus:
    """Scale the Trino workers to ``replicas`` and (by default) wait until their pods are ready.

    A ready worker pod has started; the coordinator lists it in ``system.runtime.nodes`` once it has
    announced itself (:meth:`lakehouse_sdk.Lakehouse.scale_trino_workers` waits for that too). The next
    ``provision()`` sets the count of its ``trino_workers`` option again.

    Raises:
        ProvisionError: the stack is not deployed or ``replicas`` is negative.
        ProvisionTimeoutError: the workers were not ready within ``options.timeout``.
    """
    return _scale(
        "trino-worker", "trino_workers", "scale_trino_workers", replicas, options, settings=settings, wait=wait
    )


def _scale(
    name: str,
    option: str,
    function: str,
    replicas: int,
    options: ProvisionOptions | None,
    *,
    settings: LakehouseSettings | None,
    wait: bool,
) -> ComponentStatus:
    caller = f"{function}({replicas})"
    if replicas < 0:
        raise ProvisionError(f"{caller}: the number of workers cannot be negative")
    if replicas > 100:
        raise ProvisionError(f"{caller}: at most 100 workers (the {option} option's limit)")
    api, options, _ = _setup(options, settings)
    ns = options.namespace
    if api.get("Deployment", name, ns) is None:
        raise ProvisionError(
            f"{caller}: no Deployment {name} in namespace {ns!r} ({api.where}). Run provision() first "
            "(a stack provisioned before this version has no Trino worker Deployment: provision again)."
        )
    api.scale("Deployment", name, ns, replicas, field_manager=options.field_manager)
    deadline = time.monotonic() + options.timeout
    while True:
        current = api.get("Deployment", name, ns) or {}
        state = readiness(current)
        if state.ready or not wait:
            return ComponentStatus(name, "Deployment", state.ready, state.detail)
        pods = api.list("Pod", ns, selector=selector_of(current)) if current else []
        if any(pod_problems(pod) for pod in pods):
            raise ProvisionError(f"{caller}: {name} cannot start.\n{diagnose(api, ns, [current])}")
        if time.monotonic() > deadline:
            raise ProvisionTimeoutError(
                f"{caller}: {name} did not reach {replicas} available replicas within {options.timeout:.0f}s "
                f"({state.detail}).\n{diagnose(api, ns, [current])}\nLower the worker resources "
                f"(`--cpu {name}=...`, `--memory {name}=...`) or add nodes."
            )
        time.sleep(options.poll_interval)


def _delete_labelled(api: KubeAPI, kinds: tuple[str, ...], ns: str, result: TeardownResult) -> None:
    for kind in kinds:
        for obj in api.list(kind, ns, selector=LABEL_SELECTOR):
            if api.delete(kind, obj["metadata"]["name"], ns, propagation="Background"):
                result.deleted.append(f"{kind}/{obj['metadata']['name']}")


def teardown(
    options: ProvisionOptions | None = None,
    *,
    settings: LakehouseSettings | None = None,
    delete_data: bool = False,
    progress: Progress | None = None,
) -> TeardownResult:
    """Remove every object that carries the stack's labels, and wait until its pods are gone.

    PersistentVolumeClaims, and the credentials Secret their data was written with, are kept unless
    ``delete_data``. The namespace is deleted only if lakehouse-sdk created it (it carries the
    ``lakehouse-sdk.io/created-namespace`` annotation) and nothing in it was kept.

    Args:
        options: where the stack is (its namespace); ``None`` uses ``settings.namespace``.
        settings: chooses the cluster; ``None`` loads the usual settings.
        delete_data: also delete the volumes (and so the data) and the credentials.
        progress: called with one line per step.

    Raises:
        ProvisionTimeoutError: pods or the namespace were still there after ``options.timeout``.
    """
    api, options, _ = _setup(options, settings)
    say: Progress = progress or (lambda _line: None)
    ns = options.namespace
    result = TeardownResult(ns)
    namespace = api.get("Namespace", ns)
    if namespace is None:
        say(f"namespace {ns} does not exist: nothing to tear down")
        return result
    _delete_labelled(
        api, ("Job", "Deployment", "StatefulSet", "Service", "ConfigMap", "NetworkPolicy", "ServiceAccount"), ns, result
    )
    claims = api.list("PersistentVolumeClaim", ns, selector=LABEL_SELECTOR)
    if delete_data:
        _delete_labelled(api, ("PersistentVolumeClaim", "Secret"), ns, result)
    else:
        result.kept = [f"PersistentVolumeClaim/{c['metadata']['name']}" for c in claims]
        if claims:  # the data on them was written with these credentials; the rest (secure mode's TLS) goes
            result.kept.append(f"Secret/{SECRET_NAME}")
            for secret in api.list("Secret", ns, selector=LABEL_SELECTOR):
                name = secret["metadata"]["name"]
                if name != SECRET_NAME and api.delete("Secret", name, ns):
                    result.deleted.append(f"Secret/{name}")
        else:
            _delete_labelled(api, ("Secret",), ns, result)
    say(f"deleted {len(result.deleted)} object(s); waiting for the pods to go")
    _wait_gone(api, ns, "Pod", options.timeout)
    annotations = namespace["metadata"].get("annotations") or {}
    if NAMESPACE_ANNOTATION in annotations and not result.kept:
        api.delete("Namespace", ns)
        _wait_gone(api, ns, "Namespace", options.timeout)
        result.namespace_deleted = True
        say(f"namespace {ns} deleted")
    return result


def _wait_gone(api: KubeAPI, ns: str, kind: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if kind == "Namespace":
            left = [] if api.get("Namespace", ns) is None else [ns]
        else:
            left = [p["metadata"]["name"] for p in api.list(kind, ns, selector="app.kubernetes.io/part-of=lakehouse")]
        if not left:
            return
        if time.monotonic() > deadline:
            raise ProvisionTimeoutError(
                f"teardown: {kind} {', '.join(left[:5])} still present in {ns!r} after {timeout:.0f}s. "
                f"Check finalizers with `kubectl -n {ns} get {kind.lower()} -o yaml`."
            )
        time.sleep(0.5)


def read_credentials(settings: LakehouseSettings | None = None, *, namespace: str | None = None) -> Credentials:
    """The credentials of a provisioned stack, read from its ``lakehouse-credentials`` Secret.

    Raises:
        ProvisionError: there is no such Secret (the stack was not provisioned in that namespace).
    """
    settings = settings or LakehouseSettings()
    ns = namespace or settings.namespace
    api = connect(settings)
    secret = api.get("Secret", SECRET_NAME, ns)
    if secret is None:
        raise ProvisionError(
            f"no Secret {SECRET_NAME} in namespace {ns!r} ({api.where}). Provision the stack first, "
            "or name its namespace (LAKEHOUSE_NAMESPACE)."
        )
    return Credentials.from_secret(secret)


def provisioned_settings(
    settings: LakehouseSettings | None = None, *, namespace: str | None = None
) -> LakehouseSettings:
    """``settings`` with the provisioned stack's credentials and namespace.

    Use it as ``Lakehouse(provisioned_settings())`` after provisioning with generated credentials. A stack in
    secure mode also turns ``secure`` on, and ``ca_bundle`` names its CA (``ca.crt`` of the ``lakehouse-tls``
    Secret, written to ``<state dir>/kube/<namespace>/ca.pem``); the Trino password comes with the credentials,
    and classic Spark sessions' executors (in the worker pods) trust the pods' truststore.
    """
    settings = settings or LakehouseSettings()
    ns = namespace or settings.namespace
    from lakehouse_sdk.kube import _tls

    # secure mode: the stack's CA, from its Secret, in a file of this machine's state dir
    ca = _tls.write_client_ca(connect(settings).get("Secret", _tls.TLS_SECRET, ns), settings, ns)
    updated = read_credentials(settings, namespace=ns).apply_to(settings, secure=ca is not None)
    update: dict[str, Any] = {"namespace": ns}
    if ca is not None:
        update |= {"secure": True, "ca_bundle": ca}
        # a classic session's executors run in the worker pods: they trust the CA from the pods' own truststore
        from lakehouse_sdk.stack.secure import in_cluster_tls, jvm_trust_options

        executor = {"spark.executor.extraJavaOptions": " ".join(jvm_trust_options(in_cluster_tls()))}
        spark = updated.spark.model_copy(update={"conf": executor | updated.spark.conf})
        update["spark"] = spark
    return updated.model_copy(update=update)
