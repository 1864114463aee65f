"""The opening screen: choosing and opening a session, then its keyring (everything before the first step).

It has no look of its own: it is transparent, and the App's screen shows through ("Opening the session…" in the
body, the step list disabled) behind the dialogs it opens (the session picker, the passphrase, a notice). It tells
the App what happened with messages: Opened (the session is locked and loaded), AskingPassphrase (the first
interactive screen is up), Quit (the user gave up, with the exit code); it is dismissed with where the secrets are
read from once they are (None: no keyring). Slow work (D-Bus, an encrypted file) runs in thread workers of one shape
that report with post_message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.screen import Screen

from screens.modals import NoticeScreen, PassphraseScreen, SessionPickerScreen
from screens.widgets.text import Plain
from screens.words import describe_summary
from wizard import secrets as keyrings
from wizard.cli.exit import Exit
from wizard.flow.session import Clock, WizardFlow, default_session_name
from wizard.secrets import SecretsError, SecretStore
from wizard.session import SessionError, SessionLocked, SessionStore


class OpeningScreen(Screen["SecretStore | None"]):
    DEFAULT_CSS = "OpeningScreen { background: transparent; }"

    @dataclass
    class Opened(Message):
        flow: WizardFlow

    @dataclass
    class AskingPassphrase(Message):
        """The passphrase dialog is the first screen that takes keys."""

    @dataclass
    class Quit(Message):
        code: Exit

    # What the workers report (handled here, on the UI thread).
    @dataclass
    class _Described(Message):
        bubble = False
        choice: keyrings.BackendChoice
        error: str

    @dataclass
    class _Retry(Message):
        bubble = False
        error: str

    @dataclass
    class _Problem(Message):
        bubble = False
        message: str
        retry: bool

    @dataclass
    class _Loaded(Message):
        bubble = False
        store: SecretStore

    def __init__(self, store: SessionStore, secrets_lock: threading.Lock, clock: Clock, *, name: str | None,
                 new: bool, injected: SecretStore | None, backend: str | None, passphrase: str | None) -> None:
        super().__init__()
        self.session_name = name
        self.new = new
        self.store = store
        self.secrets_lock = secrets_lock  # shared with the App: the flow's secrets are read here, written there
        self.clock = clock
        self.injected = injected
        self.backend = backend
        self.passphrase = passphrase
        self.flow: WizardFlow | None = None
        self.code = Exit.OK
        self._picker_used = False

    # ---- the session

    def on_mount(self) -> None:
        name, new = self.session_name, self.new
        if name is not None:
            self.open_session(name, new)
        elif new:
            self.open_session(self._unused_name(), new=True)
        else:
            self.pick_session()

    def pick_session(self, error: str = "") -> None:
        try:
            summaries = self.store.list()
        except SessionError as exc:
            summaries, error = [], str(exc)
        if not summaries and not error:
            self.open_session(self._unused_name(), new=True)
            return
        self._picker_used = True
        sessions = [(s.name, describe_summary(s, self.clock), s.error is None) for s in summaries]

        def chosen(answer: tuple[str, bool] | None) -> None:
            if answer is None:
                self.post_message(self.Quit(Exit.OK))
            else:
                self.open_session(*answer)

        self.app.push_screen(SessionPickerScreen(sessions, self._unused_name(), error), chosen)

    def _unused_name(self) -> str:
        base = default_session_name(self.clock)
        name, n = base, 2
        while self.store.exists(name):
            name, n = f"{base}-{n}", n + 1
        return name

    def open_session(self, name: str, new: bool = False) -> None:
        try:
            self.flow = WizardFlow.open(name, new=new, store=self.store, clock=self.clock)
        except SessionLocked as exc:
            self.code = Exit.LOCKED
            self._refuse("Session in use", str(exc))
            return
        except SessionError as exc:
            self.code = Exit.UNREADABLE
            self._refuse("Session cannot be opened", str(exc))
            return
        self.code = Exit.OK
        self.post_message(self.Opened(self.flow))
        self.setup_keyring()

    def _refuse(self, title: str, message: str) -> None:
        choices = ([("pick", "Choose another session")] if self._picker_used else []) + [("quit", "Quit")]

        def answered(choice: str | None) -> None:
            if choice == "pick":
                self.pick_session()
            else:
                self.post_message(self.Quit(self.code))

        self.app.query_one("#placeholder", Plain).set_text(Text(message))  # the App's screen shows through
        self.app.push_screen(NoticeScreen(title, message, choices, default="quit"), answered)

    # ---- the keyring

    def setup_keyring(self, error: str = "") -> None:
        if self.injected is not None:
            self._read_secrets(self.injected)
            return
        choice = keyrings.describe_backend_at_once(self.backend)
        if choice is not None:  # no D-Bus to ask: the passphrase dialog comes with the first paint
            self._keyring_chosen(choice, error)
        else:
            self._describe_keyring(error)

    @work(thread=True, exclusive=True, exit_on_error=False, group="keyring", description="find the keyring")
    def _describe_keyring(self, error: str) -> None:
        # Asking D-Bus which daemon answers can take a moment: not on the UI thread.
        self.post_message(self._Described(keyrings.describe_backend(self.backend), error))

    @on(_Described)
    def _described(self, event: _Described) -> None:
        self._keyring_chosen(event.choice, event.error)

    def _keyring_chosen(self, choice: keyrings.BackendChoice, error: str) -> None:
        if choice.problem:
            self.keyring_problem(choice.problem, retry=False)
        elif choice.needs_passphrase:
            if self.passphrase and not error:
                self._open_keyring(self.passphrase, choice)
            else:
                self._ask_passphrase(choice, error)
        else:
            self._open_keyring(None, choice)

    def _ask_passphrase(self, choice: keyrings.BackendChoice, error: str = "") -> None:
        def answered(passphrase: str | None) -> None:
            if passphrase is None:
                self._without_keyring()
            else:
                self._open_keyring(passphrase, choice)

        self.app.push_screen(PassphraseScreen(choice.name, choice.new_file, error, choice.note), answered)
        self.post_message(self.AskingPassphrase())

    @work(thread=True, exclusive=True, exit_on_error=False, group="keyring", description="open the keyring")
    def _open_keyring(self, passphrase: str | None, choice: keyrings.BackendChoice) -> None:
        try:
            store = keyrings.open_store(self.backend, passphrase=passphrase, choice=choice)
        except (keyrings.WrongPassphrase, keyrings.PassphraseRequired) as exc:
            self.post_message(self._Retry(str(exc)))
            return
        except SecretsError as exc:
            self.post_message(self._Problem(str(exc), True))
            return
        self._load_secrets(store)

    @work(thread=True, exclusive=True, exit_on_error=False, group="keyring", description="read the secrets")
    def _read_secrets(self, store: SecretStore) -> None:
        self._load_secrets(store)

    def _load_secrets(self, store: SecretStore) -> None:
        """In a worker thread: the session's secrets from `store` (slow with an encrypted file)."""
        try:
            with self.secrets_lock:
                self._opened().attach_secrets(store)
        except SecretsError as exc:
            self.post_message(self._Problem(str(exc), True))
            return
        self.post_message(self._Loaded(store))

    @on(_Retry)
    def _retry(self, event: _Retry) -> None:
        self.setup_keyring(event.error)

    @on(_Problem)
    def _problem(self, event: _Problem) -> None:
        self.keyring_problem(event.message, event.retry)

    @on(_Loaded)
    def _loaded(self, event: _Loaded) -> None:
        self.dismiss(event.store)

    def keyring_problem(self, message: str, retry: bool) -> None:
        def answered(choice: str | None) -> None:
            if choice == "retry":
                self.setup_keyring()
            elif choice == "without":
                self._without_keyring()
            else:
                self.post_message(self.Quit(Exit.KEYRING))

        self.app.push_screen(keyring_notice(message, retry), answered)

    def _without_keyring(self) -> None:
        self._opened().attach_secrets(None)
        self.dismiss(None)

    def _opened(self) -> WizardFlow:
        if self.flow is None:  # the keyring is set up only once a session is open
            raise RuntimeError("no session is open")
        return self.flow


def keyring_notice(message: str, retry: bool) -> NoticeScreen:
    """The choices when the keyring cannot be used: "retry", "without" (a keyring) or "quit"."""
    choices = ([("retry", "Try again")] if retry else []) + [
        ("without", "Continue without a keyring (secrets are not saved)"),
        ("quit", "Quit (everything typed so far is saved)"),
    ]
    return NoticeScreen("The keyring cannot be used", message, choices, default="without")


def keyring_line(store: Any) -> str:
    """Where secrets are kept, as the Welcome step says it."""
    if store is None:
        return "no keyring: secrets are kept only while the wizard runs and must be typed again next time"
    note = getattr(getattr(store, "choice", None), "note", "")
    return store.backend_name + (f" (no system keyring here: {note})" if note else "")
