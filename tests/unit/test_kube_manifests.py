"""The committed manifests/ are exactly what the renderer produces, and kustomize can build them."""

from __future__ import annotations

from pathlib import Path

from lakehouse_sdk.kube.manifests import manifest_files

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def test_committed_manifests_equal_render_output() -> None:
    expected = manifest_files()
    committed = {p.name: p.read_text() for p in MANIFESTS.glob("*.yaml")}
    assert sorted(committed) == sorted(expected), "regenerate: python -m lakehouse_sdk.kube.manifests manifests"
    for name, text in expected.items():
        assert committed[name] == text, f"manifests/{name} drifted: python -m lakehouse_sdk.kube.manifests manifests"


def test_kustomization_lists_layers_in_startup_order() -> None:
    text = manifest_files()["kustomization.yaml"]
    order = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    assert order[:2] == ["namespace.yaml", "config.yaml"]
    assert order[-1] == "trino.yaml"
