"""Checks for values that end up in a configuration file, a command line, SQL or a URL.

The settings layer runs them, so a bad value is refused with its setting and source before anything is
written; the writers (:mod:`lakehouse_sdk.stack.config`) escape for their format as well.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Annotated
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator

__all__ = [
    "Bucket",
    "CatalogName",
    "Host",
    "Identifier",
    "Memory",
    "Namespace",
    "Region",
    "check_host",
    "check_no_control",
    "mask_url",
    "parse_url",
]

# RFC 1123 host names: labels of letters, digits and '-', not starting or ending with '-'.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")


def control_character(value: str) -> str | None:
    """The first control or line-separator character in ``value`` as ``U+XXXX``, or ``None``."""
    for char in value:
        if unicodedata.category(char) in {"Cc", "Zl", "Zp"}:
            return f"U+{ord(char):04X}"
    return None


def check_no_control(value: str) -> str:
    """Refuse newlines, tabs, NUL and every other control character (they split config lines)."""
    found = control_character(value)
    if found is not None:
        raise ValueError(f"contains the control character {found}; it would split a configuration line")
    return value


def check_host(value: str) -> str:
    """A DNS host name or an IPv4/IPv6 address."""
    check_no_control(value)
    if not value:
        raise ValueError("is empty; write a host name or an IP address")
    try:
        ipaddress.ip_address(value.strip("[]"))
        return value
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError("is not a valid host name or IP address (letters, digits, '-' and '.')")
    return value


def _matching(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"is not {what}")
        return value

    return AfterValidator(check)


# Types of settings whose values end up in configuration files, command lines, SQL and URLs.
Identifier = Annotated[
    str, _matching(_IDENTIFIER.pattern, "a name: letters, digits, '_' and '-', starting with a letter or '_' (max 63)")
]
Region = Annotated[str, _matching(r"^[a-z0-9][a-z0-9-]{0,62}$", "a region name (lower-case letters, digits and '-')")]
Bucket = Annotated[
    str,
    _matching(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "an S3 bucket name (3-63 of a-z, 0-9, '.', '-')"),
]
Memory = Annotated[str, _matching(r"^[1-9][0-9]{0,8}[kKmMgGtT]?$", "a JVM memory size such as 512m or 2G")]
Namespace = Annotated[
    str, _matching(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", "a Kubernetes namespace (lower-case letters, digits, '-')")
]
CatalogName = Annotated[
    str, _matching(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", "a catalog name (letters, digits, '_'; not starting with a digit)")
]
Host = Annotated[str, AfterValidator(check_host)]


def parse_url(url: str, schemes: tuple[str, ...]) -> SplitResult:
    """Split ``url`` and check its scheme, host and port; a ``ValueError`` says what is wrong."""
    found = control_character(url)
    if found is not None or " " in url:
        raise ValueError(f"contains {'the control character ' + found if found else 'a space'}")
    if "://" not in url:
        raise ValueError("is not a URL; write it as scheme://host:port")
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ValueError(f"has the scheme {parts.scheme!r}; this service takes {' or '.join(schemes)}")
    if not parts.hostname:
        raise ValueError("has no host; write it as scheme://host:port")
    check_host(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has an invalid port; ports are 1-65535") from None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("has an invalid port; ports are 1-65535")
    return parts


def mask_url(url: str) -> str:
    """``scheme://user:***@host:port/...``: the password of a URL's user info replaced."""
    return re.sub(r"^(\w[\w+.-]*://[^:/@\s]*:)[^@/\s]*@", r"\1***@", url)
