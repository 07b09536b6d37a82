"""Where each service is: in-cluster DNS, a host NodePort, or an explicit URL.

Resolution never touches the network. The mode comes from ``settings.mode``; ``auto`` picks ``in-cluster``
when the process runs in a pod (a service-account token is mounted and ``KUBERNETES_SERVICE_HOST`` is set),
and ``nodeport`` otherwise. An explicit URL in ``settings.endpoints`` wins for that one service.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.endpoints import ENDPOINTS, EndpointSpec

__all__ = ["Endpoint", "forwarded_endpoint", "resolve_endpoint", "resolve_endpoints", "resolve_mode"]

# A URL without a port: the scheme's own port, or the stack's port for its service's scheme.
_DEFAULT_PORTS = {"http": 80, "https": 443, **{s.scheme: s.port for s in ENDPOINTS.values() if s.scheme != "http"}}


@dataclass(frozen=True)
class Endpoint:
    """A resolved service address.

    Attributes:
        service: the service key (``trino``, ``minio``, ...).
        scheme: ``http``, ``https``, ``thrift``, ``postgresql`` or ``spark``.
        host: host name or IP address.
        port: TCP port.
        mode: the mode that produced it (``in-cluster``, ``nodeport``, ``explicit``, ``port-forward``).
        reason: how the address was chosen, for error messages.
    """

    service: str
    scheme: str
    host: str
    port: int
    mode: str
    reason: str

    @property
    def url(self) -> str:
        """``scheme://host:port``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.url


def _in_pod(settings: LakehouseSettings) -> tuple[bool, str]:
    token = settings.serviceaccount_dir / "token"
    has_token = token.is_file()
    has_env = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    if has_token and has_env:
        return True, f"service-account token at {token} and KUBERNETES_SERVICE_HOST are present"
    missing = [] if has_token else [f"no service-account token at {token}"]
    if not has_env:
        missing.append("KUBERNETES_SERVICE_HOST is not set")
    return False, " and ".join(missing)


def resolve_mode(settings: LakehouseSettings) -> tuple[str, str]:
    """The effective mode and a sentence saying how it was chosen."""
    source = settings.source_of("mode")
    if settings.mode != "auto":
        return settings.mode, f"mode={settings.mode} from {source}"
    in_pod, why = _in_pod(settings)
    chosen = "in-cluster" if in_pod else "nodeport"
    return chosen, f"mode=auto ({source}) chose {chosen}: {why}"


def _pod_namespace(settings: LakehouseSettings) -> str | None:
    try:
        return (settings.serviceaccount_dir / "namespace").read_text().strip() or None
    except OSError:
        return None


def _explicit(settings: LakehouseSettings, spec: EndpointSpec) -> Endpoint:
    url = settings.endpoints[spec.key]
    source = settings.source_of("endpoints", spec.key)
    parts = urlsplit(url)
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme, spec.port)
    except ValueError as exc:
        raise ConfigurationError(
            f"endpoints.{spec.key} = {url!r} (from {source}) has an invalid port: {exc}. "
            "Write it as scheme://host:port."
        ) from None
    if not parts.hostname:
        raise ConfigurationError(
            f"endpoints.{spec.key} = {url!r} (from {source}) has no host. Write it as scheme://host:port."
        )
    return Endpoint(spec.key, parts.scheme, parts.hostname, port, "explicit", f"explicit URL from {source}")


# In secure mode these endpoints speak TLS on their usual ports (PostgreSQL negotiates TLS in its protocol).
SECURE_SCHEMES = {"minio": "https", "trino": "https"}  # the console (web UI) stays http on loopback


def security_line(settings: LakehouseSettings) -> str:
    """One line for ``lakehouse doctor``: which mode is on, and where that came from."""
    source = settings.source_of("secure")
    if not settings.secure:
        return (
            f"secure mode: off ({source}): the reference architecture's open development setup, plain http and no "
            "Trino password; LAKEHOUSE_SECURE=true turns on TLS and passwords"
        )
    ca = settings.tls_ca()
    trust = f"clients trust {ca}" if ca else "clients trust the system's CAs (no ca_bundle, no local stack CA yet)"
    return f"secure mode: on ({source}): TLS on the object store, Trino and PostgreSQL, Trino passwords; {trust}"


def scheme_of(settings: LakehouseSettings, key: str) -> str:
    """The URL scheme of an endpoint: ``https`` for the TLS endpoints in secure mode, else the spec's."""
    if settings.secure and key in SECURE_SCHEMES:
        return SECURE_SCHEMES[key]
    return ENDPOINTS[key].scheme


def resolve_endpoint(settings: LakehouseSettings, service: str, mode: tuple[str, str] | None = None) -> Endpoint:
    """Resolve one service's endpoint (see the module docstring for the rules)."""
    spec = ENDPOINTS[service]
    scheme = scheme_of(settings, spec.key)
    if spec.key in settings.endpoints:
        return _explicit(settings, spec)
    chosen, why = mode or resolve_mode(settings)
    if chosen == "in-cluster":
        own = _pod_namespace(settings)
        if own == settings.namespace:
            host = spec.dns_name
            why += f"; same namespace {own!r}, short name"
        else:
            host = f"{spec.dns_name}.{settings.namespace}.svc.cluster.local"
            why += f"; namespace {settings.namespace!r} from {settings.source_of('namespace')}"
        return Endpoint(spec.key, scheme, host, spec.port, chosen, why)
    if chosen == "port-forward":
        raise ConfigurationError(
            f"mode=port-forward ({settings.source_of('mode')}) opens forwards through the Kubernetes API: ask "
            "Lakehouse(...).endpoint() for the forwarded address, and close the Lakehouse when done."
        )
    if chosen == "nodeport":
        port = settings.nodeports.get(spec.key, spec.node_port)
        if spec.key in settings.nodeports:
            why += f"; port from {settings.source_of('nodeports', spec.key)}"
        return Endpoint(spec.key, scheme, settings.nodeport_host, port, "nodeport", why)
    raise ConfigurationError(
        f"mode=explicit ({settings.source_of('mode')}) but no URL is set for service {spec.key!r}. "
        f"Set LAKEHOUSE_ENDPOINTS__{spec.key.upper().replace('-', '_')}=scheme://host:port, "
        "or choose mode auto, nodeport or in-cluster."
    )


def resolve_endpoints(settings: LakehouseSettings) -> dict[str, Endpoint]:
    """All endpoints, resolved without touching the network (``explicit`` mode skips unset services)."""
    mode = resolve_mode(settings)
    out: dict[str, Endpoint] = {}
    for key in ENDPOINTS:
        if mode[0] == "explicit" and key not in settings.endpoints:
            continue
        out[key] = resolve_endpoint(settings, key, mode)
    return out


def forwarded_endpoint(settings: LakehouseSettings, service: str, address: tuple[str, int], why: str) -> Endpoint:
    """The endpoint of a port-forward to ``service``'s Kubernetes Service."""
    spec = ENDPOINTS[service]
    reason = f"{why}; port-forward to svc/{spec.dns_name}:{spec.port} in namespace {settings.namespace!r}"
    return Endpoint(spec.key, scheme_of(settings, spec.key), address[0], address[1], "port-forward", reason)
