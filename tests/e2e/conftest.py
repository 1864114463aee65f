"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.services.keyring_service import _shared_secret_service, secret_service  # noqa: F401 (fixtures)


@pytest.fixture
def tui_home(tmp_path, monkeypatch, secret_service):  # noqa: F811 (a real keyring: gnome-keyring)
    """HOME and the wizard's state in a temp dir for an in-process TUI run; no cursor blink (stable screens)."""
    from textual.widgets import Input

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("WANDB_LOCAL_SETUP_HOME", str(home / "state"))
    monkeypatch.delenv("WANDB_LOCAL_SETUP_KEYRING", raising=False)
    monkeypatch.delenv("WANDB_LOCAL_SETUP_PASSPHRASE", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(Input, "cursor_blink", False)
    return home
