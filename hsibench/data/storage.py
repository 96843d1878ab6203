"""Where scene files come from: a local mirror, the user cache, or a download — always sha256-checked.

Lookup order for every file: the mirror (used in place, never copied: a lab share or a Ray
cluster's read-only data folder), then the cache; a download (pooch, each URL in turn) fills the
cache only when no local copy exists and the network is allowed. A present file whose hash is
wrong stops the load: it is never used and never overwritten, because silently replacing a
user's file would hide the problem (a truncated copy, another release of the scene).

Settings come from the environment so that worker processes inherit them:
``HSIBENCH_MIRROR`` (set by :func:`set_mirror` / ``--mirror``), ``HSIBENCH_CACHE`` (default: the
platform's user cache folder ``hsibench``) and ``HSIBENCH_OFFLINE=1`` (no network attempt, ever).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import platformdirs
import pooch

from hsibench import __version__
from hsibench.data.errors import ChecksumMismatchError, SceneNotAvailableError

logger = logging.getLogger(__name__)

MIRROR_ENV = "HSIBENCH_MIRROR"
CACHE_ENV = "HSIBENCH_CACHE"
OFFLINE_ENV = "HSIBENCH_OFFLINE"

# The EHU "Hyperspectral Remote Sensing Scenes" wiki answers on both host spellings; some users
# see HTTP 403 from one of them, so every file lists both.
EHU_HOSTS = ("https://www.ehu.eus", "https://www.ehu.es")


@dataclass(frozen=True)
class RemoteFile:
    """One file a scene needs, with the facts that identify it.

    ``sha256``/``size`` are ``None`` where nobody publishes them (a user's own conversion, Chikusei);
    such a file is accepted as it is. ``key`` is the variable inside a .mat file (``None``: the only
    one). ``urls`` is empty for registration-only files, whose ``how_to_get`` tells the user what to do.
    """

    name: str
    sha256: str | None
    size: int | None
    key: str | None
    urls: tuple[str, ...] = ()
    mirror_subdir: str = ""
    how_to_get: str = ""

    @property
    def relative_path(self) -> str:
        return f"{self.mirror_subdir}/{self.name}" if self.mirror_subdir else self.name


def ehu_urls(file_name: str) -> tuple[str, ...]:
    """The file's URL on every EHU host (MediaWiki layout ``uploads/<a>/<ab>/<name>``, ab = md5(name)[:2])."""
    digest = hashlib.md5(file_name.encode()).hexdigest()
    return tuple(f"{host}/ccwintco/uploads/{digest[0]}/{digest[:2]}/{file_name}" for host in EHU_HOSTS)


# --- settings -------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where downloads go: ``$HSIBENCH_CACHE``, else the user cache folder ``hsibench``."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("hsibench")).expanduser()


def mirror_dir() -> Path | None:
    """The local mirror folder (``$HSIBENCH_MIRROR``), or ``None`` when no mirror is set."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def set_mirror(path: str | os.PathLike | None) -> None:
    """Use ``path`` as the mirror from now on (``None``: no mirror).

    Stored in the environment, not a module global, so subprocesses and Ray workers started
    afterwards read the same files.
    """
    if path is None:
        os.environ.pop(MIRROR_ENV, None)
        return
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise SceneNotAvailableError(f"mirror folder {folder} does not exist; create it or pass another --mirror")
    os.environ[MIRROR_ENV] = str(folder)


def is_offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


# --- hashing --------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so a process hashes each file once."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=512)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:  # size and mtime are the memo key
    return pooch.file_hash(path, alg="sha256")


# --- local copies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileCopy:
    """A copy of a :class:`RemoteFile` found on disk, with the result of its hash check."""

    remote: RemoteFile
    path: Path
    place: str  # "mirror" | "cache"
    actual_sha256: str | None  # None: not hashed (no expected hash and none asked for)

    @property
    def ok(self) -> bool:
        return self.remote.sha256 is None or self.actual_sha256 == self.remote.sha256

    def mismatch_error(self) -> ChecksumMismatchError:
        return ChecksumMismatchError(
            f"{self.path} ({self.place} copy of {self.remote.name}) has sha256 {self.actual_sha256}, "
            f"expected {self.remote.sha256}. It was neither used nor overwritten: delete it or replace it "
            f"with the original ({_where_from(self.remote)}), then run `hsibench data verify`."
        )


def candidate_paths(remote: RemoteFile) -> list[tuple[str, Path]]:
    """(place, path) pairs in lookup order: the mirror, then the cache; each at the relative path
    (e.g. ``houston2013/TRLabel.mat``) and under the bare file name."""
    roots = [("mirror", mirror_dir()), ("cache", cache_dir())]
    relative = [remote.relative_path, remote.name] if remote.mirror_subdir else [remote.name]
    pairs: list[tuple[str, Path]] = []
    for place, root in roots:
        if root is not None:
            pairs += [(place, root / rel) for rel in relative if (root / rel) not in {p for _, p in pairs}]
    return pairs


def present_copies(remote: RemoteFile) -> list[tuple[str, Path]]:
    """The candidate paths that exist (no hashing: cheap enough for `hsibench data list`)."""
    return [(place, path) for place, path in candidate_paths(remote) if path.is_file()]


def inspect_copies(remote: RemoteFile, hash_unchecked: bool = False) -> list[FileCopy]:
    """Every present copy with its hash (files without a registered hash only if ``hash_unchecked``)."""
    return [
        FileCopy(remote, path, place, file_sha256(path) if remote.sha256 or hash_unchecked else None)
        for place, path in present_copies(remote)
    ]


def locate(remote: RemoteFile) -> Path | None:
    """The first good local copy; ``None`` if there is none; an error if only bad copies exist."""
    copies = inspect_copies(remote)
    for copy in copies:
        if copy.ok:
            return copy.path
    if copies:
        raise copies[0].mismatch_error()
    return None


# --- fetching -------------------------------------------------------------------------------------


def fetch(remote: RemoteFile, scene: str = "") -> Path:
    """A verified local path of ``remote``, downloading it into the cache when needed and allowed."""
    return fetch_any((remote,), scene)[1]


def fetch_any(alternatives: Sequence[RemoteFile], scene: str = "") -> tuple[RemoteFile, Path]:
    """The first of ``alternatives`` (e.g. a GeoTIFF or the user's .npy conversion) found locally,
    else the first downloadable one, downloaded."""
    for remote in alternatives:
        path = locate(remote)
        if path is not None:
            return remote, path
    failures: list[str] = []
    if not any(remote.urls for remote in alternatives):
        failures.append("no public download: the file must be obtained by hand")
    elif is_offline():
        failures.append(f"{OFFLINE_ENV}={os.environ[OFFLINE_ENV]} forbids network access")
    else:
        for remote in alternatives:
            if remote.urls:
                path, reasons = _download(remote)
                if path is not None:
                    return remote, path
                failures += reasons
    raise SceneNotAvailableError(not_available_message(alternatives, scene, failures))


def _download(remote: RemoteFile) -> tuple[Path | None, list[str]]:
    """Try each URL in turn; pooch checks the hash before the file takes its final name."""
    target = cache_dir() / remote.mirror_subdir
    downloader = pooch.HTTPDownloader(progressbar=sys.stderr.isatty(), headers={"User-Agent": f"hsibench/{__version__}"})
    reasons = []
    for url in remote.urls:
        try:
            logger.info("downloading %s from %s", remote.name, url)
            path = pooch.retrieve(
                url,
                known_hash=f"sha256:{remote.sha256}" if remote.sha256 else None,
                fname=remote.name,
                path=target,
                downloader=downloader,
            )
            return Path(path), reasons
        except Exception as error:  # noqa: BLE001 — any failure (HTTP 403, DNS, hash) means: try the next URL
            reasons.append(f"{url}: {type(error).__name__}: {error}")
    return None, reasons


def not_available_message(alternatives: Sequence[RemoteFile], scene: str = "", failures: Sequence[str] = ()) -> str:
    """What is missing, where to get it, how to check it and exactly where to put it."""
    who = f"scene {scene!r} needs " if scene else "needed: "
    names = " or ".join(repr(remote.name) for remote in alternatives)
    lines = [f"{who}{names}, which is neither in the mirror nor in the cache and could not be downloaded."]
    lines += [f"  reason: {failure}" for failure in failures]
    for remote in alternatives:
        lines.append(f"  {remote.name}: {_where_from(remote)}")
        lines.append(f"    expected sha256: {remote.sha256 or 'none published (not checked)'}")
        if remote.size:
            lines.append(f"    size: {remote.size:,} bytes")
    lines.append("  Put the file in one of these folders:")
    mirror = mirror_dir()
    sub = alternatives[0].mirror_subdir
    if mirror is not None:
        lines.append(f"    {mirror / sub}   (the mirror, {MIRROR_ENV})")
    lines.append(f"    {cache_dir() / sub}   (the cache, {CACHE_ENV})")
    check = f"hsibench data verify {scene}" if scene else "hsibench data verify"
    lines.append(f"  then check it with `{check}`.")
    return "\n".join(lines)


def _where_from(remote: RemoteFile) -> str:
    if remote.urls:
        return "download from " + " or ".join(remote.urls)
    return remote.how_to_get or "no public download; place your own copy"
