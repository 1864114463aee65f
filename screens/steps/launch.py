from textual.app import ComposeResult

from screens.steps.base import StepView
from screens.widgets.text import Plain
from wizard.draft import ConfigErrors


class LaunchStep(StepView):
    STEP = "launch"
    INTRO = ("Launching from the wizard is not built yet: this step starts nothing. It shows the exact environment "
             "the container will get (secrets masked).")
    HELP = ("The launcher (pull the image, create the volume, start the container, wait for /ready) is not part of "
            "this version. Nothing has been started on this machine.")

    def compose_body(self) -> ComposeResult:
        try:
            env = self.flow.masked_environment()
        except ConfigErrors as exc:
            yield Plain(f"The configuration has {len(exc.errors)} problem(s): see Review.", id="launch-env")
            return
        yield Plain("Container environment (secrets masked)", classes="review-title")
        yield Plain("\n".join(f"{var.name}={var.value}" for var in env), id="launch-env", classes="review-env")
