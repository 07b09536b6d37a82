"""Certificates for the stack's secure mode: a small CA of its own, server certificates, truststores.

Made with the ``cryptography`` package (extra ``secure``), never by hand: an EC P-256 CA (ten years) that
signs one server certificate per stack (about two years) for every name and address clients use, a PEM
bundle (key and chain) for the servers that read one (Trino, SeaweedFS, PostgreSQL), and a PKCS#12
truststore with the CA for the JVMs (Trino's S3 client, the metastore, Spark's S3A). A user-supplied CA
(``ca_cert``/``ca_key``) signs instead of the generated one. Files are written with mode 0600 (keys) and
regenerated only when the server certificate is close to expiry or does not cover a name.

Also here: Trino's password file (PBKDF2, the format of Trino's ``file`` authenticator, which derives with
HMAC-SHA1: ``EncryptionUtil.doesPBKDF2PasswordMatch``; checked against Trino 476).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse_sdk._deps import require

__all__ = [
    "TRUSTSTORE_PASSWORD",
    "TlsFiles",
    "ensure_ca",
    "ensure_tls",
    "password_file_line",
    "truststore_for",
    "verify_password_line",
]

# A truststore holds only the public CA certificate; Java wants a password on PKCS#12 files all the same.
TRUSTSTORE_PASSWORD = "lakehouse"
_RENEW_BEFORE = datetime.timedelta(days=30)
_PBKDF2_ITERATIONS = 100_000


@dataclass(frozen=True)
class TlsFiles:
    """Where the secure mode's files are (all in one directory)."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        """The server certificate followed by the CA's (a chain)."""
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def server_bundle(self) -> Path:
        """Key, then chain, in one PEM file (Trino's PEM keystore)."""
        return self.directory / "server-bundle.pem"

    @property
    def truststore(self) -> Path:
        """PKCS#12 with the CA certificate, password :data:`TRUSTSTORE_PASSWORD` (JVMs)."""
        return self.directory / "truststore.p12"


def _x509() -> Any:
    """cryptography's x509 module, or the install hint for the ``secure`` extra."""
    return require(
        "cryptography.x509", extra="secure", purpose="the secure mode's certificates", package="cryptography"
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    tmp.replace(path)


def _san(names: list[str]) -> list[Any]:
    x509 = _x509()
    out: list[Any] = []
    for name in dict.fromkeys(names):
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _covers(cert: Any, names: list[str]) -> bool:
    x509 = _x509()
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(v) for v in sans.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in sans.get_values_for_type(x509.IPAddress)}
    wanted = set()
    for name in names:
        try:
            wanted.add(str(ipaddress.ip_address(name)))
        except ValueError:
            wanted.add(name)
    return wanted <= have


def _new_ca(files: TlsFiles, now: datetime.datetime) -> tuple[Any, Any]:
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"lakehouse-sdk CA {secrets.token_hex(4)}")])
    usage = x509.KeyUsage(
        digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(files.ca_key, pem_key, 0o600)
    _write(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _load_ca(cert_path: Path, key_path: Path) -> tuple[Any, Any]:
    x509 = _x509()
    from cryptography.hazmat.primitives import serialization

    return (
        x509.load_pem_x509_certificate(cert_path.read_bytes()),
        serialization.load_pem_private_key(key_path.read_bytes(), password=None),
    )


def _ca(files: TlsFiles, now: datetime.datetime) -> tuple[Any, Any]:
    if files.ca_cert.is_file() and files.ca_key.is_file():
        ca, ca_private = _load_ca(files.ca_cert, files.ca_key)
        if ca.not_valid_after_utc - now >= _RENEW_BEFORE:
            return ca, ca_private
    return _new_ca(files, now)


def ensure_ca(directory: Path) -> TlsFiles:
    """Only the CA in ``directory`` (``ca.pem``, ``ca.key``): kept while valid for another 30 days, else made.
    The local stack's and the provisioned stacks' server certificates of one state dir share it."""
    files = TlsFiles(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _ca(files, datetime.datetime.now(datetime.timezone.utc))
    return files


def ensure_tls(
    directory: Path, names: list[str], *, ca_cert: Path | None = None, ca_key: Path | None = None
) -> TlsFiles:
    """The CA, a server certificate for ``names`` (host names and IP addresses) and the truststore in
    ``directory``; existing files are kept while they are valid for another 30 days and cover ``names``.

    Args:
        directory: where the files live (created with mode 0700).
        names: every name and address clients reach the servers by (``localhost``, ``127.0.0.1``, the
            NodePort host, in-cluster DNS names).
        ca_cert: a CA certificate of your own (PEM) to sign with instead of a generated one.
        ca_key: its private key (PEM, unencrypted); required with ``ca_cert``.
    """
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    files = TlsFiles(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.datetime.now(datetime.timezone.utc)
    if ca_cert is not None:
        if ca_key is None:
            raise ValueError(f"a CA certificate ({ca_cert}) needs its key to sign server certificates: set ca_key")
        ca, ca_private = _load_ca(ca_cert, ca_key)
        _write(files.ca_cert, ca.public_bytes(serialization.Encoding.PEM), 0o644)
    else:
        ca, ca_private = _ca(files, now)

    if files.server_cert.is_file() and files.server_key.is_file() and files.truststore.is_file():
        current = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
        fresh = current.not_valid_after_utc - now >= _RENEW_BEFORE
        if fresh and current.issuer == ca.subject and _covers(current, names):
            return files

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=730))
        .add_extension(x509.SubjectAlternativeName(_san(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_private.public_key()), critical=False)
        .sign(ca_private, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pem_key = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    chain = cert.public_bytes(pem) + ca.public_bytes(pem)
    _write(files.server_key, pem_key, 0o600)
    _write(files.server_cert, chain, 0o644)
    _write(files.server_bundle, pem_key + chain, 0o600)
    store = pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(ca, b"lakehouse-ca")],
        serialization.BestAvailableEncryption(TRUSTSTORE_PASSWORD.encode()),
    )
    _write(files.truststore, store, 0o644)
    return files


def truststore_for(ca_pem: Path, directory: Path) -> Path:
    """A PKCS#12 truststore with the certificates of ``ca_pem`` (for a JVM of the client: Spark's driver and
    executors), made once per bundle content in ``directory``."""
    x509 = _x509()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    data = ca_pem.read_bytes()
    path = directory / f"truststore-{hashlib.sha256(data).hexdigest()[:16]}.p12"
    if path.is_file():
        return path
    certs = x509.load_pem_x509_certificates(data)
    entries = [pkcs12.PKCS12Certificate(cert, f"ca-{i}".encode()) for i, cert in enumerate(certs)]
    directory.mkdir(parents=True, exist_ok=True)
    store = pkcs12.serialize_java_truststore(
        entries, serialization.BestAvailableEncryption(TRUSTSTORE_PASSWORD.encode())
    )
    _write(path, store, 0o644)
    return path


def password_file_line(
    user: str, password: str, *, iterations: int = _PBKDF2_ITERATIONS, salt: bytes | None = None
) -> str:
    """One line of Trino's password file: ``user:iterations:salt:hash`` (PBKDF2-HMAC-SHA1, hex); ``salt``:
    16 bytes (default random; a fixed one makes the line reproducible, for a rendered Secret)."""
    if ":" in user or not user:
        raise ValueError(f"Trino user {user!r}: a user name in a password file cannot be empty or hold ':'")
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations, dklen=64)
    return f"{user}:{iterations}:{salt.hex()}:{digest.hex()}"


def verify_password_line(line: str, user: str, password: str) -> bool:
    """Whether ``line`` (from :func:`password_file_line`) accepts ``user`` with ``password``."""
    name, iterations, salt, digest = line.strip().split(":")
    if name != user:
        return False
    computed = hashlib.pbkdf2_hmac("sha1", password.encode(), bytes.fromhex(salt), int(iterations), dklen=64)
    return secrets.compare_digest(computed.hex(), digest)
