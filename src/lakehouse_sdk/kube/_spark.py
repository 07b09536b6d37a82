"""Pod specs of the Spark components: the standalone master and workers, and the Spark Connect server.

The Connect server is the driver of every Connect session: its executors run on the workers and connect back to
it at its pod IP (``spark.driver.host``, from the downward API). The S3A, AWS SDK and Iceberg jars are not in the
Spark image: an init container fetches them from the Maven repository into an ``emptyDir`` (as the metastore's
does), the server puts them on its class path and serves them to its executors (``spark.jars``). Its token
comes from the credentials Secret as ``SPARK_CONNECT_AUTHENTICATE_TOKEN``, Spark's own variable.
"""

from __future__ import annotations

from lakehouse_sdk.kube._workloads import (
    S3_ENV,
    Obj,
    container_ports,
    fetch_jars,
    item,
    pod_spec,
    probe,
    secret_env,
    startup_probe,
    wait_for,
)
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.stack.components import COMPONENTS
from lakehouse_sdk.stack.config import StackContext
from lakehouse_sdk.stack.endpoints import ENDPOINTS
from lakehouse_sdk.stack.spark_config import CONNECT_SERVER_CLASS, SPARK_DAEMON_JAVA_OPTS, spark_connect_properties
from lakehouse_sdk.stack.versions import spark_jar_artifacts

__all__ = ["CONNECT_JAR_DIR", "spark_connect_conf", "spark_connect_pod", "spark_pod"]

CONNECT_JAR_DIR = "/opt/spark/extra-jars"
_CONF_DIR = "/etc/spark/connect"
_HADOOP_CONF = "/etc/hadoop/conf"


def _spark_memory(quantity: str) -> str:
    for suffix, unit in (("Gi", "g"), ("Mi", "m"), ("G", "g"), ("M", "m")):
        if quantity.endswith(suffix):
            return quantity[: -len(suffix)] + unit
    return "1g"


def spark_pod(options: ProvisionOptions, role: str) -> Obj:
    """The Spark standalone master or a worker that joins it, on the ports of their specs."""
    spark_class = "/opt/spark/bin/spark-class"
    spec = COMPONENTS[f"spark-{role}"]
    ui = str(spec.port("http").container)
    if role == "master":
        rpc = str(spec.port("spark").container)
        args = [spark_class, "org.apache.spark.deploy.master.Master", "--host", "0.0.0.0", "--port", rpc]
        args += ["--webui-port", ui]
    else:
        res = options.resources["spark-worker"]
        cores = max(1, int(float(res.cpu[:-1]) / 1000) if res.cpu.endswith("m") else int(float(res.cpu)))
        master = ENDPOINTS["spark-master"]
        args = [spark_class, "org.apache.spark.deploy.worker.Worker", f"spark://{master.dns_name}:{master.port}"]
        args += ["--webui-port", ui, "--cores", str(cores), "--memory", _spark_memory(res.memory)]
    env = [
        {"name": "HADOOP_CONF_DIR", "value": _HADOOP_CONF},
        {"name": "SPARK_DAEMON_JAVA_OPTS", "value": SPARK_DAEMON_JAVA_OPTS},
        *secret_env(*S3_ENV),
    ]
    if role == "worker":
        # the master binds 0.0.0.0 and advertises that: after a master restart a worker would reconnect to
        # 0.0.0.0:7077 (its own pod) unless it keeps the address it was given, the Service name (SPARK-20529)
        env.insert(1, {"name": "SPARK_WORKER_OPTS", "value": "-Dspark.worker.preferConfiguredMasterAddress=true"})
    container = {
        "name": f"spark-{role}",
        "image": options.images.spark,
        "command": args,
        "env": env,
        "ports": container_ports(spec),
        "readinessProbe": probe(spec, period=10),
        "livenessProbe": probe(spec, delay=30, period=20),
        "resources": options.resources[f"spark-{role}"].to_k8s(),
        "volumeMounts": [{"name": "hadoop-config", "mountPath": _HADOOP_CONF, "readOnly": True}],
    }
    volumes = [{"name": "hadoop-config", "configMap": {"name": "hadoop-config", "items": [item("core-site.xml")]}}]
    init = [wait_for(options.images.spark, spec)] if spec.depends_on else None
    return pod_spec([container], volumes=volumes, init=init)


def spark_connect_conf(ctx: StackContext) -> dict[str, str]:
    """The Connect server's properties in a cluster (the ``spark-config`` ConfigMap's ``spark-connect.conf``)."""
    jars = [f"{CONNECT_JAR_DIR}/{a.filename}" for a in spark_jar_artifacts()]
    return {
        **spark_connect_properties(ctx, jars=jars, executors_share_files=False),
        "spark.driver.bindAddress": "0.0.0.0",
    }


def spark_connect_pod(options: ProvisionOptions) -> Obj:
    """The Spark Connect server: jars fetched by an init container, then ``spark-submit`` of the server."""
    spec = COMPONENTS["spark-connect"]
    fetch = fetch_jars(options, {a.filename: a.repository_path() for a in spark_jar_artifacts()})
    res = options.resources["spark-connect"]
    driver_memory = _spark_memory(res.memory_limit or res.memory)
    container = {
        "name": "spark-connect",
        "image": options.images.spark,
        "command": [
            "/opt/spark/bin/spark-submit",
            "--class",
            CONNECT_SERVER_CLASS,
            "--name",
            "lakehouse-spark-connect",
            "--properties-file",
            f"{_CONF_DIR}/spark-connect.conf",
            # executors on the workers reach the driver at this pod's IP
            "--conf",
            "spark.driver.host=$(POD_IP)",
            "spark-internal",
        ],
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            # spark-submit sizes the Connect server (a daemon) by SPARK_DAEMON_MEMORY before spark.driver.memory;
            # the heap leaves a third of the container's memory to the JVM itself and the server's buffers
            {"name": "SPARK_DAEMON_MEMORY", "value": _heap(driver_memory)},
            {"name": "SPARK_DAEMON_JAVA_OPTS", "value": SPARK_DAEMON_JAVA_OPTS},
            {"name": "HADOOP_CONF_DIR", "value": _HADOOP_CONF},
            *secret_env(*S3_ENV, "spark_connect_token"),
        ],
        "ports": container_ports(spec),
        "startupProbe": startup_probe(spec),
        "readinessProbe": probe(spec, period=10),
        "livenessProbe": probe(spec, period=20, failures=3),
        "resources": res.to_k8s(),
        "volumeMounts": [
            {"name": "hadoop-config", "mountPath": _HADOOP_CONF, "readOnly": True},
            {"name": "spark-config", "mountPath": _CONF_DIR, "readOnly": True},
            {"name": "jars", "mountPath": CONNECT_JAR_DIR, "readOnly": True},
        ],
    }
    volumes = [
        {"name": "hadoop-config", "configMap": {"name": "hadoop-config", "items": [item("core-site.xml")]}},
        {"name": "spark-config", "configMap": {"name": "spark-config", "items": [item("spark-connect.conf")]}},
        {"name": "jars", "emptyDir": {}},
    ]
    return pod_spec([container], volumes=volumes, init=[fetch, wait_for(options.images.spark, spec)])


def _heap(memory: str) -> str:
    """Two thirds of a JVM memory size (``3g`` -> ``2048m``), at least 512m."""
    units = {"g": 1024, "m": 1}
    value = int(float(memory[:-1]) * units.get(memory[-1], 1)) if memory[-1] in units else 1536
    return f"{max(512, value * 2 // 3)}m"
