"""Readiness and failure detection from API objects, offline."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse_sdk.cli import main
from lakehouse_sdk.kube._readiness import pod_problems, readiness


def _deployment(**status: Any) -> dict[str, Any]:
    meta = {"name": "trino", "generation": 2}
    return {"kind": "Deployment", "metadata": meta, "spec": {"replicas": 1}, "status": status}


def test_deployment_ready_only_when_rolled_out_and_available() -> None:
    done = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    assert readiness(_deployment(**done)).ready
    assert not readiness(_deployment(**{**done, "observedGeneration": 1})).ready
    rolling = readiness(_deployment(**{**done, "replicas": 2}))
    assert not rolling.ready
    assert "old pod(s) still running" in rolling.detail


def test_stalled_deployment_fails() -> None:
    cond = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "slow"}
    state = readiness(_deployment(observedGeneration=2, conditions=[cond]))
    assert state.failed


def test_statefulset_waits_for_the_update_revision() -> None:
    sts = {
        "kind": "StatefulSet",
        "metadata": {"name": "postgres", "generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1, "currentRevision": "a"},
    }
    status: dict[str, object] = sts["status"]  # type: ignore[assignment]
    status["updateRevision"] = "b"
    assert not readiness(sts).ready
    status["updateRevision"] = "a"
    assert readiness(sts).ready


def test_job_complete_and_failed() -> None:
    job = {"kind": "Job", "metadata": {"name": "minio-init"}, "spec": {}, "status": {}}
    assert not readiness(job).ready
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    assert readiness(job).ready
    job["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}
    assert readiness(job).failed


@pytest.mark.parametrize(
    "reason", ["ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "CreateContainerConfigError"]
)
def test_pods_that_cannot_start_fail_fast(reason: str) -> None:
    pod = {
        "metadata": {"name": "p"},
        "status": {"containerStatuses": [{"name": "trino", "state": {"waiting": {"reason": reason, "message": "x"}}}]},
    }
    assert pod_problems(pod) == [f"container trino: {reason}: x"]


def test_pending_pod_is_not_a_failure() -> None:
    assert pod_problems({"metadata": {"name": "p"}, "status": {"phase": "Pending"}}) == []


def test_cli_render_prints_the_manifests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--namespace", "gitops", "--spark-workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "namespace: gitops" in out
    assert "replicas: 2" in out
    assert "minioadmin" not in out  # placeholders are base64 in the Secret, never plain


def test_cli_render_takes_the_trino_workers(capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    assert main(["render", "--trino-workers", "3"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    workers = next(d for d in docs if d and d["kind"] == "Deployment" and d["metadata"]["name"] == "trino-worker")
    assert workers["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scale"], "--spark-workers N and/or --trino-workers N"),
        (["scale", "--spark-workers", "-1"], "scale_workers(-1): the number of workers cannot be negative"),
        (["scale", "--trino-workers", "101"], "scale_trino_workers(101): at most 100 workers"),
    ],
)
def test_cli_scale_refuses_what_it_cannot_do_before_touching_a_cluster(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    assert message in capsys.readouterr().err
