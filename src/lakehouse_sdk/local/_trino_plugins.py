"""Trino's ``password-authenticators`` plugin for the secure mode's file authenticator.

The plugin is its own Maven artifact (``io.trino:trino-password-authenticators:<version>:zip``), fetched and
SHA-1 checked like the hive and iceberg plugins. Where a repository does not serve it (the machines this
project is built on only serve the full server tarball), it is taken from ``io.trino:trino-server``'s tarball
instead, streamed: only ``plugin/password-authenticators/`` is kept, and the jars the tarball hard-links to
``lib/`` become hard links to the same jars of the installed server core (the same files, by name and version;
copies where a hard link cannot be made). Never symbolic links: the Trino image copies this tree.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.local._files import unpack_zip
from lakehouse_sdk.local.maven import MavenFetcher
from lakehouse_sdk.stack.versions import VERSIONS, MavenArtifact

__all__ = ["install_password_plugin"]

PLUGIN = "password-authenticators"


def install_password_plugin(home: Path, maven: MavenFetcher) -> Path:
    """``<trino home>/plugin/password-authenticators``, installed once."""
    version = VERSIONS["trino"]
    target = home / "plugin" / PLUGIN
    if (target / ".complete").is_file():
        return target
    shutil.rmtree(target, ignore_errors=True)
    artifact = MavenArtifact("io.trino", "trino-password-authenticators", version, "zip")
    try:
        unpack_zip(maven.fetch(artifact), target)
    except ComponentError as first:
        try:
            _from_server_tarball(home, maven, version, target)
        except ComponentError as second:
            raise ComponentError(
                f"Trino's password file authenticator (secure mode) needs the {PLUGIN} plugin: {first}; "
                f"the full server tarball did not give it either: {second}"
            ) from None
    (target / ".complete").write_text(version)
    return target


def _from_server_tarball(home: Path, maven: MavenFetcher, version: str, target: Path) -> None:
    prefix = f"trino-server-{version}/plugin/{PLUGIN}/"
    url = maven.url_of(MavenArtifact("io.trino", "trino-server", version, "tar.gz"))
    target.mkdir(parents=True, exist_ok=True)
    found = 0
    try:
        with maven._open(url) as response, tarfile.open(fileobj=response, mode="r|gz") as tar:
            for member in tar:
                if not member.name.startswith(prefix):
                    continue
                name = Path(member.name[len(prefix) :]).name
                if member.islnk():
                    source = home / "lib" / Path(member.linkname).name
                    if not source.is_file():
                        raise ComponentError(f"{member.name} links to {member.linkname}, which {home}/lib lacks")
                    try:
                        os.link(source, target / name)
                    except OSError:
                        shutil.copy2(source, target / name)
                elif member.isfile():
                    extracted = tar.extractfile(member)
                    if extracted is None:
                        continue
                    with extracted, open(target / name, "wb") as out:
                        shutil.copyfileobj(extracted, out)
                found += 1
    except OSError as exc:
        raise ComponentError(f"{maven.repository.shown}: the trino-server {version} tarball: {exc}") from None
    if not found:
        raise ComponentError(f"the trino-server {version} tarball has no {prefix}")
