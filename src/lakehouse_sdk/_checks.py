"""Checks for values that end up in a configuration file, a command line, SQL or a URL.

The settings layer runs them, so a bad value is refused with its setting and source before anything is
written; the writers (:mod:`lakehouse_sdk.stack.config`) escape for their format as well.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

__all__ = [
    "check_host",
    "check_identifier",
    "check_no_control",
    "control_character",
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


def check_identifier(value: str, what: str = "identifier") -> str:
    """Letters, digits, '_' and '-', starting with a letter or '_', at most 63 characters."""
    if not _IDENTIFIER.match(value):
        raise ValueError(
            f"is not a valid {what}: use letters, digits, '_' and '-', starting with a letter or '_' (max 63)"
        )
    return value


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
