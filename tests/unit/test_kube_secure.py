"""Secure mode on Kubernetes, offline: the TLS Secret, Trino's HTTPS and passwords, PostgreSQL's TLS-only hba,
the CA trusted everywhere, nothing secret in a ConfigMap, and the certificate's names."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from cryptography import x509

from lakehouse_sdk import LakehouseSettings
from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.kube import _tls
from lakehouse_sdk.kube.credentials import Credentials
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.render import render_objects
from lakehouse_sdk.tls import ensure_ca, verify_password_line

Obj = dict[str, Any]
NODE_IP = "10.213.0.2"
OPTIONS = ProvisionOptions(secure=True, network_policies=True, namespace="analytics", tls_names=(NODE_IP,))


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> _tls.TlsMaterial:
    settings = LakehouseSettings(local={"state_dir": str(tmp_path_factory.mktemp("state"))})
    found = _tls.resolve_material(None, OPTIONS, settings)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def credentials() -> Credentials:
    return Credentials.generate()


@pytest.fixture(scope="module")
def objects(material: _tls.TlsMaterial, credentials: Credentials) -> list[Obj]:
    return render_objects(OPTIONS, credentials=credentials, tls=material)


def _get(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _pod(objects: list[Obj], name: str) -> Obj:
    return next(
        o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job") and o["metadata"]["name"] == name
    )


def _env(container: Obj) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_every_object_is_valid_kubernetes(objects: list[Obj]) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, "1.33", strict=True)


def test_the_tls_secret_holds_a_certificate_for_every_in_cluster_name_and_the_node(objects: list[Obj]) -> None:
    secret = _get(objects, "Secret", "lakehouse-tls")
    assert secret["type"] == "kubernetes.io/tls"
    assert sorted(secret["data"]) == sorted(["ca.crt", "tls.crt", "tls.key", "tls-combined.pem", "truststore.p12"])
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ca.crt"]))
    assert cert.issuer == ca.subject
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(v) for v in sans.get_values_for_type(x509.DNSName)}
    names |= {str(v) for v in sans.get_values_for_type(x509.IPAddress)}
    for svc in ("trino", "minio", "postgres", "hive-metastore"):
        assert {svc, f"{svc}.analytics", f"{svc}.analytics.svc", f"{svc}.analytics.svc.cluster.local"} <= names
    assert {"localhost", "127.0.0.1", NODE_IP} <= names


def test_no_certificate_key_or_password_in_any_configmap(objects: list[Obj], credentials: Credentials) -> None:
    configmaps = json.dumps([o for o in objects if o["kind"] == "ConfigMap"])
    tls = _get(objects, "Secret", "lakehouse-tls")["data"]
    users = base64.b64decode(_get(objects, "Secret", "lakehouse-trino-users")["data"]["password.db"]).decode()
    assert "PRIVATE KEY" not in configmaps and "BEGIN CERTIFICATE" not in configmaps
    assert base64.b64decode(tls["tls.key"]).decode().splitlines()[1] not in configmaps
    for value in (*credentials.values().values(), users.split(":")[-1]):
        assert value not in configmaps
    # and no credential is an env literal of any pod
    literals = json.dumps([e for o in objects for e in _containers_env(o)])
    assert all(value not in literals for value in credentials.values().values())


def _containers_env(obj: Obj) -> list[Obj]:
    pod = obj.get("spec", {}).get("template", {}).get("spec", {})
    return [e for c in pod.get("initContainers", []) + pod.get("containers", []) for e in c.get("env", [])]


def test_trino_serves_https_with_password_authentication(objects: list[Obj], credentials: Credentials) -> None:
    config = _get(objects, "ConfigMap", "trino-config")["data"]
    assert "http-server.https.enabled=true\n" in config["config.properties"]
    assert "http-server.https.port=8080\n" in config["config.properties"]
    assert "http-server.authentication.type=PASSWORD\n" in config["config.properties"]
    assert "internal-communication.shared-secret=${ENV:LAKEHOUSE_TRINO_INTERNAL_SECRET}" in config["config.properties"]
    assert "file.password-file=/etc/lakehouse-trino-users/password.db" in config["password-authenticator.properties"]
    assert "-Djavax.net.ssl.trustStore=/etc/lakehouse-tls/truststore.p12" in config["jvm.config"]
    pod = _pod(objects, "trino")
    main = pod["containers"][0]
    assert {"name": "trino-users", "mountPath": "/etc/lakehouse-trino-users", "readOnly": True} in main["volumeMounts"]
    assert _env(main)["LAKEHOUSE_TRINO_INTERNAL_SECRET"]["secretKeyRef"]["key"] == "trino-internal-secret"
    items = next(v for v in pod["volumes"] if v["name"] == "trino-config")["configMap"]["items"]
    assert {"key": "password-authenticator.properties", "path": "password-authenticator.properties"} in items
    probe = " ".join(main["readinessProbe"]["exec"]["command"])
    assert "https://localhost:8080/v1/info" in probe and "--cacert /etc/lakehouse-tls/ca.crt" in probe
    line = base64.b64decode(_get(objects, "Secret", "lakehouse-trino-users")["data"]["password.db"]).decode()
    assert verify_password_line(line, "trino", credentials.trino_password)
    assert not verify_password_line(line, "trino", credentials.trino_password + "x")


def test_rendering_twice_is_identical_so_provisioning_again_rolls_nothing(
    material: _tls.TlsMaterial, credentials: Credentials, objects: list[Obj]
) -> None:
    assert render_objects(OPTIONS, credentials=credentials, tls=material) == objects


def test_postgres_accepts_tls_connections_only(objects: list[Obj]) -> None:
    pod = _pod(objects, "postgres")
    args = pod["containers"][0]["args"]
    assert args[0] == "postgres" and "ssl=on" in args and "ssl_min_protocol_version=TLSv1.2" in args
    assert "hba_file=/run/lakehouse-postgres-tls/pg_hba.conf" in args
    init = next(c for c in pod["initContainers"] if c["name"] == "tls-files")
    script = init["command"][-1]
    body = script.split("<<'EOF'\n")[1].split("\nEOF")[0]
    hba = [line for line in body.splitlines() if line and not line.startswith("#")]
    assert hba == [
        "local all all scram-sha-256",
        "hostssl all all 0.0.0.0/0 scram-sha-256",
        "hostssl all all ::/0 scram-sha-256",
        "hostnossl all all all reject",
    ]
    assert "chmod 0600 /run/lakehouse-postgres-tls/server.key" in script


def test_the_metastore_verifies_postgres_and_every_jvm_trusts_the_ca(objects: list[Obj]) -> None:
    site = _get(objects, "ConfigMap", "hadoop-config")["data"]["metastore-site.xml"]
    assert (
        "jdbc:postgresql://postgres:5432/metastore?sslmode=verify-full&amp;sslrootcert=/etc/lakehouse-tls/ca.crt"
        in site
    )
    assert "<name>fs.s3a.endpoint</name><value>https://minio:9000</value>" in site
    for name in ("hive-metastore", "spark-master", "spark-worker", "spark-connect"):
        pod = _pod(objects, name)
        for container in pod["containers"]:
            assert (
                "-Djavax.net.ssl.trustStore=/etc/lakehouse-tls/truststore.p12" in _env(container)["JAVA_TOOL_OPTIONS"]
            )
        assert {"name": "lakehouse-tls", "secret": {"secretName": "lakehouse-tls", "defaultMode": 0o440}} in pod[
            "volumes"
        ]


def test_the_object_store_speaks_https_and_the_bucket_job_trusts_the_ca(objects: list[Obj]) -> None:
    store = _pod(objects, "object-store")["containers"][0]
    assert "-s3.cert.file=/etc/lakehouse-tls/tls.crt" in store["args"]
    assert store["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    job = _env(_pod(objects, "minio-init")["containers"][0])
    assert job["AWS_ENDPOINT_URL"] == "https://minio:9000" and job["AWS_CA_BUNDLE"] == "/etc/lakehouse-tls/ca.crt"


def test_minio_gets_its_certs_dir() -> None:
    objects = render_objects(ProvisionOptions(secure=True, object_store="minio"))
    store = _pod(objects, "object-store")
    assert store["containers"][0]["args"][-2:] == ["--certs-dir", "/etc/minio-certs"]
    assert store["containers"][0]["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"


def test_without_material_the_secret_is_expected_to_exist_and_the_default_has_no_secure_object() -> None:
    objects = render_objects(ProvisionOptions(secure=True))
    assert not any(o["metadata"]["name"] == "lakehouse-tls" for o in objects)
    assert any(v["name"] == "lakehouse-tls" for v in _pod(objects, "trino")["volumes"])
    plain = json.dumps(render_objects(ProvisionOptions()))
    assert "lakehouse-tls" not in plain and "https.enabled" not in plain and "authentication.type" not in plain


def test_cert_manager_certificate_for_a_named_issuer() -> None:
    options = ProvisionOptions(secure=True, tls_issuer="ClusterIssuer/corp-ca", tls_names=(NODE_IP,))
    objects = render_objects(options)
    cert = _get(objects, "Certificate", "lakehouse-tls")
    spec = cert["spec"]
    assert cert["apiVersion"] == "cert-manager.io/v1" and spec["secretName"] == "lakehouse-tls"
    assert spec["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "corp-ca"}
    assert "trino.lakehouse.svc.cluster.local" in spec["dnsNames"] and NODE_IP in spec["ipAddresses"]
    assert spec["additionalOutputFormats"] == [{"type": "CombinedPEM"}]
    ref = spec["keystores"]["pkcs12"]["passwordSecretRef"]
    password = _get(objects, "Secret", ref["name"])
    assert password["stringData"][ref["key"]] == "lakehouse"  # the public truststore password
    assert ProvisionOptions(secure=True, tls_issuer="corp-ca").tls_issuer == "corp-ca"
    # the TLS Secret's keys that the pods read are those cert-manager writes
    assert set(_tls.TLS_KEYS) == {"ca.crt", "tls.crt", "tls.key", "tls-combined.pem", "truststore.p12"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"secure": True, "trino_workers": 2}, "single Trino coordinator"),
        ({"secure": True, "tls_ca_cert": "/ca.pem"}, "tls_ca_cert and tls_ca_key go together"),
        ({"secure": True, "tls_issuer": "Bogus/x"}, "ClusterIssuer/NAME"),
    ],
)
def test_wrong_secure_options_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ProvisionOptions.build(**values)


def test_options_take_secure_and_the_nodeport_host_from_the_settings() -> None:
    options = ProvisionOptions().for_settings(LakehouseSettings(secure=True, nodeport_host="10.1.2.3"))
    assert options.secure and "10.1.2.3" in options.tls_names
    assert not ProvisionOptions().for_settings(LakehouseSettings()).secure


def test_the_secret_in_the_cluster_is_kept_while_usable_and_reissued_otherwise(tmp_path: Path) -> None:
    settings = LakehouseSettings(local={"state_dir": str(tmp_path / "state")})
    first = _tls.resolve_material(None, OPTIONS, settings)
    assert first is not None
    secret = {"data": {k: base64.b64encode(v).decode() for k, v in first.data.items()}}
    assert _tls.resolve_material(secret, OPTIONS, settings) == first
    wider = OPTIONS.model_copy(update={"tls_names": (NODE_IP, "lakehouse.example.com")})
    second = _tls.resolve_material(secret, wider, settings)
    assert second is not None and second.data["tls.crt"] != first.data["tls.crt"]
    # signed by the CA of the state dir, which the local stack shares and clients trust by default
    assert second.data["ca.crt"] == (tmp_path / "state" / "tls" / "ca.pem").read_bytes()


def test_a_ca_of_your_own_signs_the_server_certificate(tmp_path: Path) -> None:
    own = ensure_ca(tmp_path / "own")
    options = OPTIONS.model_copy(update={"tls_ca_cert": own.ca_cert, "tls_ca_key": own.ca_key})
    settings = LakehouseSettings(local={"state_dir": str(tmp_path / "state")})
    material = _tls.resolve_material(None, options, settings)
    assert material is not None and material.data["ca.crt"] == own.ca_cert.read_bytes()
    cert = x509.load_pem_x509_certificate(material.data["tls.crt"])
    assert cert.issuer == x509.load_pem_x509_certificate(own.ca_cert.read_bytes()).subject


def test_credentials_carry_the_trino_password_only_for_a_secure_client(credentials: Credentials) -> None:
    assert credentials.trino_password not in repr(credentials)
    plain = credentials.apply_to(LakehouseSettings())
    assert plain.trino.password is None
    assert plain.spark.auth_secret is None
    secure = credentials.apply_to(LakehouseSettings(), secure=True)
    assert secure.trino.password is not None
    assert secure.trino.password.get_secret_value() == credentials.trino_password
    assert secure.spark.auth_secret is not None
    assert secure.spark.auth_secret.get_secret_value() == credentials.spark_auth_secret


def test_spark_daemons_authenticate_with_the_secret_of_the_credentials(objects: list[Obj]) -> None:
    ref = {"secretKeyRef": {"name": "lakehouse-credentials", "key": "spark-auth-secret"}}
    master = _env(_pod(objects, "spark-master")["containers"][0])
    worker = _env(_pod(objects, "spark-worker")["containers"][0])
    assert master["_SPARK_AUTH_SECRET"] == ref and worker["_SPARK_AUTH_SECRET"] == ref
    assert master["SPARK_MASTER_OPTS"] == "-Dspark.authenticate=true"
    # the worker keeps its own option beside it
    assert worker["SPARK_WORKER_OPTS"].split() == [
        "-Dspark.worker.preferConfiguredMasterAddress=true",
        "-Dspark.authenticate=true",
    ]
    assert "spark.authenticate" not in json.dumps(_get(objects, "ConfigMap", "spark-config"))


def test_the_connect_server_gets_the_secret_in_a_private_copy_of_its_properties(
    objects: list[Obj], credentials: Credentials, tmp_path: Path
) -> None:
    """The wrapper, run by bash as the container runs it, with ``spark-submit`` replaced by ``cat``."""
    pod = _pod(objects, "spark-connect")
    main = pod["containers"][0]
    assert {"name": "spark-secure-conf", "emptyDir": {"medium": "Memory"}} in pod["volumes"]
    assert _env(main)["_SPARK_AUTH_SECRET"]["secretKeyRef"]["key"] == "spark-auth-secret"
    bash, flag, script, name, submit, *args = main["command"]
    assert (bash, flag, name, submit) == ("bash", "-c", "spark-connect", "/opt/spark/bin/spark-submit")
    assert credentials.spark_auth_secret not in json.dumps(main["command"])
    conf = args[args.index("--properties-file") + 1]
    assert conf == "/etc/spark/secure/spark-connect.conf"
    base = tmp_path / "base.conf"
    base.write_text("spark.master spark://spark-master:7077\n")
    script = script.replace("/etc/spark/connect/spark-connect.conf", str(base)).replace(conf, str(tmp_path / "c"))
    env = {"PATH": os.environ["PATH"], "_SPARK_AUTH_SECRET": "s3cr%t 'quoted'"}
    done = subprocess.run(
        ["bash", "-c", script, "x", "stat", "-c", "%a", str(tmp_path / "c")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "600"
    assert (tmp_path / "c").read_text().splitlines() == [
        "spark.master spark://spark-master:7077",
        "spark.authenticate true",
        "spark.authenticate.secret s3cr%t 'quoted'",
    ]


def test_an_external_secret_without_the_secure_keys_is_refused_before_anything_is_applied() -> None:
    from lakehouse_sdk.errors import ProvisionError

    data = Credentials.generate().secret_data()
    for key in ("trino-password", "spark-auth-secret"):
        del data[key]
    external = Credentials.from_secret({"data": data, "metadata": {"namespace": "analytics"}}, external=True)
    with pytest.raises(ProvisionError, match="'trino-password', 'spark-auth-secret'") as info:
        render_objects(OPTIONS, credentials=external)
    assert "credentials='external'" in str(info.value)
