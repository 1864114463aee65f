"""The data volume at /vol: a named Docker volume, or a host directory the server (UID 999, GID 0) can write."""

from __future__ import annotations

import os
import shlex
import stat
from typing import Any

from wizard.launcher.errors import OperationFailed, VolumeNotWritable, docker_error_text
from wizard.launcher.events import EventCallback, Step, emit
from wizard.launcher.spec import LABEL_MANAGED, LABEL_SESSION, LaunchSpec

SERVER_UID = 999
SERVER_GID = 0
_ENTRIES_CHECKED = 200  # a bind path's top-level entries looked at (enough to catch a copy made as root)


def chown_command(path: str) -> str:
    return f"sudo chown -R {SERVER_UID}:{SERVER_GID} {shlex.quote(path)}"


def _allows(st: os.stat_result, want: int) -> bool:
    """Whether UID 999 / GID 0 has the `want` bits (4 r, 2 w, 1 x) on a file with this stat."""
    if st.st_uid == SERVER_UID:
        bits = (st.st_mode >> 6) & 7
    elif st.st_gid == SERVER_GID:
        bits = (st.st_mode >> 3) & 7
    else:
        bits = st.st_mode & 7
    return bits & want == want


def bind_path_problem(path: str) -> str | None:
    """Why the server could not use `path` as /vol, or None. Only the directory and its top-level entries count:
    inside the container /vol is the directory itself, so the host's parent directories do not matter."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"{path} does not exist (Docker would create it owned by root, which the server cannot write)."
    except PermissionError:
        return f"{path} cannot be checked: permission denied (run the wizard with sudo to check it)."
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory."
    if not _allows(st, 7):
        return (f"{path} is owned by {st.st_uid}:{st.st_gid} with mode {stat.filemode(st.st_mode)}: the server runs "
                f"as UID {SERVER_UID}, GID {SERVER_GID} and cannot write it (it would fail with "
                "\"mkdir: cannot create directory '/vol/env': Permission denied\").")
    try:
        with os.scandir(path) as entries:
            for index, entry in enumerate(entries):
                if index >= _ENTRIES_CHECKED:
                    break
                entry_stat = entry.stat(follow_symlinks=False)
                want = 7 if entry.is_dir(follow_symlinks=False) else 6
                if not stat.S_ISLNK(entry_stat.st_mode) and not _allows(entry_stat, want):
                    return (f"{entry.path} is owned by {entry_stat.st_uid}:{entry_stat.st_gid}: the server "
                            f"(UID {SERVER_UID}, GID {SERVER_GID}) cannot write it.")
    except PermissionError:
        return f"{path} cannot be listed: permission denied (run the wizard with sudo to check it)."
    return None


def check_bind_path(path: str) -> None:
    problem = bind_path_problem(path)
    if problem is not None:
        make = f"sudo mkdir -p {shlex.quote(path)} && " if not os.path.exists(path) else ""
        raise VolumeNotWritable(problem, f"Give it to the server's user: `{make}{chown_command(path)}`, then try again.")


def fix_bind_path(path: str) -> None:
    """Create `path` if needed and give it (recursively) to UID 999 / GID 0: `chown -R 999:0 PATH`. Needs root."""
    try:
        os.makedirs(path, exist_ok=True)
        for root, dirs, files in os.walk(path):
            os.chown(root, SERVER_UID, SERVER_GID, follow_symlinks=False)
            for name in dirs + files:
                os.chown(os.path.join(root, name), SERVER_UID, SERVER_GID, follow_symlinks=False)
        os.chmod(path, os.stat(path).st_mode | stat.S_IRWXU)
    except PermissionError:
        raise VolumeNotWritable(
            f"{path} cannot be changed: permission denied.", f"Run it yourself: `{chown_command(path)}`."
        ) from None


def prepare_volume(client: Any, spec: LaunchSpec, on_event: EventCallback | None = None) -> None:
    """Create the named volume if missing (never touching its data), or check the bind path."""
    from docker.errors import APIError, NotFound

    if spec.volume_is_bind:
        emit(on_event, Step("volume", f"Checking that the server can write {spec.volume}"))
        check_bind_path(spec.volume)
        return
    try:
        client.volumes.get(spec.volume)
        emit(on_event, Step("volume", f"Using the existing volume {spec.volume} (its data is kept)"))
        return
    except NotFound:
        pass
    emit(on_event, Step("volume", f"Creating the volume {spec.volume}"))
    try:
        client.volumes.create(spec.volume, labels={LABEL_MANAGED: "true", LABEL_SESSION: spec.session_name})
    except APIError as exc:
        raise OperationFailed(f"The volume {spec.volume} could not be created: {docker_error_text(exc)}",
                              "Check free disk space and `docker volume ls`.") from None
