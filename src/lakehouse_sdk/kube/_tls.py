"""Secure mode on Kubernetes (``ProvisionOptions.secure``): the TLS Secret, and what each pod needs of it.

The one stack description (:mod:`lakehouse_sdk.stack.config` with ``StackValues.tls``, see
:mod:`lakehouse_sdk.stack.secure`) already writes the https endpoints, Trino's HTTPS and password properties,
the metastore's ``sslmode=verify-full`` and the JVMs' trust options; the paths it names are where this module
mounts the files:

- Secret ``lakehouse-tls`` (type ``kubernetes.io/tls``): ``tls.crt`` (server certificate, then the CA),
  ``tls.key``, ``ca.crt``, ``tls-combined.pem`` (key and chain: Trino's PEM keystore) and ``truststore.p12``
  (the CA, for the JVMs). These are the keys cert-manager writes for a ``Certificate`` with the
  ``CombinedPEM`` output format and a PKCS#12 keystore, so with ``tls_issuer`` the pods are the same.
- Secret ``lakehouse-trino-users``: Trino's password file (a PBKDF2 hash of ``trino.user``'s password from the
  credentials Secret), with a salt derived from the password so that rendering stays reproducible.

No certificate, key or password goes into a ConfigMap; the truststore's password is the public constant of
:data:`lakehouse_sdk.tls.TRUSTSTORE_PASSWORD` (the store holds only the public CA certificate).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse_sdk.stack.endpoints import ENDPOINTS
from lakehouse_sdk.stack.secure import (
    IN_CLUSTER_TLS_DIR,
    IN_CLUSTER_USERS_DIR,
    StackTls,
    in_cluster_tls,
    postgres_hba,
    postgres_ssl_settings,
)
from lakehouse_sdk.tls import TRUSTSTORE_PASSWORD

if TYPE_CHECKING:
    from pathlib import Path

    from lakehouse_sdk.kube.credentials import Credentials
    from lakehouse_sdk.kube.options import ProvisionOptions
    from lakehouse_sdk.settings import LakehouseSettings
    from lakehouse_sdk.tls import TlsFiles

__all__ = ["TLS_DIR", "TLS_SECRET", "USERS_SECRET", "TlsMaterial", "secure_pod", "server_names"]

Obj = dict[str, Any]
TLS_SECRET = "lakehouse-tls"
USERS_SECRET = "lakehouse-trino-users"
TRUSTSTORE_PASSWORD_SECRET = "lakehouse-truststore-password"
TLS_DIR = IN_CLUSTER_TLS_DIR
USERS_DIR = IN_CLUSTER_USERS_DIR
_PG_TLS_DIR = "/run/lakehouse-postgres-tls"
TLS_KEYS = ("ca.crt", "tls.crt", "tls.key", "tls-combined.pem", "truststore.p12")
_JVM_COMPONENTS = ("hive-metastore", "spark-master", "spark-worker", "spark-connect")


def server_names(namespace: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Every name the server certificate covers: each Service as ``<svc>``, ``<svc>.<ns>``, ``<svc>.<ns>.svc``
    and ``<svc>.<ns>.svc.cluster.local``, then ``localhost``, ``127.0.0.1`` and ``extra`` (the NodePort host)."""
    services = dict.fromkeys(spec.dns_name for spec in ENDPOINTS.values())
    names = [n for svc in services for n in (svc, f"{svc}.{namespace}", f"{svc}.{namespace}.svc")]
    names += [f"{svc}.{namespace}.svc.cluster.local" for svc in services]
    return list(dict.fromkeys([*names, "localhost", "127.0.0.1", *extra]))


@dataclass(frozen=True)
class TlsMaterial:
    """The contents of the ``lakehouse-tls`` Secret (``repr`` shows none of it)."""

    data: dict[str, bytes] = field(repr=False)

    @classmethod
    def from_files(cls, files: TlsFiles) -> TlsMaterial:
        """From :func:`lakehouse_sdk.tls.ensure_tls`'s files."""
        paths = (files.ca_cert, files.server_cert, files.server_key, files.server_bundle, files.truststore)
        return cls({key: path.read_bytes() for key, path in zip(TLS_KEYS, paths, strict=True)})

    @classmethod
    def from_secret(cls, secret: Obj | None) -> TlsMaterial | None:
        """From the Secret as the API returns it; ``None`` when it is missing or lacks a key."""
        data = (secret or {}).get("data") or {}
        if any(key not in data for key in TLS_KEYS):
            return None
        return cls({key: base64.b64decode(data[key]) for key in TLS_KEYS})

    def usable(self, names: list[str], ca_pem: bytes | None) -> bool:
        """Valid for 30 more days, covering ``names``, and (``ca_pem`` given) issued by that CA."""
        from lakehouse_sdk._deps import require

        x509 = require("cryptography.x509", extra="secure", purpose="TLS certificates", package="cryptography")
        cert = x509.load_pem_x509_certificate(self.data["tls.crt"])
        now = datetime.datetime.now(datetime.timezone.utc)
        if cert.not_valid_after_utc - now < datetime.timedelta(days=30):
            return False
        if ca_pem is not None and cert.issuer != x509.load_pem_x509_certificate(ca_pem).subject:
            return False
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = {str(v) for v in sans.get_values_for_type(x509.DNSName)}
        have |= {str(v) for v in sans.get_values_for_type(x509.IPAddress)}
        return set(names) <= have

    def digest(self) -> str:
        """A hash of the contents (pods that mount them roll when it changes)."""
        return hashlib.sha256(b"".join(self.data[key] for key in TLS_KEYS)).hexdigest()[:16]


def resolve_material(
    existing: Obj | None, options: ProvisionOptions, settings: LakehouseSettings
) -> TlsMaterial | None:
    """What ``lakehouse-tls`` should hold: the Secret in the cluster while it is valid for 30 more days and covers
    every name (and, with ``tls_ca_cert``, was issued by that CA); else a new server certificate signed by
    ``tls_ca_cert`` or by the settings' state dir CA (``<state dir>/tls``, made when missing, shared with the
    local stack, so that clients on this machine trust it by default). ``None`` with ``tls_issuer``."""
    from lakehouse_sdk.tls import ensure_ca, ensure_tls

    if options.tls_issuer:
        return None
    names = server_names(options.namespace, options.tls_names)
    if options.tls_ca_cert is not None:
        ca_cert, ca_key = options.tls_ca_cert, options.tls_ca_key
    else:
        ca = ensure_ca(settings.local.state_path / "tls")
        ca_cert, ca_key = ca.ca_cert, ca.ca_key
    current = TlsMaterial.from_secret(existing)
    required_ca = options.tls_ca_cert.read_bytes() if options.tls_ca_cert is not None else None
    if current is not None and current.usable(names, required_ca):
        return current
    directory = settings.local.state_path / "kube" / options.namespace / "tls"
    return TlsMaterial.from_files(ensure_tls(directory, names, ca_cert=ca_cert, ca_key=ca_key))


def client_ca_path(settings: LakehouseSettings, namespace: str) -> Path:
    """Where this machine keeps the CA of the stack provisioned in ``namespace`` (for ``ca_bundle``)."""
    return settings.local.state_path / "kube" / namespace / "ca.pem"


def write_client_ca(secret: Obj | None, settings: LakehouseSettings, namespace: str) -> Path | None:
    """Write ``ca.crt`` of the ``lakehouse-tls`` Secret to :func:`client_ca_path`; ``None`` without one."""
    data = (secret or {}).get("data") or {}
    if "ca.crt" not in data:
        return None
    path = client_ca_path(settings, namespace)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(data["ca.crt"]))
    return path


def users_password_line(credentials: Credentials, user: str) -> str:
    """Trino's password file line for ``user``; the salt comes from the password, so the line is reproducible."""
    from lakehouse_sdk.kube.credentials import SECRET_KEYS
    from lakehouse_sdk.tls import password_file_line

    needed = ("trino_password", "trino_internal_secret", "spark_auth_secret")
    missing = [SECRET_KEYS[attr] for attr in needed if not getattr(credentials, attr)]
    if missing:
        from lakehouse_sdk.errors import ProvisionError

        raise ProvisionError(
            f"secure mode needs the credentials Secret's {', '.join(map(repr, missing))} (Trino's password, the "
            "secret between Trino nodes, Spark's authentication secret); with credentials='external', add them "
            "where the Secret is managed"
        )
    salt = hashlib.sha256(b"lakehouse-trino-salt:" + user.encode() + b":" + credentials.trino_password.encode())
    return password_file_line(user, credentials.trino_password, salt=salt.digest()[:16])


def secure_objects(
    options: ProvisionOptions, credentials: Credentials, material: TlsMaterial | None, meta: Any, user: str
) -> list[Obj]:
    """The Secrets of secure mode: Trino's users, and the TLS Secret (``material``) or a cert-manager
    ``Certificate`` for ``options.tls_issuer``; without either, ``lakehouse-tls`` must exist (provision makes it)."""
    encode = base64.b64encode
    line = users_password_line(credentials, user) + "\n"
    users = {"apiVersion": "v1", "kind": "Secret", "metadata": meta(USERS_SECRET, options.namespace), "type": "Opaque"}
    users["data"] = {"password.db": encode(line.encode()).decode()}
    out: list[Obj] = [users]
    if options.tls_issuer:
        out += certificate(options, meta)
    elif material is not None:
        data = {key: encode(material.data[key]).decode() for key in TLS_KEYS}
        tls = {"apiVersion": "v1", "kind": "Secret", "metadata": meta(TLS_SECRET, options.namespace)}
        out.append({**tls, "type": "kubernetes.io/tls", "data": data})
    return out


def certificate(options: ProvisionOptions, meta: Any) -> list[Obj]:
    """A cert-manager ``Certificate`` writing ``lakehouse-tls`` (with the combined PEM and a PKCS#12
    truststore), and the Secret with the truststore's public password."""
    import ipaddress

    kind, _, name = (options.tls_issuer or "").rpartition("/")
    names = server_names(options.namespace, options.tls_names)
    ips, dns = [], []
    for n in names:
        try:
            ips.append(str(ipaddress.ip_address(n)))
        except ValueError:
            dns.append(n)
    password_ref = {"name": TRUSTSTORE_PASSWORD_SECRET, "key": "password"}
    spec: Obj = {
        "secretName": TLS_SECRET,
        "issuerRef": {"group": "cert-manager.io", "kind": kind or "Issuer", "name": name},
        "commonName": f"trino.{options.namespace}.svc",
        "dnsNames": dns,
        "ipAddresses": ips,
        "duration": "17520h",
        "renewBefore": "720h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "encoding": "PKCS8", "rotationPolicy": "Always"},
        "usages": ["server auth", "digital signature"],
        "additionalOutputFormats": [{"type": "CombinedPEM"}],
        "keystores": {"pkcs12": {"create": True, "passwordSecretRef": password_ref, "profile": "Modern2023"}},
    }
    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta(TLS_SECRET, options.namespace)}
    password = {"apiVersion": "v1", "kind": "Secret", "metadata": meta(TRUSTSTORE_PASSWORD_SECRET, options.namespace)}
    password |= {"type": "Opaque", "stringData": {"password": TRUSTSTORE_PASSWORD}}
    return [password, {**cert, "spec": spec}]


def _env(container: Obj, name: str, value: str | None = None, ref: Obj | None = None) -> None:
    env = [e for e in container.get("env", []) if e["name"] != name]
    env.append({"name": name, "value": value} if ref is None else {"name": name, "valueFrom": ref})
    container["env"] = env


def _https_probes(container: Obj) -> None:
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        if "httpGet" in container.get(key, {}):
            container[key]["httpGet"]["scheme"] = "HTTPS"  # the kubelet does not verify the certificate


def secure_pod(component: str, pod: Obj, options: ProvisionOptions) -> None:
    """Turn ``component``'s pod spec into its secure form, in place: the TLS Secret mounted read-only in every
    container at :data:`TLS_DIR`, and what the component needs beyond its configuration files."""
    from lakehouse_sdk.kube.credentials import SECRET_KEYS, SECRET_NAME
    from lakehouse_sdk.stack.config import SECRET_ENV

    tls = in_cluster_tls()
    volumes = pod.setdefault("volumes", [])
    volumes.append({"name": "lakehouse-tls", "secret": {"secretName": TLS_SECRET, "defaultMode": 0o440}})
    containers = [*pod.get("initContainers", []), *pod["containers"]]
    for container in containers:
        mount = {"name": "lakehouse-tls", "mountPath": TLS_DIR, "readOnly": True}
        container["volumeMounts"] = [*container.get("volumeMounts", []), mount]
        if component in _JVM_COMPONENTS and container["name"] != "fetch-jars":
            _env(container, "JAVA_TOOL_OPTIONS", " ".join(_trust_options(tls)))
    main = pod["containers"][0]
    if component == "object-store":
        if main["name"] == "minio":
            items = [{"key": "tls.crt", "path": "public.crt"}, {"key": "tls.key", "path": "private.key"}]
            items.append({"key": "ca.crt", "path": "CAs/ca.crt"})
            volumes.append({"name": "minio-certs", "secret": {"secretName": TLS_SECRET, "items": items}})
            main["volumeMounts"].append({"name": "minio-certs", "mountPath": "/etc/minio-certs", "readOnly": True})
            main["args"] = [*main["args"], "--certs-dir", "/etc/minio-certs"]
        else:
            main["args"] = [*main["args"], f"-s3.cert.file={tls.server_cert}", f"-s3.key.file={tls.server_key}"]
        _https_probes(main)
    elif component == "minio-init":
        s3 = ENDPOINTS["minio"]
        _env(main, "AWS_ENDPOINT_URL", f"https://{s3.dns_name}:{s3.port}")
        _env(main, "AWS_CA_BUNDLE", tls.ca_cert)
    elif component == "postgres":
        _secure_postgres(pod, main, tls)
    elif component == "trino":
        users = {"name": "trino-users", "secret": {"secretName": USERS_SECRET, "defaultMode": 0o440}}
        volumes.append(users)
        main["volumeMounts"].append({"name": "trino-users", "mountPath": USERS_DIR, "readOnly": True})
        config = next(v for v in volumes if v["name"] == "trino-config")
        item = {"key": "password-authenticator.properties", "path": "password-authenticator.properties"}
        config["configMap"]["items"].append(item)
        ref = {"secretKeyRef": {"name": SECRET_NAME, "key": SECRET_KEYS["trino_internal_secret"]}}
        _env(main, SECRET_ENV["trino_internal_secret"], ref=ref)
        _trino_probes(main, tls)
    elif component in ("spark-master", "spark-worker", "spark-connect"):
        ref = {"secretKeyRef": {"name": SECRET_NAME, "key": SECRET_KEYS["spark_auth_secret"]}}
        _spark_authenticate(component, pod, main, ref)


_SPARK_SECURE_CONF = "/etc/spark/secure"


def _spark_authenticate(component: str, pod: Obj, main: Obj, ref: Obj) -> None:
    """``spark.authenticate`` with the credentials Secret's ``spark-auth-secret``. The master and a worker read
    it from Spark's own variable (a worker hands it to the executors it launches). The Connect server is a
    driver, which must have it as ``spark.authenticate.secret``: a wrapper appends it to a copy of the server's
    properties in a memory-backed volume (mode 0600), so it is in neither the ConfigMap nor the command line."""
    from lakehouse_sdk.stack.secure import SPARK_AUTH_SECRET_ENV

    _env(main, SPARK_AUTH_SECRET_ENV, ref=ref)
    if component != "spark-connect":
        name = "SPARK_MASTER_OPTS" if component == "spark-master" else "SPARK_WORKER_OPTS"
        current = next((e.get("value", "") for e in main.get("env", []) if e["name"] == name), "")
        _env(main, name, f"{current} -Dspark.authenticate=true".strip())
        return
    pod["volumes"].append({"name": "spark-secure-conf", "emptyDir": {"medium": "Memory"}})
    main["volumeMounts"].append({"name": "spark-secure-conf", "mountPath": _SPARK_SECURE_CONF})
    command = list(main["command"])
    at = command.index("--properties-file") + 1
    base, command[at] = command[at], f"{_SPARK_SECURE_CONF}/spark-connect.conf"
    script = (
        f"umask 077; {{ cat {base}; printf 'spark.authenticate true\\nspark.authenticate.secret %s\\n' "
        f'"${SPARK_AUTH_SECRET_ENV}"; }} > {command[at]} && exec "$@"'
    )
    main["command"] = ["bash", "-c", script, "spark-connect", *command]


def _trust_options(tls: StackTls) -> list[str]:
    from lakehouse_sdk.stack.secure import jvm_trust_options

    return jvm_trust_options(tls)


def _secure_postgres(pod: Obj, main: Obj, tls: StackTls) -> None:
    """PostgreSQL needs its key in a file of its own user with mode 0600: an init container copies the key and
    certificate into an ``emptyDir`` and writes the ``pg_hba.conf`` that accepts TLS connections only."""
    key, cert, hba = f"{_PG_TLS_DIR}/server.key", f"{_PG_TLS_DIR}/server.crt", f"{_PG_TLS_DIR}/pg_hba.conf"
    rules = postgres_hba(("0.0.0.0/0", "::/0"), local_socket=True)
    script = (
        f"set -eu\ncp {tls.server_cert} {cert}\ncp {tls.server_key} {key}\nchmod 0600 {key}\n"
        f"cat > {hba} <<'EOF'\n{rules}EOF\n"
    )
    mounts = [{"name": "postgres-tls", "mountPath": _PG_TLS_DIR}]
    init = {
        "name": "tls-files",
        "image": main["image"],
        "command": ["sh", "-c", script],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "volumeMounts": [*mounts, {"name": "lakehouse-tls", "mountPath": TLS_DIR, "readOnly": True}],
    }
    if "securityContext" in main:
        init["securityContext"] = dict(main["securityContext"])
    pod["initContainers"] = [*pod.get("initContainers", []), init]
    pod["volumes"].append({"name": "postgres-tls", "emptyDir": {"medium": "Memory"}})
    main["volumeMounts"].extend(mounts)
    settings = {**postgres_ssl_settings(cert, key), "hba_file": hba}
    main["args"] = ["postgres", *[arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]]


def _trino_probes(main: Obj, tls: StackTls) -> None:
    """The image's ``health-check`` asks the http port; in secure mode ask the HTTPS one, verifying the CA."""
    from lakehouse_sdk.kube._workloads import trino_info_check

    url = f"https://localhost:{ENDPOINTS['trino'].port}"
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        if "exec" in main.get(key, {}):
            settled = key == "readinessProbe" and main["name"] == "trino"
            main[key]["exec"]["command"] = trino_info_check(url, cacert=tls.ca_cert, settled=settled)
