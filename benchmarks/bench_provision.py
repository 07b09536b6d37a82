"""Provisioning on a real kubelet: time from ``provision()`` to every layer Ready, and ``teardown()``.

The single-node cluster of ``tests/kube/realnode.py`` with the images of ``scripts/build-images.sh`` already
loaded (so no image transfer is measured), the metastore's jars from a jar server on the node's host address.
The baseline in the same run is the node's own start (control plane, kubelet, CoreDNS Ready), so the ratio
says what the stack adds to an empty cluster.

Run: python -m benchmarks.bench_provision [--runs N]   (root; one real node per machine at a time)
"""

from __future__ import annotations

import argparse
import functools
import http.server
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.kube.realnode import start_real_node

from benchmarks._common import summary, write
from lakehouse_sdk import LakehouseSettings, ProvisionOptions, provision, teardown
from lakehouse_sdk.kube.options import default_resources
from lakehouse_sdk.settings import default_cache_dir

IMAGES = default_cache_dir() / "images"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    start = time.monotonic()
    node = start_real_node(Path(tempfile.mkdtemp(prefix="lakehouse-bench-node-")))
    node_seconds = time.monotonic() - start
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(IMAGES / "maven"))
    server = http.server.ThreadingHTTPServer((node.host_ip, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for line in (IMAGES / "images.tsv").read_text().splitlines():
            node.load_image(IMAGES / line.split("\t")[1])
        settings = LakehouseSettings(kube={"kubeconfig": node.kubeconfig})
        resources = {
            name: res.model_dump() | {"cpu": "1" if name == "spark-worker" else "100m"}
            for name, res in default_resources().items()
        }
        options = ProvisionOptions.build(
            maven_repository=f"http://{node.host_ip}:{server.server_address[1]}", timeout=900, resources=resources
        )
        ups: list[float] = []
        downs: list[float] = []
        layers: list[dict[str, Any]] = []
        for _ in range(args.runs):
            t0 = time.monotonic()
            result = provision(options, settings=settings)
            ups.append(time.monotonic() - t0)
            layers = [{"layer": layer.name, "seconds": round(layer.seconds, 1)} for layer in result.layers]
            t0 = time.monotonic()
            teardown(options, settings=settings, delete_data=True)
            downs.append(time.monotonic() - t0)
    finally:
        server.shutdown()
        node.stop()
    write(
        "bench_provision",
        {
            "node_start_seconds": round(node_seconds, 1),
            "provision_seconds": summary(ups),
            "teardown_seconds": summary(downs),
            "provision_over_node_start": round(summary(ups)["median"] / node_seconds, 1),
            "layers_last_run": layers,
        },
    )


if __name__ == "__main__":
    main()
