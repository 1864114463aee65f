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


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700 and tighten it if it already exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def sessions_dir() -> Path:
    return state_root() / "sessions"


def keyring_dir() -> Path:
    return state_root() / "keyring"
