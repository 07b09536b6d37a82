"""Trino, single node, with the ``hive`` and ``iceberg`` catalogs."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
from pathlib import Path

from lakehouse_sdk.errors import register_secret
from lakehouse_sdk.local._jvm_cache import ClassCache
from lakehouse_sdk.local.services._base import Launch, LocalService
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack import config as stack_config
from lakehouse_sdk.stack import probes
from lakehouse_sdk.stack.components import COMPONENTS
from lakehouse_sdk.stack.secure import trino_password_authenticator

__all__ = ["Trino", "write_password_file"]


def write_password_file(path: Path, settings: LakehouseSettings) -> None:
    """Trino's password file with ``trino.user`` and ``trino.password`` (mode 0600; hashes, not passwords)."""
    from lakehouse_sdk.errors import ConfigurationError
    from lakehouse_sdk.tls import password_file_line

    password = settings.trino.password
    if password is None or not password.get_secret_value():
        raise ConfigurationError(
            "secure mode (secure from " + settings.source_of("secure") + ") runs Trino with password "
            f"authentication, and trino.password is not set: set LAKEHOUSE_TRINO__PASSWORD to the password user "
            f"{settings.trino.user!r} logs in with (clients send the same setting)."
        )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password_file_line(settings.trino.user, password.get_secret_value()) + "\n")


class Trino(LocalService):
    """Trino, single node, with the ``hive`` and ``iceberg`` catalogs.

    Trino connects to the metastore lazily: its JVM (the slowest start of the stack) boots in parallel with
    it (the spec's ``starts_after``), and it counts as healthy only once a query reaches both catalogs.
    """

    spec = COMPONENTS["trino"]

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
            # Dynamic catalog management with a read-only file store: the catalogs are the same files, and
            # CREATE/DROP CATALOG fail ("Catalog store is read only"), but the single node counts as having
            # every catalog. With static management the node manager learns the node's catalogs from its
            # discovery announcement up to 10 s after the server started (probes.TRINO_CATALOGS_SETTLE_SECONDS),
            # and table queries fail with NO_NODES_AVAILABLE until then, even after readiness.
            "catalog.management": "dynamic",
            "catalog.store": "file",
            "plugin.dir": str(self.ctx.artifacts.trino_home() / "plugin"),
        }
        (etc / "config.properties").write_text(stack_config.to_properties(config))
        # the file store's settings: Trino 476 reads them from etc/catalog-store.properties under its working
        # directory (a fixed path, not a property; etc/ is linked below)
        (etc / "catalog-store.properties").write_text(
            stack_config.to_properties({"catalog.config-dir": str(catalog), "catalog.read-only": "true"})
        )
        (etc / "node.properties").write_text(stack_config.to_properties(stack_config.trino_node_properties(ctx)))
        (etc / "jvm.config").write_text(stack_config.trino_jvm_config(ctx))
        (etc / "log.properties").write_text("io.trino=INFO\n")
        authenticator = etc / "password-authenticator.properties"
        authenticator.unlink(missing_ok=True)
        tls = self.ctx.tls
        if tls is not None:  # secure mode: the users and their PBKDF2 hashes, read by the file authenticator
            from lakehouse_sdk.local._trino_plugins import install_password_plugin

            install_password_plugin(self.ctx.artifacts.trino_home(), self.ctx.artifacts.maven)
            write_password_file(Path(tls.trino_password_file), self.ctx.settings)
            authenticator.write_text(stack_config.to_properties(trino_password_authenticator(tls)))
        manager = etc / "spooling-manager.properties"
        manager.unlink(missing_ok=True)
        if ctx.values.spooling:
            props = stack_config.trino_spooling_manager_properties(ctx)
            manager.write_text(stack_config.to_properties(props))
        # Trino reads etc/spooling-manager.properties and etc/catalog-store.properties from its working
        # directory, the data directory (as the launcher of the server tarball and the image arrange it, with
        # etc/ linked to the config)
        link = self.ctx.data_dir("trino") / "etc"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(etc, target_is_directory=True)

    def launch(self) -> Launch:
        home = self.ctx.artifacts.trino_home()
        java_home = self.ctx.artifacts.trino_java_home()
        etc = self.ctx.conf_dir("trino")
        node = stack_config.trino_node_properties(self.ctx.stack_context)
        jvm = [line for line in (etc / "jvm.config").read_text().splitlines() if line.strip()]
        java = [str(java_home / "bin" / "java"), "-cp", f"{home}/lib/*", *jvm]
        class_cache: list[str] = []
        if self.ctx.settings.local.class_cache:
            cache = ClassCache("trino", java_home, home / "lib", self.ctx.artifacts.cache / "jvm")
            cache.prepare(java, timeout=self.ctx.settings.local.start_timeout, say=self.ctx.say)
            class_cache = cache.options()
        argv = [
            *java,
            *class_cache,
            *(f"-D{k}={v}" for k, v in node.items()),
            f"-Djava.io.tmpdir={self.ctx.tmp_dir('trino')}",
            f"-Dlog.levels-file={etc}/log.properties",
            f"-Dconfig={etc}/config.properties",
            "io.trino.server.TrinoServer",
        ]
        env = self.ctx.base_env(java_home)
        # a fresh key per start: segments spooled before a restart are gone with the queries that made them
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        register_secret(key)
        env[stack_config.SECRET_ENV["trino_spooling_key"]] = key
        return Launch(argv, env, self.ctx.data_dir("trino"))

    def check(self) -> str | None:
        context = self.ssl_context()
        try:
            info = probes.http_json(self.url("trino", "/v1/info"), context=context)
        except (OSError, ValueError):
            info = None
        if not info:
            return "/v1/info does not answer yet"
        if info.get("starting", True):
            return "/v1/info says starting"
        login = None
        if context is not None:
            password = self.ctx.settings.trino.password
            login = (self.ctx.settings.trino.user, password.get_secret_value() if password else "")
        return probes.trino_query_ready(self.url("trino"), context=context, login=login)
