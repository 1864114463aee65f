"""The CLI as a user runs it: a real subprocess, real session files, the real encrypted-file keyring."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.cli_runner import keyring_call, run_wizard, store_secret
from wizard import __version__
from wizard.session import SessionStore

PASS = "correct horse battery staple"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(root))
    return root


def cli(home: Path, *args: str, passphrase: str | None = PASS, stdin: str = "") -> subprocess.CompletedProcess:
    return run_wizard(*args, state=home, home=home.parent, passphrase=passphrase, stdin=stdin, timeout=60)


def _store_secret(home: Path, session: str, secret_id: str, value: str) -> None:
    store_secret(home, home.parent, PASS, session, secret_id, value)


def test_version():
    result = subprocess.run([sys.executable, "-m", "wizard", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == f"wandb-local-setup {__version__}"


def test_every_command_pins_grpcs_proxy_choice_first(monkeypatch):
    # In-process, to read the environment afterwards. Without the pin, gRPC would take the shell's no_proxy
    # (tests/integration/test_storage_sdk_proxies.py: the Pub/Sub check went direct, the server through its proxy).
    from wizard.cli import main

    monkeypatch.setenv("no_proxy", "pubsub.googleapis.com")
    monkeypatch.delenv("no_grpc_proxy", raising=False)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["no_grpc_proxy"] == ""


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "wandb-local-setup"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_list_without_sessions(home):
    result = cli(home, "sessions", "list")
    assert result.returncode == 0
    assert "No saved sessions" in result.stdout


def test_list_shows_progress_and_unreadable_files(home):
    store = SessionStore(home / "sessions")
    session = store.create("prod")
    session.set_values("host", {"url": "https://wandb.example.com"})
    session.set_status("license", "checked-ok")
    session.set_status("host", "failed", "does not resolve")
    store.save(session)
    (home / "sessions" / "broken.json").write_text("{not json")
    result = cli(home, "sessions", "list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    prod = next(line for line in lines if line.startswith("prod "))
    assert "1/8" in prod and "failed" in prod
    broken = next(line for line in lines if line.startswith("broken "))
    assert "unreadable" in broken


def test_show_masks_secrets_and_prints_the_environment(home):
    canary = f"CANARY-{uuid.uuid4().hex}"
    store = SessionStore(home / "sessions")
    session = store.create("prod")
    session.set_values("host", {"url": "https://wandb.example.com/"})
    session.set_values("database", {"provider": "mysql", "mysql": {"host": "db.internal", "user": "wandb"}})
    store.save(session)
    _store_secret(home, "prod", "database.mysql.password", canary)
    result = cli(home, "sessions", "show", "prod")
    assert result.returncode == 0, result.stderr
    assert canary not in result.stdout + result.stderr
    assert "HOST=https://wandb.example.com" in result.stdout
    assert "MYSQL=mysql://wandb:********@db.internal:3306/wandb_local?tls=preferred" in result.stdout
    # What the keyring really holds, for the providers in use only (it once said "kept in the keyring" for all).
    assert "  database.mysql.password: (secret, stored in the keyring)" in result.stdout
    assert "  license.key: (secret, not stored)" in result.stdout
    assert "sso.okta" not in result.stdout and "storage.s3" not in result.stdout and "cache.redis" not in result.stdout
    wrong = cli(home, "sessions", "show", "prod", passphrase="not the passphrase")
    assert wrong.returncode == 0 and "secrets not read" in wrong.stderr
    assert "  database.mysql.password: (secret, not read (the keyring could not be opened))" in wrong.stdout


def test_show_lists_what_is_missing(home):
    store = SessionStore(home / "sessions")
    session = store.create("half")
    session.set_values("storage", {"provider": "s3", "s3": {"bucket": "Bad_Bucket"}})
    store.save(session)
    result = cli(home, "sessions", "show", "half")
    assert result.returncode == 0
    assert "File storage › Bucket: 'Bad_Bucket' is not a valid S3 bucket name" in result.stdout
    assert "File storage › Region: is required" in result.stdout


def test_show_unknown_session(home):
    result = cli(home, "sessions", "show", "nope")
    assert result.returncode == 6
    assert "nope" in result.stderr


def test_show_changes_nothing_even_for_a_corrupt_session(home):
    # `show` is read-only: it once renamed a corrupt file aside (the wizard does that when the session is opened).
    (home / "sessions").mkdir(parents=True)
    (home / "sessions" / "bad.json").write_text("[1, 2")
    result = cli(home, "sessions", "show", "bad")
    assert result.returncode == 4
    assert "The file is left as it is" in result.stderr and "bad.json" in result.stderr
    assert sorted(p.name for p in (home / "sessions").iterdir() if not p.name.endswith(".lock")) == ["bad.json"]


def test_delete_removes_the_file_and_the_keyring_entries(home):
    canary = f"CANARY-{uuid.uuid4().hex}"
    store = SessionStore(home / "sessions")
    store.save(store.create("old"))
    _store_secret(home, "old", "license.key", canary)
    result = cli(home, "sessions", "delete", "old", "--yes")
    assert result.returncode == 0, result.stderr
    assert not store.exists("old")
    stored = keyring_call(home, home.parent, PASS, "print(store.get('old', 'license.key'))")
    assert stored.strip() == "None"


def test_delete_with_a_wrong_passphrase_keeps_the_session(home):
    store = SessionStore(home / "sessions")
    store.save(store.create("keep"))
    _store_secret(home, "keep", "license.key", "x")
    result = cli(home, "sessions", "delete", "keep", "--yes", passphrase="wrong passphrase")
    assert result.returncode == 5
    assert "not deleted" in result.stderr
    assert store.exists("keep")


def test_delete_needs_confirmation_without_a_terminal(home):
    store = SessionStore(home / "sessions")
    store.save(store.create("keep"))
    result = cli(home, "sessions", "delete", "keep")
    assert result.returncode == 1
    assert "--yes" in result.stderr
    assert store.exists("keep")


def test_locked_session_cannot_be_deleted(home):
    store = SessionStore(home / "sessions")
    store.save(store.create("busy"))
    with store.lock("busy"):
        result = cli(home, "sessions", "delete", "busy", "--yes")
    assert result.returncode == 3
    assert f"PID {os.getpid()}" in result.stderr
    assert store.exists("busy")


def test_interactive_mode_needs_a_terminal(home):
    result = cli(home)
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr


def test_usage_error_exit_code(home):
    result = cli(home, "sessions", "frobnicate")
    assert result.returncode == 2


def test_bad_session_name(home):
    result = cli(home, "sessions", "show", "../etc/passwd")
    assert result.returncode == 2
    assert "session name" in result.stderr.lower()
