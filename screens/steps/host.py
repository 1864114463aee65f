from textual.app import ComposeResult

from screens.steps.base import StepView
from screens.widgets.text import Plain
from wizard.suggested_host import suggested


class HostStep(StepView):
    STEP = "host"
    INTRO = ("The address users will open. The server always gets it as HOST: without it, clients and downloads "
             "point at localhost.")
    HELP = ("Enter the full URL users will open: scheme, host name or IP address, and the port if it is not the "
            "default one (http://10.0.0.5:8080, https://wandb.example.com). No path.\n\n"
            "The default is the address your SSH connection reached this machine at, else this machine's fully "
            "qualified name, else its primary address.\n\n"
            "Live checks look up the name, compare its port with the published port (Server options) and test "
            "that the port is free. With https://, put a reverse proxy (nginx, Caddy) or a load balancer in front "
            "to end TLS, and turn on Reverse proxy: the step then shows the proxy's configuration to paste, and "
            "after launch the wizard fetches HOST/ready through it.")

    def has_instructions(self) -> bool:
        return True  # the reverse proxy's configuration, when there is one

    def compose_body(self) -> ComposeResult:
        yield from super().compose_body()
        default = suggested()
        yield Plain(f"Default: {default.url}, from {default.source}.", classes="step-intro", id="host-default")
