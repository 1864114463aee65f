"""The wizard's state under a loose umask and in folders other users could change (issue: under umask 000 the state
root was 0777; another user swapped sessions/ for their own, and root's `check --session` then sent a Redis password
to that user's listener)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from tests.screens.helpers import license_token
from wizard.paths import UnsafePath, check_private, ensure_private_dir
from wizard.session import SessionError, SessionStore

OTHER_UID = 54321  # a user that does not exist here: files are given to it with chown (the tests run as root)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root (CI runs as root)")


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_loose_umask_creates_every_missing_directory_0700(tmp_path):
    state = tmp_path / "home" / ".local" / "state" / "wandb-local-setup" / "sessions"
    old = os.umask(0)
    try:
        ensure_private_dir(state)
    finally:
        os.umask(old)
    for directory in (tmp_path / "home", tmp_path / "home" / ".local", tmp_path / "home" / ".local" / "state",
                      state.parent, state):
        assert mode(directory) == 0o700, (directory, oct(mode(directory)))


def test_the_cli_under_umask_000_leaves_nothing_open_to_others(tmp_path):
    # The platform's state folder under a new HOME (~/.local/state/...): what the wizard creates there, it creates
    # for this user only, whatever the umask.
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    answers = tmp_path / "answers.toml"
    answers.write_text('[host]\nurl = "http://10.0.0.5:8080"\n[license]\nkey = "env:T_LICENSE"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_LOCAL_SETUP", "DBUS_", "XDG_"))}
    env.update(HOME=str(home), WANDB_LOCAL_SETUP_KEYRING="cryptfile", WANDB_LOCAL_SETUP_PASSPHRASE="p",
               T_LICENSE=license_token())
    result = subprocess.run([sys.executable, "-m", "wizard", "apply", "--answers", str(answers), "--session", "loose",
                             "--skip-checks", "--dry-run"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, preexec_fn=lambda: os.umask(0))
    assert "saved the answers to session 'loose'" in result.stdout, result.stdout + result.stderr
    created = list(home.rglob("*"))
    assert (home / ".local" / "state" / "wandb-local-setup" / "sessions" / "loose.json") in created
    assert (home / ".local" / "state" / "wandb-local-setup" / "keyring" / "secrets.cfg") in created
    assert all(mode(path) & 0o077 == 0 for path in created), [(str(p), oct(mode(p))) for p in created]


@as_root
def test_a_sessions_folder_of_another_user_is_refused(tmp_path):
    store = SessionStore(tmp_path / "state" / "sessions")
    ensure_private_dir(store.root)
    os.chown(store.root, OTHER_UID, OTHER_UID)
    with pytest.raises(SessionError, match=f"belongs to UID {OTHER_UID}, not to you"):
        store.list()
    with pytest.raises(SessionError, match=f"belongs to UID {OTHER_UID}"):
        store.load("planted")


def test_a_folder_above_that_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # no sticky bit: anyone may rename what is inside
    state = shared / "state"
    with pytest.raises(UnsafePath, match=f"{shared} is writable by other users: another user could replace"):
        ensure_private_dir(state)
    os.chmod(shared, 0o1777)  # like /tmp: no one renames what is not theirs
    ensure_private_dir(state)
    check_private(state)


def test_a_symlinked_state_folder_is_refused(tmp_path):
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    link = tmp_path / "state"
    link.symlink_to(real)
    with pytest.raises(UnsafePath, match="is a symbolic link"):
        check_private(link)


@as_root
def test_a_keyring_file_of_another_user_is_refused(tmp_path, monkeypatch):
    from wizard import secrets

    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(tmp_path / "state"))
    store = secrets.open_store("cryptfile", passphrase="correct horse")
    store.set("s", "license.key", "CANARY-license")
    path = tmp_path / "state" / "keyring" / "secrets.cfg"
    assert path.exists()
    os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.raises(secrets.SecretsError, match=f"belongs to UID {OTHER_UID}, not to you"):
        secrets.open_store("cryptfile", passphrase="correct horse")
