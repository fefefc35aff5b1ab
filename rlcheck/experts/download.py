"""The published CS285 expert files: names, digests, a user cache and a bounded, checked fetch.

Files are fetched by their public URLs (or from ``$RLCHECK_EXPERTS_MIRROR``, a local folder used
in place or a base URL) into the platform's user cache directory (``platformdirs``), and
verified against the sha256 digests in :data:`SHA256` and the sizes in :data:`SIZES`.

A download is bounded in time and space: ``timeout`` is a deadline for the whole transfer (not
per read), the size is checked while streaming (a body longer than the published size is cut
off at once), the digest is computed on the streamed bytes, and the file appears in the cache
only complete and verified (temporary file, fsync, rename). Temporary files of downloads that
were killed are removed by the next fetch of that name. A network failure raises
:class:`rlcheck.errors.ResourceUnavailable`, whose ``fix`` says how to run without the network.

Why not pooch: pooch does hash-checked fetching with a registry and mirrors, but its timeout is
per read (a server trickling one byte a second never times out), it checks the size and hash
only after the whole body is on disk, and it would add ``requests``; the stdlib fetch here is
about a hundred lines and has none of these gaps.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rlcheck.errors import ResourceUnavailable
from rlcheck.experts.safe_pickle import ExpertFileError, read_capped

__all__ = [
    "CACHE_ENV_VAR",
    "DATA_URL",
    "EXPERT_ENVS",
    "MIRROR_ENV_VAR",
    "MIRROR_FIX",
    "POLICY_URL",
    "SHA256",
    "SIZES",
    "ChecksumError",
    "cache_dir",
    "data_file",
    "fetch",
    "policy_file",
    "read_verified",
    "sha256_file",
    "verify_bytes",
    "verify_file",
]

MIRROR_ENV_VAR = "RLCHECK_EXPERTS_MIRROR"
"""Environment variable: a local folder or a base URL holding the expert files (flat layout)."""

CACHE_ENV_VAR = "RLCHECK_CACHE_DIR"
"""Environment variable overriding the cache directory (default: the platform's user cache)."""

MIRROR_FIX = ("set RLCHECK_EXPERTS_MIRROR to a folder holding the CS285 expert files (or a base "
              "URL), or run where the expert URLs are reachable")
"""The ``fix`` of the :class:`~rlcheck.errors.ResourceUnavailable` a failed fetch raises."""

_REPO = "https://raw.githubusercontent.com/berkeleydeeprlcourse/homework_fall2023/main/hw1/cs285"
POLICY_URL = _REPO + "/policies/experts/{name}"
"""Public address of an expert policy file, ``name`` like ``Ant.pkl``."""
DATA_URL = _REPO + "/expert_data/{name}"
"""Public address of an expert data file, ``name`` like ``expert_data_Ant-v4.pkl``."""

SHA256: dict[str, str] = {
    "Ant.pkl": "a1af3914f14366dd171ede0cf37663047764799d1fca40a6a3ada5e935065dbe",
    "HalfCheetah.pkl": "f26c60dd80a4bedecf8a82463e07fde6c168004f07df1b8880b07658666a0862",
    "Hopper.pkl": "56145a42b49fa5d7ca20bdc30407752a0830ee4cae882eccfd01e4fdddc4cf92",
    "Humanoid.pkl": "e9067186f23ef26668ac98df5bd1917587ed2c64169c2ad3b42af48eab48b9bb",
    "Walker2d.pkl": "cd70901c89e3c89348661e32d4207c5d417a804370daa33226d149d9f60bb8ad",
    "expert_data_Ant-v4.pkl":
        "d9088bce034c02c49ec4007ae2432d37b6ace959284b1b76d81089aa18c093ca",
    "expert_data_HalfCheetah-v4.pkl":
        "d09ef9e824277073407450f33c08b056254dd1d49c99a451f2d30a54d75c228f",
    "expert_data_Hopper-v4.pkl":
        "99b9d26e791847c2ff8bbf1226cd81661c98dedbd29345e47133f056a1048ae6",
    "expert_data_Walker2d-v4.pkl":
        "6819c5417886f4e32ce8b12c181984315334a1dad8f66c9f3788d6d291c48d3c",
}
"""sha256 digests of the files at commit f401a13ce9139d633c1d242c2557ae29506a7e05."""

SIZES: dict[str, int] = {
    "Ant.pkl": 151322, "HalfCheetah.pkl": 72593, "Hopper.pkl": 65124, "Humanoid.pkl": 375378,
    "Walker2d.pkl": 72588, "expert_data_Ant-v4.pkl": 946563,
    "expert_data_HalfCheetah-v4.pkl": 610563, "expert_data_Hopper-v4.pkl": 394563,
    "expert_data_Walker2d-v4.pkl": 610563,
}
"""Sizes in bytes of the same files: a download stops as soon as it exceeds its size."""

EXPERT_ENVS: dict[str, str] = {
    "Ant-v4": "Ant",
    "HalfCheetah-v4": "HalfCheetah",
    "Hopper-v4": "Hopper",
    "Humanoid-v4": "Humanoid",
    "Walker2d-v4": "Walker2d",
}
"""The gymnasium environments the experts were trained for, mapped to their file stem."""

_CHUNK = 1 << 16
_STALE_PARTIAL_S = 24 * 3600.0


class ChecksumError(ExpertFileError):
    """A file's sha256 digest or size differs from the published one (corrupt or truncated)."""


def policy_file(env_id: str) -> str:
    """File name of the expert policy for a gymnasium id, e.g. ``"Ant-v4" -> "Ant.pkl"``."""
    return f"{_stem(env_id)}.pkl"


def data_file(env_id: str) -> str:
    """File name of the expert data for a gymnasium id (none exists for ``Humanoid-v4``)."""
    name = f"expert_data_{_stem(env_id)}-v4.pkl"
    if name not in SHA256:
        raise ValueError(f"no expert data is published for {env_id}; make it by rolling out the "
                         "expert (rlcheck.imitation.make_expert_data)")
    return name


def _stem(env_id: str) -> str:
    if not isinstance(env_id, str) or env_id not in EXPERT_ENVS:
        raise ValueError(f"no CS285 expert for environment id {env_id!r}; known: "
                         f"{', '.join(EXPERT_ENVS)}")
    return EXPERT_ENVS[env_id]


def _known(name: str) -> str:
    if not isinstance(name, str) or name not in SHA256:
        raise ValueError(f"unknown expert file {name!r}; known: {', '.join(SHA256)}")
    return name


def cache_dir() -> Path:
    """Where fetched files are kept: ``$RLCHECK_CACHE_DIR``, else ``rlcheck/experts`` in the
    platform's user cache (``platformdirs.user_cache_path``: ``$XDG_CACHE_HOME`` or
    ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows)."""
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("rlcheck", appauthor=False) / "experts"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 digest of a file (``hashlib.file_digest``)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _mismatch(name: str, where: str, actual: str, size: int) -> ChecksumError:
    return ChecksumError(f"{name} ({where}): sha256 checksum mismatch, expected {SHA256[name]}, "
                         f"got {actual} ({size} bytes, published {SIZES[name]}): the file is "
                         "corrupt or truncated; delete it and fetch again")


def verify_bytes(data: bytes, name: str, where: str = "") -> bytes:
    """``data`` if its sha256 is the published digest of ``name``, else :class:`ChecksumError`."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != SHA256[_known(name)]:
        raise _mismatch(name, where or "bytes", actual, len(data))
    return data


def verify_file(path: Path, name: str | None = None) -> Path:
    """Check ``path`` against the published sha256 of ``name`` (default: its file name).

    Raises:
        ChecksumError: naming the file and both digests.
        ValueError: ``name`` is not a known expert file.
    """
    path = Path(path)
    name = _known(name or path.name)
    actual = sha256_file(path)
    if actual != SHA256[name]:
        raise _mismatch(name, str(path), actual, path.stat().st_size)
    return path


def read_verified(path: str | os.PathLike[str], name: str | None = None) -> bytes:
    """The bytes of ``path``, read once and checked against the published digest of ``name``
    (default: its file name) if that is a published file; parse these bytes, not the file again.
    """
    path = Path(path)
    name = name or path.name
    data = read_capped(path)
    if name in SHA256:
        verify_bytes(data, name, str(path))
    return data


def _public_url(name: str) -> str:
    return (DATA_URL if name.startswith("expert_data_") else POLICY_URL).format(name=name)


def _partial_prefix(name: str) -> str:
    return f".{name}."


def clean_partial_files(folder: Path, name: str) -> list[Path]:
    """Remove temporary files of ``name`` left in ``folder`` by downloads that were killed:
    those whose process (the pid in the file name) is gone, or older than a day."""
    removed = []
    for path in folder.glob(_partial_prefix(name) + "*"):
        pid_text = path.name[len(_partial_prefix(name)):].split(".", 1)[0]
        try:
            alive = pid_text.isdigit() and _process_alive(int(pid_text))
            stale = time.time() - path.stat().st_mtime > _STALE_PARTIAL_S
        except OSError:
            continue
        if not alive or stale:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _set_read_timeout(resp: Any, seconds: float) -> None:
    """Bound the next socket read of an HTTP response by ``seconds`` (best effort)."""
    sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def _stream(url: str, out: Any, name: str, timeout: float) -> str:
    """Copy ``url`` into ``out`` within ``timeout`` seconds in total; return the sha256.

    Raises ChecksumError as soon as more than ``SIZES[name]`` bytes arrive, TimeoutError when
    the deadline passes."""
    deadline = time.monotonic() + timeout
    limit = SIZES[name]
    digest = hashlib.sha256()
    received = 0

    def late() -> TimeoutError:
        return TimeoutError(f"the download did not finish within {timeout:g} s ({received} of "
                            f"{limit} bytes received)")

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            announced = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
            if announced is not None and announced.isdigit() and int(announced) > limit:
                raise ChecksumError(f"{name} ({url}): the server announces {announced} bytes, "
                                    f"the published file has {limit}; refusing to download it")
            read = getattr(resp, "read1", resp.read)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise late()
                _set_read_timeout(resp, left)
                chunk = read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    raise ChecksumError(f"{name} ({url}): more than the {limit} bytes of the "
                                        "published file; download stopped")
                digest.update(chunk)
                out.write(chunk)
    except TimeoutError as exc:
        if time.monotonic() >= deadline - 0.05:
            raise late() from exc
        raise
    return digest.hexdigest()


def _download(url: str, target: Path, name: str, timeout: float) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_partial_files(target.parent, name)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{_partial_prefix(name)}{os.getpid()}.",
                                    suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                actual = _stream(url, out, name, timeout)
            except (urllib.error.URLError, http.client.HTTPException, TimeoutError,
                    ConnectionError) as exc:
                raise ResourceUnavailable(f"cannot fetch {name} from {url}: {exc}",
                                          fix=MIRROR_FIX) from exc
            out.flush()
            os.fsync(out.fileno())
        if actual != SHA256[name]:
            raise _mismatch(name, url, actual, tmp.stat().st_size)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def fetch(name: str, *, mirror: str | os.PathLike[str] | None = None,
          cache: str | os.PathLike[str] | None = None, timeout: float = 60.0) -> Path:
    """The local path of a verified expert file, downloading it if needed.

    ``mirror`` (default ``$RLCHECK_EXPERTS_MIRROR``) is a local folder, used in place without
    copying, or a base URL ``<base>/<name>``; without one the public GitHub address is used.
    Downloads go to ``cache`` (default :func:`cache_dir`) through a temporary file that replaces
    the target only once its sha256 matches; a cached file that fails the check is fetched
    again. ``timeout`` bounds the whole download, in seconds.

    Raises:
        ValueError: ``name`` is not a known expert file, or ``timeout`` is not positive.
        ChecksumError: the mirrored or downloaded file does not match its size or sha256.
        FileNotFoundError: a mirror folder lacks the file.
        rlcheck.errors.ResourceUnavailable: the download failed or did not finish in time.
    """
    _known(name)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV_VAR) or None
    mirror_str = os.fspath(mirror) if mirror is not None else None
    if mirror_str is not None and not mirror_str.startswith(("http://", "https://", "file://")):
        path = Path(mirror_str).expanduser() / name
        if not path.is_file():
            raise FileNotFoundError(f"{name} not found in the mirror folder {path.parent} "
                                    f"(from {MIRROR_ENV_VAR} or mirror=)")
        return verify_file(path, name)
    target = Path(cache).expanduser() if cache is not None else cache_dir()
    target = target / name
    if target.is_file():
        try:
            return verify_file(target, name)
        except ChecksumError:
            target.unlink()
    url = f"{mirror_str.rstrip('/')}/{name}" if mirror_str is not None else _public_url(name)
    return _download(url, target, name, float(timeout))
