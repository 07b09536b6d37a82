"""A real single-node Kubernetes cluster for tests: real control plane, kubelet, containerd, CNI, kube-proxy, CoreDNS.

Everything runs as plain processes started by this module (there is no init system here), inside a network
namespace that this module creates (``lkh-node`` by default) and joined to the host by one veth pair:

* host side ``HOST_IP`` (10.213.0.1): the address pods use to reach processes on the host;
* node side ``NODE_IP`` (10.213.0.2): the node's InternalIP, the API server, and the only address NodePorts
  answer on (kube-proxy ``nodePortAddresses``). The host routes the pod and service ranges to it.

The namespace keeps the cluster away from everything else on this machine: kube-proxy's and the kubelet's
iptables chains, the CNI bridge, conntrack state, the components' listening ports (etcd, the API server, the
kubelet, containerd's stream server all bind inside it) never touch the host's loopback, where other stacks
run on 127.0.0.1. The namespace has no default route, so nothing in it (a pod, containerd pulling an image)
can reach beyond this machine; containerd also gets a proxy that refuses, so a missing image fails at once.

Binaries: ``scripts/build-kube-tools.sh`` (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kubectl) and ``scripts/build-kube-node.sh`` (kubelet, kube-proxy, coredns, crictl, pause and the OCI archives
of the pause, busybox and CoreDNS images); Debian's containerd, runc, CNI plugins and iptables.

Usage::

    node = start_real_node(workdir)
    node.kubectl("get", "nodes")
    node.load_image(Path("trino.oci.tar"))
    ...
    node.stop()    # no process, mount, network namespace, cgroup or iptables rule is left behind

This file is also a small CLI (stdlib only): ``python3 tests/kube/realnode.py oci-archive ...`` writes an OCI
image archive (used by build-kube-node.sh), ``... up WORKDIR`` starts a node and waits for Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

KUBE_VERSION = "v1.36.1"
COREDNS_VERSION = "v1.15.0"
PAUSE_IMAGE = f"localhost/lakehouse/pause:{KUBE_VERSION}"
COREDNS_IMAGE = f"localhost/lakehouse/coredns:{COREDNS_VERSION}"
STORAGE_CLASS = "lakehouse-local"
PROVISIONER = "lakehouse.local/hostpath"

CONTROL_PLANE_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
NODE_BINARIES = ("kubelet", "kube-proxy", "coredns", "crictl", "pause")
IMAGE_ARCHIVES = ("pause", "coredns", "busybox")
HOST_TOOLS = ("containerd", "ctr", "runc", "iptables", "ip", "nsenter", "openssl")
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
CNI_BIN_DIR = Path("/usr/lib/cni")
CGROUP_ROOT = Path("/sys/fs/cgroup")
STATE_DIR = Path("/run/lakehouse-realnode")
# Host-wide sysctls (not per network namespace) the kubelet checks at start, with the values it wants: with
# protectKernelDefaults false it writes them, with true it refuses to start if they differ. The kubelet runs
# in a mount namespace of its own where these /proc/sys files are covered by files holding its values, with
# protectKernelDefaults true: it changes nothing on the host. (They are also saved and restored, for safety.)
KERNEL_TUNABLES = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}
BUILD_HINT = (
    "Build them with scripts/build-kube-tools.sh and scripts/build-kube-node.sh "
    "(scripts/setup.sh runs both), or point LAKEHOUSE_KUBE_BIN at a directory that has them."
)


def cache_dir() -> Path:
    """``$LAKEHOUSE_CACHE_DIR`` or ``$XDG_CACHE_HOME/lakehouse-sdk`` (what the build scripts use)."""
    if os.environ.get("LAKEHOUSE_CACHE_DIR"):
        return Path(os.environ["LAKEHOUSE_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lakehouse-sdk"


def default_bin_dir() -> Path:
    return Path(os.environ.get("LAKEHOUSE_KUBE_BIN") or cache_dir() / "kube" / "bin")


def default_image_dir() -> Path:
    return cache_dir() / "kube" / "images"


class RealNodeError(RuntimeError):
    """The node could not be started (or stopped cleanly); the message names the component and its log tail."""


class ComponentDiedError(RealNodeError):
    """A component's process exited while the harness waited for it."""


# ------------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class NodeNetwork:
    """Names and address ranges; the defaults suit one node per machine. Interface names are <= 15 chars."""

    netns: str = "lkh-node"
    host_veth: str = "lkh-host0"
    node_veth: str = "lkh-node0"
    host_ip: str = "10.213.0.1"
    node_ip: str = "10.213.0.2"
    link_prefix: int = 30
    pod_cidr: str = "10.213.64.0/20"
    service_cidr: str = "10.213.96.0/20"
    kubernetes_service_ip: str = "10.213.96.1"
    dns_service_ip: str = "10.213.96.10"
    cluster_domain: str = "cluster.local"
    apiserver_port: int = 6443


@dataclass
class RealNode:
    """A running node; ``stop()`` takes everything down again."""

    workdir: Path
    bin_dir: Path
    network: NodeNetwork
    node_name: str
    kubeconfig: Path
    cgroup_name: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    kernel_tunables: dict[str, str] = field(default_factory=dict)
    _provisioner: PathProvisioner | None = None
    _stopped: bool = False

    # -------------------------------------------------------------------------------- addresses
    @property
    def node_ip(self) -> str:
        """The node's address: NodePorts answer here (and only here)."""
        return self.network.node_ip

    @property
    def host_ip(self) -> str:
        """The host's address as seen from pods (for a process on the host that pods must reach)."""
        return self.network.host_ip

    @property
    def containerd_socket(self) -> Path:
        return self.workdir / "run" / "containerd.sock"

    def log_path(self, component: str) -> Path:
        return self.workdir / "logs" / f"{component}.log"

    # -------------------------------------------------------------------------------- clients
    def kubectl(self, *args: str, input: str | None = None, timeout: float = 120, check: bool = True) -> str:
        """Run the harness's kubectl against this node (from the host); returns stdout."""
        proc = subprocess.run(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RealNodeError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def ctr(self, *args: str, timeout: float = 600) -> str:
        return _run(
            ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args], timeout=timeout
        ).stdout

    def crictl(self, *args: str, timeout: float = 120) -> str:
        sock = f"unix://{self.containerd_socket}"
        cmd = [str(self.bin_dir / "crictl"), "--runtime-endpoint", sock, "--image-endpoint", sock, *args]
        return _run(cmd, timeout=timeout).stdout

    def load_image(self, archive: Path) -> list[str]:
        """Import an OCI or docker archive into containerd's CRI namespace; returns the image names it holds."""
        return load_image_archive(self.containerd_socket, archive)

    def images(self) -> list[str]:
        return [line for line in self.ctr("images", "list", "--quiet").splitlines() if line]

    # -------------------------------------------------------------------------------- stop
    def stop(self) -> None:
        """Stop everything; raises RealNodeError if anything could not be removed (after trying all of it)."""
        if self._stopped:
            return
        self._stopped = True
        problems: list[str] = []
        if self._provisioner is not None:
            self._provisioner.stop()
        # The kubelet first, so it does not restart what we remove; then the pods through the CRI, which
        # runs the CNI DEL (veth, IPAM) and unmounts the sandboxes' shm and netns files.
        _terminate(self.processes.pop("kubelet", None))
        if self.containerd_socket.exists() and "containerd" in self.processes:
            try:
                self.crictl("rmp", "--all", "--force", timeout=120)
            except RealNodeError as exc:
                problems.append(f"removing pods: {exc}")
        for name in ("kube-proxy", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd", "containerd"):
            _terminate(self.processes.pop(name, None))
        problems += _teardown(self.workdir, self.network, self.cgroup_name)
        problems += _restore_tunables(self.kernel_tunables)
        with contextlib.suppress(FileNotFoundError):
            (STATE_DIR / f"{self.network.netns}.json").unlink()
        if problems:
            raise RealNodeError("stopping the node left things behind:\n" + "\n".join(problems))

    def leftovers(self) -> list[str]:
        """What of this node is still there (empty after a clean stop): processes, mounts, netns, cgroups."""
        found = _leftovers(self.workdir, self.network, self.cgroup_name)
        now = _read_tunables()
        found += [f"sysctl {k}={now[k]} (was {v})" for k, v in self.kernel_tunables.items() if now.get(k) != v]
        return found


# ------------------------------------------------------------------------------------------------ helpers
def _run(
    cmd: Sequence[str], *, timeout: float = 120, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=False, input=input)
    except FileNotFoundError as exc:
        raise RealNodeError(f"{cmd[0]}: not found ({BUILD_HINT})") from exc
    if check and proc.returncode != 0:
        raise RealNodeError(
            f"{' '.join(cmd)} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}"
        )
    return proc


def _in_netns(netns: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run(["nsenter", f"--net=/run/netns/{netns}", "--", *cmd], check=check)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _wait_for(
    what: str, check: Callable[[], bool], timeout: float, log: Path | None = None, interval: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except ComponentDiedError:
            raise
        except (RealNodeError, subprocess.SubprocessError, OSError):
            pass
        if time.monotonic() > deadline:
            tail = f"\n--- {log} (tail) ---\n{_tail(log)}" if log else ""
            raise RealNodeError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(interval)


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def check_prerequisites(bin_dir: Path, image_dir: Path) -> None:
    """Fail with one message naming everything that is missing and the script that provides it."""
    missing = [str(bin_dir / b) for b in (*CONTROL_PLANE_BINARIES, *NODE_BINARIES) if not (bin_dir / b).is_file()]
    missing += [str(image_dir / f"{i}.oci.tar") for i in IMAGE_ARCHIVES if not (image_dir / f"{i}.oci.tar").is_file()]
    missing += [t for t in HOST_TOOLS if shutil.which(t) is None]
    missing += [str(CNI_BIN_DIR / p) for p in CNI_PLUGINS if not (CNI_BIN_DIR / p).is_file()]
    if missing:
        raise RealNodeError(f"the real-node harness needs {', '.join(missing)}. {BUILD_HINT}")
    if os.geteuid() != 0:
        raise RealNodeError("the real-node harness must run as root (network namespace, mounts, cgroups)")


# ------------------------------------------------------------------------------------------------ cgroups
def _cgroup_hierarchies() -> list[Path]:
    """The cgroup v1 hierarchies (and the unified one, if mounted) that processes live in."""
    return sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir() and (p / "cgroup.procs").exists())


def _make_cgroups(name: str) -> None:
    """``/<name>`` (the kubelet's cgroupRoot) and ``/<name>/daemons`` in every hierarchy."""
    for h in _cgroup_hierarchies():
        for sub in (h / name, h / name / "daemons"):
            sub.mkdir(exist_ok=True)
            if (h / "cpuset.cpus").exists():  # cgroup v1 cpuset: children start empty and accept no task
                for f in ("cpuset.cpus", "cpuset.mems"):
                    if not (sub / f).read_text().strip():
                        (sub / f).write_text((sub.parent / f).read_text())


def _join_cgroup(name: str, pid: int) -> None:
    for h in _cgroup_hierarchies():
        with contextlib.suppress(OSError):
            (h / name / "daemons" / "cgroup.procs").write_text(str(pid))


def _cgroup_pids(name: str) -> set[int]:
    pids: set[int] = set()
    for h in _cgroup_hierarchies():
        top = h / name
        if not top.is_dir():
            continue
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                pids.update(int(x) for x in procs.read_text().split())
    return pids


def _remove_cgroups(name: str) -> list[str]:
    problems = []
    for h in _cgroup_hierarchies():
        top = h / name
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()
        try:
            top.rmdir()
        except OSError as exc:
            problems.append(f"cgroup {top}: {exc}")
    return problems


# ------------------------------------------------------------------------------------------------ mounts
def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix) or point == prefix[:-1]:
                found.append(point)
    return found


def _unmount_all(root: Path) -> list[str]:
    for _ in range(5):
        points = _mounts_under(root)
        if not points:
            return []
        for point in sorted(points, key=len, reverse=True):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    return [f"mount still there: {p}" for p in _mounts_under(root)]


# ------------------------------------------------------------------------------------------------ teardown
def _netns_exists(netns: str) -> bool:
    return Path("/run/netns", netns).exists()


def _kill_pids(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _teardown(workdir: Path, network: NodeNetwork, cgroup_name: str) -> list[str]:
    """Kill whatever is left in our cgroups, unmount under workdir, delete the netns and the cgroups."""
    problems: list[str] = []
    deadline = time.monotonic() + 30
    while (pids := _cgroup_pids(cgroup_name)) and time.monotonic() < deadline:
        _kill_pids(pids)
        time.sleep(0.3)
    if pids := _cgroup_pids(cgroup_name):
        problems.append(f"processes still alive in cgroup /{cgroup_name}: {sorted(pids)}")
    problems += _unmount_all(workdir)
    # containerd-shim's sockets live in a fixed directory; a killed shim leaves its socket file behind
    tasks = workdir / "containerd" / "state" / "io.containerd.runtime.v2.task"
    for address in tasks.glob("*/*/address") if tasks.is_dir() else ():
        with contextlib.suppress(OSError, ValueError):
            sock = Path(address.read_text().strip().removeprefix("unix://"))
            if sock.parent == Path("/run/containerd/s"):
                sock.unlink(missing_ok=True)
    # the kubelet keeps symlinks to container logs in a fixed directory; drop the ones that point at us
    logs = Path("/var/log/containers")
    if logs.is_dir():
        for link in logs.iterdir():
            with contextlib.suppress(OSError):
                if link.is_symlink() and str(workdir.resolve()) in os.readlink(link):
                    link.unlink()
    # directories the runtime and the kubelet create at fixed places, removed only when nothing else uses them
    for empty in (Path("/run/containerd/s"), Path("/run/containerd"), Path("/var/log/containers")):
        with contextlib.suppress(OSError):
            empty.rmdir()
    if _netns_exists(network.netns):
        # Deleting the namespace removes its interfaces (the veth pair, the CNI bridge, pod veths) and all
        # of its iptables rules and chains; the host routes through the veth go with it.
        proc = subprocess.run(["ip", "netns", "delete", network.netns], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            problems.append(f"ip netns delete {network.netns}: {proc.stderr.strip()}")
    if Path("/sys/class/net", network.host_veth).exists():
        subprocess.run(["ip", "link", "delete", network.host_veth], capture_output=True, check=False)
    problems += _remove_cgroups(cgroup_name)
    return problems


def _read_tunables() -> dict[str, str]:
    return {t: Path("/proc/sys", t).read_text().strip() for t in KERNEL_TUNABLES}


def _restore_tunables(saved: dict[str, str]) -> list[str]:
    problems = []
    for name, value in saved.items():
        path = Path("/proc/sys", name)
        try:
            if path.read_text().strip() != value:
                path.write_text(value)
        except OSError as exc:
            problems.append(f"sysctl {name}: could not restore {value}: {exc}")
    return problems


def _leftovers(workdir: Path, network: NodeNetwork, cgroup_name: str) -> list[str]:
    found = [f"process {p}" for p in sorted(_cgroup_pids(cgroup_name))]
    found += [f"mount {m}" for m in _mounts_under(workdir)]
    if _netns_exists(network.netns):
        found.append(f"netns {network.netns}")
    if Path("/sys/class/net", network.host_veth).exists():
        found.append(f"interface {network.host_veth}")
    found += [f"cgroup {h / cgroup_name}" for h in _cgroup_hierarchies() if (h / cgroup_name).exists()]
    return found


def cleanup_stale(netns: str = NodeNetwork.netns) -> None:
    """Tear down what a crashed earlier run left (recorded in /run/lakehouse-realnode/<netns>.json)."""
    record = STATE_DIR / f"{netns}.json"
    if not record.exists():
        return
    state = json.loads(record.read_text())
    owner = state.get("owner")
    if owner and owner != os.getpid() and Path(f"/proc/{owner}").exists():
        raise RealNodeError(f"a node {netns} of process {owner} is running (workdir {state['workdir']}): stop it first")
    for pid in state.get("pids", []):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    network = NodeNetwork(**state["network"])
    problems = _teardown(Path(state["workdir"]), network, state["cgroup"])
    problems += _restore_tunables(state.get("kernel_tunables", {}))
    if problems:
        raise RealNodeError(f"could not clean up the earlier node {netns}: {problems}")
    record.unlink()


# ------------------------------------------------------------------------------------------------ PKI
def _openssl(*args: str) -> None:
    _run(["openssl", *args])


def _issue(pki: Path, name: str, subject: str, sans: Sequence[str] = (), server: bool = False) -> None:
    key, crt = pki / f"{name}.key", pki / f"{name}.crt"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    usage = "serverAuth,clientAuth" if server else "clientAuth"
    ext = [
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature,keyEncipherment",
    ]
    ext += ["-addext", f"extendedKeyUsage={usage}"]
    if sans:
        ext += ["-addext", "subjectAltName=" + ",".join(sans)]
    _openssl(
        "req", "-x509", "-new", "-key", str(key), "-subj", subject, "-days", "3650", "-out", str(crt),
        "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"), *ext,
    )  # fmt: skip


def _make_pki(pki: Path, network: NodeNetwork, node_name: str) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(pki / "ca.key"))
    _openssl(
        "req", "-x509", "-new", "-key", str(pki / "ca.key"), "-subj", "/CN=lakehouse-realnode-ca", "-days", "3650",
        "-out", str(pki / "ca.crt"), "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip
    d = network.cluster_domain
    api_sans = [f"IP:{network.node_ip}", f"IP:{network.kubernetes_service_ip}", "IP:127.0.0.1", "DNS:localhost"]
    api_sans += [
        f"DNS:{n}"
        for n in ("kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{d}")
    ]
    _issue(pki, "apiserver", "/CN=kube-apiserver", api_sans, server=True)
    _issue(pki, "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client")
    _issue(pki, "admin", "/O=system:masters/CN=lakehouse-admin")
    _issue(pki, "kube-controller-manager", "/CN=system:kube-controller-manager")
    _issue(pki, "kube-scheduler", "/CN=system:kube-scheduler")
    _issue(pki, "kube-proxy", "/CN=system:kube-proxy")
    _issue(pki, "kubelet", f"/O=system:nodes/CN=system:node:{node_name}")
    _issue(pki, "kubelet-serving", f"/CN={node_name}", [f"IP:{network.node_ip}", f"DNS:{node_name}"], server=True)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(pki / "sa.key"))


def _kubeconfig(path: Path, server: str, pki: Path, user: str) -> Path:
    return _write(
        path,
        f"""apiVersion: v1
kind: Config
clusters:
- name: lakehouse-realnode
  cluster:
    server: {server}
    certificate-authority: {pki / "ca.crt"}
users:
- name: {user}
  user:
    client-certificate: {pki / f"{user}.crt"}
    client-key: {pki / f"{user}.key"}
contexts:
- name: lakehouse-realnode
  context: {{cluster: lakehouse-realnode, user: {user}}}
current-context: lakehouse-realnode
""",
        0o600,
    )


# ------------------------------------------------------------------------------------------------ configs
# Open files a container may have: containerd's default spec gives 1024, which Trino refuses (it needs 4096);
# the host's hard limit here is 20000, so a base spec asking more than that would fail every container.
CONTAINER_NOFILE = 16384


def _base_runtime_spec(workdir: Path) -> Path:
    """containerd's default OCI spec with a higher RLIMIT_NOFILE, for CRI's ``base_runtime_spec``."""
    spec = json.loads(_run(["ctr", "oci", "spec"]).stdout)
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": CONTAINER_NOFILE, "soft": CONTAINER_NOFILE}]
    return _write(workdir / "etc" / "base-runtime-spec.json", json.dumps(spec, indent=2))


def _containerd_config(workdir: Path, sock: Path) -> str:
    c = workdir / "containerd"
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{c / "root"}"
state = "{c / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{c / "opt"}"

[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID")
  restrict_oom_score_adj = true
  # inside the node's network namespace: loopback there is the namespace's own
  stream_server_address = "127.0.0.1"
  stream_server_port = "10010"
  enable_selinux = false
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      base_runtime_spec = "{_base_runtime_spec(workdir)}"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{workdir / "runc"}"
  [{cri}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{workdir / "cni" / "net.d"}"
    max_conf_num = 1
  [{cri}.registry]
    # an empty hosts directory: no mirror, no credentials; pulls fail inside the namespace (no route out)
    config_path = "{c / "certs.d"}"
"""


def _cni_config(workdir: Path, network: NodeNetwork) -> str:
    conf = {
        "cniVersion": "0.4.0",
        "name": "lakehouse-realnode",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": network.pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(workdir / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }
    return json.dumps(conf, indent=2)


def _kubelet_config(workdir: Path, network: NodeNetwork, pki: Path, cgroup_name: str, sock: Path) -> str:
    return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {network.node_ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: {pki / "kubelet-serving.crt"}
tlsPrivateKeyFile: {pki / "kubelet-serving.key"}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {pki / "ca.crt"}}}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://{sock}
imageServiceEndpoint: unix://{sock}
cgroupDriver: cgroupfs
cgroupRoot: /{cgroup_name}
failCgroupV1: false
failSwapOn: false
clusterDomain: {network.cluster_domain}
clusterDNS: [{network.dns_service_ip}]
resolvConf: {workdir / "resolv.conf"}
podLogsDir: {workdir / "pod-logs"}
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
protectKernelDefaults: true
"""


def _kube_proxy_config(network: NodeNetwork, kubeconfig: Path, node_name: str) -> str:
    return f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: {kubeconfig}
mode: iptables
hostnameOverride: {node_name}
clusterCIDR: {network.pod_cidr}
bindAddress: {network.node_ip}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["{network.node_ip}/32"]
iptables:
  localhostNodePorts: false
  syncPeriod: 30s
  minSyncPeriod: 1s
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
"""


def _cluster_addons(network: NodeNetwork) -> str:
    """CoreDNS (kube-dns Service at the fixed DNS address) and the default StorageClass."""
    d = network.cluster_domain
    return f"""apiVersion: v1
kind: ServiceAccount
metadata: {{name: coredns, namespace: kube-system}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: "system:coredns"}}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: "system:coredns"}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}}
subjects: [{{kind: ServiceAccount, name: coredns, namespace: kube-system}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: coredns, namespace: kube-system}}
data:
  Corefile: |
    # The cluster's zones only. No forward plugin is built in: any other name is answered NXDOMAIN here.
    {d}:53 in-addr.arpa:53 ip6.arpa:53 {{
        errors
        health :8080
        ready :8181
        kubernetes {d} in-addr.arpa ip6.arpa {{
            pods insecure
            ttl 30
        }}
        cache 30
        loadbalance
        reload
    }}
    .:53 {{
        errors
        template ANY ANY {{
            rcode NXDOMAIN
        }}
    }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {{k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {{matchLabels: {{k8s-app: kube-dns}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-dns}}}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      containers:
      - name: coredns
        image: {COREDNS_IMAGE}
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - {{name: dns, containerPort: 53, protocol: UDP}}
        - {{name: dns-tcp, containerPort: 53, protocol: TCP}}
        readinessProbe:
          httpGet: {{path: /ready, port: 8181}}
          periodSeconds: 2
        livenessProbe:
          httpGet: {{path: /health, port: 8080}}
          periodSeconds: 10
          failureThreshold: 5
        resources:
          requests: {{cpu: 50m, memory: 32Mi}}
          limits: {{memory: 128Mi}}
        volumeMounts: [{{name: config, mountPath: /etc/coredns, readOnly: true}}]
      volumes:
      - name: config
        configMap: {{name: coredns}}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {{k8s-app: kube-dns}}
spec:
  clusterIP: {network.dns_service_ip}
  selector: {{k8s-app: kube-dns}}
  ports:
  - {{name: dns, port: 53, protocol: UDP}}
  - {{name: dns-tcp, port: 53, protocol: TCP}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {STORAGE_CLASS}
  annotations: {{storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: {PROVISIONER}
reclaimPolicy: Delete
volumeBindingMode: Immediate
"""


# ------------------------------------------------------------------------------------------------ provisioner
class PathProvisioner:
    """A small dynamic provisioner for the default StorageClass: one host directory (mode 0777) per claim.

    It runs as a thread of the harness, polls the API through kubectl, creates a hostPath PV pre-bound to each
    pending claim of its class, and deletes PV and directory when a released PV has reclaimPolicy Delete.
    """

    def __init__(self, node: RealNode, root: Path, interval: float = 2.0) -> None:
        self.node = node
        self.root = root
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="realnode-provisioner", daemon=True)
        self.errors: list[str] = []

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except (RealNodeError, subprocess.SubprocessError, OSError, ValueError) as exc:
                self.errors.append(str(exc))
                del self.errors[:-20]
            self._stop.wait(self.interval)

    def sync(self) -> None:
        # one API round trip per pass (a kubectl call costs ~0.1 s of CPU on this 2-core machine)
        items = self.node.kubectl_json("get", "storageclass,pv,pvc", "--all-namespaces")["items"]
        classes = [i for i in items if i["kind"] == "StorageClass"]
        pvs = [i for i in items if i["kind"] == "PersistentVolume"]
        ours = {c["metadata"]["name"] for c in classes if c.get("provisioner") == PROVISIONER}
        default = next(
            (
                c["metadata"]["name"]
                for c in classes
                if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"
            ),
            None,
        )
        claimed = {pv["spec"]["claimRef"].get("uid") for pv in pvs if pv["spec"].get("claimRef")}
        for pvc in (i for i in items if i["kind"] == "PersistentVolumeClaim"):
            cls = pvc["spec"].get("storageClassName", default)
            if pvc["status"].get("phase") == "Pending" and cls in ours and pvc["metadata"]["uid"] not in claimed:
                self._provision(pvc, cls)
        for pv in pvs:
            if pv["metadata"].get("annotations", {}).get("pv.kubernetes.io/provisioned-by") != PROVISIONER:
                continue
            if pv["status"].get("phase") == "Released" and pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
                self.node.kubectl("delete", "pv", pv["metadata"]["name"], "--wait=false")
                shutil.rmtree(pv["spec"]["hostPath"]["path"], ignore_errors=True)

    def _provision(self, pvc: dict[str, Any], storage_class: str) -> None:
        uid = pvc["metadata"]["uid"]
        path = self.root / f"{pvc['metadata']['namespace']}-{pvc['metadata']['name']}-{uid[:8]}"
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)  # the workloads run as various uids; a hostPath volume gets no fsGroup chown
        size = pvc["spec"].get("resources", {}).get("requests", {}).get("storage", "1Gi")
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pvc-{uid}", "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": storage_class,
                "volumeMode": pvc["spec"].get("volumeMode", "Filesystem"),
                "hostPath": {"path": str(path), "type": "Directory"},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": pvc["metadata"]["namespace"],
                    "name": pvc["metadata"]["name"],
                    "uid": uid,
                },
            },
        }
        self.node.kubectl("create", "-f", "-", input=json.dumps(pv))


# ------------------------------------------------------------------------------------------------ images
def load_image_archive(containerd_socket: Path, archive: Path) -> list[str]:
    """``ctr -n k8s.io images import`` an OCI or docker archive; returns the names it brought in.

    Names are taken from the archive (``io.containerd.image.name`` / ``org.opencontainers.image.ref.name``
    annotations of an OCI archive, ``RepoTags`` of a docker archive): they must be the exact names the pods use.
    """
    if not archive.is_file():
        raise RealNodeError(f"image archive {archive} does not exist")
    proc = _run(
        ["ctr", "--address", str(containerd_socket), "--namespace", "k8s.io", "images", "import", str(archive)],
        timeout=1800,
    )
    names = []
    for line in proc.stdout.splitlines():
        # ctr prints "unpacking <name> (sha256:...)...done"
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "unpacking":
            names.append(parts[1])
    return names


def write_oci_archive(
    out: Path,
    ref: str,
    files: Sequence[tuple[Path, str]],
    *,
    entrypoint: Sequence[str] = (),
    cmd: Sequence[str] = (),
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",),
    symlinks: Sequence[tuple[str, str]] = (),
    dirs: Sequence[str] = ("tmp",),
) -> None:
    """Write a one-layer OCI image archive (an OCI layout in a tar), reproducibly, with the stdlib only.

    ``files`` are (host file, path in the image) pairs, ``symlinks`` (link path, target) pairs.
    """
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.PAX_FORMAT) as layer:
        made: set[str] = set()

        def add_dir(path: str, mode: int = 0o755) -> None:
            parts = path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d and d not in made:
                    made.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode if d == path.strip("/") else 0o755, 0
                    layer.addfile(info)

        for d in dirs:
            add_dir(d, 0o1777 if d.strip("/") == "tmp" else 0o755)
        for src, dest in sorted(files, key=lambda f: f[1]):
            dest = dest.strip("/")
            add_dir(os.path.dirname(dest))
            info = tarfile.TarInfo(dest)
            data = src.read_bytes()
            info.size, info.mode, info.mtime = len(data), src.stat().st_mode & 0o7777 or 0o755, 0
            layer.addfile(info, io.BytesIO(data))
        for link, target in sorted(symlinks):
            link = link.strip("/")
            add_dir(os.path.dirname(link))
            info = tarfile.TarInfo(link)
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, 0
            layer.addfile(info)
    layer_bytes = layer_buf.getvalue()

    def blob(data: bytes) -> tuple[str, int]:
        return "sha256:" + hashlib.sha256(data).hexdigest(), len(data)

    layer_digest, layer_size = blob(layer_bytes)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": list(entrypoint) or None,
            "Cmd": list(cmd) or None,
            "Env": list(env),
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "tests/kube/realnode.py oci-archive"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest, config_size = blob(config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest, manifest_size = blob(manifest_bytes)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_size,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref},
            }
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))

        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", json.dumps(index, sort_keys=True).encode())
        for digest, data in (
            (layer_digest, layer_bytes),
            (config_digest, config_bytes),
            (manifest_digest, manifest_bytes),
        ):
            add(f"blobs/sha256/{digest.split(':', 1)[1]}", data)


# ------------------------------------------------------------------------------------------------ start
def _setup_network(network: NodeNetwork) -> None:
    n = network
    _run(["ip", "netns", "add", n.netns])
    _run(["ip", "link", "add", n.host_veth, "type", "veth", "peer", "name", n.node_veth])
    _run(["ip", "link", "set", n.node_veth, "netns", n.netns])
    _run(["ip", "addr", "add", f"{n.host_ip}/{n.link_prefix}", "dev", n.host_veth])
    _run(["ip", "link", "set", n.host_veth, "up"])
    _in_netns(n.netns, "ip", "link", "set", "lo", "up")
    _in_netns(n.netns, "ip", "addr", "add", f"{n.node_ip}/{n.link_prefix}", "dev", n.node_veth)
    _in_netns(n.netns, "ip", "link", "set", n.node_veth, "up")
    # Pod traffic to the host (and NodePort traffic to pods) is routed by the namespace: forwarding on there,
    # and bridged pod-to-service traffic must pass iptables. Both sysctls are per network namespace.
    _in_netns(n.netns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    _in_netns(n.netns, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1")
    # The host reaches pods and services through the node address (routes vanish with the veth).
    for cidr in (n.pod_cidr, n.service_cidr):
        _run(["ip", "route", "add", cidr, "via", n.node_ip, "dev", n.host_veth])


def start_real_node(
    workdir: Path,
    *,
    bin_dir: Path | None = None,
    image_dir: Path | None = None,
    network: NodeNetwork | None = None,
    node_name: str = "lakehouse-node",
    timeout: float = 180,
    extra_images: Sequence[Path] = (),
) -> RealNode:
    """Start control plane, containerd, kubelet, kube-proxy, CoreDNS and the PV provisioner; wait until usable.

    Returns when the node is Ready and CoreDNS answers. On failure everything started so far is stopped and a
    RealNodeError names the component with the tail of its log (logs stay in ``workdir/logs``).
    """
    bin_dir = bin_dir or default_bin_dir()
    image_dir = image_dir or default_image_dir()
    network = network or NodeNetwork()
    check_prerequisites(bin_dir, image_dir)
    workdir = workdir.resolve()
    if len(str(workdir)) > 60:  # unix socket paths (containerd, its shims) are limited to 108 bytes
        raise RealNodeError(f"workdir path too long for unix sockets: {workdir}")
    cleanup_stale(network.netns)
    if _netns_exists(network.netns):
        raise RealNodeError(f"network namespace {network.netns} exists already: another node is running here?")
    for sub in ("logs", "run", "pki", "etc", "pod-logs", "cni/net.d", "containerd/certs.d", "volumes"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    cgroup_name = f"lakehouse-{network.netns}"
    pki = workdir / "pki"
    server = f"https://{network.node_ip}:{network.apiserver_port}"
    node = RealNode(
        workdir=workdir,
        bin_dir=bin_dir,
        network=network,
        node_name=node_name,
        kubeconfig=_kubeconfig(workdir / "etc" / "admin.kubeconfig", server, pki, "admin"),
        cgroup_name=cgroup_name,
    )
    node.kernel_tunables = _read_tunables()
    t_start = time.monotonic()

    def mark(step: str) -> None:
        node.timings[step] = round(time.monotonic() - t_start, 2)

    def spawn(name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log: IO[bytes] = open(node.log_path(name), "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{network.netns}", "--", *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=workdir,
        )
        log.close()
        _join_cgroup(cgroup_name, proc.pid)
        node.processes[name] = proc
        _record_state(node)
        return proc

    def alive(name: str) -> None:
        proc = node.processes[name]
        if proc.poll() is not None:
            raise ComponentDiedError(f"{name} exited with {proc.returncode}:\n{_tail(node.log_path(name))}")

    def wait(what: str, component: str, check: Callable[[], bool], limit: float = timeout) -> None:
        def probe() -> bool:
            alive(component)
            return check()

        _wait_for(what, probe, limit, node.log_path(component))

    try:
        _record_state(node)
        # A shared bind mount of the workdir, before anything is mounted below it: mounts made under it in the
        # kubelet's mount namespace then show up in the host's (and the teardown unmounts it last).
        _run(["mount", "--bind", str(workdir), str(workdir)])
        _run(["mount", "--make-shared", str(workdir)])
        _make_cgroups(cgroup_name)
        _setup_network(network)
        _make_pki(pki, network, node_name)
        mark("network+pki")

        # ---- control plane
        spawn("etcd", [
            str(bin_dir / "etcd"), "--name", "realnode", "--data-dir", str(workdir / "etcd"),
            "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "realnode=http://127.0.0.1:2380",
            "--unsafe-no-fsync", "--log-level", "warn",
        ])  # fmt: skip
        spawn("kube-apiserver", [
            str(bin_dir / "kube-apiserver"),
            "--etcd-servers", "http://127.0.0.1:2379",
            "--bind-address", network.node_ip, "--advertise-address", network.node_ip,
            "--secure-port", str(network.apiserver_port),
            "--service-cluster-ip-range", network.service_cidr,
            "--client-ca-file", str(pki / "ca.crt"),
            "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
            "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
            "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"),
            "--kubelet-certificate-authority", str(pki / "ca.crt"),
            "--kubelet-preferred-address-types", "InternalIP",
            "--service-account-issuer", f"https://kubernetes.default.svc.{network.cluster_domain}",
            "--service-account-key-file", str(pki / "sa.key"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "NodeRestriction",
            "--allow-privileged=true", "--profiling=false",
        ])  # fmt: skip
        wait(
            "the API server (/readyz)",
            "kube-apiserver",
            lambda: node.kubectl("get", "--raw", "/readyz", timeout=10) == "ok",
        )
        mark("apiserver")
        for name in ("kube-controller-manager", "kube-scheduler"):
            _kubeconfig(workdir / "etc" / f"{name}.kubeconfig", server, pki, name)
        spawn("kube-controller-manager", [
            str(bin_dir / "kube-controller-manager"),
            "--kubeconfig", str(workdir / "etc" / "kube-controller-manager.kubeconfig"),
            "--authentication-kubeconfig", str(workdir / "etc" / "kube-controller-manager.kubeconfig"),
            "--authorization-kubeconfig", str(workdir / "etc" / "kube-controller-manager.kubeconfig"),
            "--bind-address", "127.0.0.1", "--leader-elect=false",
            "--service-account-private-key-file", str(pki / "sa.key"), "--root-ca-file", str(pki / "ca.crt"),
            "--use-service-account-credentials=true", "--cluster-signing-cert-file", str(pki / "ca.crt"),
            "--cluster-signing-key-file", str(pki / "ca.key"),
        ])  # fmt: skip
        spawn("kube-scheduler", [
            str(bin_dir / "kube-scheduler"),
            "--kubeconfig", str(workdir / "etc" / "kube-scheduler.kubeconfig"),
            "--authentication-kubeconfig", str(workdir / "etc" / "kube-scheduler.kubeconfig"),
            "--authorization-kubeconfig", str(workdir / "etc" / "kube-scheduler.kubeconfig"),
            "--bind-address", "127.0.0.1", "--leader-elect=false",
        ])  # fmt: skip

        # ---- runtime
        sock = node.containerd_socket
        _write(workdir / "etc" / "containerd.toml", _containerd_config(workdir, sock))
        _write(workdir / "cni" / "net.d" / "10-lakehouse.conflist", _cni_config(workdir, network))
        _write(workdir / "resolv.conf", "# the node has no upstream resolver: pods with dnsPolicy Default get none\n")
        # A proxy that refuses (loopback of the node's namespace): any registry pull fails at once, locally.
        refuse = "http://127.0.0.1:9"
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
        env.update(HTTP_PROXY=refuse, HTTPS_PROXY=refuse, http_proxy=refuse, https_proxy=refuse)
        spawn("containerd", ["containerd", "--config", str(workdir / "etc" / "containerd.toml")], env=env)
        wait("containerd", "containerd", lambda: sock.exists() and bool(node.ctr("version", timeout=10)))
        for archive in (*(image_dir / f"{i}.oci.tar" for i in IMAGE_ARCHIVES), *extra_images):
            node.load_image(archive)
        mark("containerd+images")

        # ---- node
        _kubeconfig(workdir / "etc" / "kubelet.kubeconfig", server, pki, "kubelet")
        _kubeconfig(workdir / "etc" / "kube-proxy.kubeconfig", server, pki, "kube-proxy")
        _write(workdir / "etc" / "kubelet.yaml", _kubelet_config(workdir, network, pki, cgroup_name, sock))
        _write(
            workdir / "etc" / "kube-proxy.yaml",
            _kube_proxy_config(network, workdir / "etc" / "kube-proxy.kubeconfig", node_name),
        )
        spawn("kubelet", [
            *_kubelet_mount_namespace(workdir), str(bin_dir / "kubelet"),
            "--config", str(workdir / "etc" / "kubelet.yaml"),
            "--kubeconfig", str(workdir / "etc" / "kubelet.kubeconfig"),
            "--root-dir", str(workdir / "kubelet"), "--cert-dir", str(pki),
            "--hostname-override", node_name, "--node-ip", network.node_ip, "--v", "1",
        ])  # fmt: skip
        spawn("kube-proxy", [
            str(bin_dir / "kube-proxy"), "--config", str(workdir / "etc" / "kube-proxy.yaml"), "--v", "1",
        ])  # fmt: skip
        wait(f"node {node_name} Ready", "kubelet", lambda: _node_ready(node))
        mark("node-ready")

        # ---- add-ons
        node.apply(_cluster_addons(network))
        node._provisioner = PathProvisioner(node, workdir / "volumes")
        node._provisioner.start()
        wait(
            "CoreDNS Ready",
            "kubelet",
            lambda: "True" in node.kubectl(
                "-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns",
                "-o", "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}",
            ),
        )  # fmt: skip
        mark("coredns-ready")
    except BaseException:
        with contextlib.suppress(RealNodeError):
            node.stop()
        raise
    return node


def _kubelet_mount_namespace(workdir: Path) -> list[str]:
    """A command prefix: a mount namespace for the kubelet in which the KERNEL_TUNABLES read as it wants them.

    The workdir is a shared mount (see start_real_node), so the volumes the kubelet mounts under it (secrets,
    service account tokens) propagate to the host's mount namespace, where containerd and runc use them.
    /proc is a private mount: the covering bind mounts stay in the kubelet's namespace.
    """
    fake = workdir / "etc" / "kubelet-sysctl"
    script = ["set -e"]
    for name, value in KERNEL_TUNABLES.items():
        f = _write(fake / name.replace("/", "."), value + "\n")
        script.append(f"mount --bind {f} /proc/sys/{name}")
    script.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "unchanged", "--", "sh", "-c", "\n".join(script), "kubelet"]


def _node_ready(node: RealNode) -> bool:
    out = node.kubectl(
        "get", "node", node.node_name, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}", timeout=10
    )
    return out.strip() == "True"


def _record_state(node: RealNode) -> None:
    """What cleanup_stale() needs if this process dies without stop()."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    state = {
        "owner": os.getpid(),
        "workdir": str(node.workdir),
        "cgroup": node.cgroup_name,
        "network": node.network.__dict__,
        "pids": [p.pid for p in node.processes.values()],
        "kernel_tunables": node.kernel_tunables,
    }
    _write(STATE_DIR / f"{node.network.netns}.json", json.dumps(state))


# ------------------------------------------------------------------------------------------------ CLI
def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="realnode.py", description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    oci = sub.add_parser("oci-archive", help="write a one-layer OCI image archive")
    oci.add_argument("--out", type=Path, required=True)
    oci.add_argument("--ref", required=True, help="full image name, e.g. localhost/lakehouse/busybox:1.35")
    oci.add_argument("--entrypoint", default="[]", help="JSON list")
    oci.add_argument("--cmd", default="[]", help="JSON list")
    oci.add_argument("--symlink", action="append", default=[], help="LINK=TARGET (repeatable)")
    oci.add_argument("--symlinks-from", type=Path, help="file with one 'LINK TARGET' pair a line")
    oci.add_argument("files", nargs="*", help="HOSTFILE:PATH-IN-IMAGE")
    up = sub.add_parser("up", help="start a node in WORKDIR and keep it running until Ctrl-C")
    up.add_argument("workdir", type=Path)
    sub.add_parser("cleanup", help="tear down what a crashed run left behind")
    args = parser.parse_args(argv)
    if args.command == "oci-archive":
        links = [tuple(s.split("=", 1)) for s in args.symlink]
        if args.symlinks_from:
            links += [tuple(line.split()) for line in args.symlinks_from.read_text().splitlines() if line.strip()]
        files = [(Path(f.split(":", 1)[0]), f.split(":", 1)[1]) for f in args.files]
        write_oci_archive(
            args.out,
            args.ref,
            files,
            entrypoint=json.loads(args.entrypoint),
            cmd=json.loads(args.cmd),
            symlinks=[(a, b) for a, b in links],
        )
        return 0
    if args.command == "cleanup":
        cleanup_stale()
        return 0
    stop = threading.Event()
    # explicit handlers: a shell's background job starts with SIGINT ignored, and SIGTERM would kill us bare
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    node = start_real_node(args.workdir)
    print(f"node up: {node.timings}\nexport KUBECONFIG={node.kubeconfig}", flush=True)
    try:
        while not stop.wait(1):
            pass
    finally:
        node.stop()
        print("node stopped", flush=True)
    return 0


@contextlib.contextmanager
def real_node(workdir: Path, **kwargs: Any) -> Iterator[RealNode]:
    """``with real_node(path) as node: ...`` - starts and always stops."""
    node = start_real_node(workdir, **kwargs)
    try:
        yield node
    finally:
        node.stop()


if __name__ == "__main__":
    raise SystemExit(_main())
