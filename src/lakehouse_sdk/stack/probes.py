"""The one probe library: readiness checks that need nothing but the standard library.

The local runtime waits on these while it starts services, ``health()`` falls back to them when a client
library is missing (a minimal install has no boto3, psycopg or thrift), and the Kubernetes probes express
the part of them a kubelet can (:class:`lakehouse_sdk.stack.components.Readiness`). Each function speaks
just enough of its service's wire protocol to prove that the service answers it, within ``timeout``.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import struct
import urllib.error
import urllib.request
from typing import Any

__all__ = [
    "TRINO_CATALOGS_SETTLE_SECONDS",
    "TRINO_READY_QUERY",
    "grpc_answers",
    "http_json",
    "http_status",
    "metastore_databases",
    "postgres_answers",
    "s3_answers",
    "trino_query_ready",
]


def http_status(url: str, timeout: float = 2.0, *, context: ssl.SSLContext | None = None) -> int | None:
    """The HTTP status of a GET (``None`` when nothing answers); ``context`` verifies an https server."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def http_json(url: str, timeout: float = 2.0, *, context: ssl.SSLContext | None = None) -> Any:
    """A GET's JSON body; raises ``OSError`` (no answer) or ``ValueError`` (not JSON)."""
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        return json.loads(response.read().decode())


def s3_answers(url: str, timeout: float) -> str:
    """An anonymous ``GET /``: an S3 server answers with an XML error (403) or a bucket list."""
    try:
        with urllib.request.urlopen(url + "/", timeout=timeout) as response:
            status, body = response.status, response.read(4096)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(4096)
    if b"<" not in body or not (b"Error" in body or b"ListAllMyBucketsResult" in body):
        raise ConnectionError(f"HTTP {status} from {url}, but not an S3 answer")
    return f"S3 API answered an anonymous request (HTTP {status})"


def postgres_answers(host: str, port: int, timeout: float) -> str:
    """PostgreSQL's ``SSLRequest``: a server answers one byte, ``S`` or ``N``."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        answer = sock.recv(1)
    if answer not in (b"S", b"N"):
        raise ConnectionError(f"{answer!r} is not a PostgreSQL answer to SSLRequest")
    return f"PostgreSQL protocol answered (SSL {'offered' if answer == b'S' else 'off'})"


def _recv_exact(sock: socket.socket, size: int, who: str = "the metastore") -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"{who} closed the connection")
        data += chunk
    return data


def metastore_databases(host: str, port: int, timeout: float) -> int:
    """One ``get_all_databases`` call in Thrift's binary protocol (buffered transport); the database count."""
    name = b"get_all_databases"
    call = struct.pack("!I", 0x80010001) + struct.pack("!i", len(name)) + name + struct.pack("!i", 1) + b"\x00"
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(call)
        version, length = struct.unpack("!Ii", _recv_exact(sock, 8))
        if version & 0xFFFF0000 != 0x80010000:
            raise ConnectionError("not a Thrift binary-protocol answer")
        reply_name = _recv_exact(sock, length)
        (seqid,) = struct.unpack("!i", _recv_exact(sock, 4))
        if version & 0xFF != 2 or reply_name != name or seqid != 1:  # 2 = REPLY (3 would be EXCEPTION)
            raise ConnectionError(f"the metastore answered {reply_name!r} with message type {version & 0xFF}")
        field_type, field_id = struct.unpack("!bh", _recv_exact(sock, 3))
        if field_type != 15 or field_id != 0:  # the success field: a list
            raise ConnectionError("the metastore answered get_all_databases with an error")
        _element, count = struct.unpack("!bi", _recv_exact(sock, 5))
    return int(count)


# HTTP/2's client connection preface (RFC 9113, 3.4) and an empty SETTINGS frame
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + struct.pack("!I", 0)[1:] + b"\x04\x00" + struct.pack("!I", 0)


def grpc_answers(host: str, port: int, timeout: float) -> str:
    """The HTTP/2 preface that every gRPC server (Spark Connect) answers with its own SETTINGS frame.

    This proves an HTTP/2 server answers, not that it is Spark Connect or that a session works: that takes a
    Connect client (``lakehouse-sdk[spark-connect]``).
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(_H2_PREFACE)
        header = _recv_exact(sock, 9, "the gRPC server")
    frame_type = header[3]
    if frame_type != 4:  # SETTINGS
        raise ConnectionError(f"not an HTTP/2 (gRPC) answer: frame type {frame_type}")
    return "HTTP/2 (gRPC) answered the connection preface"


# With static catalog management (Trino's default, used by the Kubernetes stack) the coordinator schedules a
# table's splits on the nodes whose discovery announcement lists that catalog. A node announces its catalogs once
# its server has started, and the coordinator's node manager reads announcements through a service selector
# that refreshes every 10 s (airlift's default: the embedded discovery server sends no max-age), so for up to
# 10 s after "SERVER STARTED" table queries fail with NO_NODES_AVAILABLE while information_schema queries
# (served by the coordinator itself) work. Measured on Trino 476: table queries began at an uptime of
# 9.8-10.0 s after a restart of Trino alone, but at 14.5-16 s in a whole-stack start on 2 busy cores (the server
# had started at 12.3 s). The Kubernetes readiness probe waits for this much uptime, a bound that a start under
# heavy load can exceed; the local stack avoids the wait (see local/services/trino.py).
TRINO_CATALOGS_SETTLE_SECONDS = 11.0

# Ready means a query reaches both catalogs through the metastore and the coordinator's node manager counts an
# active node to schedule table splits on (its second column), not only that the coordinator answers. The
# information_schema queries are served by the coordinator itself and work before that.
TRINO_READY_QUERY = (
    "SELECT (SELECT count(*) FROM hive.information_schema.schemata)"
    " + (SELECT count(*) FROM iceberg.information_schema.schemata),"
    " (SELECT count(*) FROM system.runtime.nodes WHERE state = 'active')"
)


def trino_query_ready(
    url: str,
    timeout: float = 5.0,
    query: str = TRINO_READY_QUERY,
    *,
    context: ssl.SSLContext | None = None,
    login: tuple[str, str] | None = None,
) -> str | None:
    """Run ``query`` over Trino's REST protocol; ``None`` when it returns rows, else what went wrong.

    For the default :data:`TRINO_READY_QUERY` the first row must also count an active node (its second column).
    ``context`` verifies an https coordinator, ``login`` (user, password) authenticates (secure mode).
    """
    headers = {"X-Trino-User": login[0] if login else "lakehouse-sdk"}
    if login is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
    request = urllib.request.Request(f"{url}/v1/statement", data=query.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            doc = json.loads(response.read().decode())
        for _ in range(200):
            if doc.get("error"):
                return f"catalog query failed: {doc['error'].get('message', '')[:200]}"
            if doc.get("data"):
                row = doc["data"][0]
                if query == TRINO_READY_QUERY and len(row) > 1 and row[1] == 0:
                    return "no active node in system.runtime.nodes yet (table queries fail with NO_NODES_AVAILABLE)"
                return None
            next_uri = doc.get("nextUri")
            if not next_uri:
                return "catalog query returned no rows"
            follow = urllib.request.Request(next_uri, headers=headers)
            with urllib.request.urlopen(follow, timeout=timeout, context=context) as response:
                doc = json.loads(response.read().decode())
    except (OSError, ValueError) as exc:
        return f"catalog query failed: {exc}"
    return "catalog query did not finish"
