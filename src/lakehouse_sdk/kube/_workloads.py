"""Pod specs of each component: containers, probes, volumes, and the waits on their dependencies.

Every credential reaches a container as an environment variable filled from the ``lakehouse-credentials``
Secret (``valueFrom.secretKeyRef``), under the names of :data:`lakehouse_sdk.stack.config.SECRET_ENV`, which
the ConfigMaps' files reference. No pod mounts the service-account token, and none gets the Docker-link
variables (``enableServiceLinks: false``): Kubernetes would otherwise inject ``SPARK_MASTER_PORT`` and
``HIVE_METASTORE_PORT`` as ``tcp://...`` URLs, which Spark and the metastore read as their own settings.
"""

from __future__ import annotations

from typing import Any

from lakehouse_sdk.kube.credentials import SECRET_KEYS, SECRET_NAME
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.stack.components import COMPONENTS, ComponentSpec, Readiness
from lakehouse_sdk.stack.config import SECRET_ENV
from lakehouse_sdk.stack.endpoints import ENDPOINTS
from lakehouse_sdk.stack.probes import TRINO_CATALOGS_SETTLE_SECONDS
from lakehouse_sdk.stack.versions import MAVEN, VERSIONS

Obj = dict[str, Any]

# The apache/hive image has no JDBC driver and no S3A: add hadoop-aws for the Hadoop line inside the image
# (3.1.0 in apache/hive:3.1.3, 3.3.6 in 4.0.x) and the AWS SDK bundle that hadoop-aws was built against.
_HMS_HADOOP = {"3": ("3.1.0", "1.11.271"), "4": ("3.3.6", "1.12.367")}
_hadoop, _aws = _HMS_HADOOP[VERSIONS["hive-metastore"].split(".")[0]]
HMS_JARS = {
    "postgresql.jar": MAVEN["postgresql-jdbc"].repository_path(),
    "hadoop-aws.jar": f"org/apache/hadoop/hadoop-aws/{_hadoop}/hadoop-aws-{_hadoop}.jar",
    "aws-java-sdk-bundle.jar": f"com/amazonaws/aws-java-sdk-bundle/{_aws}/aws-java-sdk-bundle-{_aws}.jar",
}


def secret_env(*names: str, as_: dict[str, str] | None = None) -> list[Obj]:
    """Env entries from the credentials Secret; ``as_`` renames (``{"s3_access_key": "AWS_ACCESS_KEY_ID"}``)."""
    out = []
    for name in names:
        env_name = (as_ or {}).get(name, SECRET_ENV.get(name, name))
        ref = {"secretKeyRef": {"name": SECRET_NAME, "key": SECRET_KEYS[name]}}
        out.append({"name": env_name, "valueFrom": ref})
    return out


S3_ENV = ("s3_access_key", "s3_secret_key")
ALL_SECRET_ENV = ("s3_access_key", "s3_secret_key", "postgres_password")


def fetch_jars(options: ProvisionOptions, jars: dict[str, str]) -> Obj:
    """An init container that downloads ``jars`` (file name to Maven repository path) into the ``jars`` volume
    from ``options.maven_repository``, skipping files a restarted pod already has."""
    repository = options.maven_repository.rstrip("/")
    script = "set -eu\n" + "".join(
        f"[ -s /jars/{name} ] || curl -fsSL -o /jars/{name} {repository}/{path}\n" for name, path in jars.items()
    )
    return {
        "name": "fetch-jars",
        "image": options.images.fetch,
        "command": ["sh", "-c", script],
        "volumeMounts": [{"name": "jars", "mountPath": "/jars"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }


def wait_for(image: str, spec: ComponentSpec) -> Obj:
    """An init container that waits until the primary port of every dependency of ``spec`` accepts TCP."""
    targets = [(ENDPOINTS[COMPONENTS[d].primary.endpoint or ""].dns_name, COMPONENTS[d].primary.container)
               for d in spec.depends_on]  # fmt: skip
    checks = " && ".join(f"(echo > /dev/tcp/{host}/{port}) 2>/dev/null" for host, port in targets)
    names = ", ".join(f"{h}:{p}" for h, p in targets)
    script = f'until {checks}; do echo "waiting for {names}"; sleep 2; done'
    return {
        "name": "wait-for-dependencies",
        "image": image,
        "command": ["bash", "-c", script],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
    }


def container_ports(spec: ComponentSpec) -> list[Obj]:
    """The container ports of a component."""
    return [{"name": p.name, "containerPort": p.container} for p in spec.ports]


def probe(spec: ComponentSpec, *, delay: int = 0, period: int = 10, failures: int = 3, path: str | None = None) -> Obj:
    """A probe from the spec's :class:`Readiness` (HTTP GET, TCP connect, or a command)."""
    ready: Readiness = spec.readiness or Readiness("tcp", spec.primary.name)
    port = spec.port(ready.port).container
    if ready.kind == "http":
        return http_probe(path or ready.path, port, delay=delay, period=period, failures=failures)
    if ready.kind == "tcp":
        return tcp_probe(port, delay=delay, period=period, failures=failures)
    return {
        "exec": {"command": list(ready.command)},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def startup_probe(spec: ComponentSpec) -> Obj:
    """The startupProbe of a slow starter (``Readiness.startup_failures`` attempts, every 5 s)."""
    return probe(spec, period=5, failures=spec.readiness.startup_failures or 60 if spec.readiness else 60)


def http_probe(path: str, port: int, *, delay: int = 0, period: int = 10, failures: int = 3) -> Obj:
    """An HTTP GET probe."""
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def tcp_probe(port: int, *, delay: int = 0, period: int = 10, failures: int = 3) -> Obj:
    """A TCP connect probe (for Thrift, which has no HTTP endpoint)."""
    return {
        "tcpSocket": {"port": port},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def pod_spec(containers: list[Obj], *, volumes: list[Obj] | None = None, init: list[Obj] | None = None) -> Obj:
    """The common pod spec: no service links, no service-account token."""
    spec: Obj = {"enableServiceLinks": False, "automountServiceAccountToken": False}
    if init:
        spec["initContainers"] = init
    spec["containers"] = containers
    if volumes:
        spec["volumes"] = volumes
    return spec


def object_store_container(options: ProvisionOptions) -> Obj:
    """SeaweedFS (``weed mini``) or MinIO, on the ports and data directory of the ``object-store`` spec."""
    spec = COMPONENTS["object-store"]
    res = options.resources[spec.name].to_k8s()
    ports = container_ports(spec)
    s3, console = spec.port("s3").container, spec.port("console").container
    mount = [{"name": "data", "mountPath": spec.data_dirs[0]}]
    if options.object_store == "minio":
        return {
            "name": "minio",
            "image": options.images.minio,
            "args": ["server", spec.data_dirs[0], "--address", f":{s3}", "--console-address", f":{console}"],
            "env": secret_env(
                *S3_ENV, as_={"s3_access_key": "MINIO_ROOT_USER", "s3_secret_key": "MINIO_ROOT_PASSWORD"}
            ),
            "ports": ports,
            "readinessProbe": probe(spec, period=5, path="/minio/health/ready"),
            "livenessProbe": probe(spec, delay=10, failures=6, path="/minio/health/live"),
            "resources": res,
            "volumeMounts": mount,
        }
    # weed takes the admin identity from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: no config file holds it.
    return {
        "name": "seaweedfs",
        "image": options.images.seaweedfs,
        # the admin UI binds beyond loopback only with a login: the stack's S3 credentials (from the Secret)
        "args": [
            "mini",
            f"-dir={spec.data_dirs[0]}",
            "-ip=127.0.0.1",
            "-ip.bind=0.0.0.0",
            # mini sizes volumes from the free disk (64 MB to 1 GB) and allows free disk / size of them; every
            # bucket is a collection that needs volumes of its own: small ones leave room for all the buckets
            "-master.volumeSizeLimitMB=128",
            f"-s3.port={s3}",
            f"-admin.port={console}",
            "-admin.user=$(AWS_ACCESS_KEY_ID)",
            "-admin.password=$(AWS_SECRET_ACCESS_KEY)",
        ],
        "env": secret_env(
            *S3_ENV, as_={"s3_access_key": "AWS_ACCESS_KEY_ID", "s3_secret_key": "AWS_SECRET_ACCESS_KEY"}
        ),
        "ports": ports,
        "readinessProbe": probe(spec, period=5),
        "livenessProbe": probe(spec, delay=15, failures=6),
        "resources": res,
        "volumeMounts": mount,
    }


def init_job_container(options: ProvisionOptions) -> Obj:
    """The ``minio-init`` container: waits for the S3 API, then creates each missing bucket."""
    buckets = " ".join(options.buckets)
    script = (
        "set -eu\n"
        "for i in $(seq 1 90); do aws s3api list-buckets >/dev/null 2>&1 && break; echo waiting for S3; sleep 2; done\n"
        f"for b in {buckets}; do\n"
        '  aws s3api head-bucket --bucket "$b" 2>/dev/null || aws s3api create-bucket --bucket "$b"\n'
        '  echo "bucket $b ready"\n'
        "done\n"
    )
    s3 = ENDPOINTS["minio"]
    env = [
        {"name": "AWS_ENDPOINT_URL", "value": f"{s3.scheme}://{s3.dns_name}:{s3.port}"},
        {"name": "AWS_REGION", "value": options.region},
        {"name": "HOME", "value": "/tmp"},  # the aws CLI's home; the pod runs as uid 1000, not the image's root
        *secret_env(*S3_ENV, as_={"s3_access_key": "AWS_ACCESS_KEY_ID", "s3_secret_key": "AWS_SECRET_ACCESS_KEY"}),
    ]
    return {
        "name": "create-buckets",
        "image": options.images.init,
        "command": ["bash", "-c", script],
        "env": env,
        "resources": options.resources["minio-init"].to_k8s(),
    }


def postgres_container(options: ProvisionOptions) -> Obj:
    """PostgreSQL with the metastore database; ``pg_isready`` probes."""
    spec = COMPONENTS["postgres"]
    assert spec.readiness is not None
    ready = [*spec.readiness.command, "-U", options.postgres_user, "-d", options.postgres_database]
    return {
        "name": "postgres",
        "image": options.images.postgres,
        "env": [
            {"name": "POSTGRES_USER", "value": options.postgres_user},
            {"name": "POSTGRES_DB", "value": options.postgres_database},
            {"name": "PGDATA", "value": f"{spec.data_dirs[0]}/pgdata"},
            *secret_env("postgres_password", as_={"postgres_password": "POSTGRES_PASSWORD"}),
        ],
        "ports": container_ports(spec),
        "readinessProbe": {"exec": {"command": ready}, "periodSeconds": 5, "timeoutSeconds": 5},
        "livenessProbe": {"exec": {"command": ready}, "initialDelaySeconds": 30, "periodSeconds": 10},
        "resources": options.resources["postgres"].to_k8s(),
        "volumeMounts": [{"name": "data", "mountPath": spec.data_dirs[0]}],
    }


# The metastore's schema, created once: the image's entrypoint would run -initSchema at every start (Hive 3),
# which fails on a database that has one; so an init container creates it when `-info` finds none, and the
# server starts with IS_RESUME=true (the entrypoint's documented switch to skip it).
_INIT_SCHEMA = (
    "/opt/hive/bin/schematool -dbType postgres -info >/dev/null 2>&1 && echo 'metastore schema present' "
    "|| /opt/hive/bin/schematool -dbType postgres -initSchema"
)


def metastore_pod(options: ProvisionOptions) -> Obj:
    """The standalone Hive Metastore: schema init on PostgreSQL, then the Thrift server on its port.

    Hive 3.1's tools read ``hive-site.xml`` (through HiveConf), the server ``metastore-site.xml``: the
    ConfigMap's ``metastore-site.xml`` is mounted under both names.
    """
    fetch = fetch_jars(options, HMS_JARS)
    spec = COMPONENTS["hive-metastore"]
    mounts = [{"name": "hadoop-config", "mountPath": "/etc/hive/custom-conf", "readOnly": True}]
    mounts += [{"name": "jars", "mountPath": f"/opt/hive/lib/{name}", "subPath": name} for name in HMS_JARS]
    env = [
        {"name": "SERVICE_NAME", "value": "metastore"},
        {"name": "DB_DRIVER", "value": "postgres"},
        {"name": "HIVE_CUSTOM_CONF_DIR", "value": "/etc/hive/custom-conf"},
        *secret_env(*ALL_SECRET_ENV),
    ]
    init_schema = {
        "name": "init-schema",
        "image": options.images.hive_metastore,
        "command": ["bash", "-c", _INIT_SCHEMA],
        "env": [*env[1:], {"name": "HIVE_CONF_DIR", "value": "/etc/hive/custom-conf"}],
        "resources": options.resources["hive-metastore"].to_k8s(),
        "volumeMounts": mounts,
    }
    container = {
        "name": "hive-metastore",
        "image": options.images.hive_metastore,
        "env": [*env, {"name": "IS_RESUME", "value": "true"}],
        "ports": container_ports(spec),
        "startupProbe": startup_probe(spec),
        "readinessProbe": probe(spec, period=10),
        "livenessProbe": probe(spec, period=20, failures=3),
        "resources": options.resources["hive-metastore"].to_k8s(),
        "volumeMounts": mounts,
    }
    items = [item("core-site.xml"), item("metastore-site.xml"), item("metastore-site.xml", "hive-site.xml")]
    volumes = [
        {"name": "hadoop-config", "configMap": {"name": "hadoop-config", "items": items}},
        {"name": "jars", "emptyDir": {}},
    ]
    waits = wait_for(options.images.hive_metastore, spec)
    return pod_spec([container], volumes=volumes, init=[fetch, waits, init_schema])


def item(key: str, path: str | None = None) -> Obj:
    """One file of a ConfigMap volume."""
    return {"key": key, "path": path or key}


TRINO_FILES = {
    "config.properties": "config.properties",
    "node.properties": "node.properties",
    "jvm.config": "jvm.config",
    "catalog.hive.properties": "catalog/hive.properties",
    "catalog.iceberg.properties": "catalog/iceberg.properties",
    # the launcher links <data dir>/etc to /etc/trino, and Trino reads etc/spooling-manager.properties there
    "spooling-manager.properties": "spooling-manager.properties",
}
# a worker reads its own config.properties and node.properties, under the same paths
TRINO_WORKER_FILES = {
    **TRINO_FILES,
    "config.properties": None,
    "node.properties": None,
    "worker.config.properties": "config.properties",
    "worker.node.properties": "node.properties",
}


def trino_info_check(url: str, *, cacert: str | None = None, settled: bool = False) -> list[str]:
    """A probe command: Trino's ``/v1/info`` at ``url`` says ``"starting":false`` (the image's own
    ``health-check``), and with ``settled`` also an uptime of :data:`TRINO_CATALOGS_SETTLE_SECONDS`, after
    which the coordinator's node manager knows its catalogs' nodes (before, table queries fail with
    NO_NODES_AVAILABLE). bash and curl only: what the image has."""
    verify = f"--cacert {cacert} " if cacert else ""
    lines = [
        f"set -o pipefail; info=$(curl -fsS {verify}{url}/v1/info) || exit 1",
        """case $info in *'"starting":false'*) ;; *) exit 1;; esac""",
    ]
    if settled:
        lines += [
            """u=${info#*'"uptime":"'}; u=${u%%'"'*}; n=${u%%.*}; n=${n%%[a-z]*}""",
            "case $u in *ms|*us|*ns) exit 1;; *m|*h|*d) exit 0;; "
            f'*s) [ "$n" -ge {int(TRINO_CATALOGS_SETTLE_SECONDS)} ];; *) exit 0;; esac',
        ]
    return ["bash", "-c", "\n".join(lines)]


def trino_pod(options: ProvisionOptions, role: str) -> Obj:
    """The Trino coordinator (which also runs splits) or a worker that joins it, with the ``hive`` and
    ``iceberg`` catalogs from ``trino-config``."""
    name = "trino" if role == "coordinator" else "trino-worker"
    spec = COMPONENTS[name]
    container = {
        "name": name,
        "image": options.images.trino,
        "env": secret_env(*spec.secrets),
        "ports": container_ports(spec),
        "startupProbe": startup_probe(spec),
        "readinessProbe": probe(spec, period=10),
        "livenessProbe": probe(spec, period=20, failures=3),
        "resources": options.resources[name].to_k8s(),
        "volumeMounts": [
            {"name": "trino-config", "mountPath": "/etc/trino", "readOnly": True},
            {"name": "data", "mountPath": spec.data_dirs[0]},
        ],
    }
    files = TRINO_FILES if role == "coordinator" else TRINO_WORKER_FILES
    spooling = options.stack_values().spooling
    items = [
        item(key, path) for key, path in files.items() if path and (spooling or key != "spooling-manager.properties")
    ]
    volumes = [{"name": "trino-config", "configMap": {"name": "trino-config", "items": items}}]
    volumes.append({"name": "data", "emptyDir": {}})
    if role == "coordinator":  # a worker's catalogs are the coordinator's to learn: nothing to wait for here
        url = f"http://localhost:{spec.primary.container}"
        ready: Obj = probe(spec, period=10)
        ready["exec"] = {"command": trino_info_check(url, settled=True)}
        container["readinessProbe"] = ready
    init = [wait_for(options.images.trino, spec)]
    return pod_spec([container], volumes=volumes, init=init)
