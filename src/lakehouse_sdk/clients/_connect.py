"""Reachability checks and errors shared by the client factories: a clear error instead of a hang.

Two failures look alike to a user and need different next steps:

- *refused* (nothing listens, or the host cannot be reached): start the service, or fix the address;
- *no answer* (a TCP connection was made, but the service never replied within the timeout): it runs but
  is hung, stopped or overloaded; look at its logs, or restart it.
"""

from __future__ import annotations

import socket
from typing import Literal

from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import ServiceUnavailableError
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.endpoints import ENDPOINTS

__all__ = ["Failure", "next_step", "no_answer", "probe", "unavailable"]

Failure = Literal["refused", "no-answer", "no-connection"]


def next_step(settings: LakehouseSettings, endpoint: Endpoint, failure: Failure = "refused") -> str:
    """What the user should do when ``endpoint`` does not answer."""
    spec = ENDPOINTS[endpoint.service]
    local = endpoint.host in {"localhost", "127.0.0.1", "::1"} and endpoint.mode == "nodeport"
    if failure == "no-answer":
        if local:
            return (
                f"{endpoint.service} accepted the connection but is not answering: it is hung, stopped or "
                f"overloaded. See `lakehouse status` and `lakehouse logs {_process_name(endpoint.service)}`; "
                "`lakehouse down && lakehouse up --local` restarts the stack"
            )
        if endpoint.mode == "in-cluster" or endpoint.mode == "port-forward":
            return (
                f"{endpoint.service} accepted the connection but is not answering: look at its pod with "
                f"kubectl -n {settings.namespace} logs svc/{spec.dns_name} and `lakehouse doctor`"
            )
        return (
            f"the service at {endpoint.address} accepted the connection but is not answering: it is hung or "
            "overloaded, or the address is not this service"
        )
    if endpoint.mode == "explicit":
        return f"check the URL and that the service runs there ({endpoint.reason})"
    if endpoint.mode == "in-cluster":
        return (
            f"check the Service and its pods: kubectl -n {settings.namespace} get svc/{spec.dns_name} pods; "
            "or run `lakehouse doctor`"
        )
    if local:
        return (
            "start the local stack with `lakehouse up --local` (or `lakehouse status` to see what is down); "
            "for a kind or minikube cluster set LAKEHOUSE_NODEPORT_HOST to the node's IP"
        )
    return (
        f"check that NodePort {endpoint.port} is reachable on {endpoint.host} "
        "(LAKEHOUSE_NODEPORT_HOST), or run `lakehouse doctor`"
    )


def _process_name(service: str) -> str:
    return {"minio": "object-store", "minio-console": "object-store", "spark-master-ui": "spark-master"}.get(
        service, "spark-worker" if service == "spark-worker-ui" else service
    )


def unavailable(
    settings: LakehouseSettings, endpoint: Endpoint, cause: object, failure: Failure = "refused"
) -> ServiceUnavailableError:
    """Build the error for a service that did not answer (or whose TLS did not match the settings)."""
    spec = ENDPOINTS[endpoint.service]
    problem = tls_problem(settings, endpoint, str(cause))
    if problem is not None:
        return ServiceUnavailableError(
            f"{endpoint.service} ({spec.description}) at {endpoint.url}: {problem}",
            service=endpoint.service,
            endpoint=endpoint.url,
        )
    return ServiceUnavailableError(
        f"{endpoint.service} ({spec.description}) is not reachable at {endpoint.url}: {cause}. "
        f"The endpoint came from mode {endpoint.mode!r}: {endpoint.reason}. "
        f"Next step: {next_step(settings, endpoint, failure)}.",
        service=endpoint.service,
        endpoint=endpoint.url,
    )


def tls_problem(settings: LakehouseSettings, endpoint: Endpoint, text: str) -> str | None:
    """What a TLS failure in ``text`` means for these settings, and what to do; ``None``: not a TLS failure."""
    low = text.lower()
    ca = settings.tls_ca()
    trust = (
        f"the clients trust {ca} (ca_bundle from {settings.source_of('ca_bundle')})"
        if settings.ca_bundle is not None
        else f"the clients trust {ca} (the local stack's CA, secure from {settings.source_of('secure')})"
        if ca is not None
        else "the clients trust the system's CAs only (no ca_bundle, and no local stack CA)"
    )
    untrusted = ("certificate verify failed", "certificate_verify_failed", "self-signed certificate", "local issuer")
    if any(marker in low for marker in untrusted):
        return (
            f"its TLS certificate is not trusted ({text.strip()[:160]}); {trust}. Set LAKEHOUSE_CA_BUNDLE to the CA "
            "that signed the stack's certificates (the local stack's is <state dir>/tls/ca.pem; `lakehouse env` "
            "prints it as AWS_CA_BUNDLE)."
        )
    if "wrong version number" in low or "wrong_version_number" in low:
        return (
            "the client spoke TLS and the server answered in plain text: the service does not run in secure "
            f"mode, while secure is on (from {settings.source_of('secure')}) or the URL says https. Start the "
            "stack with the same LAKEHOUSE_SECURE, or drop it on this side."
        )
    closed = ("\\x15\\x03", "connection was closed", "connection aborted", "remote end closed")
    if endpoint.scheme == "http" and any(marker in low for marker in closed) and _speaks_tls(endpoint):
        return (
            "the service speaks TLS (https) and the client plain http: the stack runs in secure mode, and secure "
            f"is off here (from {settings.source_of('secure')}). Set LAKEHOUSE_SECURE=true (https, and the stack's "
            "CA), or an https:// URL in LAKEHOUSE_ENDPOINTS__<SERVICE>."
        )
    if "no encryption" in low and endpoint.service == "postgres":
        return (
            f"PostgreSQL accepts TLS connections only (the stack runs in secure mode), and postgres.sslmode is "
            f"{settings.postgres.sslmode!r} (from {settings.source_of('postgres', 'sslmode')}). Set "
            "LAKEHOUSE_SECURE=true (verify-full against the stack's CA), or LAKEHOUSE_POSTGRES__SSLMODE=require."
        )
    return None


def _speaks_tls(endpoint: Endpoint, timeout: float = 2.0) -> bool:
    """Whether the endpoint's port completes a TLS handshake (certificate unchecked: only the protocol)."""
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=endpoint.host),
        ):
            return True
    except (OSError, ValueError):
        return False


def no_answer(settings: LakehouseSettings, endpoint: Endpoint, seconds: float, setting: str) -> ServiceUnavailableError:
    """The error for a service that accepted a connection and then did not reply within ``seconds``."""
    return unavailable(
        settings,
        endpoint,
        f"connected but no answer within {seconds:g} s ({setting})",
        "no-answer",
    )


def probe(settings: LakehouseSettings, endpoint: Endpoint, timeout: float | None = None) -> None:
    """Open and close a TCP connection, or raise :class:`ServiceUnavailableError` within the timeout."""
    limit = settings.connect_timeout if timeout is None else timeout
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=limit):
            pass
    except OSError as exc:
        if isinstance(exc, TimeoutError):
            raise unavailable(
                settings, endpoint, f"no TCP connection within {limit:g} s (connect_timeout)", "no-connection"
            ) from None
        raise unavailable(settings, endpoint, f"connection refused or unreachable ({exc})") from None
