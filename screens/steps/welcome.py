from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button

from screens.steps.base import StepView
from screens.widgets.text import Plain
from screens.words import when
from wizard.steps import CONFIG_STEPS


class WelcomeStep(StepView):
    STEP = "welcome"
    INTRO = ("This wizard sets up a W&B Local Server (the Docker image wandb/local) on this machine: license, "
             "address, sign-in, file storage, database, cache, Slack and container options. Each step checks "
             "what you type; Review shows the result before Launch.")
    HELP = ("Values are saved as you leave each field, so you can quit at any time (ctrl+q) and resume later with "
            "the same session. Secrets (license, passwords, keys) go to the keyring named below, never to the "
            "session file.")

    keyring_text = reactive("(opening the keyring…)", init=False)  # set by the App: where secrets are kept

    def compose_body(self) -> ComposeResult:
        flow = self.flow
        yield Plain(Text.assemble(("Session: ", "bold"), flow.name), id="welcome-session")
        yield Plain(self._keyring_line(), id="welcome-keyring")
        if flow.resumed:
            done = flow.steps_done()
            state = (f"Resumed: {done} of {len(CONFIG_STEPS)} steps done, last edited "
                     f"{when(flow.session.updated, flow.clock)}.")
        else:
            state = "A new session: nothing entered yet."
        yield Plain(Text.assemble(("State: ", "bold"), state), id="welcome-state")
        if flow.restore_mode:
            yield Plain(Text.assemble(("! Restore mode is on: ", "bold"),
                                      "the server runs with LOCAL_RESTORE=true, so SSO is off and temporary admin "
                                      "credentials are in its log. End it on the Launch step once access is fixed."),
                        id="welcome-restore")
        yield Plain("", id="welcome-adopted")
        yield Plain("Next step: F8 or ctrl+n. Help for any step: F1 or ?. All keys: see the bar at the bottom.",
                    classes="step-intro")
        yield Button("Begin (Enter)", id="welcome-begin", compact=True)

    # ---- a W&B server this wizard did not start: offered for adoption into a new session (wizard.adopt)

    @dataclass
    class Found(Message):
        bubble = False
        container: str  # the newest container running wandb/local that this wizard did not create

    @dataclass
    class Read(Message):
        bubble = False
        adopted: Any  # wizard.adopt.Adopted, or None
        problem: str

    _adoptable = ""  # the container offered for adoption

    def opened(self) -> None:
        if not self.flow.resumed and not self.flow.steps_done():
            self._find()

    @work(thread=True, exclusive=True, exit_on_error=False, group="adopt", description="look for a W&B server")
    def _find(self) -> None:
        from wizard import adopt
        from wizard.launcher import LauncherError, connect

        try:
            found = adopt.find_candidates(connect())
        except LauncherError:
            return  # no Docker Engine here: nothing to adopt
        if found:
            self.post_message(self.Found(found[0].name))

    @on(Found)
    def _found(self, event: Found) -> None:
        self._adoptable = event.container
        self.mount(Button(Text(f"Adopt the running server {event.container}"), id="welcome-adopt", compact=True),
                   after=self.query_one("#welcome-state"))

    @on(Button.Pressed, "#welcome-adopt")
    def _adopt_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        event.button.disabled = True
        self._read(self._adoptable)

    @work(thread=True, exclusive=True, exit_on_error=False, group="adopt", description="read the running server")
    def _read(self, container: str) -> None:
        from wizard import adopt
        from wizard.launcher import LauncherError, connect
        from wizard.launcher.existing import get_container

        try:
            client = connect()
            found = get_container(client, container)
            if found is None:
                self.post_message(self.Read(None, f"The container {container} is gone."))
                return
            self.post_message(self.Read(adopt.read_from_engine(client, found), ""))
        except LauncherError as exc:
            self.post_message(self.Read(None, exc.message))

    @on(Read)
    def _read_done(self, event: Read) -> None:
        said = self.query_one("#welcome-adopted", Plain)
        if event.adopted is None:
            said.set_text(f"✗ Not adopted: {event.problem}")
            return
        adopted = event.adopted
        self.flow.adopt(adopted)
        self.app.flush_secrets(None)
        self.post_message(self.SaveRequested())
        for step in adopted.values:
            self.post_message(self.Edited(step, immediate=True))
        lines = [f"✓ Adopted {adopted.container}: its settings are this session's; Launch replaces it (keeping its "
                 "data) once they are checked."]
        lines += [f"  {line}" for line in adopted.taken]
        lines += [f"  ! {line}" for line in adopted.unmapped]
        said.set_text("\n".join(lines))
        self.query_one("#welcome-adopt").remove()

    def _keyring_line(self) -> Text:
        return Text.assemble(("Secrets are kept in: ", "bold"), self.keyring_text)

    def watch_keyring_text(self) -> None:
        if self.is_mounted:
            self.query_one("#welcome-keyring", Plain).set_text(self._keyring_line())

    @on(Button.Pressed, "#welcome-begin")
    def _begin(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.NextRequested())
