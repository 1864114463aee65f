"""Files given to the server read-only (CA certificates, a service-account key): checked, then staged for UID 999.

The container runs as UID 999: a file the admin keeps 0600 is unreadable there. The launcher therefore copies each
file into a private directory of the wizard's (0700, so no other user of this machine can reach it) and mounts the
copy: owned by UID 999 and 0400 when we run as root, else 0444 (readable inside the container, where only the
server runs, while the 0700 directory keeps it from everyone else here). Copies are named by their content, so a
replaced container and the one kept for a rollback never share a file that changes under them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable

from wizard.container import SERVER_UID, Mount
from wizard.small_files import read_small
from wizard.launcher.errors import OperationFailed

MAX_FILE_BYTES = 64 * 1024  # a CA bundle or a key is far smaller


class FileProblem(OperationFailed):
    """A file to give to the server cannot be used (the setting is named)."""


def read_source(mount: Mount) -> bytes:
    """The file's content; FileProblem naming the setting when it is missing, special, too large or unreadable."""
    try:
        return read_small(mount.source, MAX_FILE_BYTES)
    except ValueError as exc:
        raise FileProblem(f"{mount.setting}: {exc}.", "Give the path of the file itself (a certificate or key file "
                          "on this machine, readable by this user), on its step.") from None


def check_sources(mounts: Iterable[Mount]) -> list[str]:
    """The problems of every file, as text (empty when all can be given to the server)."""
    problems = []
    for mount in mounts:
        try:
            read_source(mount)
        except FileProblem as exc:
            problems.append(exc.message)
    return problems


def staging_dir(container_name: str) -> Path:
    from wizard.paths import ensure_private_dir, state_root

    ensure_private_dir(state_root())
    return ensure_private_dir(state_root() / "container-files" / container_name)


def stage(mount: Mount, container_name: str) -> str:
    """Copy the file for the container; returns the path of the copy (the bind mount's source)."""
    content = read_source(mount)
    digest = hashlib.sha256(content).hexdigest()[:16]
    target = staging_dir(container_name) / f"{digest}-{os.path.basename(mount.target)}"
    as_root = os.geteuid() == 0
    if not target.exists():
        from wizard.atomic import atomic_write

        atomic_write(target, content, mode=0o400 if as_root else 0o444)
        if as_root:
            os.chown(target, SERVER_UID, 0)
    return str(target)


def mount_options(mounts: Iterable[Mount], container_name: str, *, staged: bool) -> list[dict[str, Any]]:
    """Docker API mounts (read-only binds). Not staged: the admin's own paths (for the dry run's display)."""
    return [{"Type": "bind", "Source": stage(mount, container_name) if staged else mount.source,
             "Target": mount.target, "ReadOnly": True} for mount in mounts]


def content_digests(mounts: Iterable[Mount]) -> dict[str, str]:
    """target -> sha256 of the file (for the config hash: a changed CA is a changed configuration)."""
    digests = {}
    for mount in mounts:
        try:
            digests[mount.target] = hashlib.sha256(read_source(mount)).hexdigest()
        except FileProblem:
            digests[mount.target] = "unreadable"
    return digests
