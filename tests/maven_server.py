"""A Maven repository over HTTP on loopback, serving a directory in the Maven layout (tests only)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Served:
    """The server's URL and every request it received (path, Authorization header)."""

    url: str
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


class _Handler(http.server.SimpleHTTPRequestHandler):
    served: Served
    fail_first: dict[str, int]  # path -> how many 503 answers before the file

    def do_GET(self) -> None:
        self.served.requests.append((self.path, self.headers.get("Authorization")))
        left = self.fail_first.get(self.path, 0)
        if left:
            self.fail_first[self.path] = left - 1
            self.send_error(503, "try again")
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@contextmanager
def maven_server(root: Path, *, fail_first: dict[str, int] | None = None) -> Iterator[Served]:
    """Serve ``root`` (``group/path/artifact/version/file``) on 127.0.0.1; yields its URL and request log."""
    served = Served("")
    handler = type("Handler", (_Handler,), {"served": served, "fail_first": dict(fail_first or {})})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    server.daemon_threads = True
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="maven-server", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
