"""Is a workload ready, has it failed, and what do its pods say about it.

Readiness is what the controllers report, never a guess: a Deployment is ready when its controller saw the
latest generation and every replica is updated and available; a StatefulSet when every replica is updated
and ready on the update revision; a Job when it is ``Complete``. A pod whose container cannot start (bad
image, crash loop, missing Secret key) fails the layer at once instead of waiting for the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakehouse_sdk.kube._api import KubeAPI

__all__ = ["WORKLOAD_KINDS", "Readiness", "diagnose", "pod_problems", "readiness"]

Obj = dict[str, Any]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
# Waiting reasons that do not resolve by waiting.
FATAL_REASONS = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


@dataclass(frozen=True)
class Readiness:
    """The state of one workload: ``ready``, ``failed`` and a one-line ``detail``."""

    kind: str
    name: str
    ready: bool
    failed: bool
    detail: str


def _condition(obj: Obj, kind: str) -> Obj | None:
    return next((c for c in obj.get("status", {}).get("conditions") or [] if c.get("type") == kind), None)


def readiness(obj: Obj) -> Readiness:
    """The readiness of a Deployment, StatefulSet or Job, as returned by the API."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    spec, status = obj.get("spec", {}), obj.get("status") or {}
    observed = status.get("observedGeneration", 0) >= obj["metadata"].get("generation", 1)
    if kind == "Job":
        failed = _condition(obj, "Failed")
        if failed and failed.get("status") == "True":
            return Readiness(kind, name, False, True, f"failed: {failed.get('reason')}: {failed.get('message')}")
        complete = _condition(obj, "Complete")
        done = bool(complete and complete.get("status") == "True")
        return Readiness(kind, name, done, False, "complete" if done else f"{status.get('active', 0)} active")
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    if kind == "Deployment":
        available = int(status.get("availableReplicas", 0))
        total = int(status.get("replicas", 0))
        ok = observed and updated == want and available == want and total == want
        progressing = _condition(obj, "Progressing")
        if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
            return Readiness(kind, name, False, True, f"rollout stalled: {progressing.get('message')}")
        extra = f", {total - want} old pod(s) still running" if total > want else ""
        return Readiness(kind, name, ok, False, f"{available}/{want} available, {updated}/{want} updated{extra}")
    ready = int(status.get("readyReplicas", 0))
    same_revision = status.get("currentRevision") == status.get("updateRevision") or want == 0
    ok = observed and ready == want and updated == want and same_revision
    return Readiness(kind, name, ok, False, f"{ready}/{want} ready, {updated}/{want} updated")


def selector_of(obj: Obj) -> str:
    """The workload's pod selector as a label-selector string."""
    labels = obj.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    if obj["kind"] == "Job":
        return f"job-name={obj['metadata']['name']}"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def pod_problems(pod: Obj) -> list[str]:
    """Fatal problems of one pod (empty when it may still become ready)."""
    status = pod.get("status") or {}
    problems = []
    if status.get("phase") == "Failed" and pod.get("metadata", {}).get("labels", {}).get("job-name") is None:
        problems.append(f"pod failed: {status.get('reason')}: {status.get('message')}")
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in FATAL_REASONS:
            problems.append(
                f"container {cs.get('name')}: {waiting.get('reason')}: {waiting.get('message', '')}".rstrip()
            )
    return problems


def _pod_summary(api: KubeAPI, namespace: str, pod: Obj) -> list[str]:
    meta, status = pod["metadata"], pod.get("status") or {}
    lines = [f"pod {meta['name']}: phase {status.get('phase', 'Unknown')}"]
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True":
            reason = ": ".join(str(x) for x in (cond.get("reason"), cond.get("message")) if x)
            lines.append(f"  condition {cond.get('type')}=False{f' ({reason})' if reason else ''}")
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for cs in statuses:
        state = cs.get("state") or {}
        for key in ("waiting", "terminated"):
            if key in state:
                info = state[key]
                lines.append(
                    f"  container {cs.get('name')} {key}: {info.get('reason')} {info.get('message', '')}".rstrip()
                )
    if statuses:
        for cs in statuses[-2:]:
            tail = api.log_tail(namespace, meta["name"], cs["name"], 10)
            lines.append(f"  log tail of {cs['name']}:\n" + "\n".join(f"    {line}" for line in tail.splitlines()))
    return lines


def diagnose(api: KubeAPI, namespace: str, workloads: list[Obj], *, events: int = 10) -> str:
    """Pod conditions, container states, recent events and log tails of the given workloads."""
    lines: list[str] = []
    names: set[str] = set()
    for obj in workloads:
        names.add(obj["metadata"]["name"])
        pods = api.list("Pod", namespace, selector=selector_of(obj))
        if not pods:
            lines.append(f"{obj['kind']} {obj['metadata']['name']}: no pods")
        pods.sort(key=lambda p: (p.get("status") or {}).get("phase") == "Running")
        for pod in pods[:3]:
            names.add(pod["metadata"]["name"])
            lines.extend(_pod_summary(api, namespace, pod))
        for rs in api.list("ReplicaSet", namespace, selector=selector_of(obj)) if obj["kind"] == "Deployment" else []:
            names.add(rs["metadata"]["name"])
    found = api.events(namespace, names)
    # warnings first to survive the cut, then shown in time order
    keep = [e for e in found if e.get("type") == "Warning"][-events // 2 :]
    keep += [e for e in found if e.get("type") != "Warning"][-(events - len(keep)) :]
    recent = [e for e in found if any(e is k for k in keep)]
    if recent:
        lines.append("recent events:")
        for e in recent:
            who = f"{e.get('involvedObject', {}).get('kind')}/{e.get('involvedObject', {}).get('name')}"
            lines.append(f"  {e.get('type')} {e.get('reason')} {who}: {str(e.get('message', '')).strip()}")
    else:
        lines.append("recent events: none")
    return "\n".join(lines)
