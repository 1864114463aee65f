"""The Launch step: preflight, the exact Docker operations, then launch / upgrade / recover access with progress,
the container's log and the outcome. The work is wizard.launcher's; this view starts it in a thread worker and
shows its events. Text from the container is shown literally."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Log, ProgressBar

from screens.steps.base import StepView
from screens.widgets.text import Plain
from wizard.checks.engine import Status
from wizard.draft import ConfigErrors
from wizard.text import printable

ACTIONS = {
    "launch": "Launch",
    "upgrade": "Upgrade image",
    "recover": "Recover access",
    "end-recovery": "End restore mode",
    "load": "Load image from file",
    "destroy": "Remove server and data",
    "support": "Support bundle",
}
LOG_LINES = 2000  # kept in the log view; older lines scroll away


def _status_line(symbol: str, title: str, message: str, hint: str = "") -> Text:
    text = Text()
    text.append(f"{symbol:<8} ", style="bold")
    text.append(title, style="underline")
    text.append("\n" + message)
    if hint:
        text.append("\n→ " + hint, style="italic")
    return text


class LaunchStep(StepView):
    # What the workers report (handled here, on the UI thread).
    @dataclass
    class PreflightDone(Message):
        bubble = False
        results: list[Any]  # the preflight's results; None last when it stopped early
        error: str

    @dataclass
    class Progress(Message):
        bubble = False
        event: Any  # a wizard.launcher event (Step, PullProgress, LogLine, MarkerSeen, ReadyProbe)

    @dataclass
    class Done(Message):
        bubble = False
        action: str
        result: Any  # the launcher's result, None on an error
        error: BaseException | None

    STEP = "launch"
    INTRO = ("Start W&B Local Server with this configuration. Preflight checks this machine first; nothing changes "
             "until you press Launch. An existing server is replaced safely: its data volume is kept and the old "
             "container comes back if the new one does not become ready.")
    HELP = ("Launch pulls the image if needed, creates the data volume, starts the container with the environment "
            "shown in Review, streams its log and waits for /ready. Upgrade pulls a newer image for the same tag and "
            "replaces the container the same way. Recover access restarts the server with LOCAL_RESTORE=true and "
            "shows the temporary admin credentials from its log (SSO is off meanwhile); End restore mode switches "
            "it off again. Leaving this step or quitting stops a launch in progress and restores the old server.")
    KEYS_HELP = "Tab moves between the buttons; Enter presses one. The log scrolls with the arrow keys when focused."

    DEFAULT_CSS = """
    LaunchStep .launch-title { text-style: bold; margin-top: 1; }
    LaunchStep #launch-buttons, LaunchStep .launch-buttons { height: auto; margin-top: 1; }
    LaunchStep #launch-buttons Button, LaunchStep .launch-buttons Button {
        margin-right: 1; width: auto; min-width: 0;  /* as wide as the label: three fit in 80 columns, uncut */
    }
    LaunchStep #launch-progress-bar { display: none; }
    LaunchStep #launch-progress-bar.-shown { display: block; }
    LaunchStep #launch-log { height: 10; border: round $secondary; display: none; }
    LaunchStep #launch-log.-shown { display: block; }
    LaunchStep .launch-row { height: auto; margin-bottom: 1; }
    LaunchStep #launch-preflight { height: auto; }
    """

    def __init__(self, flow) -> None:
        super().__init__(flow)
        self.spec = None
        self.problem = ""
        self.cancel_event = threading.Event()
        self.running: str | None = None
        self.started = 0.0
        self.markers: list[str] = []
        self._elapsed_timer = None
        self._support: Any = None  # what the support bundle is made of, taken when its button is pressed

    # ---- layout

    def compose_body(self) -> ComposeResult:
        try:
            self.spec = self.flow.launch_spec()
        except ConfigErrors as exc:
            self.problem = f"The configuration has {len(exc.errors)} problem(s): correct them first (Review lists them)."
        except ValueError as exc:  # the launcher's own checks of the spec (InvalidSpec)
            self.problem = f"The configuration cannot be launched: {exc}"
        if self.problem:
            yield Plain(_status_line("✗ fail", "Not ready to launch", self.problem), id="launch-problem",
                        classes="launch-row")
            yield Button(Text("Go to Review"), id="launch-goto-review", compact=True)
            return
        if self.flow.restore_mode:
            yield Plain(_status_line("! warn", "Restore mode is on",
                                     "The server runs with LOCAL_RESTORE=true: SSO is off and temporary credentials "
                                     "are in its log.", "Fix access, then press End restore mode."),
                        classes="launch-row", id="launch-restore")
        with Horizontal(id="launch-buttons"):
            yield Button(Text("Launch"), id="action-launch", variant="primary", compact=True)
            yield Button(Text("Upgrade image"), id="action-upgrade", compact=True)
            if self.flow.restore_mode:
                yield Button(Text("End restore mode"), id="action-end-recovery", compact=True)
            else:
                yield Button(Text("Recover access"), id="action-recover", compact=True)
        with Horizontal(id="launch-buttons-more", classes="launch-buttons"):
            yield Button(Text("Load image…"), id="action-load", compact=True)
            yield Button(Text("Support bundle"), id="action-support", compact=True)
            yield Button(Text("Remove server…"), id="action-destroy", variant="error", compact=True)
        yield Plain("", id="launch-phase", classes="launch-title")
        yield ProgressBar(total=100, show_eta=False, id="launch-progress-bar")
        yield Plain("", id="launch-elapsed")
        yield Plain("", id="launch-outcome", classes="launch-row")
        yield Log(max_lines=LOG_LINES, id="launch-log", auto_scroll=True)
        yield Plain("Preflight (this machine and Docker)", classes="launch-title")
        yield Vertical(Plain("… running", classes="launch-row"), id="launch-preflight")
        yield Plain("What Launch will do (secrets masked)", classes="launch-title")
        yield Plain(self._plan_text(), id="launch-plan")

    def _plan_text(self) -> str:
        from wizard.launcher import dry_run

        return "\n".join(line for operation in dry_run(self.spec) for line in operation.describe())

    def first_focus(self) -> Any:
        for selector in ("#action-launch", "#launch-goto-review"):
            found = self.query(selector)
            if found:
                return found.first()
        return super().first_focus()

    def on_mount(self) -> None:
        super().on_mount()
        if self.spec is not None:
            self._preflight()

    def on_unmount(self) -> None:
        super().on_unmount()
        self.cancel_event.set()  # the launcher stops waiting and restores the previous server

    # ---- preflight

    @work(thread=True, exclusive=True, group="launch-preflight", exit_on_error=False, description="preflight")
    def _preflight(self) -> None:
        from wizard.launcher import run_preflight

        results = []
        try:
            for item in run_preflight(self.spec):
                results.append(item)
        except Exception as exc:  # shown as text, never a traceback
            results.append(None)
            self.post_message(self.PreflightDone(results, f"Preflight stopped: {exc}"))
            return
        self.post_message(self.PreflightDone(results, ""))

    @on(PreflightDone)
    def _preflight_done(self, event: PreflightDone) -> None:
        results, error = event.results, event.error
        box = self.query_one("#launch-preflight", Vertical)
        box.remove_children()
        rows = [Plain(_status_line(item.status.symbol, item.title, printable(item.message), printable(item.hint)),
                      classes="launch-row") for item in results if item is not None]
        if error:
            rows.append(Plain(printable(error), classes="launch-row"))
        box.mount_all(rows)

    # ---- actions

    @on(Button.Pressed, "#launch-goto-review")
    def _goto_review(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.NavigateTo("review"))

    @on(Button.Pressed, "#launch-buttons Button, .launch-buttons Button")
    def _action(self, event: Button.Pressed) -> None:
        event.stop()
        if self.running:
            self.notify("An operation is already running.", severity="warning")
            return
        action = (event.button.id or "").removeprefix("action-")
        if action == "load":
            self._ask("Load the image from a file",
                      f"Path of a `docker save` archive holding {self.spec.image_ref} (for servers that cannot reach "
                      "the registry):", "/path/to/wandb-local.tar", lambda path: self.start("load", path))
        elif action == "destroy":
            self._ask("Remove the server and ALL its data",
                      f"This removes the container and the data volume {self.spec.volume}: runs, users and files "
                      f"are lost. Type the volume's name ({self.spec.volume}) to confirm:", self.spec.volume,
                      lambda typed: self.start("destroy", typed))
        elif action == "support":
            self._support = self.flow.support_facts()  # taken here, on the UI thread; the bundle is made in the worker
            self.start("support")
        elif action in ACTIONS:
            self.start(action)

    def _ask(self, title: str, message: str, placeholder: str, then) -> None:
        from screens.modals import TextInputScreen

        def answered(text: str | None) -> None:
            if text is not None and text.strip():
                then(text.strip())

        self.app.push_screen(TextInputScreen(title, message, placeholder), answered)

    def _buttons(self) -> Any:
        return self.query("#launch-buttons Button, .launch-buttons Button")

    def start(self, action: str, argument: str = "") -> None:
        self.running = action
        self.cancel_event = threading.Event()
        self.started = time.monotonic()
        self.markers = []
        for button in self._buttons():
            button.disabled = True
        self.query_one("#launch-log", Log).add_class("-shown")
        self.query_one("#launch-outcome", Plain).set_text("")
        self._phase(f"{ACTIONS[action]}…")
        self._elapsed_timer = self.set_interval(1, self._tick)
        self._run(action, argument)

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False, description="launch the server")
    def _run(self, action: str, argument: str) -> None:
        from wizard import launcher

        def on_event(event: Any) -> None:
            self.post_message(self.Progress(event))

        options = launcher.Options()
        kwargs = dict(on_event=on_event, options=options, cancel=self.cancel_event)
        try:
            if action == "launch":
                result = launcher.launch(self.spec, **kwargs)
            elif action == "upgrade":
                result = launcher.upgrade(self.spec, **kwargs)
            elif action == "recover":
                result = launcher.recover_access(self.spec, **kwargs)
            elif action == "end-recovery":
                result = launcher.end_recovery(self.spec, **kwargs)
            elif action == "load":
                result = launcher.load_image_tarball(argument, expected_ref=self.spec.image_ref, on_event=on_event)
            elif action == "support":
                result = self._write_support_bundle(on_event)
            else:
                result = launcher.destroy(self.spec, confirm_volume_name=argument, on_event=on_event)
        except Exception as exc:  # LauncherError says what to do; anything else is shown as a message too
            self.post_message(self.Done(action, None, exc))
            return
        self.post_message(self.Done(action, result, None))

    def _write_support_bundle(self, on_event) -> str:
        """(In the worker.) doctor's bundle into the home directory; what it says about it."""
        from pathlib import Path

        from wizard import doctor, launcher

        cfg, spec, facts = self._support
        on_event(launcher.Step("support", "Running every step's checks and the preflight, reading the container…"))
        bundle = doctor.bundle_for(cfg, spec, facts)
        out = doctor.default_path(Path.home())
        size = doctor.write(bundle, out)
        missing = "".join(f" Not included: {line}" for line in bundle.missing)
        return (f"Wrote {out} ({size / 1024:.1f} KiB, mode 0600): {len(bundle.files)} files, secrets redacted. "
                f"Its README.txt says what each file is.{missing}")

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        from wizard import launcher

        event = message.event
        if isinstance(event, launcher.Step):
            self._phase(event.message)
        elif isinstance(event, launcher.PullProgress):
            bar = self.query_one("#launch-progress-bar", ProgressBar)
            bar.add_class("-shown")
            if event.total_bytes:
                bar.update(total=event.total_bytes, progress=event.downloaded_bytes)
            self._phase(f"Pulling the image: {event.layers_done}/{event.layers_total} layers, "
                        f"{event.downloaded_bytes / 1e6:.0f} of {event.total_bytes / 1e6:.0f} MB")
        elif isinstance(event, launcher.LogLine):
            self.query_one("#launch-log", Log).write_line(printable(event.text))
        elif isinstance(event, launcher.MarkerSeen):
            self.markers.append(event.marker)
        # ReadyProbe events are not shown: the elapsed line shows the wait, each probe's detail would only flicker.

    def _phase(self, text: str) -> None:
        self.query_one("#launch-phase", Plain).set_text(printable(text))

    def _tick(self) -> None:
        elapsed = time.monotonic() - self.started
        seen = ", ".join(marker.strip("* .") for marker in self.markers) or "none yet"
        self.query_one("#launch-elapsed", Plain).set_text(f"Elapsed: {elapsed:.0f} s · server log markers: {seen}")

    @on(Done)
    def _finished(self, event: Done) -> None:
        action, result, error = event.action, event.result, event.error
        self.running = None
        if self._elapsed_timer is not None:
            self._elapsed_timer.stop()
            self._tick()
        for button in self._buttons():
            button.disabled = False
        outcome = self.query_one("#launch-outcome", Plain)
        if error is not None:
            message, hint = getattr(error, "message", str(error)), getattr(error, "hint", "")
            outcome.set_text(_status_line("✗ fail", f"{ACTIONS[action]} failed", printable(message), printable(hint)))
            if action == "support":  # no change to the server: nothing to record
                self._phase("")
                return
            self.flow.record_launch(action, False, str(error))
            self.show_status()
            self._phase("")
            return
        if action in ("load", "destroy", "support"):
            self._simple_outcome(action, result)
            return
        launch_result = getattr(result, "launch", result)
        text = Text()
        if launch_result.ok:
            text.append("✓ ok     ", style="bold")
            text.append(printable(result.message))
            credentials = getattr(result, "credentials", None)
            if credentials is not None:
                text.append("\nTemporary admin credentials (from the server's log, shown once):", style="bold")
                if credentials.user:
                    text.append(f"\n  user: {printable(credentials.user)}")
                text.append(f"\n  password: {printable(credentials.password)}")
            after = launch_result.after
            if after is not None:
                for check in (after.healthz, after.host):
                    text.append(f"\n{check.status.symbol:<8} {printable(check.message)}")
                    if check.hint and check.status is not Status.PASS:
                        text.append(f"\n→ {printable(check.hint)}", style="italic")
                text.append("\nNext steps:", style="bold")
                for line in after.next_steps:
                    text.append(f"\n  • {printable(line)}")
        else:
            text.append("✗ fail   ", style="bold")
            text.append(printable(launch_result.message))
            if launch_result.hint:
                text.append(f"\n→ {printable(launch_result.hint)}", style="italic")
            if launch_result.restored_previous:
                text.append("\nThe previous server was restored and is running again; its data is untouched.")
            if launch_result.last_logs:
                text.append("\nLast lines of the server's log:", style="bold")
                for line in launch_result.last_logs[-15:]:
                    text.append(f"\n  {printable(line)}")
        outcome.set_text(text)
        restore = {"recover": True, "end-recovery": False}.get(action) if launch_result.ok else None
        self.flow.record_launch(action, launch_result.ok, launch_result.message, restore_mode=restore)
        self.show_status()
        self._phase(f"{ACTIONS[action]}: {'done' if launch_result.ok else 'failed'}")
        if restore is not None:
            self.notify("Restore mode is " + ("on: SSO is off until you end it." if restore else "off: SSO is back."))

    def _simple_outcome(self, action: str, result) -> None:
        if action == "load":
            message = f"Loaded {', '.join(result.tags) or 'the archive'}: press Launch to start the server with it."
        elif action == "support":
            message = result
        else:
            message = result.message
        self.query_one("#launch-outcome", Plain).set_text(_status_line("✓ ok", ACTIONS[action], printable(message)))
        self._phase(f"{ACTIONS[action]}: done")
        if action == "destroy":
            self.flow.record_launch(action, True, message, restore_mode=False)
            self.show_status()
