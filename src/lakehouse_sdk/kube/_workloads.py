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
from lakehouse_sdk.stack.config import SECRET_ENV
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
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


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


def wait_for(image: str, *targets: tuple[str, int]) -> Obj:
    """An init container that waits until every ``host:port`` accepts TCP connections (bash ``/dev/tcp``)."""
    checks = " && ".join(f"(echo > /dev/tcp/{host}/{port}) 2>/dev/null" for host, port in targets)
    names = ", ".join(f"{h}:{p}" for h, p in targets)
    script = f'until {checks}; do echo "waiting for {names}"; sleep 2; done'
    return {
        "name": "wait-for-dependencies",
        "image": image,
        "command": ["bash", "-c", script],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
    }


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
    """SeaweedFS (``weed mini``) or MinIO, S3 API on 9000 and web console on 9001, data in ``/data``."""
    res = options.resources["object-store"].to_k8s()
    ports = [{"name": "s3", "containerPort": 9000}, {"name": "console", "containerPort": 9001}]
    mount = [{"name": "data", "mountPath": "/data"}]
    if options.object_store == "minio":
        return {
            "name": "minio",
            "image": options.images.minio,
            "args": ["server", "/data", "--address", ":9000", "--console-address", ":9001"],
            "env": secret_env(
                *S3_ENV, as_={"s3_access_key": "MINIO_ROOT_USER", "s3_secret_key": "MINIO_ROOT_PASSWORD"}
            ),
            "ports": ports,
            "readinessProbe": http_probe("/minio/health/ready", 9000, period=5),
            "livenessProbe": http_probe("/minio/health/live", 9000, delay=10, failures=6),
            "resources": res,
            "volumeMounts": mount,
        }
    # weed takes the admin identity from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: no config file holds it.
    return {
        "name": "seaweedfs",
        "image": options.images.seaweedfs,
        "args": ["mini", "-dir=/data", "-ip=127.0.0.1", "-ip.bind=0.0.0.0", "-s3.port=9000", "-admin.port=9001"],
        "env": secret_env(
            *S3_ENV, as_={"s3_access_key": "AWS_ACCESS_KEY_ID", "s3_secret_key": "AWS_SECRET_ACCESS_KEY"}
        ),
        "ports": ports,
        "readinessProbe": http_probe("/healthz", 9000, period=5),
        "livenessProbe": http_probe("/healthz", 9000, delay=15, failures=6),
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
    env = [
        {"name": "AWS_ENDPOINT_URL", "value": "http://minio:9000"},
        {"name": "AWS_REGION", "value": options.region},
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
    ready = ["pg_isready", "-h", "127.0.0.1", "-U", options.postgres_user, "-d", options.postgres_database]
    return {
        "name": "postgres",
        "image": options.images.postgres,
        "env": [
            {"name": "POSTGRES_USER", "value": options.postgres_user},
            {"name": "POSTGRES_DB", "value": options.postgres_database},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
            *secret_env("postgres_password", as_={"postgres_password": "POSTGRES_PASSWORD"}),
        ],
        "ports": [{"name": "postgres", "containerPort": 5432}],
        "readinessProbe": {"exec": {"command": ready}, "periodSeconds": 5, "timeoutSeconds": 5},
        "livenessProbe": {"exec": {"command": ready}, "initialDelaySeconds": 30, "periodSeconds": 10},
        "resources": options.resources["postgres"].to_k8s(),
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}],
    }


def metastore_pod(options: ProvisionOptions) -> Obj:
    """The standalone Hive Metastore: schema init on PostgreSQL, then the Thrift server on 9083."""
    fetch_script = "set -eu\n" + "".join(
        f"[ -s /jars/{name} ] || curl -fsSL -o /jars/{name} {MAVEN_CENTRAL}/{path}\n" for name, path in HMS_JARS.items()
    )
    fetch = {
        "name": "fetch-jars",
        "image": options.images.fetch,
        "command": ["sh", "-c", fetch_script],
        "volumeMounts": [{"name": "jars", "mountPath": "/jars"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }
    mounts = [{"name": "hadoop-config", "mountPath": "/etc/hive/custom-conf", "readOnly": True}]
    mounts += [{"name": "jars", "mountPath": f"/opt/hive/lib/{name}", "subPath": name} for name in HMS_JARS]
    container = {
        "name": "hive-metastore",
        "image": options.images.hive_metastore,
        "env": [
            {"name": "SERVICE_NAME", "value": "metastore"},
            {"name": "DB_DRIVER", "value": "postgres"},
            {"name": "HIVE_CUSTOM_CONF_DIR", "value": "/etc/hive/custom-conf"},
            *secret_env(*ALL_SECRET_ENV),
        ],
        "ports": [{"name": "thrift", "containerPort": 9083}],
        "startupProbe": tcp_probe(9083, period=5, failures=60),
        "readinessProbe": tcp_probe(9083, period=10),
        "livenessProbe": tcp_probe(9083, period=20, failures=3),
        "resources": options.resources["hive-metastore"].to_k8s(),
        "volumeMounts": mounts,
    }
    volumes = [{"name": "hadoop-config", "configMap": {"name": "hadoop-config"}}, {"name": "jars", "emptyDir": {}}]
    waits = wait_for(options.images.hive_metastore, ("postgres", 5432), ("minio", 9000))
    return pod_spec([container], volumes=volumes, init=[fetch, waits])


def _spark_memory(quantity: str) -> str:
    for suffix, unit in (("Gi", "g"), ("Mi", "m"), ("G", "g"), ("M", "m")):
        if quantity.endswith(suffix):
            return quantity[: -len(suffix)] + unit
    return "1g"


def spark_pod(options: ProvisionOptions, role: str) -> Obj:
    """The Spark standalone master (7077, UI 8080) or a worker (UI 8081) that joins it."""
    spark_class = "/opt/spark/bin/spark-class"
    if role == "master":
        args = [spark_class, "org.apache.spark.deploy.master.Master", "--host", "0.0.0.0", "--port", "7077"]
        args += ["--webui-port", "8080"]
        ports = [{"name": "spark", "containerPort": 7077}, {"name": "http", "containerPort": 8080}]
        probe_port = 8080
    else:
        res = options.resources["spark-worker"]
        cores = max(1, int(float(res.cpu[:-1]) / 1000) if res.cpu.endswith("m") else int(float(res.cpu)))
        args = [spark_class, "org.apache.spark.deploy.worker.Worker", "spark://spark-master:7077"]
        args += ["--webui-port", "8081", "--cores", str(cores), "--memory", _spark_memory(res.memory)]
        ports = [{"name": "http", "containerPort": 8081}]
        probe_port = 8081
    container = {
        "name": f"spark-{role}",
        "image": options.images.spark,
        "command": args,
        "env": [{"name": "HADOOP_CONF_DIR", "value": "/etc/hadoop/conf"}, *secret_env(*S3_ENV)],
        "ports": ports,
        "readinessProbe": http_probe("/", probe_port, period=10),
        "livenessProbe": http_probe("/", probe_port, delay=30, period=20),
        "resources": options.resources[f"spark-{role}"].to_k8s(),
        "volumeMounts": [{"name": "hadoop-config", "mountPath": "/etc/hadoop/conf", "readOnly": True}],
    }
    volumes = [{"name": "hadoop-config", "configMap": {"name": "hadoop-config", "items": [_item("core-site.xml")]}}]
    init = [wait_for(options.images.spark, ("spark-master", 7077))] if role == "worker" else None
    return pod_spec([container], volumes=volumes, init=init)


def _item(key: str, path: str | None = None) -> Obj:
    return {"key": key, "path": path or key}


TRINO_FILES = {
    "config.properties": "config.properties",
    "node.properties": "node.properties",
    "jvm.config": "jvm.config",
    "catalog.hive.properties": "catalog/hive.properties",
    "catalog.iceberg.properties": "catalog/iceberg.properties",
}


def trino_pod(options: ProvisionOptions) -> Obj:
    """A single-node Trino coordinator with the ``hive`` and ``iceberg`` catalogs from ``trino-config``."""
    container = {
        "name": "trino",
        "image": options.images.trino,
        "env": secret_env(*S3_ENV),
        "ports": [{"name": "http", "containerPort": 8080}],
        "startupProbe": http_probe("/v1/info", 8080, period=5, failures=60),
        "readinessProbe": http_probe("/v1/info", 8080, period=10),
        "livenessProbe": http_probe("/v1/info", 8080, period=20, failures=3),
        "resources": options.resources["trino"].to_k8s(),
        "volumeMounts": [
            {"name": "trino-config", "mountPath": "/etc/trino", "readOnly": True},
            {"name": "data", "mountPath": "/data/trino"},
        ],
    }
    items = [_item(key, path) for key, path in TRINO_FILES.items()]
    volumes = [{"name": "trino-config", "configMap": {"name": "trino-config", "items": items}}]
    volumes.append({"name": "data", "emptyDir": {}})
    init = [wait_for(options.images.trino, ("hive-metastore", 9083), ("minio", 9000))]
    return pod_spec([container], volumes=volumes, init=init)
