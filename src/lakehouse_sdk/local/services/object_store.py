"""The object store: SeaweedFS (``weed mini``, the default) or a user-supplied MinIO server."""

from __future__ import annotations

import json
import os

from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.local._weed import mini_flags
from lakehouse_sdk.local.services._base import LOOPBACK, Launch, LocalService
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack import probes
from lakehouse_sdk.stack.components import COMPONENTS

__all__ = ["MinIO", "ObjectStore", "SeaweedFS", "stack_buckets"]

_UNUSED = ("-admin.port.legacy=0", "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false")


def stack_buckets(settings: LakehouseSettings) -> list[str]:
    """The buckets the stack needs: ``s3.buckets``, the warehouse and (with spooling) Trino's spooling bucket."""
    wanted = [settings.s3.warehouse_bucket, *settings.s3.buckets]
    if settings.trino.spooling:
        wanted.append(settings.trino.spooling_bucket)
    return list(dict.fromkeys(wanted))


class ObjectStore(LocalService):
    """The S3 API on the ``minio`` endpoint and a web UI on ``minio-console``; creates the buckets once up."""

    spec = COMPONENTS["object-store"]

    def after_ready(self) -> None:
        from lakehouse_sdk.clients.s3 import s3_client
        from lakehouse_sdk.endpoints import Endpoint

        scheme = "https" if self.ctx.tls else "http"
        endpoint = Endpoint("minio", scheme, LOOPBACK, self.ctx.port("minio"), "nodeport", "the local stack")
        s3 = s3_client(self.ctx.settings, endpoint)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in stack_buckets(self.ctx.settings):
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)


class SeaweedFS(ObjectStore):
    """SeaweedFS (Apache-2.0): ``weed mini`` runs master, volume, filer, S3 gateway and admin UI."""

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
        weed = self.ctx.artifacts.weed()
        p = self.extra_ports
        tmp = self.ctx.tmp_dir(self.name)
        # its local sockets default to /tmp/seaweedfs-*-<port>.sock, left behind by a kill; a socket's path has
        # at most 107 bytes
        sockets = [f"-{s}.localSocket={tmp / s}.sock" for s in ("s3", "filer") if len(str(tmp / s)) < 100]
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
            # the ports this stack does not use stay closed (where this release has them at all)
            *(flag for flag in (*_UNUSED, *sockets) if flag.split("=")[0] in mini_flags(weed)),
            f"-s3.config={self.ctx.data_dir('object-store-config') / 's3.json'}",
        ]
        tls = self.ctx.tls
        if tls is not None:  # secure mode: the S3 API speaks HTTPS on its port
            argv += [f"-s3.cert.file={tls.server_cert}", f"-s3.key.file={tls.server_key}"]
        env = self.ctx.base_env()
        env["TMPDIR"] = str(tmp)  # glog's files
        return Launch(argv, env, self.ctx.data_dir("object-store"))

    def check(self) -> str | None:
        status = probes.http_status(self.url("minio", "/healthz"), context=self.ssl_context())
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
        status = probes.http_status(self.url("minio", "/minio/health/live"))
        return None if status == 200 else f"/minio/health/live answered {status}"
