"""What :func:`lakehouse_sdk.health.check_all` returns: one result per check, and the report of them all."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CheckResult", "HealthReport"]

_COLOURS = {"healthy": "green", "partial": "darkorange", "not checked": "gray"}


@dataclass
class CheckResult:
    """The outcome of one service's check."""

    service: str
    endpoint: str
    ok: bool
    latency_ms: float
    detail: str
    hint: str = ""
    version: str | None = None
    status: str = "healthy"
    """``healthy``, ``UNHEALTHY``, ``partial`` (the service answered its protocol, but the client library for
    the full check is not installed) or ``not checked`` (a client library failed to import); ``ok`` is true
    for all but ``UNHEALTHY``, and the detail names the extra to install."""


@dataclass
class HealthReport:
    """Results of :func:`check_all`; prints as a table, renders as HTML in a notebook."""

    results: list[CheckResult] = field(default_factory=list)
    client_checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every service and client check passed."""
        return all(r.ok for r in self.results + self.client_checks)

    def __getitem__(self, service: str) -> CheckResult:
        for result in self.results:
            if result.service == service:
                return result
        raise KeyError(service)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "services": [asdict(r) for r in self.results],
            "clients": [asdict(r) for r in self.client_checks],
        }

    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (r.service, r.status, f"{r.latency_ms:.0f} ms", r.detail, "" if r.ok else r.hint)
            for r in self.results + self.client_checks
        ]

    def __str__(self) -> str:
        header = ("service", "status", "latency", "detail", "hint")
        rows = [header, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in rows
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"HealthReport(ok={self.ok})\n{self}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("service", "status", "latency", "detail", "hint"))
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="color:{_COLOURS.get(cell, "red")}">{html.escape(cell)}</td>'
                if i == 1
                else f"<td>{html.escape(cell)}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
            for row in self._rows()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
