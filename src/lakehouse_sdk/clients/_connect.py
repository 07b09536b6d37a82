"""Reachability checks shared by the client factories: a clear error instead of a hang."""

from __future__ import annotations

import socket

from lakehouse_sdk.endpoints import Endpoint
from lakehouse_sdk.errors import ServiceUnavailableError
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.services import SERVICES

__all__ = ["next_step", "probe", "unavailable"]


def next_step(settings: LakehouseSettings, endpoint: Endpoint) -> str:
    """What the user should do when ``endpoint`` does not answer."""
    spec = SERVICES[endpoint.service]
    if endpoint.mode == "explicit":
        return f"check the URL and that the service runs there ({endpoint.reason})"
    if endpoint.mode == "in-cluster":
        return (
            f"check the Service and its pods: kubectl -n {settings.namespace} get svc/{spec.dns_name} pods; "
            "or run `lakehouse doctor`"
        )
    if endpoint.host in {"localhost", "127.0.0.1", "::1"}:
        return (
            "start the local stack with `lakehouse up --local` (or `lakehouse status` to see what is down); "
            "for a kind or minikube cluster set LAKEHOUSE_NODEPORT_HOST to the node's IP"
        )
    return (
        f"check that NodePort {endpoint.port} is reachable on {endpoint.host} "
        "(LAKEHOUSE_NODEPORT_HOST), or run `lakehouse doctor`"
    )


def unavailable(settings: LakehouseSettings, endpoint: Endpoint, cause: object) -> ServiceUnavailableError:
    """Build the error for a service that did not answer."""
    spec = SERVICES[endpoint.service]
    return ServiceUnavailableError(
        f"{endpoint.service} ({spec.description}) is not reachable at {endpoint.url}: {cause}. "
        f"The endpoint came from mode {endpoint.mode!r}: {endpoint.reason}. "
        f"Next step: {next_step(settings, endpoint)}.",
        service=endpoint.service,
        endpoint=endpoint.url,
    )


def probe(settings: LakehouseSettings, endpoint: Endpoint, timeout: float | None = None) -> None:
    """Open and close a TCP connection, or raise :class:`ServiceUnavailableError` within the timeout."""
    limit = settings.connect_timeout if timeout is None else timeout
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=limit):
            pass
    except OSError as exc:
        reason = f"timed out after {limit:.1f}s" if isinstance(exc, TimeoutError) else str(exc)
        raise unavailable(settings, endpoint, reason) from exc
