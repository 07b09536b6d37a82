"""Reading what Trino prints, for tests that check it (the SDK itself no longer parses Trino's uptime)."""

from __future__ import annotations

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def airlift_seconds(text: str) -> float | None:
    """An airlift ``Duration`` as Trino prints it (``"6.79s"``, ``"1.50m"``) in seconds, ``None`` if unparseable."""
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :]
    try:
        return float(number) * _DURATION_UNITS[unit]
    except (KeyError, ValueError):
        return None
