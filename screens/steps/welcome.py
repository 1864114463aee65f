from rich.text import Text
from textual import on
from textual.app import ComposeResult
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
        yield Plain("")
        yield Plain("Next step: F8 or ctrl+n. Help for any step: F1 or ?. All keys: see the bar at the bottom.",
                    classes="step-intro")
        yield Button("Begin (Enter)", id="welcome-begin", compact=True)

    def _keyring_line(self) -> Text:
        return Text.assemble(("Secrets are kept in: ", "bold"), self.keyring_text)

    def watch_keyring_text(self) -> None:
        if self.is_mounted:
            self.query_one("#welcome-keyring", Plain).set_text(self._keyring_line())

    @on(Button.Pressed, "#welcome-begin")
    def _begin(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.NextRequested())
