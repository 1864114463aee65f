"""Where the wizard keeps its state. WANDB_LOCAL_SETUP_HOME overrides the platform's user state directory."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "wandb-local-setup"
HOME_ENV = "WANDB_LOCAL_SETUP_HOME"


def state_root() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir(APP_NAME))


class UnsafePath(PermissionError):
    """A directory or file of the wizard's state that another local user could change (not owned by this user, or
    writable by others): sessions there could be swapped for ones that point secrets at the other user's services."""


def ensure_private_dir(path: Path) -> Path:
    """Create `path` and its missing parents 0700 whatever the umask (as the XDG spec asks), tighten `path` to
    0700, and refuse (UnsafePath) one that is not this user's or that sits where another user can swap it."""
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another wizard: checked below like any existing one
            continue
        os.chmod(directory, 0o700)  # mkdir's mode is reduced by the umask, never raised by it: set it exactly
    check_private(path)
    os.chmod(path, 0o700)
    return path


def check_private(path: Path) -> None:
    """Refuse (UnsafePath) a state directory or file not owned by this user, or that another user could replace:
    it, or a directory above it, writable by others (without the sticky bit of /tmp)."""
    import stat

    uid = os.geteuid()
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePath(f"{path} is a symbolic link: the wizard's state must be a real directory or file (remove "
                         f"the link, or set {HOME_ENV})")
    if info.st_uid != uid:
        raise UnsafePath(f"{path} belongs to UID {info.st_uid}, not to you (UID {uid}): another user could put "
                         f"sessions there; remove it, or set {HOME_ENV} to a directory of your own")
    for above in path.resolve().parents:
        info = os.stat(above)
        # Group-writable is fine for the user's own group (user private groups); writable by others is not, except
        # with the sticky bit (/tmp), where no one may rename what is not theirs.
        writable = info.st_mode & stat.S_IWOTH or (info.st_mode & stat.S_IWGRP and info.st_gid != os.getegid())
        shared = writable and not info.st_mode & stat.S_ISVTX
        if shared or info.st_uid not in (uid, 0):
            who = f"belongs to UID {info.st_uid}" if info.st_uid not in (uid, 0) else "is writable by other users"
            raise UnsafePath(f"{above} {who}: another user could replace {path} (make it 0755 or stricter with "
                             f"chmod go-w {above}, or set {HOME_ENV})")


def sessions_dir() -> Path:
    return state_root() / "sessions"


def keyring_dir() -> Path:
    return state_root() / "keyring"
