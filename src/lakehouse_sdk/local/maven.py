"""Maven artifacts fetched straight from a Maven repository URL: no Maven installation needed.

Each file is streamed to a ``.part`` file beside its place in the cache while its SHA-1 is computed, compared
with the ``.sha1`` the repository publishes beside it, and renamed into place only when they match, so the
cache never holds a partial or unverified file. Every connection and every read is bounded by
``local.maven_timeout``; a timeout, a dropped connection or a 5xx answer is retried (3 attempts per file).
The repository is ``local.maven_mirror`` when set (a corporate repository manager or proxy), else
``local.maven_repository`` (Maven Central by default). User and password may be given in the URL
(``https://user:password@host/path``); they are sent as HTTP basic authentication, never shown, and never
forwarded on a redirect. ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` are honoured.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from lakehouse_sdk._checks import mask_url
from lakehouse_sdk._version import __version__
from lakehouse_sdk.errors import ComponentError
from lakehouse_sdk.settings import LakehouseSettings
from lakehouse_sdk.stack.versions import MavenArtifact

__all__ = ["ATTEMPTS", "MavenFetcher", "Repository", "repository_of"]

ATTEMPTS = 3
_BLOCK = 1 << 20
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Repository:
    """The Maven repository in use, and the setting (with its source) that chose it."""

    url: str = field(repr=False)  # as configured: may hold user:password@ (never in a repr)
    setting: str  # local.maven_mirror or local.maven_repository
    source: str  # where the setting's value came from ("default", "environment variable ...")

    @property
    def shown(self) -> str:
        """The URL without its password."""
        return mask_url(self.url)

    def __repr__(self) -> str:
        return f"Repository(url={self.shown!r}, setting={self.setting!r}, source={self.source!r})"

    @property
    def env_var(self) -> str:
        return "LAKEHOUSE_" + "__".join(part.upper() for part in self.setting.split("."))

    def describe(self) -> str:
        """``local.maven_mirror = 'https://...' (from environment variable ...)`` for error messages."""
        return f"{self.setting} = {self.shown!r} (from {self.source})"


def repository_of(settings: LakehouseSettings) -> Repository:
    """The mirror when one is set, else the repository."""
    mirror = settings.local.maven_mirror
    if mirror:
        return Repository(mirror, "local.maven_mirror", settings.source_of("local", "maven_mirror"))
    return Repository(
        settings.local.maven_repository, "local.maven_repository", settings.source_of("local", "maven_repository")
    )


class _TransientError(Exception):
    """A failure worth another attempt (timeout, dropped connection, 5xx)."""


class MavenFetcher:
    """Fetches artifacts into ``directory`` (flat: ``<directory>/<artifact file name>``)."""

    def __init__(self, repository: Repository, directory: Path, *, timeout: float, attempts: int = ATTEMPTS) -> None:
        self.repository = repository
        self.directory = directory
        self.timeout = timeout
        self.attempts = attempts
        parts = urlsplit(repository.url.rstrip("/"))
        self._auth: str | None = None
        netloc = parts.netloc
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._auth = "Basic " + base64.b64encode(pair.encode()).decode()
            netloc = netloc.rpartition("@")[2]
        self._base = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self._opener = urllib.request.build_opener()  # with the proxies of the environment

    def path_of(self, artifact: MavenArtifact) -> Path:
        return self.directory / artifact.filename

    def url_of(self, artifact: MavenArtifact) -> str:
        """The artifact's URL (never with credentials)."""
        return f"{self._base}/{artifact.repository_path()}"

    # -- HTTP -------------------------------------------------------------------------------------------------

    def _open(self, url: str) -> http.client.HTTPResponse:
        request = urllib.request.Request(url, headers={"User-Agent": f"lakehouse-sdk/{__version__}"})
        if self._auth is not None:
            request.add_unredirected_header("Authorization", self._auth)
        response: http.client.HTTPResponse = self._opener.open(request, timeout=self.timeout)
        return response

    def _advice(self) -> str:
        if self.repository.setting == "local.maven_mirror":
            return f"check that the mirror serves Maven Central's layout, or fix {self.repository.env_var}"
        return (
            f"behind a proxy or without access to it, set LAKEHOUSE_LOCAL__MAVEN_MIRROR to your repository "
            f"manager's URL (or HTTPS_PROXY); or copy a filled component cache into {self.directory.parent}"
        )

    def _with_retries(self, artifact: MavenArtifact, url: str, action: Callable[[], _T]) -> _T:
        last = ""
        for attempt in range(1, self.attempts + 1):
            try:
                return action()
            except urllib.error.HTTPError as exc:
                if exc.code in (408, 429) or exc.code >= 500:
                    last = f"HTTP {exc.code} {exc.reason}"
                else:
                    raise self._http_error(artifact, url, exc) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException, _TransientError) as exc:
                reason = getattr(exc, "reason", None) or exc
                if isinstance(reason, TimeoutError):
                    last = f"no answer within {self.timeout:g}s"
                else:
                    last = f"{type(reason).__name__}: {reason}" if isinstance(reason, Exception) else str(reason)
            if attempt < self.attempts:
                time.sleep(min(0.5 * attempt, 2.0))
        raise ComponentError(
            f"Maven artifact {artifact.coordinate}: {url} failed {self.attempts} times ({last}; each connection "
            f"and read may take local.maven_timeout = {self.timeout:g}s). The Maven repository is "
            f"{self.repository.describe()}. To fix: {self._advice()}; on a slow network raise "
            "LAKEHOUSE_LOCAL__MAVEN_TIMEOUT."
        )

    def _http_error(self, artifact: MavenArtifact, url: str, exc: urllib.error.HTTPError) -> ComponentError:
        hint = self._advice()
        if exc.code in (401, 403):
            hint = (
                f"the repository wants credentials: put them in the URL ({self.repository.env_var}="
                "https://user:password@host/path)"
            )
        return ComponentError(
            f"Maven artifact {artifact.coordinate}: {url} answered HTTP {exc.code} {exc.reason}. The Maven "
            f"repository is {self.repository.describe()}. To fix: {hint}."
        )

    # -- one file -----------------------------------------------------------------------------------------------

    def _expected_sha1(self, artifact: MavenArtifact) -> str:
        url = self.url_of(artifact) + ".sha1"

        def read() -> str:
            with self._open(url) as response:
                return response.read(4096).decode("ascii", "replace")

        text = self._with_retries(artifact, url, read).strip().lower()
        digest = text.split()[0] if text else ""
        if not _SHA1.match(digest):
            raise ComponentError(
                f"Maven artifact {artifact.coordinate}: {url} is not a SHA-1 checksum ({text[:60]!r}); the "
                f"artifact cannot be verified and is not used. The Maven repository is "
                f"{self.repository.describe()}. To fix: {self._advice()}."
            )
        return digest

    def fetch(self, artifact: MavenArtifact, *, on_progress: Callable[[int], None] | None = None) -> Path:
        """The artifact in the cache: already there, or downloaded, SHA-1 verified and renamed into place."""
        target = self.path_of(artifact)
        if target.is_file():
            return target
        expected = self._expected_sha1(artifact)
        url = self.url_of(artifact)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=f"{target.name}.", suffix=".part")
        os.close(fd)
        part = Path(name)
        digest = hashlib.sha1(usedforsecurity=False)

        def download() -> None:
            nonlocal digest
            digest = hashlib.sha1(usedforsecurity=False)
            with self._open(url) as response, part.open("wb") as out:
                declared = response.headers.get("Content-Length")
                received = 0
                while block := response.read(_BLOCK):
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    if on_progress is not None:
                        on_progress(len(block))
            if declared is not None and declared.isdigit() and received != int(declared):
                raise _TransientError(f"connection closed after {received} of {declared} bytes")

        try:
            self._with_retries(artifact, url, download)
            actual = digest.hexdigest()
            if actual != expected:
                raise ComponentError(
                    f"Maven artifact {artifact.coordinate}: {url} does not match its published SHA-1 "
                    f"({expected} expected, {actual} received); the partial file was deleted and nothing was "
                    f"cached. Run `lakehouse components` again; if it fails again, the Maven repository "
                    f"({self.repository.describe()}) serves a damaged or different file: {self._advice()}."
                )
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return target

    # -- many files -----------------------------------------------------------------------------------------------

    def fetch_all(
        self,
        artifacts: Iterable[MavenArtifact],
        *,
        workers: int = 4,
        on_file: Callable[[int, int, MavenArtifact], None] | None = None,
    ) -> list[Path]:
        """Fetch every artifact not in the cache yet, ``workers`` at a time; the first error stops the rest."""
        todo = list(dict.fromkeys(artifacts))
        done = 0
        lock = threading.Lock()
        failed = threading.Event()

        def one(artifact: MavenArtifact) -> Path:
            nonlocal done
            if failed.is_set():
                return self.path_of(artifact)
            try:
                path = self.fetch(artifact)
            except BaseException:
                failed.set()
                raise
            with lock:
                done += 1
                if on_file is not None:
                    on_file(done, len(todo), artifact)
            return path

        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lakehouse-maven") as pool:
            futures = [pool.submit(one, artifact) for artifact in todo]
            return [future.result() for future in futures]
