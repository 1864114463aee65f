"""Running the wizard's CLI as a user would, for the tests: a subprocess with its own state dir and HOME, the
encrypted-file keyring (no D-Bus from the caller), and never a traceback in what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_wizard(*args: str, state: Path, home: Path, passphrase: str | None, env_extra: dict | None = None,
               stdin: str = "", timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_LOCAL_SETUP", "DBUS_"))}
    env.update({"WANDB_LOCAL_SETUP_HOME": str(state), "WANDB_LOCAL_SETUP_KEYRING": "cryptfile", "HOME": str(home),
                **(env_extra or {})})  # env_extra may choose another keyring
    if passphrase is not None:
        env["WANDB_LOCAL_SETUP_PASSPHRASE"] = passphrase
    result = subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, encoding="utf-8",
                            env=env, input=stdin, timeout=timeout, cwd=cwd, check=False)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def keyring_call(state: Path, home: Path, passphrase: str, code: str, *argv: str, stdin: str | None = None) -> str:
    """Run `code` with `store` = the encrypted-file keyring opened with `passphrase`; returns its stdout."""
    # Secrets go by the environment or stdin, never the command line (other processes can read that).
    env = dict(os.environ, WANDB_LOCAL_SETUP_HOME=str(state), HOME=str(home), WANDB_LOCAL_SETUP_PASSPHRASE=passphrase)
    preamble = ("import os, sys\nfrom wizard import secrets\n"
                "store = secrets.open_store('cryptfile', passphrase=os.environ['WANDB_LOCAL_SETUP_PASSPHRASE'])\n")
    return subprocess.run([sys.executable, "-c", preamble + code, *argv], check=True, env=env, timeout=60,
                          input=stdin, capture_output=True, text=True).stdout


def store_secret(state: Path, home: Path, passphrase: str, session: str, secret_id: str, value: str) -> None:
    keyring_call(state, home, passphrase, "store.set(sys.argv[1], sys.argv[2], sys.stdin.read())", session, secret_id,
                 stdin=value)
