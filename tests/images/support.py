"""Helpers of the image smoke tests: the manifests as data, a podman driver that removes what it started,
waiting and probing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"
# podman's default rlimits exceed this host's hard limits (see the field notes, "Containers here")
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
# Trino refuses to start with fewer than 4096 open files: the most this host allows (hard limit 20000)
TRINO_ULIMITS = ["--ulimit", "nofile=16384:16384", "--ulimit", "nproc=4096:4096"]
PREFIX = "lakehouse-image-test"
# crun refuses this host's hybrid cgroup layout; runc runs (field notes, "Containers here")
PODMAN_GLOBAL = ["--runtime", "runc"]


def images_dir() -> Path:
    cache = os.environ.get("LAKEHOUSE_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lakehouse-sdk"
    )
    return Path(os.environ.get("LAKEHOUSE_IMAGES_DIR") or Path(cache) / "images")


def manifest_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
    return docs


def manifest_images() -> set[str]:
    """Every image reference of the manifests' pod templates (containers and init containers)."""
    refs: set[str] = set()
    for doc in manifest_docs():
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        for key in ("containers", "initContainers"):
            refs.update(c["image"] for c in spec.get(key, []))
    return refs


def container_spec(kind: str, name: str, container: str, *, init: bool = False) -> dict[str, Any]:
    """One container of a workload in the manifests."""
    for doc in manifest_docs():
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            spec = doc["spec"]["template"]["spec"]
            for c in spec.get("initContainers" if init else "containers", []):
                if c["name"] == container:
                    result: dict[str, Any] = c
                    return result
    raise LookupError(f"{kind}/{name} has no container {container}")


def config_map(name: str) -> dict[str, str]:
    for doc in manifest_docs():
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == name:
            data: dict[str, str] = doc["data"]
            return data
    raise LookupError(f"no ConfigMap {name}")


def plain_env(container: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
    """The container's env, Secret references resolved from ``secrets`` (by key)."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            env[item["name"]] = secrets[item["valueFrom"]["secretKeyRef"]["key"]]
    return env


def config_map_volume(root: Path, files: dict[str, str]) -> Path:
    """A directory laid out as the kubelet lays out a ConfigMap volume: the files live in a timestamped
    directory, ``..data`` links to it, and each key is a symlink through ``..data``."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = root / "..2026_01_01_00_00_00.000000001"
    stamp.mkdir()
    for key, text in files.items():
        target = stamp / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (root / "..data").symlink_to(stamp.name)
    for key in {k.split("/", 1)[0] for k in files}:
        (root / key).symlink_to(f"..data/{key}")
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def wait_for(what: str, check: Callable[[], bool], timeout: float, *, logs: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(1)
    tail = f"\n--- container log ---\n{logs()[-6000:]}" if logs else ""
    raise AssertionError(f"{what} not within {timeout:.0f}s{tail}")


def free_ports(count: int, first: int = 41000, last: int = 41999) -> list[int]:
    """``count`` ports in [first, last] that can be bound on 127.0.0.1 now. Fixed ports are not safe here:
    the range lies inside the kernel's ephemeral range (32768-60999), so a client connection of any
    process may hold one as its local port."""
    found: list[int] = []
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"fewer than {count} free ports in {first}-{last}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def http_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def http_status(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


@dataclass
class Podman:
    """Runs containers of the built images; remembers them so the fixture removes them afterwards."""

    started: list[str] = field(default_factory=list)
    runs: int = 0

    def cmd(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["podman", *PODMAN_GLOBAL, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"podman {' '.join(args[:6])} ... exited {proc.returncode}:\n{proc.stderr[-4000:]}")
        return proc

    def start(
        self,
        name: str,
        image: str,
        *args: str,
        env: dict[str, str] | None = None,
        options: list[str] | None = None,
        entrypoint: list[str] | None = None,
        ulimits: list[str] | None = None,
    ) -> str:
        """``podman run -d`` (never pulls); ``args`` replace the image's CMD (Kubernetes ``args``), and
        ``entrypoint`` its ENTRYPOINT (Kubernetes ``command``)."""
        full = f"{PREFIX}-{name}"
        self.cmd("rm", "-f", "-v", "--depend", full, check=False)
        argv = ["run", "-d", "--pull=never", "--name", full, *(ulimits or ULIMITS)]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        argv += options or []
        if entrypoint is not None:
            argv += ["--entrypoint", json.dumps(entrypoint)]
        self.started.append(full)
        self.cmd(*argv, image, *args)
        return full

    def run(
        self,
        image: str,
        *args: str,
        env: dict[str, str] | None = None,
        options: list[str] | None = None,
        entrypoint: list[str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """``podman run --rm`` in the foreground; returns the finished process (not checked)."""
        self.runs += 1
        name = f"{PREFIX}-run-{os.getpid()}-{self.runs}"
        self.started.append(name)
        argv = ["run", "--rm", "--pull=never", "--name", name, *ULIMITS]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        argv += options or []
        if entrypoint is not None:
            argv += ["--entrypoint", json.dumps(entrypoint)]
        return self.cmd(*argv, image, *args, timeout=timeout, check=False)

    def wait(self, name: str, what: str, check: Callable[[], bool], timeout: float) -> None:
        """Wait for ``check``; fail at once, with the log, if the container stops."""

        def ready() -> bool:
            if not self.running(name):
                raise AssertionError(f"{name} stopped while waiting for {what}:\n{self.logs(name)[-6000:]}")
            return check()

        wait_for(what, ready, timeout, logs=lambda: self.logs(name))

    def logs(self, name: str) -> str:
        proc = self.cmd("logs", name, check=False)
        return proc.stdout + proc.stderr

    def exec(self, name: str, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = ["--user", user] if user else []
        return self.cmd("exec", *extra, name, *args, check=False)

    def running(self, name: str) -> bool:
        proc = self.cmd("inspect", "--format", "{{.State.Running}}", name, check=False)
        return proc.stdout.strip() == "true"

    def exit_code(self, name: str) -> int | None:
        proc = self.cmd("inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", name, check=False)
        running, _, code = proc.stdout.strip().partition(" ")
        return None if running == "true" else int(code)

    def remove_all(self) -> None:
        for name in reversed(self.started):
            # --depend: also the containers that joined this one's network namespace
            self.cmd("rm", "-f", "-v", "--depend", "-t", "5", name, check=False)
        self.started.clear()


@dataclass(frozen=True)
class BuiltImages:
    directory: Path
    archives: dict[str, Path]  # reference -> docker-archive


def load_archives(directory: Path) -> dict[str, Path]:
    """``images.tsv`` of the build: reference -> archive."""
    archives: dict[str, Path] = {}
    for line in (directory / "images.tsv").read_text().splitlines():
        ref, file, *_ = line.split("\t")
        archives[ref] = directory / file
    return archives
