"""The local services: how each one is prepared, started and checked.

Every service listens on the reference architecture's NodePort (``settings.nodeports`` can move it) on
127.0.0.1, so ``Lakehouse()`` in its default ``nodeport`` mode connects with no configuration. The service
configuration files come from :mod:`lakehouse_sdk.stack.config`, the same source as the Kubernetes
ConfigMaps; credentials reach the processes as environment variables, never in files.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse_sdk.errors import ComponentError, StackError
from lakehouse_sdk.local.components import Components
from lakehouse_sdk.local.process import demote
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack.services import SERVICES
from lakehouse_sdk.stack.versions import VERSIONS

__all__ = ["SERVICE_ORDER", "LocalService", "RuntimeContext", "build_services"]

LOOPBACK = "127.0.0.1"
# Java 17 needs these for the metastore's and Spark's reflection
_ADD_OPENS = [
    f"--add-opens=java.base/{p}=ALL-UNNAMED"
    for p in (
        "java.lang",
        "java.lang.reflect",
        "java.util",
        "java.util.concurrent",
        "java.util.regex",
        "java.io",
        "java.net",
        "java.nio",
        "sun.nio.ch",
    )
]

SCHEMA_TOOL = {
    "3": "org.apache.hadoop.hive.metastore.tools.MetastoreSchemaTool",
    "4": "org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool",
}

_LOG4J2 = """status = WARN
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %5p [%t] %c{2}: %m%n
rootLogger.level = INFO
rootLogger.appenderRef.root.ref = console
logger.DataNucleus.name = DataNucleus
logger.DataNucleus.level = ERROR
logger.Datastore.name = Datastore
logger.Datastore.level = ERROR
"""


@dataclass
class RuntimeContext:
    """What the services share: settings, components, directories, ports and the secret environment."""

    settings: LakehouseSettings
    components: Components
    state: Path

    def port(self, key: str) -> int:
        return self.settings.nodeports.get(key, SERVICES[key].node_port)

    def data_dir(self, name: str) -> Path:
        path = self.state / "data" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def conf_dir(self, name: str) -> Path:
        path = self.state / "conf" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def stack_context(self) -> stack_config.StackContext:
        s = self.settings
        return stack_config.StackContext(
            s3_endpoint=f"http://{LOOPBACK}:{self.port('minio')}",
            metastore_uri=f"thrift://{LOOPBACK}:{self.port('hive-metastore')}",
            postgres_host=LOOPBACK,
            postgres_port=self.port("postgres"),
            postgres_database=s.postgres.database,
            postgres_user=s.postgres.user,
            region=s.s3.region,
            warehouse_bucket=s.s3.warehouse_bucket,
            metastore_port=self.port("hive-metastore"),
            trino_port=self.port("trino"),
            trino_heap=s.local.trino_heap,
            trino_data_dir=str(self.data_dir("trino")),
            trino_node_id="lakehouse-local-trino",
        )

    def secret_env(self) -> dict[str, str]:
        s = self.settings
        names = stack_config.SECRET_ENV
        return {
            names["s3_access_key"]: s.s3.access_key.get_secret_value(),
            names["s3_secret_key"]: s.s3.secret_key.get_secret_value(),
            names["postgres_password"]: s.postgres.password.get_secret_value(),
        }

    def base_env(self, java_home: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
        env.update(self.secret_env())
        if java_home is not None:
            env["JAVA_HOME"] = str(java_home)
            env["PATH"] = f"{java_home / 'bin'}:{env.get('PATH', '')}"
        return env


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    user: str | None = None


class LocalService:
    """One local service. Subclasses fill in ``prepare``, ``launch`` and ``check``."""

    name: str = ""
    endpoint_keys: tuple[str, ...] = ()
    # services that must be healthy before this one counts as healthy
    depends_on: tuple[str, ...] = ()
    # services that must be healthy before this one's process starts (default: depends_on)
    starts_after: tuple[str, ...] | None = None

    @property
    def start_dependencies(self) -> tuple[str, ...]:
        return self.depends_on if self.starts_after is None else self.starts_after

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx

    @property
    def extra_ports(self) -> tuple[int, ...]:
        """Internal ports the service also listens on."""
        return ()

    def ports(self) -> dict[str, int]:
        """Endpoint key (or internal role) to port, for the port-in-use check and status."""
        out = {key: self.ctx.port(key) for key in self.endpoint_keys}
        out.update({f"{self.name}-internal-{p}": p for p in self.extra_ports})
        return out

    def prepare(self) -> None:
        """Write configuration and initialise data (idempotent)."""

    def launch(self) -> Launch:
        raise NotImplementedError

    def check(self) -> str | None:
        """``None`` when the service is ready, else what it is still waiting for."""
        raise NotImplementedError

    def after_ready(self) -> None:
        """One-off work once the service is up (buckets, roles)."""


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _http_json(url: str, timeout: float = 2.0) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read().decode())
    except (OSError, ValueError):
        return None


# -- object store -----------------------------------------------------------------------------------------


class ObjectStore(LocalService):
    """The S3 API on ``minio`` (30900) and a web UI on ``minio-console`` (30901)."""

    name = "object-store"
    endpoint_keys = ("minio", "minio-console")

    def after_ready(self) -> None:
        from lakehouse_sdk.lakehouse import Lakehouse

        s3 = Lakehouse(
            self.ctx.settings.model_copy(update={"mode": "nodeport", "nodeport_host": LOOPBACK, "endpoints": {}})
        ).s3()
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in self.ctx.settings.s3.buckets:
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)


class SeaweedFS(ObjectStore):
    """SeaweedFS (Apache-2.0): ``weed mini`` runs master, volume, filer, S3 gateway and admin UI."""

    @property
    def extra_ports(self) -> tuple[int, ...]:
        """master, volume, filer HTTP; master, volume, filer, S3, admin gRPC: next to the S3 port."""
        base = self.ctx.port("minio")
        return tuple(base + offset for offset in (10, 11, 12, 20, 21, 22, 23, 24))

    def prepare(self) -> None:
        s = self.ctx.settings
        config = {
            "identities": [
                {
                    "name": "lakehouse",
                    "credentials": [{"accessKey": "${S3_ACCESS_KEY}", "secretKey": "${S3_SECRET_KEY}"}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        # weed reads identities from a file; it lives in the state dir with mode 0600 and holds the
        # only copy of the credentials on disk, as MinIO's own data dir would.
        text = json.dumps(config, indent=2).replace("${S3_ACCESS_KEY}", s.s3.access_key.get_secret_value())
        text = text.replace("${S3_SECRET_KEY}", s.s3.secret_key.get_secret_value())
        path = self.ctx.data_dir("object-store-config") / "s3.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)

    def launch(self) -> Launch:
        weed = self.ctx.components.weed()
        p = self.extra_ports
        argv = [
            str(weed),
            "mini",
            f"-dir={self.ctx.data_dir('object-store')}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-master.port={p[0]}",
            f"-master.port.grpc={p[3]}",
            f"-volume.port={p[1]}",
            f"-volume.port.grpc={p[4]}",
            f"-filer.port={p[2]}",
            f"-filer.port.grpc={p[5]}",
            f"-s3.port={self.ctx.port('minio')}",
            f"-s3.port.grpc={p[6]}",
            f"-admin.port={self.ctx.port('minio-console')}",
            f"-admin.port.grpc={p[7]}",
            "-admin.port.legacy=0",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            f"-s3.config={self.ctx.data_dir('object-store-config') / 's3.json'}",
        ]
        return Launch(argv, self.ctx.base_env(), self.ctx.data_dir("object-store"))

    def check(self) -> str | None:
        status = _http_status(f"http://{LOOPBACK}:{self.ctx.port('minio')}/healthz")
        return None if status == 200 else f"S3 /healthz answered {status}"


class MinIO(ObjectStore):
    """A MinIO server binary supplied by the user (``local.minio_binary``); not shipped (AGPL, archived)."""

    def launch(self) -> Launch:
        binary = self.ctx.settings.local.minio_binary
        if binary is None or not binary.is_file():
            raise ComponentError(
                "local.object_store = 'minio' needs local.minio_binary (LAKEHOUSE_LOCAL__MINIO_BINARY) to point "
                "at a MinIO server binary; lakehouse-sdk does not download MinIO."
            )
        env = self.ctx.base_env()
        env["MINIO_ROOT_USER"] = self.ctx.settings.s3.access_key.get_secret_value()
        env["MINIO_ROOT_PASSWORD"] = self.ctx.settings.s3.secret_key.get_secret_value()
        argv = [
            str(binary),
            "server",
            str(self.ctx.data_dir("object-store")),
            "--address",
            f"{LOOPBACK}:{self.ctx.port('minio')}",
            "--console-address",
            f"{LOOPBACK}:{self.ctx.port('minio-console')}",
        ]
        return Launch(argv, env, self.ctx.data_dir("object-store"))

    def check(self) -> str | None:
        status = _http_status(f"http://{LOOPBACK}:{self.ctx.port('minio')}/minio/health/live")
        return None if status == 200 else f"/minio/health/live answered {status}"


# -- PostgreSQL -------------------------------------------------------------------------------------------


class Postgres(LocalService):
    """PostgreSQL from the system's server binaries, password (SCRAM) authentication on 127.0.0.1."""

    name = "postgres"
    endpoint_keys = ("postgres",)

    @property
    def user(self) -> str | None:
        """PostgreSQL refuses to run as root: then it runs as the ``postgres`` system user."""
        if os.geteuid() != 0:
            return None
        for candidate in ("postgres", "nobody"):
            try:
                pwd.getpwnam(candidate)
                return candidate
            except KeyError:
                continue
        raise StackError("running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")

    @property
    def pgdata(self) -> Path:
        return self.ctx.state / "data" / "postgres"

    def _chown(self, path: Path) -> None:
        user = self.user
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def prepare(self) -> None:
        if (self.pgdata / "PG_VERSION").is_file():
            return
        user = self.user
        if user is not None:
            _check_traversable(self.ctx.state, user)
        bin_dir = self.ctx.components.postgres_bin()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._chown(self.pgdata)
        pwfile = self.ctx.state / "run" / "pg.pw"
        pwfile.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.ctx.settings.postgres.password.get_secret_value())
        self._chown(pwfile)
        try:
            argv = [
                str(bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                self.ctx.settings.postgres.user,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
            preexec = demote(user) if user else None
            proc = subprocess.run(
                argv, capture_output=True, text=True, check=False, preexec_fn=preexec, cwd=self.pgdata
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise StackError(f"initdb failed: {(proc.stdout + proc.stderr).strip()[-1500:]}")

    def launch(self) -> Launch:
        bin_dir = self.ctx.components.postgres_bin()
        argv = [
            str(bin_dir / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.ctx.port("postgres")),
            "-c",
            f"listen_addresses={LOOPBACK}",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=100",
            "-c",
            "shared_buffers=64MB",
            "-c",
            "fsync=on",
        ]
        return Launch(argv, self.ctx.base_env(), self.pgdata, self.user)

    def check(self) -> str | None:
        bin_dir = self.ctx.components.postgres_bin()
        proc = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", LOOPBACK, "-p", str(self.ctx.port("postgres")), "-t", "2"],
            capture_output=True,
            text=True,
            check=False,
        )
        return None if proc.returncode == 0 else f"pg_isready: {proc.stdout.strip() or proc.returncode}"

    def after_ready(self) -> None:
        s = self.ctx.settings
        bin_dir = self.ctx.components.postgres_bin()
        env = {**os.environ, "PGPASSWORD": s.postgres.password.get_secret_value()}
        base = [
            str(bin_dir / "psql"),
            "-h",
            LOOPBACK,
            "-p",
            str(self.ctx.port("postgres")),
            "-U",
            s.postgres.user,
            "-d",
            "postgres",
            "-tAq",
            "-v",
            "ON_ERROR_STOP=1",
        ]
        if not (bin_dir / "psql").is_file():
            base[0] = shutil.which("psql") or "psql"
        # psql quotes the name itself (:'db' as a literal, :"db" as an identifier); it is never formatted into SQL
        base += ["-v", f"db={s.postgres.database}"]
        check = subprocess.run(
            base,
            input="SELECT 1 FROM pg_database WHERE datname = :'db';\n",
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if check.returncode != 0:
            raise StackError(f"psql could not connect to the new PostgreSQL: {check.stderr.strip()[-500:]}")
        if check.stdout.strip() != "1":
            created = subprocess.run(
                base,
                input='CREATE DATABASE :"db";\n',
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if created.returncode != 0:
                raise StackError(f"creating database {s.postgres.database!r} failed: {created.stderr.strip()}")


def _check_traversable(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for parent in [*reversed(path.resolve().parents)]:
        st = parent.stat()
        mode = st.st_mode
        ok = (
            (mode & 0o001)
            or (st.st_uid == entry.pw_uid and mode & 0o100)
            or (st.st_gid == entry.pw_gid and mode & 0o010)
        )
        if not ok:
            raise StackError(
                f"PostgreSQL refuses to run as root, so it runs as user {user!r}, which cannot enter {parent} "
                f"(mode {oct(mode & 0o777)}) on the way to the state directory {path}. Choose a state directory "
                "outside it with LAKEHOUSE_LOCAL__STATE_DIR (the default for root is /var/lib/lakehouse-sdk)."
            )


# -- Hive Metastore ---------------------------------------------------------------------------------------


class HiveMetastore(LocalService):
    """The standalone Hive Metastore on PostgreSQL, schema initialised by its own schema tool."""

    name = "hive-metastore"
    endpoint_keys = ("hive-metastore",)
    depends_on = ("postgres", "object-store")

    def _java(self) -> tuple[Path, list[str]]:
        home = self.ctx.components.hive_home()
        conf = self.ctx.conf_dir("hive-metastore")
        classpath = ":".join([str(conf), f"{home}/lib/*", f"{home}/hadoop-lib/*"])
        java_home = self.ctx.components.java_home()
        jvm = [
            str(java_home / "bin" / "java"),
            "-Xms128m",
            f"-Xmx{self.ctx.settings.local.metastore_heap}",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j.configurationFile={conf}/log4j2.properties",
            *_ADD_OPENS,
            "-cp",
            classpath,
        ]
        return java_home, jvm

    def prepare(self) -> None:
        conf = self.ctx.conf_dir("hive-metastore")
        site = stack_config.metastore_site(self.ctx.stack_context)
        (conf / "metastore-site.xml").write_text(stack_config.to_hadoop_xml(site))
        (conf / "log4j2.properties").write_text(_LOG4J2)

    def init_schema(self) -> None:
        """Create the metastore schema in PostgreSQL unless it is there (a marker remembers it)."""
        marker = self.ctx.data_dir("hive-metastore") / "schema-initialised"
        if marker.is_file():
            return
        java_home, jvm = self._java()
        env = self.ctx.base_env(java_home)
        env["METASTORE_HOME"] = str(self.ctx.components.hive_home())
        tool = [*jvm, SCHEMA_TOOL[VERSIONS["hive-metastore"].split(".")[0]], "-dbType", "postgres"]
        log = self.ctx.state / "logs" / "hive-metastore-schematool.log"
        cwd = self.ctx.data_dir("hive-metastore")

        def run(*args: str) -> int:
            with log.open("ab") as fh:
                done = subprocess.run(
                    [*tool, *args], stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=False, timeout=600
                )
            return done.returncode

        # -info succeeds only when a schema exists; a fresh database gets -initSchema
        if run("-info") != 0 and (code := run("-initSchema")) != 0:
            raise StackError(f"the metastore schema tool failed (exit {code}); see {log}")
        marker.write_text("ok")

    def launch(self) -> Launch:
        self.init_schema()
        java_home, jvm = self._java()
        env = self.ctx.base_env(java_home)
        env["METASTORE_HOME"] = str(self.ctx.components.hive_home())
        return Launch(
            [*jvm, "org.apache.hadoop.hive.metastore.HiveMetaStore"], env, self.ctx.data_dir("hive-metastore")
        )

    def check(self) -> str | None:
        from lakehouse_sdk.clients.metastore import MetastoreClient
        from lakehouse_sdk.endpoints import Endpoint

        endpoint = Endpoint(
            "hive-metastore", "thrift", LOOPBACK, self.ctx.port("hive-metastore"), "nodeport", "local stack"
        )
        settings = self.ctx.settings.model_copy(update={"connect_timeout": 3.0})
        try:
            with MetastoreClient(settings, endpoint) as hms:
                hms.databases()
        except Exception as exc:
            return f"metastore call failed: {type(exc).__name__}"
        return None


# -- Spark ------------------------------------------------------------------------------------------------


class _Spark(LocalService):
    def _env(self) -> dict[str, str]:
        java_home = self.ctx.components.java_home()
        env = self.ctx.base_env(java_home)
        spark_home = self.ctx.components.spark_home()
        conf = self.ctx.conf_dir("spark")
        env.update(
            {
                "SPARK_HOME": str(spark_home),
                "SPARK_CONF_DIR": str(conf),
                "SPARK_LOCAL_IP": LOOPBACK,
                "SPARK_DAEMON_MEMORY": "256m",
                "SPARK_LOCAL_DIRS": str(self.ctx.data_dir("spark-local")),
                "SPARK_WORKER_DIR": str(self.ctx.data_dir("spark-work")),
                "SPARK_NO_DAEMONIZE": "1",
                "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
                "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=3600",
            }
        )
        return env

    def _spark_class(self) -> str:
        return str(self.ctx.components.spark_home() / "bin" / "spark-class")


class SparkMaster(_Spark):
    """The Spark standalone master from the installed pyspark."""

    name = "spark-master"
    endpoint_keys = ("spark-master", "spark-master-ui")

    def launch(self) -> Launch:
        argv = [
            self._spark_class(),
            "org.apache.spark.deploy.master.Master",
            "--host",
            LOOPBACK,
            "--port",
            str(self.ctx.port("spark-master")),
            "--webui-port",
            str(self.ctx.port("spark-master-ui")),
        ]
        return Launch(argv, self._env(), self.ctx.data_dir("spark-work"))

    def check(self) -> str | None:
        status = _http_json(f"http://{LOOPBACK}:{self.ctx.port('spark-master-ui')}/json/")
        if not status or status.get("status") != "ALIVE":
            return "master JSON status is not ALIVE yet"
        return None


class SparkWorker(_Spark):
    """One Spark worker registered with the master; executors get the S3A and Iceberg jars."""

    name = "spark-worker"
    endpoint_keys = ("spark-worker-ui",)
    depends_on = ("spark-master",)

    @property
    def extra_ports(self) -> tuple[int, ...]:
        """The worker's RPC port, next to its UI."""
        return (self.ctx.port("spark-worker-ui") + 1,)

    def launch(self) -> Launch:
        local = self.ctx.settings.local
        argv = [
            self._spark_class(),
            "org.apache.spark.deploy.worker.Worker",
            f"spark://{LOOPBACK}:{self.ctx.port('spark-master')}",
            "--host",
            LOOPBACK,
            "--port",
            str(self.extra_ports[0]),
            "--webui-port",
            str(self.ctx.port("spark-worker-ui")),
            "--cores",
            str(local.spark_worker_cores),
            "--memory",
            local.spark_worker_memory,
            "--work-dir",
            str(self.ctx.data_dir("spark-work")),
        ]
        return Launch(argv, self._env(), self.ctx.data_dir("spark-work"))

    def check(self) -> str | None:
        status = _http_json(f"http://{LOOPBACK}:{self.ctx.port('spark-master-ui')}/json/")
        if not status or int(status.get("aliveworkers", 0)) < 1:
            return "no alive worker registered with the master yet"
        return None


# -- Trino ------------------------------------------------------------------------------------------------


class Trino(LocalService):
    """Trino 476, single node, with the ``hive`` and ``iceberg`` catalogs."""

    name = "trino"
    endpoint_keys = ("trino",)
    depends_on = ("hive-metastore", "object-store")
    # Trino connects to the metastore lazily: its JVM (the slowest start of the stack) boots in parallel,
    # and it counts as healthy only once a query reaches both catalogs through the metastore.
    starts_after = ()

    def prepare(self) -> None:
        ctx = self.ctx.stack_context
        etc = self.ctx.conf_dir("trino")
        catalog = etc / "catalog"
        shutil.rmtree(catalog, ignore_errors=True)
        catalog.mkdir(parents=True)
        for name, props in stack_config.trino_catalogs(ctx).items():
            (catalog / f"{name}.properties").write_text(stack_config.to_properties(props))
        config = {
            **stack_config.trino_config_properties(ctx),
            "catalog.config-dir": str(catalog),
            "plugin.dir": str(self.ctx.components.trino_home() / "plugin"),
        }
        (etc / "config.properties").write_text(stack_config.to_properties(config))
        (etc / "node.properties").write_text(stack_config.to_properties(stack_config.trino_node_properties(ctx)))
        (etc / "jvm.config").write_text(stack_config.trino_jvm_config(ctx))
        (etc / "log.properties").write_text("io.trino=INFO\n")

    def launch(self) -> Launch:
        home = self.ctx.components.trino_home()
        java_home = self.ctx.components.trino_java_home()
        etc = self.ctx.conf_dir("trino")
        node = stack_config.trino_node_properties(self.ctx.stack_context)
        jvm = [line for line in (etc / "jvm.config").read_text().splitlines() if line.strip()]
        argv = [
            str(java_home / "bin" / "java"),
            "-cp",
            f"{home}/lib/*",
            *jvm,
            *(f"-D{k}={v}" for k, v in node.items()),
            f"-Dlog.levels-file={etc}/log.properties",
            f"-Dconfig={etc}/config.properties",
            "io.trino.server.TrinoServer",
        ]
        return Launch(argv, self.ctx.base_env(java_home), home)

    def check(self) -> str | None:
        port = self.ctx.port("trino")
        info = _http_json(f"http://{LOOPBACK}:{port}/v1/info")
        if not info:
            return "/v1/info does not answer yet"
        if info.get("starting", True):
            return "/v1/info says starting"
        return _trino_select_one(port)


# Ready means a query reaches both catalogs through the metastore, not only that the coordinator answers:
# right after start-up, catalog queries can still fail with NO_NODES_AVAILABLE.
READY_QUERY = (
    "SELECT (SELECT count(*) FROM hive.information_schema.schemata)"
    " + (SELECT count(*) FROM iceberg.information_schema.schemata)"
)


def _trino_select_one(port: int) -> str | None:
    """Run READY_QUERY over Trino's REST protocol (no client library needed)."""
    request = urllib.request.Request(
        f"http://{LOOPBACK}:{port}/v1/statement",
        data=READY_QUERY.encode(),
        headers={"X-Trino-User": "lakehouse-sdk"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            doc = json.loads(response.read().decode())
        for _ in range(200):
            if doc.get("error"):
                return f"catalog query failed: {doc['error'].get('message', '')[:200]}"
            if doc.get("data"):
                return None
            next_uri = doc.get("nextUri")
            if not next_uri:
                return "catalog query returned no rows"
            with urllib.request.urlopen(next_uri, timeout=5) as response:
                doc = json.loads(response.read().decode())
    except (OSError, ValueError) as exc:
        return f"catalog query failed: {exc}"
    return "catalog query did not finish"


SERVICE_ORDER = ("object-store", "postgres", "spark-master", "hive-metastore", "spark-worker", "trino")


def build_services(ctx: RuntimeContext) -> dict[str, LocalService]:
    """The services of the local stack, keyed by name, in start order."""
    store: LocalService = SeaweedFS(ctx) if ctx.settings.local.object_store == "seaweedfs" else MinIO(ctx)
    services = [store, Postgres(ctx), SparkMaster(ctx), HiveMetastore(ctx), SparkWorker(ctx), Trino(ctx)]
    return {s.name: s for s in services}
