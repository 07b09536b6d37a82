"""Secure mode in the services' configuration: TLS, Trino's password authentication, trust in the stack's CA.

With ``StackValues.tls`` set (settings ``secure``), the one stack description becomes:

- the object store's S3 API speaks HTTPS on its port (SeaweedFS ``-s3.cert.file``/``-s3.key.file``), so every
  S3 client inside the stack uses an ``https://`` endpoint;
- PostgreSQL requires TLS (``ssl=on``, ``hostssl`` only in ``pg_hba.conf``), and the metastore's JDBC URL
  verifies the server (``sslmode=verify-full`` against the CA);
- Trino serves HTTPS on its port with the PEM bundle, requires a password (``file`` authenticator, PBKDF2
  hashes) and keeps its internal HTTP on a loopback port of its own, with a shared secret between nodes;
- every JVM (Trino, the metastore, Spark's servers and executors) trusts the CA through a PKCS#12
  truststore.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StackTls", "jdbc_ssl_query", "jvm_trust_options", "postgres_ssl_settings", "trino_https_properties"]


@dataclass(frozen=True)
class StackTls:
    """Where the services find the secure mode's files (paths as the services see them)."""

    ca_cert: str
    truststore: str
    truststore_password: str
    server_cert: str
    server_key: str
    server_bundle: str
    trino_password_file: str
    # Trino's internal (node to node) HTTP port: loopback only, never a client endpoint
    trino_internal_port: int


def jvm_trust_options(tls: StackTls | None) -> list[str]:
    """``-D`` options that make a JVM trust the stack's CA (and the public CAs it trusted before: none of the
    stack's JVMs talks to a public endpoint)."""
    if tls is None:
        return []
    return [
        f"-Djavax.net.ssl.trustStore={tls.truststore}",
        f"-Djavax.net.ssl.trustStorePassword={tls.truststore_password}",
        "-Djavax.net.ssl.trustStoreType=PKCS12",
    ]


def jdbc_ssl_query(tls: StackTls | None) -> str:
    """The PostgreSQL JDBC URL's query: TLS required, the server verified against the CA (PEM)."""
    if tls is None:
        return ""
    return f"?sslmode=verify-full&sslrootcert={tls.ca_cert}"


def postgres_ssl_settings(cert_file: str, key_file: str) -> dict[str, str]:
    """``postgresql.conf`` settings for TLS; the files as the server process can read them (its own copies)."""
    return {
        "ssl": "on",
        "ssl_cert_file": cert_file,
        "ssl_key_file": key_file,
        "ssl_min_protocol_version": "TLSv1.2",
    }


def trino_https_properties(tls: StackTls, client_port: int, shared_secret: str) -> dict[str, str]:
    """``config.properties`` of a coordinator in secure mode: HTTPS and passwords on the client port."""
    return {
        "http-server.http.port": str(tls.trino_internal_port),
        "http-server.https.enabled": "true",
        "http-server.https.port": str(client_port),
        "http-server.https.keystore.path": tls.server_bundle,
        "http-server.authentication.type": "PASSWORD",
        "internal-communication.shared-secret": shared_secret,
        "discovery.uri": f"http://127.0.0.1:{tls.trino_internal_port}",
    }
