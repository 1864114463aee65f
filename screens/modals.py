"""Modal screens: confirmations, the keyring passphrase, notices with choices, help, and the session picker."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList
from textual.widgets.option_list import Option

from screens.widgets.next_on_enter import NextOnEnter
from screens.widgets.text import Plain


class ConfirmScreen(ModalScreen[bool]):
    """A question with the exact text it is about (shown literally), answered with y/n, Enter or Escape."""

    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(self, title: str, question: str, details: str = "", yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="modal")
        self.title_text, self.question, self.details, self.yes, self.no = title, question, details, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self.title_text, classes="dialog-title")
            yield Plain(self.question)
            if self.details:
                with VerticalScroll(classes="dialog-details"):
                    yield Plain(self.details)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text(f"{self.yes} (y)"), id="yes", variant="primary", compact=True)
                yield Button(Text(f"{self.no} (n/esc)"), id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class NoticeScreen(ModalScreen[str]):
    """A message (literal text) and a few choices; dismisses with the chosen key."""

    BINDINGS = [
        Binding("escape", "choose_default", "Close"),
        Binding("down", "app.focus_next", "Next choice", show=False),
        Binding("up", "app.focus_previous", "Previous choice", show=False),
    ]

    def __init__(self, title: str, message: str, choices: list[tuple[str, str]], default: str | None = None) -> None:
        super().__init__(classes="modal")
        self.title_text, self.message, self.choices = title, message, choices
        self.default = default if default is not None else choices[-1][0]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-details"):
                yield Plain(self.message)
            with Vertical(classes="dialog-choices"):
                for key, label in self.choices:
                    yield Button(Text(label), id=f"choice-{key}", compact=True)

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_choose_default(self) -> None:
        self.dismiss(self.default)


class PassphraseScreen(ModalScreen[str | None]):
    """Asks for the encrypted keyring file's passphrase (twice when it is being chosen). Never a tty prompt."""

    BINDINGS = [Binding("escape", "cancel", "Without keyring")]

    def __init__(self, backend_name: str, new_file: bool, error: str = "", note: str = "") -> None:
        super().__init__(classes="modal -opaque")  # asked before the first step is shown
        self.backend_name, self.new_file, self.error, self.note = backend_name, new_file, error, note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain("W&B Local setup: keyring passphrase", classes="dialog-title")
            if self.note:
                yield Plain(self.note, classes="dialog-note")
            what = "Choose a passphrase for" if self.new_file else "Enter the passphrase of"
            yield Plain(f"{what} the {self.backend_name}, where this wizard keeps licenses, passwords and keys.")
            first = NextOnEnter if self.new_file else Input  # chosen: Enter goes on to the second field
            yield first(password=True, placeholder="passphrase", id="passphrase")
            if self.new_file:
                yield Input(password=True, placeholder="the same passphrase again", id="passphrase2")
            yield Plain(Text(f"✗ {self.error}") if self.error else "", id="passphrase-error", classes="dialog-error")
            yield Plain("Enter: open · Esc: continue without a keyring (secrets are then not saved)",
                        classes="dialog-note")

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        first = self.query_one("#passphrase", Input).value
        if not first.strip():
            self._error("The passphrase must not be empty.")
            return
        if self.new_file and self.query_one("#passphrase2", Input).value != first:
            self._error("The two passphrases differ: type them again.")
            self.query_one("#passphrase2", Input).value = ""
            return
        self.dismiss(first)

    def _error(self, message: str) -> None:
        self.query_one("#passphrase-error", Plain).set_text(Text(f"✗ {message}"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextInputScreen(ModalScreen[str | None]):
    """Asks for one line of text (a path, a name to type as confirmation). Enter answers, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, message: str, placeholder: str = "", value: str = "") -> None:
        super().__init__(classes="modal")
        self.title_text, self.message, self.placeholder, self.value = title, message, placeholder, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self.title_text, classes="dialog-title")
            yield Plain(self.message)
            yield Input(value=self.value, placeholder=self.placeholder, id="text-input")
            yield Plain("Enter: continue · Esc: cancel", classes="dialog-note")

    def on_mount(self) -> None:
        self.query_one("#text-input", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q,question_mark", "close", "Close")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__(classes="modal")
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-tall"):
            yield Plain(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-details", id="help-body"):
                yield Plain(self.body)
            yield Plain("Esc, F1 or q closes this help.", classes="dialog-note")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)


class SessionPickerScreen(ModalScreen[tuple[str, bool] | None]):
    """Resume a saved session (shows when each was last edited and how far it got) or start a new one."""

    BINDINGS = [Binding("escape", "quit_app", "Quit")]

    def __init__(self, sessions: list[tuple[str, str, bool]], default_name: str, error: str = "") -> None:
        """sessions: (name, one-line description, can be opened)."""
        super().__init__(classes="modal")
        self.sessions, self.default_name, self.error = sessions, default_name, error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-tall"):
            yield Plain("W&B Local setup: saved sessions", classes="dialog-title")
            yield Plain("Resume one (↑/↓, Enter) or start a new session below.")
            options = [Option(Text(text), id=f"s:{name}", disabled=not ok) for name, text, ok in self.sessions]
            options.append(Option(Text("+ Start a new session"), id="new"))
            yield OptionList(*options, id="sessions", markup=False)
            with Horizontal(classes="picker-new"):
                yield Plain("New name", classes="field-title")
                yield Input(self.default_name, id="new-name", compact=True)
            yield Plain(Text(f"✗ {self.error}") if self.error else "", id="picker-error", classes="dialog-error")
            yield Plain("Enter: open · Tab: next field · Esc: quit", classes="dialog-note")

    def on_mount(self) -> None:
        self.query_one("#sessions", OptionList).focus()
        self.query_one("#sessions", OptionList).highlighted = 0

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        if option_id == "new":
            self.query_one("#new-name", Input).focus()
        else:
            self.dismiss((option_id.removeprefix("s:"), False))

    @on(Input.Submitted, "#new-name")
    def _new(self, event: Input.Submitted) -> None:
        from wizard.flow import valid_session_name

        name = event.value.strip()
        problem = valid_session_name(name)
        if problem is None and any(name == existing for existing, _, _ in self.sessions):
            problem = f"a session named '{name}' exists: pick it above to resume it, or choose another name"
        if problem:
            self.query_one("#picker-error", Plain).set_text(Text(f"✗ Session name: {problem}"))
            return
        self.dismiss((name, True))

    def action_quit_app(self) -> None:
        self.dismiss(None)
