"""Import optional dependencies where they are used, with an install hint when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from lakehouse_sdk.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, *, extra: str, purpose: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``pip install 'lakehouse-sdk[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and module.split(".")[0] != exc.name.split(".")[0]:
            raise  # a broken install of something else; don't hide it
        raise MissingDependencyError(package or module.split(".")[0], extra, purpose) from exc
