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

__all__ = [
    "SPARK_AUTH_SECRET_ENV",
    "SPARK_AUTH_SECRET_FILE",
    "StackTls",
    "in_cluster_tls",
    "jdbc_ssl_query",
    "jvm_trust_options",
    "postgres_hba",
    "postgres_ssl_settings",
    "trino_https_properties",
    "trino_password_authenticator",
]

# spark.authenticate in secure mode: the stack's shared secret, <state>/tls/<file>; Spark's SecurityManager reads it
# from the variable in daemons and executors
SPARK_AUTH_SECRET_FILE = "spark-auth-secret"
SPARK_AUTH_SECRET_ENV = "_SPARK_AUTH_SECRET"

# Trino's internal (node to node) HTTP port: the client port + 10, never a client endpoint
TRINO_INTERNAL_PORT_OFFSET = 10
# On Kubernetes: where every pod mounts the ``lakehouse-tls`` Secret, and Trino the ``lakehouse-trino-users`` one
IN_CLUSTER_TLS_DIR = "/etc/lakehouse-tls"
IN_CLUSTER_USERS_DIR = "/etc/lakehouse-trino-users"


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


def in_cluster_tls() -> StackTls:
    """The secure mode's files as the pods of a Kubernetes stack see them (the ``lakehouse-tls`` Secret's keys,
    which are cert-manager's: ``ca.crt``, ``tls.crt``, ``tls.key``, ``tls-combined.pem``, ``truststore.p12``)."""
    from lakehouse_sdk.stack.endpoints import ENDPOINTS
    from lakehouse_sdk.tls import TRUSTSTORE_PASSWORD

    return StackTls(
        ca_cert=f"{IN_CLUSTER_TLS_DIR}/ca.crt",
        truststore=f"{IN_CLUSTER_TLS_DIR}/truststore.p12",
        truststore_password=TRUSTSTORE_PASSWORD,
        server_cert=f"{IN_CLUSTER_TLS_DIR}/tls.crt",
        server_key=f"{IN_CLUSTER_TLS_DIR}/tls.key",
        server_bundle=f"{IN_CLUSTER_TLS_DIR}/tls-combined.pem",
        trino_password_file=f"{IN_CLUSTER_USERS_DIR}/password.db",
        trino_internal_port=ENDPOINTS["trino"].port + TRINO_INTERNAL_PORT_OFFSET,
    )


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


def postgres_hba(networks: tuple[str, ...], *, local_socket: bool = False) -> str:
    """``pg_hba.conf`` of secure mode: TLS and SCRAM passwords from ``networks``, every plain TCP connection
    rejected; ``local_socket``: also SCRAM over the Unix socket (a container's own scripts and init)."""
    lines = ["# secure mode (lakehouse-sdk): TLS and SCRAM passwords only"]
    if local_socket:
        lines.append("local all all scram-sha-256")
    lines += [f"hostssl all all {network} scram-sha-256" for network in networks]
    lines.append("hostnossl all all all reject")
    return "\n".join(lines) + "\n"


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


def trino_password_authenticator(tls: StackTls) -> dict[str, str]:
    """``password-authenticator.properties``: Trino's ``file`` authenticator on the stack's password file."""
    return {"password-authenticator.name": "file", "file.password-file": tls.trino_password_file}
