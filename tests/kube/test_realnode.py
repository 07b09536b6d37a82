"""A real single-node cluster (tests/kube/realnode.py): pods run, logs/exec stream, Services, DNS, NodePorts, PVCs.

The session fixture starts the control plane, containerd, the kubelet, kube-proxy and CoreDNS in the node's own
network namespace; the tests only talk to the node address, to pod and service IPs, and into the pods.
"""

from __future__ import annotations

import http.server
import io
import json
import subprocess
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.kube.realnode import RealNode, default_image_dir

pytestmark = pytest.mark.kube

# Read at import, before the autouse fixture clears LAKEHOUSE_* for each test.
IMAGE_DIR = default_image_dir()
NS = "realnode-test"


def _busybox_image() -> str:
    """The name build-kube-node.sh gave the busybox archive (its tag follows Debian's busybox-static)."""
    index = subprocess.run(
        ["tar", "-xOf", str(IMAGE_DIR / "busybox.oci.tar"), "index.json"], capture_output=True, check=True
    ).stdout
    return str(json.loads(index)["manifests"][0]["annotations"]["io.containerd.image.name"])


@pytest.fixture(scope="session")
def busybox(real_node: RealNode) -> str:
    image = _busybox_image()
    assert image in real_node.images()
    real_node.kubectl("create", "namespace", NS)
    return image


def _wait_ready(node: RealNode, selector: str, timeout: int = 120) -> None:
    proc = subprocess.run(
        [str(node.bin_dir / "kubectl"), "--kubeconfig", str(node.kubeconfig), "-n", NS, "wait", "pod",
         "-l", selector, "--for=condition=Ready", f"--timeout={timeout}s"],
        capture_output=True, text=True, check=False, timeout=timeout + 30,
    )  # fmt: skip
    if proc.returncode != 0:
        pods = node.kubectl("-n", NS, "get", "pods", "-l", selector, "-o", "wide", check=False)
        events = node.kubectl("-n", NS, "get", "events", "--sort-by=.lastTimestamp", check=False)
        pytest.fail(f"pods {selector} not Ready: {proc.stderr}\n{pods}\n{events[-3000:]}", pytrace=False)


def _http_get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # the node's own addresses only
        return str(resp.read().decode())


def test_node_is_ready_at_its_own_address(real_node: RealNode, busybox: str) -> None:
    node = real_node.kubectl_json("get", "node", real_node.node_name)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == real_node.node_ip
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.36.1"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")


def test_pod_runs_and_streams_logs_and_exec(real_node: RealNode, busybox: str) -> None:
    real_node.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: hello, namespace: {NS}, labels: {{app: hello}}}}
spec:
  containers:
  - name: main
    image: {busybox}
    command: ["sh", "-c", "echo hello-from-the-pod; exec sleep 3600"]
""")
    _wait_ready(real_node, "app=hello")
    assert "hello-from-the-pod" in real_node.kubectl("-n", NS, "logs", "hello")
    out = real_node.kubectl("-n", NS, "exec", "hello", "--", "sh", "-c", "echo $((6 * 7)) $(hostname)")
    assert out.split() == ["42", "hello"]
    # stdin is streamed too
    assert real_node.kubectl("-n", NS, "exec", "-i", "hello", "--", "cat", input="through-stdin") == "through-stdin"


WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: httpd
        image: {image}
        command:
        - sh
        - -c
        - mkdir -p /www && echo served-by-$HOSTNAME > /www/index.html && exec httpd -f -p 8080 -h /www
        ports: [{{containerPort: 8080}}]
        readinessProbe:
          httpGet: {{path: /index.html, port: 8080}}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web-nodeport, namespace: {ns}}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: {ns}, labels: {{app: client}}}}
spec:
  containers:
  - name: main
    image: {image}
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="session")
def web(real_node: RealNode, busybox: str) -> RealNode:
    real_node.apply(WEB.format(ns=NS, image=busybox))
    _wait_ready(real_node, "app=web")
    _wait_ready(real_node, "app=client")
    return real_node


def _from_client(node: RealNode, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node.bin_dir / "kubectl"), "--kubeconfig", str(node.kubeconfig), "-n", NS, "exec", "client", "--", *cmd],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["web", f"web.{NS}", f"web.{NS}.svc.cluster.local"])
def test_cluster_ip_service_answers_another_pod_by_dns_name(web: RealNode, name: str) -> None:
    # (busybox 1.35's wget crashes with -T: the time limit comes from the timeout applet)
    got = _from_client(web, "timeout", "10", "wget", "-q", "-O-", f"http://{name}/index.html")
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("served-by-web-")


def test_dns_answers_the_cluster_and_nothing_else(web: RealNode) -> None:
    cluster_ip = web.kubectl("-n", NS, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
    found = _from_client(web, "nslookup", f"web.{NS}.svc.cluster.local")
    assert found.returncode == 0, found.stdout + found.stderr
    assert cluster_ip in found.stdout
    api = _from_client(web, "nslookup", "kubernetes.default.svc.cluster.local")
    assert web.network.kubernetes_service_ip in api.stdout
    # CoreDNS has no forward plugin: a name outside the cluster does not resolve (and is never sent anywhere)
    outside = _from_client(web, "nslookup", "example.com.")
    assert outside.returncode != 0
    assert "NXDOMAIN" in outside.stdout + outside.stderr


def test_nodeport_answers_at_the_node_address_only(web: RealNode) -> None:
    port = int(web.kubectl("-n", NS, "get", "service", "web-nodeport", "-o", "jsonpath={.spec.ports[0].nodePort}"))
    deadline = time.monotonic() + 30
    while True:
        try:
            body = _http_get(f"http://{web.node_ip}:{port}/index.html")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert body.startswith("served-by-web-")
    # the host routes the service range to the node, so a ClusterIP answers from the host as well
    cluster_ip = web.kubectl("-n", NS, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
    assert _http_get(f"http://{cluster_ip}/index.html").startswith("served-by-web-")
    # kube-proxy's rules live in the node's namespace and send only the node address to the NodePorts:
    # nothing of them is in the host's tables, where 127.0.0.1 traffic is routed
    ns_rules = subprocess.run(
        ["nsenter", f"--net=/run/netns/{web.network.netns}", "--", "iptables-save", "-t", "nat"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    jumps = [r for r in ns_rules.splitlines() if r.startswith("-A KUBE-SERVICES") and "KUBE-NODEPORTS" in r]
    assert jumps and all(f"-d {web.node_ip}/32" in r for r in jumps), jumps
    host_rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert "KUBE-NODEPORTS" not in host_rules
    assert web.network.pod_cidr not in host_rules


def test_missing_image_fails_locally_without_pulling(real_node: RealNode, busybox: str) -> None:
    real_node.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: no-such-image, namespace: {NS}}}
spec:
  containers:
  - {{name: main, image: "lakehouse-test/no-such-image:1"}}
""")
    deadline = time.monotonic() + 60
    reason = ""
    while time.monotonic() < deadline and reason not in ("ErrImagePull", "ImagePullBackOff"):
        time.sleep(1)
        reason = real_node.kubectl(
            "-n", NS, "get", "pod", "no-such-image",
            "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
        )  # fmt: skip
    assert reason in ("ErrImagePull", "ImagePullBackOff")
    events = real_node.kubectl("-n", NS, "get", "events", "--field-selector", "involvedObject.name=no-such-image")
    # the pull went to containerd's refusing proxy on the node's own loopback, nowhere else
    assert "127.0.0.1:9" in events, events
    real_node.kubectl("-n", NS, "delete", "pod", "no-such-image", "--wait=false")


def test_pvc_binds_and_data_survives_pod_deletion(real_node: RealNode, busybox: str) -> None:
    pod = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}}}}}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {{runAsUser: 1000, runAsGroup: 1000}}
  containers:
  - name: main
    image: {image}
    command: ["sh", "-c", "{script}; exec sleep 3600"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - {{name: data, persistentVolumeClaim: {{claimName: data}}}}
"""
    real_node.apply(f"""
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {NS}}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
""")
    real_node.apply(pod.format(name="writer", ns=NS, image=busybox, script="echo kept-across-pods > /data/f"))
    _wait_ready(real_node, "app=writer")
    claim = real_node.kubectl_json("-n", NS, "get", "pvc", "data")
    assert claim["status"]["phase"] == "Bound"
    assert claim["spec"]["storageClassName"] == "lakehouse-local"
    real_node.kubectl("-n", NS, "delete", "pod", "writer", "--wait=true", "--timeout=60s")
    real_node.apply(pod.format(name="reader", ns=NS, image=busybox, script="true"))
    _wait_ready(real_node, "app=reader")
    assert real_node.kubectl("-n", NS, "exec", "reader", "--", "cat", "/data/f").strip() == "kept-across-pods"
    # deleting the claim releases the volume and the provisioner removes it with its directory
    pv = claim["spec"]["volumeName"]
    path = Path(real_node.kubectl("get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}"))
    real_node.kubectl("-n", NS, "delete", "pod", "reader", "--wait=true", "--timeout=60s")
    real_node.kubectl("-n", NS, "delete", "pvc", "data", "--wait=true", "--timeout=60s")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and path.exists():
        time.sleep(0.5)
    assert not path.exists()


def _docker_archive(oci_archive: Path, out: Path, repo_tag: str) -> None:
    """Repack a one-layer OCI archive as a `docker save` archive (manifest.json with RepoTags)."""
    with tarfile.open(oci_archive) as src:

        def read(name: str) -> bytes:
            member = src.extractfile(name)
            assert member is not None
            return member.read()

        def blob(digest: str) -> bytes:
            return read("blobs/sha256/" + digest.split(":")[1])

        index = json.loads(read("index.json"))
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config, layer = blob(manifest["config"]["digest"]), blob(manifest["layers"][0]["digest"])
    docker_manifest = [{"Config": "config.json", "RepoTags": [repo_tag], "Layers": ["layer.tar"]}]
    with tarfile.open(out, "w") as dst:
        for name, data in (
            ("config.json", config),
            ("layer.tar", layer),
            ("manifest.json", json.dumps(docker_manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def test_docker_archive_loads_under_its_repo_tag_and_runs(real_node: RealNode, busybox: str, tmp_path: Path) -> None:
    # how an image builder's `docker save` / `podman save` output is used: the name a manifest references
    archive = tmp_path / "image.tar"
    _docker_archive(IMAGE_DIR / "busybox.oci.tar", archive, "docker.io/lakehouse-test/from-docker-archive:1.0")
    assert real_node.load_image(archive) == ["docker.io/lakehouse-test/from-docker-archive:1.0"]
    assert "docker.io/lakehouse-test/from-docker-archive:1.0" in real_node.images()
    # a pod may use the short form: the CRI normalises it to the same docker.io name
    real_node.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: from-archive, namespace: {NS}, labels: {{app: from-archive}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: lakehouse-test/from-docker-archive:1.0
    command: ["sh", "-c", "echo loaded-from-a-docker-archive; exec sleep 3600"]
""")
    _wait_ready(real_node, "app=from-archive")
    assert "loaded-from-a-docker-archive" in real_node.kubectl("-n", NS, "logs", "from-archive")


def test_pods_reach_a_server_on_the_host_address(web: RealNode) -> None:
    # e.g. a Spark driver on the host with executors in pods: it listens on the host end of the node's veth
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello-from-the-host"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((web.host_ip, 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://{web.host_ip}:{server.server_address[1]}/"
        got = _from_client(web, "timeout", "10", "wget", "-q", "-O-", url)
        assert got.stdout == "hello-from-the-host", got.stderr
    finally:
        server.shutdown()
        server.server_close()
