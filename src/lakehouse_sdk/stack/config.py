"""The one source of the services' configuration files.

The local runtime writes these files to disk and the Kubernetes manifests put the very same text into the
``trino-config`` and ``hadoop-config`` ConfigMaps, so what the integration tests prove is what users deploy.

No secret is ever written into these files: credentials are references to environment variables
(``${ENV:NAME}`` for Trino, ``${env.NAME}`` for Hadoop's Configuration), which the local runtime sets on
the process and the manifests fill from Secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lakehouse_sdk.stack.components import COMPONENTS
from lakehouse_sdk.stack.secure import StackTls, jdbc_ssl_query, jvm_trust_options, trino_https_properties

__all__ = [
    "SECRET_ENV",
    "StackContext",
    "StackValues",
    "core_site",
    "hadoop_s3a_properties",
    "metastore_site",
    "to_hadoop_xml",
    "to_properties",
    "trino_catalogs",
    "trino_config_properties",
    "trino_jvm_config",
    "trino_node_properties",
    "trino_spooling_manager_properties",
    "trino_worker_config_properties",
    "trino_worker_node_properties",
]

# The environment variables that carry credentials into the services.
SECRET_ENV = {
    "s3_access_key": "LAKEHOUSE_S3_ACCESS_KEY",
    "s3_secret_key": "LAKEHOUSE_S3_SECRET_KEY",
    "postgres_password": "LAKEHOUSE_POSTGRES_PASSWORD",
    # Spark's own variable: the Connect server reads its pre-shared token from it (never from a file)
    "spark_connect_token": "SPARK_CONNECT_AUTHENTICATE_TOKEN",
    # the coordinator and every worker share it: it signs the spooled segments' identifiers
    "trino_spooling_key": "LAKEHOUSE_TRINO_SPOOLING_KEY",
    # secure mode: signs the requests between Trino nodes (required with password authentication)
    "trino_internal_secret": "LAKEHOUSE_TRINO_INTERNAL_SECRET",
}
# How a client gets a spooled segment: through the coordinator, which reads it from the object store. A
# pre-signed URL (STORAGE) names the object store as the cluster sees it, which a laptop on NodePorts or a
# port-forward cannot reach; WORKER_PROXY redirects to pod addresses, just as unreachable from outside.
SPOOLING_RETRIEVAL_MODE = "COORDINATOR_PROXY"


@dataclass(frozen=True)
class StackValues:
    """The settings that shape the services' configuration (the rest is addresses)."""

    region: str
    warehouse_bucket: str
    postgres_database: str
    postgres_user: str
    trino_heap: str
    iceberg_catalog: str = "iceberg"
    spooling: bool = True
    spooling_bucket: str = "trino-spooling"
    # SSE-C for spooled segments: SeaweedFS takes customer keys over plain HTTP, MinIO only over TLS
    spooling_encryption: bool = True
    # secure mode (settings ``secure``): TLS files, Trino's password file (stack/secure.py)
    tls: StackTls | None = None


@dataclass(frozen=True)
class StackContext:
    """Addresses as the services see each other (loopback ports locally, Service names in a cluster).

    Build one with :meth:`local` or :meth:`in_cluster`; every port comes from the component specs.
    """

    s3_endpoint: str
    metastore_uri: str
    postgres_host: str
    postgres_port: int
    metastore_port: int
    trino_port: int
    trino_data_dir: str
    trino_node_id: str
    values: StackValues
    # the address Trino announces to itself; None: Trino picks one (a pod has one interface)
    trino_internal_address: str | None = None
    spark_master_url: str = ""
    spark_connect_bind: str = "0.0.0.0"
    spark_connect_port: int = 0

    @classmethod
    def local(cls, values: StackValues, ports: Mapping[str, int], *, trino_data_dir: str) -> StackContext:
        """The local stack: every service on 127.0.0.1, at ``ports`` (endpoint key to local port)."""
        host = "127.0.0.1"
        scheme = "https" if values.tls else "http"
        return cls(
            s3_endpoint=f"{scheme}://{host}:{ports['minio']}",
            metastore_uri=f"thrift://{host}:{ports['hive-metastore']}",
            postgres_host=host,
            postgres_port=ports["postgres"],
            metastore_port=ports["hive-metastore"],
            trino_port=ports["trino"],
            trino_data_dir=trino_data_dir,
            trino_node_id="lakehouse-local-trino",
            values=values,
            # on a host with more interfaces (containers, VPNs) Trino could announce one that is not its own
            trino_internal_address=host,
            spark_master_url=f"spark://{host}:{ports['spark-master']}",
            spark_connect_bind=host,
            spark_connect_port=ports["spark-connect"],
        )

    @classmethod
    def in_cluster(cls, values: StackValues) -> StackContext:
        """Inside the namespace: short Service names and container ports."""
        from lakehouse_sdk.stack.endpoints import ENDPOINTS

        s3, hms, pg, trino, master, connect = (
            ENDPOINTS[k] for k in ("minio", "hive-metastore", "postgres", "trino", "spark-master", "spark-connect")
        )
        scheme = "https" if values.tls else "http"
        return cls(
            s3_endpoint=f"{scheme}://{s3.dns_name}:{s3.port}",
            metastore_uri=f"thrift://{hms.dns_name}:{hms.port}",
            postgres_host=pg.dns_name,
            postgres_port=pg.port,
            metastore_port=hms.port,
            trino_port=trino.port,
            trino_data_dir=COMPONENTS["trino"].data_dirs[0],
            trino_node_id="trino-coordinator",
            values=values,
            spark_master_url=f"spark://{master.dns_name}:{master.port}",
            spark_connect_port=connect.port,
        )

    @property
    def jdbc_url(self) -> str:
        url = f"jdbc:postgresql://{self.postgres_host}:{self.postgres_port}/{self.values.postgres_database}"
        return url + jdbc_ssl_query(self.values.tls)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _trino_env(name: str) -> str:
    return "${ENV:" + SECRET_ENV[name] + "}"


def _hadoop_env(name: str) -> str:
    return "${env." + SECRET_ENV[name] + "}"


def hadoop_s3a_properties(
    s3_endpoint: str,
    region: str,
    *,
    access_key: str = _hadoop_env("s3_access_key"),
    secret_key: str = _hadoop_env("s3_secret_key"),
) -> dict[str, str]:
    """S3A on the stack's object store: the same keys for the metastore, Spark's servers and its clients.

    The servers get references to the credentials' environment variables; a client (``lh.spark()``) passes
    the values themselves.
    """
    return {
        "fs.s3a.endpoint": s3_endpoint,
        "fs.s3a.endpoint.region": region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(s3_endpoint.startswith("https")).lower(),
        "fs.s3a.access.key": access_key,
        "fs.s3a.secret.key": secret_key,
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        # Trino writes s3:// locations into the metastore: read them with S3A as well
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
    }


def core_site(ctx: StackContext) -> dict[str, str]:
    """``core-site.xml`` of the servers: S3A with the credentials from the environment."""
    return hadoop_s3a_properties(ctx.s3_endpoint, ctx.values.region)


def metastore_site(ctx: StackContext) -> dict[str, str]:
    """``metastore-site.xml`` for the standalone Hive Metastore on PostgreSQL and the object store."""
    warehouse = f"s3a://{ctx.values.warehouse_bucket}/"
    return {
        "metastore.thrift.port": str(ctx.metastore_port),
        "metastore.thrift.uris": ctx.metastore_uri,
        "metastore.server.min.threads": "5",
        "metastore.server.max.threads": "100",
        "metastore.task.threads.always": "org.apache.hadoop.hive.metastore.events.EventCleanerTask",
        "metastore.expression.proxy": "org.apache.hadoop.hive.metastore.DefaultPartitionExpressionProxy",
        "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "javax.jdo.option.ConnectionURL": ctx.jdbc_url,
        "javax.jdo.option.ConnectionUserName": ctx.values.postgres_user,
        "javax.jdo.option.ConnectionPassword": _hadoop_env("postgres_password"),
        "datanucleus.autoCreateSchema": "false",
        "metastore.schema.verification": "true",
        "datanucleus.connectionPool.maxPoolSize": "5",
        "metastore.warehouse.dir": warehouse,
        "metastore.warehouse.external.dir": warehouse,
        # HMS 4 turns managed tables of "old" clients (Spark's Hive 2.3 client) into external ones; keep them
        "metastore.metadata.transformer.class": " ",
        "metastore.event.db.notification.api.auth": "false",
        "metastore.housekeeping.threads.on": "false",
        "metastore.compactor.initiator.on": "false",
        **core_site(ctx),
    }


def _native_s3(ctx: StackContext) -> dict[str, str]:
    return {
        "fs.native-s3.enabled": "true",
        "s3.endpoint": ctx.s3_endpoint,
        "s3.region": ctx.values.region,
        "s3.path-style-access": "true",
        "s3.aws-access-key": _trino_env("s3_access_key"),
        "s3.aws-secret-key": _trino_env("s3_secret_key"),
    }


def trino_catalogs(ctx: StackContext) -> dict[str, dict[str, str]]:
    """Trino's ``hive`` and ``iceberg`` catalogs, both on the metastore and the object store."""
    return {
        "hive": {
            "connector.name": "hive",
            "hive.metastore.uri": ctx.metastore_uri,
            **_native_s3(ctx),
            "hive.non-managed-table-writes-enabled": "true",
            "hive.storage-format": "PARQUET",
        },
        "iceberg": {
            "connector.name": "iceberg",
            "iceberg.catalog.type": "hive_metastore",
            "hive.metastore.uri": ctx.metastore_uri,
            **_native_s3(ctx),
            "iceberg.file-format": "PARQUET",
            "iceberg.register-table-procedure.enabled": "true",
        },
    }


def _spooling(ctx: StackContext) -> dict[str, str]:
    """The spooling protocol's server side (the same on the coordinator and the workers)."""
    if not ctx.values.spooling:
        return {"protocol.spooling.enabled": "false"}
    return {
        "protocol.spooling.enabled": "true",
        "protocol.spooling.shared-secret-key": _trino_env("trino_spooling_key"),
        "protocol.spooling.retrieval-mode": SPOOLING_RETRIEVAL_MODE,
        # segments of 1 to 4 MB (JSON, before compression): the client decodes the first while Trino writes the
        # next, and the window of segments in flight stays small (benchmarks/bench_query.py: with Trino's own
        # 8 and 16 MB, 10 M rows peaked at 2.1x their Arrow table and the last segment was decoded alone)
        "protocol.spooling.initial-segment-size": "1MB",
        "protocol.spooling.max-segment-size": "4MB",
    }


def trino_config_properties(ctx: StackContext) -> dict[str, str]:
    """A single-node coordinator that also schedules work on itself (in secure mode: HTTPS and passwords on
    its port, internal HTTP on a loopback port of its own)."""
    props = {
        "coordinator": "true",
        "node-scheduler.include-coordinator": "true",
        "http-server.http.port": str(ctx.trino_port),
        "discovery.uri": f"http://127.0.0.1:{ctx.trino_port}",
        "query.max-memory": "1GB",
        "query.max-memory-per-node": "512MB",
        **_spooling(ctx),
    }
    if ctx.values.tls is not None:
        props.update(trino_https_properties(ctx.values.tls, ctx.trino_port, _trino_env("trino_internal_secret")))
    return props


def trino_worker_config_properties(ctx: StackContext, coordinator_host: str) -> dict[str, str]:
    """A worker: it announces itself to the coordinator at ``coordinator_host`` and runs the splits it gets."""
    return {
        "coordinator": "false",
        "http-server.http.port": str(ctx.trino_port),
        "discovery.uri": f"http://{coordinator_host}:{ctx.trino_port}",
        "query.max-memory": "1GB",
        "query.max-memory-per-node": "512MB",
        **_spooling(ctx),
    }


def trino_spooling_manager_properties(ctx: StackContext) -> dict[str, str]:
    """``etc/spooling-manager.properties``: spooled segments as objects in the spooling bucket.

    Each segment is encrypted with its own SSE-C key (the key travels only between the coordinator and the
    object store), where the object store takes customer keys over the stack's plain HTTP: SeaweedFS does,
    MinIO refuses them without TLS, so with MinIO segments are stored unencrypted. Segments live until the
    client acknowledges them (it does, one by one) or their TTL ends; the coordinator prunes expired ones.
    """
    return {
        "spooling-manager.name": "filesystem",
        "fs.s3.enabled": "true",
        "fs.location": f"s3://{ctx.values.spooling_bucket}/",
        "fs.segment.encryption": str(ctx.values.spooling_encryption).lower(),
        "fs.segment.ttl": "1h",
        "s3.endpoint": ctx.s3_endpoint,
        "s3.region": ctx.values.region,
        "s3.path-style-access": "true",
        "s3.aws-access-key": _trino_env("s3_access_key"),
        "s3.aws-secret-key": _trino_env("s3_secret_key"),
    }


def trino_worker_node_properties(ctx: StackContext) -> dict[str, str]:
    """No ``node.id``: each worker replica gets a random one when it starts (the coordinator's is fixed)."""
    return {"node.environment": "lakehouse", "node.data-dir": ctx.trino_data_dir}


def trino_node_properties(ctx: StackContext) -> dict[str, str]:
    props = {"node.environment": "lakehouse", "node.id": ctx.trino_node_id, "node.data-dir": ctx.trino_data_dir}
    if ctx.trino_internal_address:
        props["node.internal-address"] = ctx.trino_internal_address
    return props


def trino_jvm_config(ctx: StackContext) -> str:
    """``jvm.config``: one JVM option per line, so an option may hold no whitespace at all."""
    heap = f"-Xmx{ctx.values.trino_heap}"
    if not re.fullmatch(r"-Xmx[1-9][0-9]*[kKmMgGtT]?", heap):
        raise ValueError(f"trino heap {ctx.values.trino_heap!r} is not a JVM memory size such as 2G")
    return "\n".join(
        [
            "-server",
            heap,
            "-XX:InitialRAMPercentage=5",
            "-XX:+UseG1GC",
            "-XX:G1HeapRegionSize=4M",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+HeapDumpOnOutOfMemoryError",
            "-Djdk.attach.allowAttachSelf=true",
            "-Dfile.encoding=UTF-8",
            *jvm_trust_options(ctx.values.tls),
            "",
        ]
    )


def _escape_properties(text: str, *, key: bool) -> str:
    out = []
    for i, char in enumerate(text):
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char in _PROPERTIES_ESCAPES:
            out.append(_PROPERTIES_ESCAPES[char])
        elif code < 0x20 or code > 0x7E:
            # Properties.load reads ISO-8859-1: everything else as \uXXXX (surrogate pairs for the rest)
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        elif (key and char in " =:#!") or (char == " " and i == 0) or (i == 0 and char in "#!"):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


_PROPERTIES_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def to_properties(props: dict[str, str]) -> str:
    """Java ``.properties`` text, escaped so that every key and value reads back exactly (``Properties.load``)."""
    return "".join(
        f"{_escape_properties(key, key=True)}={_escape_properties(value, key=False)}\n" for key, value in props.items()
    )


def to_hadoop_xml(props: dict[str, str]) -> str:
    """Hadoop ``*-site.xml`` text."""
    for key, value in props.items():
        if _XML_INVALID.search(key + value):
            raise ValueError(f"the value of {key} holds a character that XML 1.0 cannot carry")
    body = "".join(
        f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n" for k, v in props.items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n{body}</configuration>\n'
