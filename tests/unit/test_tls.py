"""The secure mode's certificates: a CA, a server certificate that verifies for every name, a JVM truststore."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest

pytest.importorskip("cryptography")  # the `secure` extra; the dev environment has it

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.verification import PolicyBuilder, Store

from lakehouse_sdk.tls import (
    TRUSTSTORE_PASSWORD,
    ensure_tls,
    password_file_line,
    verify_password_line,
)

NAMES = ["localhost", "127.0.0.1", "trino.lakehouse.svc.cluster.local"]


def _verify(directory: Path, subject: DNSName | IPAddress) -> None:
    chain = x509.load_pem_x509_certificates((directory / "server.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(subject)
    verifier.verify(chain[0], chain[1:])


def test_the_server_certificate_verifies_for_every_name_and_keys_are_private(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls", NAMES)
    for subject in (DNSName("localhost"), IPAddress(ipaddress.ip_address("127.0.0.1"))):
        _verify(files.directory, subject)
    _verify(files.directory, DNSName("trino.lakehouse.svc.cluster.local"))
    with pytest.raises(x509.verification.VerificationError):
        _verify(files.directory, DNSName("elsewhere.example"))
    for key in (files.server_key, files.ca_key, files.server_bundle):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700


def test_files_are_kept_while_valid_and_renewed_for_a_new_name(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, NAMES)
    before = files.server_cert.read_bytes()
    assert ensure_tls(tmp_path, NAMES).server_cert.read_bytes() == before
    ca = files.ca_cert.read_bytes()
    renewed = ensure_tls(tmp_path, [*NAMES, "10.0.0.7"])
    assert renewed.server_cert.read_bytes() != before
    assert renewed.ca_cert.read_bytes() == ca  # the CA stays: clients keep trusting it
    _verify(tmp_path, IPAddress(ipaddress.ip_address("10.0.0.7")))


def test_the_truststore_holds_the_ca_for_java(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, NAMES)
    store = pkcs12.load_pkcs12(files.truststore.read_bytes(), TRUSTSTORE_PASSWORD.encode())
    assert store.key is None
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert [c.certificate for c in store.additional_certs] == [ca]


def test_a_ca_of_ones_own_signs_the_server_certificate(tmp_path: Path) -> None:
    own = ensure_tls(tmp_path / "own", ["own-ca-seed"])
    files = ensure_tls(tmp_path / "stack", NAMES, ca_cert=own.ca_cert, ca_key=own.ca_key)
    assert files.ca_cert.read_bytes() == own.ca_cert.read_bytes()
    _verify(files.directory, DNSName("localhost"))
    with pytest.raises(ValueError, match="needs its key"):
        ensure_tls(tmp_path / "nokey", NAMES, ca_cert=own.ca_cert)


def test_a_tls_handshake_with_the_files(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, NAMES)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(files.server_cert, files.server_key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(files.ca_cert))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.recv(2) == b"ok"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    thread.join(5)
    listener.close()


def test_trinos_password_file_line() -> None:
    line = password_file_line("lakehouse", "s3cret-pass")
    user, iterations, salt, digest = line.split(":")
    assert (user, int(iterations), len(salt), len(digest)) == ("lakehouse", 100_000, 32, 128)
    assert verify_password_line(line, "lakehouse", "s3cret-pass")
    assert not verify_password_line(line, "lakehouse", "wrong")
    assert not verify_password_line(line, "someone", "s3cret-pass")
    assert password_file_line("lakehouse", "s3cret-pass") != line  # a fresh salt each time
    with pytest.raises(ValueError, match="cannot be empty or hold ':'"):
        password_file_line("a:b", "x")


def test_certificates_expire_when_they_say(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, NAMES)
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=700) < left < datetime.timedelta(days=731)
