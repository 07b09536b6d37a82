"""ProvisionOptions: defaults, validation messages and the CLI flags."""

from __future__ import annotations

import argparse

import pytest

from lakehouse_sdk.cli.kube_args import add_cli_arguments, options_from_args
from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.kube.options import ProvisionOptions


def _parse(*argv: str) -> ProvisionOptions:
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    return options_from_args(parser.parse_args(list(argv)))


def test_defaults_match_the_reference_architecture() -> None:
    options = ProvisionOptions()
    assert options.namespace == "lakehouse"
    assert options.object_store == "seaweedfs"
    assert options.service_type == "NodePort"
    assert options.persistent is False
    assert options.spark_workers == 1
    assert options.credentials == "generate"


def test_cli_flags_build_options() -> None:
    options = _parse(
        "--namespace",
        "team-a",
        "--object-store",
        "minio",
        "--service-type",
        "ClusterIP",
        "--persistent",
        "--storage-class",
        "ssd",
        "--storage-size",
        "postgres=20Gi",
        "--spark-workers",
        "3",
        "--image",
        "trino=registry.example/trino:476",
        "--cpu",
        "trino=2:4",
        "--memory",
        "trino=6Gi:8Gi",
        "--credentials",
        "settings",
        "--timeout",
        "90",
    )
    assert options.namespace == "team-a"
    assert "namespace" in options.model_fields_set
    assert options.object_store == "minio"
    assert options.persistent and options.storage_class == "ssd" and options.postgres_size == "20Gi"
    assert options.spark_workers == 3
    assert options.images.trino == "registry.example/trino:476"
    trino = options.resources["trino"]
    assert (trino.cpu, trino.cpu_limit, trino.memory, trino.memory_limit) == ("2", "4", "6Gi", "8Gi")
    assert options.resources["postgres"].cpu == "250m"  # untouched components keep their defaults
    assert options.credentials == "settings"
    assert options.timeout == 90


def test_no_flags_leave_namespace_unset_for_settings() -> None:
    assert "namespace" not in _parse().model_fields_set


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"namespace": "Bad_Name"}, "option namespace"),
        ({"spark_workers": -1}, "option spark_workers"),
        ({"resources": {"trinoo": {"cpu": "1"}}}, "unknown component(s) trinoo"),
        ({"resources": {"trino": {"cpu": "lots"}}}, "not a Kubernetes quantity"),
        ({"buckets": ("Bad Bucket",)}, "is not an S3 bucket name"),
        ({"object_store": "ceph"}, "option object_store"),
    ],
)
def test_invalid_options_name_the_option(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid provisioning options") as info:
        ProvisionOptions.build(**values)
    assert message in str(info.value)


def test_bad_cli_pairs_are_explained() -> None:
    with pytest.raises(ConfigurationError, match="NAME=VALUE"):
        _parse("--image", "trino")
    with pytest.raises(ConfigurationError, match="only object-store and postgres"):
        _parse("--storage-size", "trino=1Gi")


def test_warehouse_and_spooling_buckets_are_always_created() -> None:
    options = ProvisionOptions(buckets=("raw",), warehouse_bucket="lake", spooling_bucket="spool")
    assert options.buckets == ("lake", "raw", "spool")
    assert ProvisionOptions(buckets=("raw",), warehouse_bucket="lake", trino_spooling=False).buckets == ("lake", "raw")
