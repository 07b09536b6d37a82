"""The stack's credentials and the one Secret that holds them.

Credentials are either generated (strong, random, stored only in the ``lakehouse-credentials`` Secret and
reused on every later provisioning), taken from the caller's settings, or the public development
placeholders of the committed manifests (the reference architecture's ``minioadmin`` / ``hive``), which
``provision()`` never keeps.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lakehouse_sdk._sections import SPARK_CONNECT_DEV_TOKEN
from lakehouse_sdk.errors import ProvisionError, register_secret

if TYPE_CHECKING:
    from lakehouse_sdk.settings import LakehouseSettings

__all__ = ["CREDENTIALS_ANNOTATION", "REQUIRED_KEYS", "SECRET_KEYS", "SECRET_NAME", "Credentials"]

# The spooling key of the committed manifests: public, like their other development credentials (32 bytes of
# "lakehouse-dev-trino-spooling-key", base64); provisioning generates a random one.
TRINO_SPOOLING_DEV_KEY = base64.b64encode(b"lakehouse-dev-trino-spooling-key").decode()
SECRET_NAME = "lakehouse-credentials"
CREDENTIALS_ANNOTATION = "lakehouse-sdk.io/credentials"
# Secret key per Credentials attribute; the same names as stack.config.SECRET_ENV's keys, dashed.
SECRET_KEYS = {
    "s3_access_key": "s3-access-key",
    "s3_secret_key": "s3-secret-key",
    "postgres_password": "postgres-password",
    "spark_connect_token": "spark-connect-token",
    "trino_spooling_key": "trino-spooling-key",
    # secure mode: the password of ``trino.user``, and the secret that signs requests between Trino nodes
    "trino_password": "trino-password",
    "trino_internal_secret": "trino-internal-secret",
    # secure mode: spark.authenticate's secret, shared by the master, the workers and every application
    "spark_auth_secret": "spark-auth-secret",
}
# generated when missing (a Secret from an older release has none of them); the placeholders' own are public
_GENERATED = (
    "spark_connect_token",
    "trino_spooling_key",
    "trino_password",
    "trino_internal_secret",
    "spark_auth_secret",
)
# what an external Secret must hold (secure mode: the Trino keys as well, checked when rendering)
REQUIRED_KEYS = tuple(key for attr, key in SECRET_KEYS.items() if attr not in _GENERATED[2:])
# public development values of the committed manifests (like minioadmin / hive)
_PLACEHOLDERS = {
    "spark_connect_token": SPARK_CONNECT_DEV_TOKEN,
    "trino_spooling_key": TRINO_SPOOLING_DEV_KEY,
    "trino_password": "lakehouse-dev-trino-password",
    "trino_internal_secret": "lakehouse-dev-trino-internal-secret",
    "spark_auth_secret": "lakehouse-dev-spark-auth-secret",
}
Origin = Literal["placeholder", "generated", "settings", "external"]


@dataclass(frozen=True)
class Credentials:
    """The S3 keys, the PostgreSQL password, the Spark Connect token and Trino's spooling key of one deployment
    (``repr`` never shows them). A missing token or key (``""``) is generated, except for the placeholders."""

    s3_access_key: str = field(repr=False)
    s3_secret_key: str = field(repr=False)
    postgres_password: str = field(repr=False)
    origin: Origin = "placeholder"
    spark_connect_token: str = field(default="", repr=False)
    trino_spooling_key: str = field(default="", repr=False)
    trino_password: str = field(default="", repr=False)
    trino_internal_secret: str = field(default="", repr=False)
    spark_auth_secret: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        makers: dict[str, Callable[[], str]] = {"trino_spooling_key": _spooling_key, "trino_internal_secret": _secret48}
        for attr in _GENERATED:
            if not getattr(self, attr) and self.origin != "external":
                value = _PLACEHOLDERS[attr] if self.origin == "placeholder" else makers.get(attr, _token)()
                object.__setattr__(self, attr, value)
        if self.origin != "placeholder":
            for value in self.values().values():
                register_secret(value)

    @classmethod
    def placeholder(cls) -> Credentials:
        """The public development defaults of the committed manifests (the SDK's default settings)."""
        return cls("minioadmin", "minioadmin", "hive", "placeholder", SPARK_CONNECT_DEV_TOKEN)

    @classmethod
    def generate(cls) -> Credentials:
        """Strong random credentials: a 20-character access key, a 40-character secret, a 32-character password."""
        upper = string.ascii_uppercase + string.digits
        access = "LH" + "".join(secrets.choice(upper) for _ in range(18))
        secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
        password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        return cls(access, secret, password, "generated", _token(), _spooling_key(), _token())

    @classmethod
    def from_settings(cls, settings: LakehouseSettings) -> Credentials:
        """The credentials of the caller's settings (``s3.access_key``, ``s3.secret_key``, ``postgres.password``)."""
        return cls(
            settings.s3.access_key.get_secret_value(),
            settings.s3.secret_key.get_secret_value(),
            settings.postgres.password.get_secret_value(),
            "settings",
            settings.spark.connect_token.get_secret_value(),
            trino_password=settings.trino.password.get_secret_value() if settings.trino.password else "",
        )

    @classmethod
    def from_secret(cls, secret: dict[str, Any], *, external: bool = False) -> Credentials:
        """Read them back from the ``lakehouse-credentials`` Secret (as returned by the API, as a dict).

        ``external``: the Secret is managed outside lakehouse-sdk (External Secrets, Sealed Secrets, a vault's
        injector): every key must be there, since nothing can be generated into it.
        """
        data = secret.get("data") or {}
        annotations = (secret.get("metadata") or {}).get("annotations") or {}
        found = "external" if external else annotations.get(CREDENTIALS_ANNOTATION, "settings")
        origins: dict[str, Origin] = {"placeholder": "placeholder", "generated": "generated", "external": "external"}
        origin = origins.get(found, "settings")
        if external:
            missing = [key for key in REQUIRED_KEYS if key not in data]
            if missing:
                namespace = (secret.get("metadata") or {}).get("namespace", "?")
                raise ProvisionError(
                    f"credentials='external': Secret {SECRET_NAME} in namespace {namespace} has no key "
                    f"{', '.join(map(repr, missing))}. Add them where the Secret is managed (it needs "
                    f"{', '.join(REQUIRED_KEYS)}); lakehouse-sdk never writes an external Secret."
                )
        # a Secret from an older release has no Connect token or spooling key: they are generated (then stored)
        keys = {attr: key for attr, key in SECRET_KEYS.items() if attr not in _GENERATED or key in data}
        try:
            values = {attr: base64.b64decode(data[key]).decode() for attr, key in keys.items()}
        except KeyError as exc:
            raise ProvisionError(
                f"Secret {SECRET_NAME} has no key {exc.args[0]!r}. Delete the Secret and provision again "
                "to regenerate it (the data stored with the old credentials is then unreadable)."
            ) from None
        return cls(**values, origin=origin)

    def values(self) -> dict[str, str]:
        """Attribute name to value."""
        return {attr: getattr(self, attr) for attr in SECRET_KEYS}

    def secret_data(self) -> dict[str, str]:
        """The Secret's ``data`` (base64)."""
        values = self.values().items()
        return {SECRET_KEYS[attr]: base64.b64encode(value.encode()).decode() for attr, value in values if value}

    def apply_to(self, settings: LakehouseSettings, *, secure: bool | None = None) -> LakehouseSettings:
        """A copy of ``settings`` that uses these credentials (what ``Lakehouse()`` needs after provisioning);
        with ``secure`` (default ``settings.secure``) also the Trino password."""
        from pydantic import SecretStr

        s3 = settings.s3.model_copy(
            update={"access_key": SecretStr(self.s3_access_key), "secret_key": SecretStr(self.s3_secret_key)}
        )
        postgres = settings.postgres.model_copy(update={"password": SecretStr(self.postgres_password)})
        spark = settings.spark.model_copy(update={"connect_token": SecretStr(self.spark_connect_token)})
        update: dict[str, Any] = {"s3": s3, "postgres": postgres, "spark": spark}
        if settings.secure if secure is None else secure:  # Trino and the Spark master ask for them only then
            if self.trino_password:
                update["trino"] = settings.trino.model_copy(update={"password": SecretStr(self.trino_password)})
            if self.spark_auth_secret:
                spark = spark.model_copy(update={"auth_secret": SecretStr(self.spark_auth_secret)})
                update["spark"] = spark
        return settings.model_copy(update=update)


def _spooling_key() -> str:
    """Trino's ``protocol.spooling.shared-secret-key``: 256 random bits, base64."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _secret48() -> str:
    return secrets.token_urlsafe(48)


def _token() -> str:
    """A 43-character URL-safe random token (256 bits)."""
    return secrets.token_urlsafe(32)
