"""Protocol-level checks that need no client library: ``health()`` uses them when an extra is missing.

A minimal install (``pip install 'lakehouse-sdk[trino]'``) has no boto3, psycopg or thrift, but the services
it talks to are still worth checking: each function here speaks just enough of the wire protocol to prove
that the service answers it, with the standard library only, within ``timeout`` seconds.
"""

from __future__ import annotations

import socket
import struct
import urllib.error
import urllib.request

__all__ = ["metastore_databases", "postgres_answers", "s3_answers"]


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


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the metastore closed the connection")
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
