"""Reading a small file the user named (a secret, a license, a key, an answers file): a regular file only, within a
size limit, read with a timeout. So `/dev/zero` cannot fill the memory, a FIFO or a hung network mount cannot hang
the wizard, and `/proc/self/environ` does not become a password.

The messages name the file and why; the caller says which setting it was for.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

READ_TIMEOUT = 5.0  # seconds: a local file of a few KiB is read in microseconds
KERNEL_TREES = ("/proc", "/sys", "/dev")  # pseudo-files: a size of 0 and any content, or endless


def _size(limit: int) -> str:
    return f"{limit // 1024} KiB" if limit >= 1024 else f"{limit} bytes"


def read_small(path: str | Path, limit: int, timeout: float = READ_TIMEOUT) -> bytes:
    """The content of a regular file of at most `limit` bytes. Raises ValueError with a message for the user."""
    shown = str(path)
    name = os.path.expanduser(shown)
    real = os.path.realpath(name)
    if any(real == tree or real.startswith(tree + "/") for tree in KERNEL_TREES):
        raise ValueError(f"{shown} is not a regular file ({real} is a device or kernel file)")
    try:  # O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused below)
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ValueError(f"{shown} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"{shown} is a directory: give the file inside it") from None
    except PermissionError:
        raise ValueError(f"{shown} cannot be read: permission denied (run as a user who may read it)") from None
    except OSError as exc:
        raise ValueError(f"{shown} cannot be read: {exc.strerror or exc}") from None
    handed_over = False
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ValueError(f"{shown} is a directory: give the file inside it")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{shown} is not a regular file (a device, FIFO or socket)")
        if info.st_size > limit:
            raise ValueError(f"{shown} is {_size(info.st_size)}, more than the {_size(limit)} such a file holds: "
                             "is this the right file?")
        os.set_blocking(fd, True)
        result: list[bytes] = []
        failure: list[OSError] = []

        def read() -> None:
            try:
                chunks, left = [], limit + 1
                while left > 0:
                    chunk = os.read(fd, min(left, 65536))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    left -= len(chunk)
                result.append(b"".join(chunks))
            except OSError as exc:
                failure.append(exc)
            finally:
                os.close(fd)

        reader = threading.Thread(target=read, name=f"read {shown}", daemon=True)
        handed_over = True  # the reader closes it, even after a timeout
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            raise ValueError(f"{shown} could not be read within {timeout:g} s (a hung network file system?)")
        if failure:
            raise ValueError(f"{shown} cannot be read: {failure[0].strerror or failure[0]}")
        data = result[0]
        if len(data) > limit:
            raise ValueError(f"{shown} is more than the {_size(limit)} such a file holds: is this the right file?")
        return data
    finally:
        if not handed_over:
            os.close(fd)
