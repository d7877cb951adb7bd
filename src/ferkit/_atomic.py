"""Atomic file writes: write to a temporary file beside the target, then rename it over the target."""

from __future__ import annotations

import glob
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write to; on success it replaces `path`.

    The temporary name is `.<name>.<host>-<pid>.<random>.tmp` (ending in `path`'s suffix with `keep_suffix`, for
    writers that pick the format by suffix, e.g. video). Temporary files beside `path` left by a process of
    this machine that no longer runs (a kill -9) are removed first.

    On any error (a full disk, an interrupt) the temporary file is removed and an existing `path` is left as it
    was. The file's data is flushed to disk (fsync) before the rename, and the folder entry after it, so a power
    cut leaves the old file or the new one, never an empty or truncated one. The file gets ordinary permissions
    (0666 less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    _remove_stale(path)
    suffix = ".tmp" + (path.suffix if keep_suffix else "")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_owner()}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        # after the write: a writer that replaces the file (safetensors does) would bring back mkstemp's 0600
        os.chmod(tmp, 0o666 & ~umask)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _owner() -> str:
    """This process as temporary names spell it: host (dots replaced) and process id."""
    return f"{socket.gethostname().replace('.', '_').replace('-', '_')}-{os.getpid()}"


def _remove_stale(path: Path) -> None:
    """Remove the temporary files of `path` whose writer ran on this machine and is gone."""
    host = _owner().rsplit("-", 1)[0]
    prefix = f".{path.name}."
    for tmp in path.parent.glob(glob.escape(prefix) + "*.tmp*"):
        owner = tmp.name[len(prefix) :].split(".", 1)[0]
        their_host, _, pid = owner.rpartition("-")
        if their_host == host and pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; best effort (some platforms and file systems cannot open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
