"""Fixtures of the screen tests: a private state root, deterministic rendering, a real keyring."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.services.keyring_service import _shared_secret_service, secret_service  # noqa: F401 (fixtures)
from wizard import draft, secrets
from wizard.session import SessionStore

FIXED_NOW = datetime(2026, 11, 26, 22, 30, tzinfo=timezone.utc)
SIZE = (80, 24)


def fixed_clock() -> datetime:
    return FIXED_NOW


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture(autouse=True)
def fixed_default_host(ssh_connection: None) -> None:
    """Every screen shows the same default HOST, whatever machine runs the tests (tests/conftest.py)."""


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the wizard's state root in a temp dir; no forced backend, no D-Bus unless a fixture gives one.
    Paths are shown relative to HOME (~/...), so snapshots do not depend on the temp dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(home / "state"))
    monkeypatch.delenv("WANDB_LOCAL_SETUP_KEYRING", raising=False)
    monkeypatch.delenv("WANDB_LOCAL_SETUP_PASSPHRASE", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Session timestamps come from the fixed clock too.
    monkeypatch.setattr("wizard.session._now", lambda: FIXED_NOW.isoformat(timespec="seconds"))
    return home / "state"


@pytest.fixture
def store(state_home: Path) -> SessionStore:
    return SessionStore(state_home / "sessions")


@pytest.fixture
def keyring(secret_service, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """A real Secret Service keyring (gnome-keyring on a private D-Bus), emptied for the session names used here."""
    store = secrets.open_store("secretservice")
    for name in SESSION_NAMES:
        store.delete_all(name, draft.secret_ids())
    return store


SESSION_NAMES = ("demo", "other", "second", "setup-20261126-2230")


def read_session(state_home: Path, name: str) -> dict:
    return json.loads((state_home / "sessions" / f"{name}.json").read_text())
