"""The error for invalid settings: each problem with its setting, source and variable, never a secret."""

from __future__ import annotations

from pydantic import ValidationError

from lakehouse_sdk._sources import DEFAULT_SOURCE, Provenance, env_name
from lakehouse_sdk.errors import ConfigurationError

__all__ = ["configuration_error"]

_SECRET_NAMES = {"access_key", "secret_key", "password", "jwt"}


def _is_shown(path: tuple[str, ...], known: set[str]) -> bool:
    """Whether a value at ``path`` may be echoed: a known setting that is not a secret (and no URL)."""
    if any(p in _SECRET_NAMES for p in path) or not path:
        return False
    if path[0] in {"endpoints", "spark"} and (len(path) == 1 or path[1] == "conf"):
        return False  # URLs may hold a password; Spark conf values may hold keys
    return path[0] in known


def configuration_error(
    exc: ValidationError, provenance: Provenance, known: set[str], prefix: tuple[str, ...] = ()
) -> ConfigurationError:
    """One :class:`ConfigurationError` for a pydantic ``ValidationError``: each problem with its setting, its
    source and its variable; a value only where the setting is known and not secret."""
    lines = []
    for err in exc.errors():
        path = prefix + tuple(str(p) for p in err["loc"])
        if path and path[-1] in {"schema_"}:
            path = (*path[:-1], "schema")
        source = provenance.get(path) or next(
            (v for k, v in provenance.items() if k[: len(path)] == path), DEFAULT_SOURCE
        )
        shown = _is_shown(path, known) and "input" in err and err["type"] != "extra_forbidden"
        given = f" = {err['input']!r}" if shown else ""
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(
            f"setting {'.'.join(path) or '(root)'}{given} (from {source}): {msg}. "
            f"Fix it there; the environment variable for it is {env_name(path)}."
        )
    return ConfigurationError("invalid lakehouse settings:\n  " + "\n  ".join(lines))
