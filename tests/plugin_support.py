"""How the tests load the pytest plugin in an inner pytest session: through its entry point when installed."""

from __future__ import annotations

from importlib.metadata import entry_points

PLUGIN_MODULE = "lakehouse_sdk.pytest_plugin"


def entry_point_installed() -> bool:
    """Whether an installed distribution registers the plugin under ``pytest11`` (``pip install -e .``)."""
    return any(ep.value == PLUGIN_MODULE for ep in entry_points(group="pytest11"))


def plugin_args() -> list[str]:
    """Nothing when the entry point loads the plugin, else ``-p`` (a checkout whose install predates it).

    Both at once would register the module twice, which pytest refuses.
    """
    return [] if entry_point_installed() else ["-p", PLUGIN_MODULE]
