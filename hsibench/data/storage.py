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


@dataclass(frozen=True)
class MissingFile:
    """A needed file — or a set of alternatives, any one of which would do — with no good local copy.

    ``reasons`` say why it could not be downloaded (each failed URL, or no public download); the
    offline setting, shared by every file, is named once by the message instead.
    """

    alternatives: tuple[RemoteFile, ...]
    reasons: tuple[str, ...] = ()


def fetch(remote: RemoteFile, scene: str = "") -> Path:
    """A verified local path of ``remote``, downloading it into the cache when needed and allowed."""
    return fetch_any((remote,), scene)[1]


def fetch_any(alternatives: Sequence[RemoteFile], scene: str = "") -> tuple[RemoteFile, Path]:
    """The first of ``alternatives`` (e.g. a GeoTIFF or the user's .npy conversion) found locally,
    else the first downloadable one, downloaded."""
    return fetch_all([alternatives], scene)[0]


def fetch_all(roles: Sequence[Sequence[RemoteFile]], scene: str = "") -> list[tuple[RemoteFile, Path]]:
    """(file, verified path) for each role — a role is one file or its alternatives — in order.

    Every role is tried before anything is raised, so one error names *every* file still missing
    (and every bad copy), not only the first: the user fixes them all in one go.
    """
    found: list[tuple[RemoteFile, Path]] = []
    missing: list[MissingFile] = []
    mismatches: list[ChecksumMismatchError] = []
    for role in roles:
        try:
            result = _fetch_role(tuple(role))
        except ChecksumMismatchError as error:
            mismatches.append(error)
            continue
        if isinstance(result, MissingFile):
            missing.append(result)
        else:
            found.append(result)
    if missing:
        raise SceneNotAvailableError(not_available_message(missing, scene, mismatches))
    if len(mismatches) == 1:
        raise mismatches[0]
    if mismatches:
        raise ChecksumMismatchError("\n".join(str(error) for error in mismatches))
    return found


def _fetch_role(alternatives: tuple[RemoteFile, ...]) -> tuple[RemoteFile, Path] | MissingFile:
    """A good local copy, else a download when allowed, else what is missing and why."""
    for remote in alternatives:
        path = locate(remote)
        if path is not None:
            return remote, path
    if not any(remote.urls for remote in alternatives):
        return MissingFile(alternatives, ("no public download: the file must be obtained by hand",))
    if is_offline():
        return MissingFile(alternatives)
    reasons: list[str] = []
    for remote in alternatives:
        if remote.urls:
            path, failures = _download(remote)
            if path is not None:
                return remote, path
            reasons += failures
    return MissingFile(alternatives, tuple(reasons))


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


def not_available_message(missing: Sequence[MissingFile], scene: str = "",
                          mismatches: Sequence[ChecksumMismatchError] = ()) -> str:
    """Every missing file at once: where to get it, its size and hash, and exactly where to put it."""
    choices = [" or ".join(remote.name for remote in item.alternatives) for item in missing]
    who = f"scene {scene!r} needs" if scene else "needed:"
    if len(missing) == 1:
        lines = [f"{who} {choices[0]}, which is neither in the mirror nor in the cache and could not be downloaded."]
    else:
        lines = [f"{who} {len(missing)} files that are neither in the mirror nor in the cache and could not be "
                 f"downloaded: {', '.join(choices)}."]
    if is_offline() and any(remote.urls for item in missing for remote in item.alternatives):
        lines.append(f"  reason: {OFFLINE_ENV}={os.environ[OFFLINE_ENV]} forbids network access")
    for item in missing:
        indent = "  "
        if len(item.alternatives) > 1:
            lines.append("  any one of:")
            indent = "    "
        for remote in item.alternatives:
            lines.append(f"{indent}{remote.name}: {_where_from(remote)}")
            lines.append(f"{indent}  expected sha256: {remote.sha256 or 'none published (not checked)'}")
            if remote.size:
                lines.append(f"{indent}  size: {human_size(remote.size)} ({remote.size:,} bytes)")
        lines += [f"    reason: {reason}" for reason in item.reasons]
    if len(missing) > 1:
        total = sum(item.alternatives[0].size or 0 for item in missing)
        if total and all(len(item.alternatives) == 1 for item in missing):
            lines.append(f"  total: {human_size(total)}")
    lines.append(f"  Put the file{'s' if len(missing) > 1 else ''} in one of these folders:")
    mirror = mirror_dir()
    by_folder: dict[str, list[str]] = {}
    for item in missing:
        for remote in item.alternatives:
            by_folder.setdefault(remote.mirror_subdir, []).append(remote.name)
    for sub, names in by_folder.items():
        which = f" — for {', '.join(names)}" if len(by_folder) > 1 else ""
        if mirror is not None:
            lines.append(f"    {mirror / sub}   (the mirror, {MIRROR_ENV}){which}")
        lines.append(f"    {cache_dir() / sub}   (the cache, {CACHE_ENV}){which}")
    if mismatches:
        lines.append("  Also, present copies that do not match their registered sha256:")
        lines += [f"    {error}" for error in mismatches]
    check = f"hsibench data verify {scene}" if scene else "hsibench data verify"
    lines.append(f"  then check {'them' if len(missing) > 1 else 'it'} with `{check}`.")
    return "\n".join(lines)


def human_size(size: int) -> str:
    """``34_806_917`` → ``34.8 MB`` (decimal units, as download pages and file managers show them)."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _where_from(remote: RemoteFile) -> str:
    if remote.urls:
        return "download from " + " or ".join(remote.urls)
    return remote.how_to_get or "no public download; place your own copy"
