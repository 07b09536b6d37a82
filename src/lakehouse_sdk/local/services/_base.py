"""The local services: one process class per component spec of :mod:`lakehouse_sdk.stack.components`.

Every service listens on its endpoints' NodePorts (``settings.nodeports`` can move them) on 127.0.0.1, so
``Lakehouse()`` in its default ``nodeport`` mode connects with no configuration. The configuration files come
from :mod:`lakehouse_sdk.stack.config`, the same source as the Kubernetes ConfigMaps; credentials reach the
processes as environment variables, never in files.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from lakehouse_sdk.local.artifacts import Artifacts
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack.components import COMPONENTS, ComponentSpec
from lakehouse_sdk.stack.endpoints import ENDPOINTS
from lakehouse_sdk.stack.secure import TRINO_INTERNAL_PORT_OFFSET, StackTls
from lakehouse_sdk.tls import TRUSTSTORE_PASSWORD

__all__ = ["LOOPBACK", "Launch", "LocalService", "RuntimeContext", "java_add_opens", "stack_secret"]

LOOPBACK = "127.0.0.1"


def internal_secret(state: Path) -> str:
    """Trino's ``internal-communication.shared-secret`` of this stack (made once, kept in the state dir, 0600)."""
    return stack_secret(state, "trino-internal-secret")


def stack_secret(state: Path, name: str) -> str:
    """A secret of the secure mode's, ``<state>/tls/<name>``: made once (384 random bits), 0600."""
    from lakehouse_sdk.errors import register_secret

    path = state / "tls" / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    value = path.read_text().strip()
    register_secret(value)
    return value


def java_add_opens() -> list[str]:
    """The ``--add-opens`` flags Java 17 needs for the metastore's and Spark's reflection."""
    packages = ["java.lang", "java.lang.reflect", "java.util", "java.util.concurrent", "java.util.regex", "java.io"]
    packages += ["java.net", "java.nio", "sun.nio.ch"]
    return [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in packages]


@dataclass
class RuntimeContext:
    """What the services share: settings, components, directories, ports and the secret environment."""

    settings: LakehouseSettings
    artifacts: Artifacts
    state: Path
    say: Callable[[str], None] = print  # progress lines of `lakehouse up`

    def port(self, key: str) -> int:
        """The local port of an endpoint: ``settings.nodeports``, else the reference NodePort."""
        node_port = ENDPOINTS[key].node_port
        return self.settings.nodeports.get(key, node_port)

    def data_dir(self, name: str) -> Path:
        path = self.state / "data" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def conf_dir(self, name: str) -> Path:
        path = self.state / "conf" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def tmp_path(self, name: str) -> Path:
        """``<state>/tmp/<name>``, without touching it (:meth:`tmp_dir` makes it)."""
        return self.state / "tmp" / name

    def tmp_dir(self, name: str) -> Path:
        """An empty ``<state>/tmp/<name>``: a service's temporary files (``java.io.tmpdir``, ``TMPDIR``), which
        would otherwise stay in the machine's ``/tmp`` (native libraries a JVM unpacks and a killed one never
        deletes, Hive's session directories, glog files). Emptied at each start; ``lakehouse down`` removes it."""
        path = self.tmp_path(name)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    @property
    def tls(self) -> StackTls | None:
        """The secure mode's files (settings ``secure``), in ``<state>/tls``; ``None`` when it is off."""
        if not self.settings.secure:
            return None
        directory = self.state / "tls"
        return StackTls(
            ca_cert=str(directory / "ca.pem"),
            truststore=str(directory / "truststore.p12"),
            truststore_password=TRUSTSTORE_PASSWORD,
            server_cert=str(directory / "server.pem"),
            server_key=str(directory / "server.key"),
            server_bundle=str(directory / "server-bundle.pem"),
            trino_password_file=str(self.state / "conf" / "trino" / "password.db"),
            trino_internal_port=self.port("trino") + TRINO_INTERNAL_PORT_OFFSET,
        )

    @property
    def stack_context(self) -> stack_config.StackContext:
        """Addresses as the local services see each other: loopback and the local ports."""
        return stack_config.StackContext.local(
            dataclasses.replace(self.settings.stack_values(), tls=self.tls),
            {key: self.port(key) for key in ENDPOINTS},
            trino_data_dir=str(self.data_dir("trino")),
        )

    def secret_env(self) -> dict[str, str]:
        s = self.settings
        names = stack_config.SECRET_ENV
        env = {
            names["s3_access_key"]: s.s3.access_key.get_secret_value(),
            names["s3_secret_key"]: s.s3.secret_key.get_secret_value(),
            names["postgres_password"]: s.postgres.password.get_secret_value(),
        }
        if s.secure:
            env[names["trino_internal_secret"]] = internal_secret(self.state)
        return env

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
    """One local service. Subclasses set ``spec`` and fill in ``prepare``, ``launch`` and ``check``."""

    spec: ClassVar[ComponentSpec]

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def endpoint_keys(self) -> tuple[str, ...]:
        return self.spec.endpoint_keys

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Services that must be healthy before this one counts as healthy."""
        return tuple(d for d in self.spec.depends_on if COMPONENTS[d].local)

    @property
    def start_dependencies(self) -> tuple[str, ...]:
        """Services that must be healthy before this one's process starts."""
        return tuple(d for d in self.spec.start_dependencies if COMPONENTS[d].local)

    @property
    def extra_ports(self) -> tuple[int, ...]:
        """Internal ports the service also listens on, next to its first endpoint's port."""
        if not self.spec.extra_port_offsets:
            return ()
        base = self.ctx.port(self.endpoint_keys[0])
        return tuple(base + offset for offset in self.spec.extra_port_offsets)

    def ports(self) -> dict[str, int]:
        """Endpoint key (or internal role) to port, for the port-in-use check and status."""
        out = {key: self.ctx.port(key) for key in self.endpoint_keys}
        out.update({f"{self.name}-internal-{p}": p for p in self.extra_ports})
        return out

    def url(self, key: str, path: str = "") -> str:
        """``http(s)://127.0.0.1:<port of key><path>`` (https for the TLS endpoints in secure mode)."""
        from lakehouse_sdk.endpoints import scheme_of

        return f"{scheme_of(self.ctx.settings, key)}://{LOOPBACK}:{self.ctx.port(key)}{path}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """In secure mode, a TLS context that trusts the stack's CA (for the services' own probes)."""
        tls = self.ctx.tls
        return None if tls is None else ssl.create_default_context(cafile=tls.ca_cert)

    def prepare(self) -> None:
        """Write configuration and initialise data (idempotent)."""

    def launch(self) -> Launch:
        raise NotImplementedError

    def check(self) -> str | None:
        """``None`` when the service is ready, else what it is still waiting for."""
        raise NotImplementedError

    def after_ready(self) -> None:
        """One-off work once the service is up (buckets, roles)."""
