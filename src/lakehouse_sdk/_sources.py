"""The settings sources, each recording where its values came from (used by :mod:`lakehouse_sdk.settings`).

This module and :mod:`lakehouse_sdk.settings` are the only readers of the environment and of configuration
files in the package.
"""

from __future__ import annotations

import difflib
import io
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource, PydanticBaseSettingsSource

from lakehouse_sdk.errors import ConfigurationError
from lakehouse_sdk.stack.endpoints import canonical_endpoint_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, as a backport (the `tomli` dependency on 3.10)
    import tomli as tomllib

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = [
    "DEFAULT_SOURCE",
    "ENV_PREFIX",
    "DotEnvSource",
    "ProfileSource",
    "Provenance",
    "Recorded",
    "SettingsWarning",
    "StandardEnvSource",
    "default_config_file",
    "env_name",
    "flatten",
    "warn_unknown",
    "xdg",
]

ENV_PREFIX = "LAKEHOUSE_"
DEFAULT_SOURCE = "default"
Provenance = dict[tuple[str, ...], str]

# LAKEHOUSE_* variables that are not settings: the credentials handed to the stack's own processes
# (stack.config.SECRET_ENV) and the project's scripts and test harness.
NOT_SETTINGS = frozenset(
    {
        "LAKEHOUSE_S3_ACCESS_KEY",
        "LAKEHOUSE_S3_SECRET_KEY",
        "LAKEHOUSE_POSTGRES_PASSWORD",
        "LAKEHOUSE_VENV",
        "LAKEHOUSE_CACHE_DIR",
        "LAKEHOUSE_SKIP_KUBE_TOOLS",
        "LAKEHOUSE_KUBE_BIN",
        "LAKEHOUSE_IMAGES_DIR",
    }
)


class SettingsWarning(UserWarning):
    """A configuration value was ignored (an unknown ``LAKEHOUSE_*`` variable or profile key)."""


def xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_config_file() -> Path:
    """``$XDG_CONFIG_HOME/lakehouse/config.toml``, falling back to ``~/.config/lakehouse/config.toml``."""
    return xdg("XDG_CONFIG_HOME", ".config") / "lakehouse" / "config.toml"


def flatten(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from flatten(value, path)
        else:
            yield path, value


def env_name(path: tuple[str, ...]) -> str:
    return ENV_PREFIX + "__".join(p.upper().replace("-", "_") for p in path)


def _settings_error(exc: Exception, where: str) -> ConfigurationError:
    # pydantic-settings' own message names the field and the source class; never the value
    text = str(exc).split("\n")[0]
    return ConfigurationError(
        f"a setting from {where} cannot be read: {text}. Lists and tables are written as JSON "
        '(LAKEHOUSE_S3__BUCKETS=\'["a","b"]\' or a,b for a list of names).'
    )


class Recorded(PydanticBaseSettingsSource):
    """Wraps a source and labels every value it provides."""

    def __init__(self, inner: PydanticBaseSettingsSource, label: Any, where: str) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner
        self.label = label  # str, or a callable(path) -> str
        self.where = where
        self.values: dict[str, Any] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        try:
            self.values = self.inner()
        except ConfigurationError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:  # pydantic-settings' SettingsError is a ValueError
            raise _settings_error(exc, self.where) from None
        return self.values

    def provenance(self) -> Provenance:
        out: Provenance = {}
        for path, _ in flatten(self.values):
            label = self.label(path) if callable(self.label) else self.label
            if path[0] in {"endpoints", "nodeports"} and len(path) == 2:
                path = (path[0], canonical_endpoint_key(path[1]) or path[1])
            out[path] = label
        return out


class DotEnvSource(DotEnvSettingsSource):
    """The project's ``.env``: only its ``LAKEHOUSE_*`` lines are ours; every other line is left alone."""

    def __init__(self, settings_cls: type[BaseSettings], env_file: Path | None) -> None:
        self.raw_keys: list[str] = []
        super().__init__(settings_cls, env_file=env_file)

    def _read_env_file(self, file_path: Path) -> Mapping[str, str | None]:
        from dotenv.parser import parse_stream

        try:
            raw = file_path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f".env file {file_path} cannot be read: {exc.strerror}.") from None
        try:
            text = raw.decode(self.env_file_encoding or "utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ConfigurationError(
                f".env file {file_path} is not valid UTF-8 (line {line}, byte {exc.start}). Save it as UTF-8."
            ) from None
        values: dict[str, str | None] = {}
        for binding in parse_stream(io.StringIO(text)):
            line = binding.original.line
            if binding.error:
                if ENV_PREFIX in binding.original.string.upper():
                    raise ConfigurationError(
                        f".env file {file_path} line {line} cannot be parsed "
                        "(an unterminated quote?). Fix that line; nothing of the file was used."
                    )
                continue
            key = binding.key or ""
            if not key.upper().startswith(ENV_PREFIX):
                if ("\n" + ENV_PREFIX) in (binding.value or "").upper():
                    raise ConfigurationError(
                        f".env file {file_path} line {line}: the quoted value of {key} runs over the following "
                        f"{ENV_PREFIX}* lines (an unterminated quote?). Close the quote."
                    )
                continue
            self.raw_keys.append(key)
            values[key] = binding.value
        from pydantic_settings.sources.utils import parse_env_vars

        return parse_env_vars(values, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    def __call__(self) -> dict[str, Any]:
        # the plain environment source's rules: known fields only (unknown LAKEHOUSE_* keys get a warning)
        return EnvSettingsSource.__call__(self)


class ProfileSource(PydanticBaseSettingsSource):
    """A named profile from the TOML config file."""

    def __init__(self, settings_cls: type[BaseSettings], init_kwargs: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self.init_kwargs = init_kwargs
        self.file: Path | None = None
        self.profile: str | None = None
        self.raw: dict[str, Any] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def _pick(self, name: str) -> tuple[Any, str]:
        if self.init_kwargs.get(name) is not None:
            return self.init_kwargs[name], "keyword argument"
        env = env_name((name,))
        if os.environ.get(env):
            return os.environ[env], f"environment variable {env}"
        return None, DEFAULT_SOURCE

    def __call__(self) -> dict[str, Any]:
        file_value, file_source = self._pick("config_file")
        profile, profile_source = self._pick("profile")
        path = Path(file_value).expanduser() if file_value else default_config_file()
        if path.is_dir():
            raise ConfigurationError(
                f"config_file = {str(path)!r} (from {file_source}) is a directory. Point "
                f"{env_name(('config_file',))} at a TOML file such as {path / 'config.toml'}."
            )
        if not path.is_file():
            if file_value:
                raise ConfigurationError(
                    f"config_file = {str(path)!r} (from {file_source}) does not exist. "
                    f"Create it, or unset {env_name(('config_file',))} to use {default_config_file()}."
                )
            if profile:
                raise ConfigurationError(
                    f"profile = {profile!r} (from {profile_source}) was asked for, but there is no config file "
                    f"at {path}. Create it with a [{profile}] table, or set LAKEHOUSE_CONFIG_FILE."
                )
            return {}
        try:
            data = tomllib.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigurationError(
                f"config file {path} is not valid UTF-8 (byte {exc.start}). Save it as UTF-8."
            ) from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"config file {path} cannot be read: {exc}. Fix the TOML syntax.") from exc
        name = profile or ("default" if "default" in data else None)
        if name is None:
            return {}
        if name not in data or not isinstance(data[name], dict):
            known = ", ".join(sorted(k for k, v in data.items() if isinstance(v, dict))) or "none"
            raise ConfigurationError(
                f"profile = {name!r} (from {profile_source}) is not in {path}; profiles there: {known}. "
                f"Add a [{name}] table or choose another profile."
            )
        self.file, self.profile = path, name
        values = dict(data[name])
        values.pop("profile", None)
        values.pop("config_file", None)
        self.raw = values
        return _known_only(self.settings_cls, values, f"profile {name!r} in {path}")


# The standard variables of other tools: (variable, settings path).
STANDARD_ENV: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWS_ACCESS_KEY_ID", ("s3", "access_key")),
    ("AWS_SECRET_ACCESS_KEY", ("s3", "secret_key")),
    ("AWS_REGION", ("s3", "region")),
    ("AWS_DEFAULT_REGION", ("s3", "region")),
    ("AWS_ENDPOINT_URL_S3", ("endpoints", "minio")),
    ("AWS_ENDPOINT_URL", ("endpoints", "minio")),
    ("PGUSER", ("postgres", "user")),
    ("PGPASSWORD", ("postgres", "password")),
    ("PGDATABASE", ("postgres", "database")),
    ("KUBECONFIG", ("kube", "kubeconfig")),
)


class StandardEnvSource(PydanticBaseSettingsSource):
    """AWS_*, PG* and KUBECONFIG, below LAKEHOUSE_* settings."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.labels: Provenance = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for var, path in STANDARD_ENV:
            value = os.environ.get(var)
            if not value or path in self.labels:
                continue
            out.setdefault(path[0], {})[path[1]] = value
            self.labels[path] = f"environment variable {var}"
        host = os.environ.get("PGHOST")
        if host and not host.startswith("/"):
            port = os.environ.get("PGPORT", "5432")
            out.setdefault("endpoints", {})["postgres"] = f"postgresql://{host}:{port}"
            self.labels[("endpoints", "postgres")] = "environment variables PGHOST/PGPORT"
        return out


# -- unknown names -------------------------------------------------------------------------------------------

_FREE_KEYS = {("spark", "conf")}  # tables whose keys are the user's own
_SERVICE_KEYS = {"endpoints", "nodeports"}


def _model_of(settings_cls: type[BaseModel], name: str) -> type[BaseModel] | None:
    field = settings_cls.model_fields.get(name)
    annotation = field.annotation if field is not None else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _field_names(model: type[BaseModel]) -> set[str]:
    return {n for n, f in model.model_fields.items()} | {f.alias for f in model.model_fields.values() if f.alias}


def _known_path(settings_cls: type[BaseModel], path: tuple[str, ...]) -> bool:
    head = path[0].lower()
    if head not in _field_names(settings_cls):
        return False
    if head in _SERVICE_KEYS:
        return len(path) <= 2 and (len(path) == 1 or canonical_endpoint_key(path[1]) is not None)
    section = _model_of(settings_cls, head)
    if section is None or len(path) == 1:
        return len(path) == 1
    sub = path[1].lower()
    if sub not in _field_names(section):
        return False
    return len(path) == 2 or (head, sub) in _FREE_KEYS


def _all_names(settings_cls: type[BaseModel]) -> list[str]:
    names: list[str] = []
    for name in settings_cls.model_fields:
        names.append(env_name((name,)))
        section = _model_of(settings_cls, name)
        if section is not None:
            names.extend(env_name((name, sub)) for sub in _field_names(section))
        if name in _SERVICE_KEYS:
            from lakehouse_sdk.stack.endpoints import ENDPOINTS

            names.extend(env_name((name, key)) for key in ENDPOINTS)
    return names


def _closest(settings_cls: type[BaseModel], name: str) -> str:
    match = difflib.get_close_matches(name.upper(), _all_names(settings_cls), n=1, cutoff=0.6)
    return f"; did you mean {match[0]}?" if match else "; `lakehouse config` lists every setting"


def _warn(message: str) -> None:
    warnings.warn(message, SettingsWarning, stacklevel=5)


def _known_only(settings_cls: type[BaseModel], values: dict[str, Any], where: str) -> dict[str, Any]:
    """``values`` without unknown keys (each one warned about with the closest valid name)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if not _known_path(settings_cls, (key,)):
            _warn(f"unknown setting {key!r} in {where} is ignored{_closest(settings_cls, env_name((key,)))}")
            continue
        section = _model_of(settings_cls, key)
        if section is not None and isinstance(value, dict):
            kept = {}
            for sub, item in value.items():
                if _known_path(settings_cls, (key, str(sub))):
                    kept[sub] = item
                else:
                    hint = _closest(settings_cls, env_name((key, str(sub))))
                    _warn(f"unknown setting {key}.{sub} in {where} is ignored{hint}")
            value = kept
        out[key] = value
    return out


def warn_unknown(settings_cls: type[BaseModel], dotenv: DotEnvSource | None, dotenv_path: Path | None) -> None:
    """Warn about ``LAKEHOUSE_*`` variables (environment and ``.env``) that name no setting."""
    found = [(name, "the environment") for name in os.environ if name.upper().startswith(ENV_PREFIX)]
    if dotenv is not None:
        found += [(name, f".env file {dotenv_path}") for name in dotenv.raw_keys]
    for name, where in found:
        upper = name.upper()
        if upper in NOT_SETTINGS:
            continue
        path = tuple(upper[len(ENV_PREFIX) :].lower().split("__"))
        if not _known_path(settings_cls, path):
            _warn(f"{name} in {where} is not a lakehouse setting and is ignored{_closest(settings_cls, upper)}")
