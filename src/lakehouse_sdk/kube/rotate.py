"""``lakehouse rotate-credentials``: new credentials for a provisioned stack, without losing its data.

Generated credentials live in the ``lakehouse-credentials`` Secret, and the PostgreSQL password also inside the
database (the image sets it only when it initialises an empty volume). Rotation therefore changes the
password in PostgreSQL first (through a port-forward to its pod, with the old password), then provisions
again with new values for every key: the Secret is rewritten and every workload whose pod template hashes
those values rolls, and comes back with the new S3 keys, password, Connect token and spooling key. Objects and
tables stay where they are: the object store's S3 identity is configuration, not data.
"""

from __future__ import annotations

from collections.abc import Callable

from lakehouse_sdk.errors import ProvisionError
from lakehouse_sdk.kube._api import connect
from lakehouse_sdk.kube.credentials import CREDENTIALS_ANNOTATION, SECRET_NAME, Credentials
from lakehouse_sdk.kube.manage import effective_namespace
from lakehouse_sdk.kube.options import ProvisionOptions
from lakehouse_sdk.kube.provision import ProvisionResult, provision_with
from lakehouse_sdk.settings import LakehouseSettings

__all__ = ["rotate_credentials"]

Progress = Callable[[str], None]


def _set_database_password(settings: LakehouseSettings, options: ProvisionOptions, old: str, new: str) -> None:
    """``ALTER ROLE`` in the stack's PostgreSQL, over a port-forward (NetworkPolicies do not apply to it)."""
    from lakehouse_sdk._deps import require
    from lakehouse_sdk.kube.portforward import PortForwarder

    psycopg = require("psycopg", extra="postgres", purpose="lakehouse rotate-credentials")
    from psycopg import sql

    with PortForwarder(settings.model_copy(update={"namespace": options.namespace})) as forwarder:
        host, port = forwarder.local_address("postgres")
        try:
            with psycopg.connect(
                host=host,
                port=port,
                user=options.postgres_user,
                password=old,
                dbname=options.postgres_database,
                connect_timeout=int(settings.connect_timeout) or 10,
                autocommit=True,
            ) as conn:
                statement = sql.SQL("ALTER ROLE {} WITH PASSWORD {}")
                conn.execute(statement.format(sql.Identifier(options.postgres_user), sql.Literal(new)))
        except psycopg.OperationalError as exc:
            raise ProvisionError(
                f"rotate-credentials: PostgreSQL in namespace {options.namespace} (pod of Service postgres, "
                f"through a port-forward) refused user {options.postgres_user!r} with the Secret's password: "
                f"{str(exc).strip().splitlines()[0]}. Nothing was changed."
            ) from None


def rotate_credentials(
    options: ProvisionOptions | None = None,
    *,
    settings: LakehouseSettings | None = None,
    progress: Progress | None = None,
) -> ProvisionResult:
    """Replace the generated credentials of a provisioned stack and roll its workloads.

    Args:
        options: the options the stack was provisioned with (``None``: the defaults; the namespace from
            ``settings``).
        settings: chooses the cluster (``kube.kubeconfig``, ``kube.context``).
        progress: called with one line per step.

    Returns:
        The :class:`ProvisionResult` of the rollout; read the new credentials with
        :func:`~lakehouse_sdk.kube.manage.provisioned_settings`.

    Raises:
        ProvisionError: there is no stack in the namespace, its credentials are not generated ones (supplied
            from settings, or an external Secret: rotate them where they are managed), or PostgreSQL refused
            the current password.
    """
    settings = settings or LakehouseSettings()
    options = effective_namespace(options or ProvisionOptions(), settings)
    say: Progress = progress or (lambda _line: None)
    api = connect(settings)
    ns = options.namespace
    secret = api.get("Secret", SECRET_NAME, ns)
    if secret is None:
        raise ProvisionError(
            f"rotate-credentials: no Secret {SECRET_NAME} in namespace {ns!r} ({api.where}): nothing is "
            "provisioned there. Name the stack's namespace (--namespace, LAKEHOUSE_NAMESPACE)."
        )
    # a Secret without lakehouse-sdk's annotation was created elsewhere (an external secret manager)
    external = CREDENTIALS_ANNOTATION not in ((secret.get("metadata") or {}).get("annotations") or {})
    old = Credentials.from_secret(secret, external=external)
    if old.origin != "generated":
        advice = {
            "settings": "change s3.access_key, s3.secret_key and postgres.password in your settings (and the "
            "password inside PostgreSQL), then run `lakehouse provision --credentials settings`",
            "placeholder": "provision the stack with `lakehouse provision`, which replaces the placeholders",
        }.get(old.origin, "")
        raise ProvisionError(
            f"rotate-credentials: the Secret {SECRET_NAME} in namespace {ns!r} holds {old.origin} credentials, "
            f"which lakehouse-sdk did not generate; {advice or 'rotate them where the Secret is managed'}."
        )
    new = Credentials.generate()
    say(f"PostgreSQL: changing the password of {options.postgres_user!r} inside the database")
    _set_database_password(settings, options, old.postgres_password, new.postgres_password)
    say(f"writing new credentials to Secret {SECRET_NAME} and rolling the workloads")
    try:
        return provision_with(options.model_copy(update={"credentials": "generate"}), settings, say, new)
    except BaseException:
        current = api.get("Secret", SECRET_NAME, ns)
        if current is not None and Credentials.from_secret(current).postgres_password == old.postgres_password:
            # the Secret still has the old password: put it back in the database, so nothing is half-rotated
            _set_database_password(settings, options, new.postgres_password, old.postgres_password)
        raise
