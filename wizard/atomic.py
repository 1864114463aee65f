"""Atomic file writes: readers see the old file or the new one, never a part; modes are exact from creation."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    # The writer's PID is in the name so leftovers of a killed writer can be told apart and removed.
    return path.with_name(f".{path.name}.{os.getpid()}.tmp-{os.urandom(4).hex()}")


def atomic_write(path: Path, data: bytes, *, overwrite: bool = True, mode: int = 0o600) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never a part.

    overwrite=False refuses (FileExistsError) if `path` exists, without a race.
    """
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            os.fchmod(fd, mode)  # exactly this mode whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            if hasattr(fcntl, "F_FULLFSYNC"):  # macOS: fsync alone does not reach the disk
                fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if path exists: no clobbering
            except FileExistsError:
                raise
            except OSError:  # filesystem without hard links
                if path.exists():
                    raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
                os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    fsync_dir(path.parent)
