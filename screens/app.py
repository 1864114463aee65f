"""The interactive wizard: a Textual App over wizard.flow. Screens collect input and show results; the domain
(wizard/) does the rest. `run_wizard` is what the CLI calls."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from screens.commands import WizardCommands
from screens.modals import ConfirmScreen, HelpScreen
from screens.opening import OpeningScreen, keyring_line
from screens.steps import messages as step_messages
from screens.steps import step_view
from screens.widgets.footer import WizardFooter
from screens.widgets.step_list import StepList
from screens.widgets.text import Plain
from wizard import secrets as keyrings
from wizard.cli.exit import DEBUG_ENV, Exit
from wizard.flow.session import WizardFlow, utc_now
from wizard.secrets import SecretsError, SecretStore
from wizard.session import SessionError, SessionStore
from wizard.steps import STEP_IDS, step_title

SAVE_DELAY = 0.5  # seconds after the last keystroke before the draft is written

KEYS_HELP = """Keys
  F8, ctrl+n, alt+→   next step          F7, alt+←   previous step
  F2                  step list (↑/↓, Enter opens a step)
  Tab, shift+Tab      next / previous field
  Enter               open a list (Select), press a button, copy a text box
  ctrl+r              run the step's live checks
  c, Enter, ctrl+y    copy the text box that has the focus (ctrl+y elsewhere: the first one)
  ctrl+p              command palette: jump to a step, run an action
  ctrl+t              hide / show the step list (small terminals)
  ctrl+s              save now (values are also saved as you leave each field)
  F1, ?               this help             ctrl+q, ctrl+c   save and quit

Status of a step
  · todo   nothing entered       ✎ edited   changed, not checked yet
  ✓ ok     valid (and checked)   ! warn     checked, with warnings
  ✗ failed has problems or a failed check: open it to see them"""


READY_FILE_ENV = "WANDB_LOCAL_SETUP_READY_FILE"

if TYPE_CHECKING:
    from textual.timer import Timer

    from screens.steps.base import StepView


def type_into(field: Input, character: str) -> None:
    """What an Input does with a printable key, done at once (see WizardApp.on_event)."""
    selection = field.selection
    if selection.is_empty:
        field.insert_text_at_cursor(character)
    else:
        field.replace(character, *selection)
    if field.cursor_blink:  # a new blink cycle: the cursor shows at once, as when the Input takes the key itself
        field.cursor_blink = False
        field.cursor_blink = True


def select_as_focused(field: Input) -> None:
    """A key has just moved the focus to `field` (see WizardApp.on_event). Its Focus event, which selects its text
    (select_on_focus: typing replaces it), waits in its queue behind the keys that follow in the same burst: handled
    between two of them, it would select what the first ones typed, for the next one to replace ("s3cr3t-e2e"
    became "3t-e2e"). The text is selected now, as that event would, and the event finds nothing to select."""
    field.select_all()
    field.select_on_focus = False
    field.call_later(setattr, field, "select_on_focus", True)  # queued behind the Focus event


class WizardApp(App[int]):
    current_step: reactive[str | None] = reactive(None, init=False, always_update=True)  # the step shown (or None)
    keyring_text = reactive("(opening the keyring…)", init=False)  # where secrets are kept (the Welcome step says)

    CSS_PATH = str(Path(__file__).resolve().parent.parent / "assets" / "wizard.tcss")
    TITLE = "W&B Local setup"
    COMMANDS = App.COMMANDS | {WizardCommands}
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help"),
        Binding("f7,alt+left", "back", "Back"),
        Binding("f8,ctrl+n,alt+right", "next", "Next"),
        Binding("ctrl+r", "run_checks", "Checks"),
        Binding("f2", "focus_steps", "Steps"),
        Binding("ctrl+t", "toggle_steps", "Steps on/off", show=False),
        Binding("ctrl+y", "copy_first", "Copy", show=False),
        Binding("ctrl+s", "save", "Save", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        session_name: str | None = None,
        new: bool = False,
        *,
        store: SessionStore | None = None,
        secret_store: SecretStore | None = None,
        keyring_backend: str | None = None,
        passphrase: str | None = None,
        clock: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.session_name = session_name
        self.new = new
        self.store = store or SessionStore()
        self.injected_secrets = secret_store
        self.keyring_backend = keyring_backend
        self.passphrase = passphrase if passphrase is not None else os.environ.get(keyrings.PASSPHRASE_ENV) or None
        self.clock = clock or utc_now
        self.flow: WizardFlow | None = None
        self.exit_code = Exit.OK
        self._save_timer: Timer | None = None
        self._secrets_lock = threading.Lock()
        self._view: StepView | None = None
        self._keys_for_the_step: list[events.Key] | None = None  # typed while a step is being built (show_step)
        self.crash_message = ""
        self.hung_up = False  # SIGHUP, SIGTERM or the terminal gone

    # ---- layout

    def compose(self) -> ComposeResult:
        yield Plain("W&B Local setup", id="title-bar")
        with Horizontal(id="main"):
            yield StepList(id="steps", disabled=True)  # until the session and keyring are open
            with VerticalScroll(id="body"):
                yield Plain("Opening the session…", id="placeholder")
        yield WizardFooter()

    def on_mount(self) -> None:
        if not self.is_headless:
            try:
                import asyncio

                loop = asyncio.get_running_loop()
                loop.add_signal_handler(signal.SIGHUP, self._hangup)  # the SSH connection dropped
                loop.add_signal_handler(signal.SIGTERM, self._hangup)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        self.push_screen(OpeningScreen(  # the session and its keyring first (over this screen, which shows through)
            self.store, self._secrets_lock, self.clock, name=self.session_name, new=self.new,
            injected=self.injected_secrets, backend=self.keyring_backend, passphrase=self.passphrase),
            self._keyring_ready)

    async def on_event(self, event: events.Event) -> None:
        # Textual hands a key to the focused widget's queue and runs the key's binding (Tab, ctrl+u, Backspace, F8,
        # ...) only once it has bubbled back up, after the keys behind it. When keys arrive in one burst (a slow SSH
        # link, a script), "wandb<Tab>secret" would put the secret in the user field and End, ctrl+u, "http://new"
        # would end empty. Here each key is done before the next: bindings run at once, and characters for a field
        # are inserted at once rather than queued behind it. A key that moves the focus to a field selects its text
        # at once too (select_as_focused).
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.app_focus = True
            focused = self.focused
            active = self.screen.active_bindings.get(event.key)  # the binding this key runs here, if any
            if active is not None and active.binding.priority and active.enabled \
                    and await self.run_action(active.binding.action, active.node):
                self._focus_moved_from(focused)
                return
            if self._keys_for_the_step is not None:  # a step is being built (show_step): the keys are for it
                self._keys_for_the_step.append(events.Key(event.key, event.character))
                return
            if event.is_printable and event.character is not None and isinstance(focused, Input):
                type_into(focused, event.character)
                return
            if not event.is_printable and active is not None and active.enabled \
                    and await self.run_action(active.binding.action, active.node):
                self._focus_moved_from(focused)
                return
        await super().on_event(event)

    def _focus_moved_from(self, before: Any) -> None:
        field = self.focused
        if field is not before and isinstance(field, Input) and field.select_on_focus and not field.has_focus:
            select_as_focused(field)

    # ---- the session and its keyring (screens/opening.py)

    @on(OpeningScreen.Opened)
    def _session_opened(self, event: OpeningScreen.Opened) -> None:
        self.flow = event.flow

    @on(OpeningScreen.AskingPassphrase)
    def _asking_passphrase(self, event: OpeningScreen.AskingPassphrase) -> None:
        self.call_after_refresh(self._report_ready)

    def _keyring_ready(self, store: SecretStore | None) -> None:
        """The opening screen is done: the session's secrets are read from `store` (None: no keyring)."""
        self.keyring_text = keyring_line(store)
        self.query_one("#steps", StepList).disabled = False
        if self.flow is not None:
            self.show_step(self.flow.start_step())
        self._finish_relaunches()

    # ---- a relaunch cut short by a SIGKILL, a reboot or a dropped connection: finished or undone at the start

    @dataclass
    class RelaunchesFinished(Message):
        said: list[str]  # what was done, one sentence per server

    @work(thread=True, exclusive=True, exit_on_error=False, group="relaunch-journal",
          description="finish an interrupted relaunch")
    def _finish_relaunches(self) -> None:
        from wizard.relaunch_journal import pending

        if not pending():  # the common case: one directory listing, no Docker call
            return
        from wizard.launcher import finish_pending

        self.post_message(self.RelaunchesFinished(finish_pending()))

    @on(RelaunchesFinished)
    def _relaunches_finished(self, event: RelaunchesFinished) -> None:
        for said in event.said:
            self.notify(said, title="Interrupted relaunch", severity="warning", timeout=15, markup=False)

    @on(OpeningScreen.Quit)
    def _gave_up(self, event: OpeningScreen.Quit) -> None:
        self.exit_code = event.code
        self.quit_wizard()

    # ---- steps

    @property
    def view(self) -> StepView | None:
        view = self._view
        return view if view is not None and view.is_attached else None

    def show_step(self, step: str) -> None:
        body = self.query_one("#body", VerticalScroll)
        body.remove_children()
        from screens.steps.welcome import WelcomeStep

        view = step_view(step)(self.flow)  # its module (and the models) load now, not at start-up
        if isinstance(view, WelcomeStep):  # it says where secrets are kept
            view.data_bind(WizardApp.keyring_text)
        self._view = view
        body.mount(view)
        body.scroll_home(animate=False)
        self.flow.go_to(step)
        self.current_step = step  # the step list and the title follow (watch_current_step)
        self.save_soon(immediate=True)
        self._keys_for_the_step = []
        self.call_after_refresh(self._focus_first, view)

    def _focus_first(self, view: StepView) -> None:
        target = view.first_focus()
        # A step opens at its top: on Review the first control is below the summary, and scrolling to it (or not,
        # depending on whether the layout was done yet) hid the summary. Focused at once, so that the keys typed
        # while the step was being built go to it, in order.
        before = self.focused
        widget = target if target is not None else self.query_one("#steps", StepList)
        widget.screen.set_focus(widget, scroll_visible=False)
        keys, self._keys_for_the_step = self._keys_for_the_step or [], None
        if keys:
            self._focus_moved_from(before)
        for key in keys:
            self.post_message(key)
        self._report_ready()
        view.opened()

    def _report_ready(self) -> None:
        """For the start-up benchmark: the first interactive screen is painted and takes keys."""
        path = os.environ.pop(READY_FILE_ENV, None)
        if path:
            import json
            import sys
            import time

            # The modules loaded by then, for the test that heavy SDKs are not imported before the first screen.
            loaded = sorted(sys.modules)
            Path(path).write_text(json.dumps({"time": time.monotonic(), "modules": loaded}))

    def watch_current_step(self) -> None:
        self.refresh_steps()

    def refresh_steps(self) -> None:
        flow = self.flow
        if flow is None:
            return
        self.query_one("#steps", StepList).show({s: flow.status(s) for s in STEP_IDS}, self.current_step)
        index = STEP_IDS.index(self.current_step) + 1 if self.current_step else 0
        title = step_title(self.current_step) if self.current_step else ""
        warn = "  · secrets NOT saved" if flow.secrets is None and self.current_step else ""
        self.query_one("#title-bar", Plain).set_text(
            Text(f"W&B Local setup · {flow.name} · step {index}/{len(STEP_IDS)}: {title}{warn}"))

    def _busy(self) -> bool:
        """No session yet, or a dialog is open: navigation keys wait (F8 under a dialog must not move the step)."""
        from textual.command import CommandPalette

        dialogs = [s for s in self.screen_stack[1:] if not isinstance(s, CommandPalette)]
        return self.flow is None or self.current_step is None or bool(dialogs)

    def go_to(self, step: str) -> None:
        if self._busy() or step == self.current_step:
            return
        self._leave_to(step)

    def jump_to(self, step: str) -> None:
        """From the command palette (which may still be closing when its command runs)."""
        if self.flow is None or self.current_step is None or step == self.current_step:
            return
        self._leave_to(step)

    def _leave_to(self, target: str) -> None:
        view = self.view
        step = self.current_step
        if view is not None:
            view.commit_controls()
        if view is not None and view.checks_panel is not None:
            view.checks_panel.cancel()
        self.flow.leave_step(step)
        self.flush_secrets(step)
        self.show_step(target)

    def action_next(self) -> None:
        if self._busy():
            return
        if self.view is not None:
            self.view.commit_controls()  # validate what the controls show, not what their messages told so far
        target = self.flow.next_step(self.current_step)
        if target is None:
            self.notify("This is the last step.", timeout=3)
            return
        _, errors = self.flow.validate(self.current_step)
        if not errors:
            self._leave_to(target)
            return
        view = self.view
        if view is not None:
            view.reveal_errors()
        noun = "problem" if len(errors) == 1 else "problems"
        details = "\n".join(f"✗ {error.label}: {error.message}" for error in errors)

        def answered(go_on: bool | None) -> None:
            if go_on:
                self._leave_to(target)

        self.push_screen(ConfirmScreen(
            f"{step_title(self.current_step)} has {len(errors)} {noun}",
            f"Continue to {step_title(target)} anyway? This step will be marked ✗ failed until it is corrected.",
            details, yes="Continue, mark failed", no="Stay and fix",
        ), answered)

    def action_back(self) -> None:
        if self._busy():
            return
        target = self.flow.previous_step(self.current_step)
        if target is not None:
            self._leave_to(target)

    @on(StepList.Chosen)
    def _chosen(self, event: StepList.Chosen) -> None:
        self.go_to(event.step)

    # ---- what the step views tell

    @on(step_messages.Edited)
    def _step_edited(self, event: step_messages.Edited) -> None:
        self.refresh_steps()
        self.save_soon(immediate=event.immediate)

    @on(step_messages.SaveRequested)
    def _save_requested(self, event: step_messages.SaveRequested) -> None:
        self.save_soon(immediate=True)

    @on(step_messages.NavigateTo)
    def _navigate(self, event: step_messages.NavigateTo) -> None:
        self.go_to(event.step)

    @on(step_messages.NextRequested)
    def _next_requested(self, event: step_messages.NextRequested) -> None:
        self.action_next()

    def action_focus_steps(self) -> None:
        steps = self.query_one("#steps", StepList)
        if not steps.display:
            steps.display = True
        steps.focus()

    def action_toggle_steps(self) -> None:
        steps = self.query_one("#steps", StepList)
        steps.display = not steps.display

    def action_run_checks(self) -> None:
        view = self.view
        if view is not None and not self._busy():
            view.run_checks()

    def action_copy_first(self) -> None:
        """ctrl+y outside a text box copies the step's first text to paste elsewhere."""
        view = self.view
        blocks = list(view.query("InstructionBlock")) if view is not None else []
        if not blocks:
            self.notify("This step has no text to copy.", timeout=3)
            return
        blocks[0].action_copy()

    def action_help(self) -> None:
        view = self.view
        if view is None:
            self.push_screen(HelpScreen("Help", KEYS_HELP))
            return
        own_keys = view.KEYS_HELP + "\n\n" if view.KEYS_HELP else ""  # the step's own keys, then everyone's
        body = (view.INTRO + "\n\n" if view.INTRO else "") + view.HELP + "\n\n" + own_keys + KEYS_HELP
        self.push_screen(HelpScreen(f"Help: {step_title(view.STEP)}", body))

    # ---- saving

    def save_soon(self, immediate: bool = False) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        if immediate:
            self.save_now()
        else:
            self._save_timer = self.set_timer(SAVE_DELAY, self.save_now)

    def save_now(self) -> None:
        if self.flow is None:
            return
        try:
            self.flow.save()
        except SessionError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)

    def action_team_bucket(self) -> None:
        if self.flow is None:
            return
        from screens.team_bucket import TeamBucketScreen

        self.push_screen(TeamBucketScreen(self.flow))

    def action_save(self) -> None:
        self.save_now()
        if self.flow is not None:
            self.notify(f"Saved session '{self.flow.name}'.", timeout=3, markup=False)

    @dataclass
    class SecretsNotSaved(Message):
        problem: str

    def flush_secrets(self, step: str) -> None:
        if self.flow is None or not self.flow.pending_secrets(step) or self.flow.secrets is None:
            return
        self._write_secrets(self.flow, step)

    @work(thread=True, exclusive=True, exit_on_error=False, group="keyring-write", description="save the secrets")
    def _write_secrets(self, flow: WizardFlow, step: str) -> None:
        # Exclusive: a later write supersedes this one's result, while the lock lets each one finish in turn.
        try:
            with self._secrets_lock:
                flow.flush_secrets(step)
        except SecretsError as exc:
            self.post_message(self.SecretsNotSaved(str(exc)))

    @on(SecretsNotSaved)
    def _secrets_not_saved(self, event: SecretsNotSaved) -> None:
        self.notify(event.problem, severity="error", timeout=10, markup=False)

    # ---- workers: every one runs with exit_on_error=False, and an unexpected failure of any is said here

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{event.worker.description} failed: {type(error).__name__}: {error}. Everything typed is "
                        "kept; try again.", severity="error", timeout=12, markup=False)

    # ---- quitting (ctrl+q, ctrl+c, SIGHUP): everything typed is kept

    def close_flow(self) -> None:
        flow, self.flow = self.flow, None
        if flow is None:
            return
        with self._secrets_lock:
            try:
                flow.close()
            except SessionError:
                pass

    def quit_wizard(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self.close_flow()
        self.exit(self.exit_code)

    async def action_quit(self) -> None:
        self.quit_wizard()

    def _handle_exception(self, error: Exception) -> None:
        """A bug must not show a traceback or lose input: save, then exit with one plain message (the CLI prints
        it). Tests (headless) and WANDB_LOCAL_SETUP_DEBUG=1 keep Textual's own handling, traceback included.

        The one private Textual method used: Textual has no public hook for an exception that ends the app (this is
        where it stores the traceback it prints on exit), and wrapping `run()` comes too late to keep it off the
        screen."""
        if self.is_headless or os.environ.get(DEBUG_ENV):
            super()._handle_exception(error)
            return
        try:
            self.close_flow()
        except Exception:
            pass
        self.crash_message = (f"unexpected error ({type(error).__name__}: {error}). Everything typed up to the last "
                              f"field left is saved; set {DEBUG_ENV}=1 for details.")
        self.exit_code = Exit.FAILED
        self.exit(Exit.FAILED)

    def _hangup(self) -> None:
        self.hung_up = True
        self.close_flow()
        self.exit(Exit.FAILED)


def run_wizard(session_name: str | None, new: bool = False) -> int:
    """Run the interactive wizard; returns the exit code (see wizard.cli)."""
    import sys

    from screens.terminal_watch import watch_terminal

    app = WizardApp(session_name, new)
    # The last resort once the terminal is gone and the loop is stuck: save what was typed, release the lock.
    watch_terminal([sys.__stdin__.fileno(), sys.__stdout__.fileno()], app.close_flow, Exit.FAILED)
    try:
        result = app.run()
    finally:
        app.close_flow()
    if app.hung_up:  # nothing more to print, and the terminal may be gone: the last flush would fail (exit 120)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    if app.crash_message:
        print(f"wandb-local-setup: {app.crash_message}", file=sys.stderr)
    return result if isinstance(result, int) else app.exit_code
