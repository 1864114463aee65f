from screens.steps.base import StepView


class HostStep(StepView):
    STEP = "host"
    INTRO = ("The address users will open. The server always gets it as HOST: without it, clients and downloads "
             "point at localhost.")
    HELP = ("Enter the full URL users will open: scheme, host name or IP address, and the port if it is not the "
            "default one (http://10.0.0.5:8080, https://wandb.example.com). No path.\n\n"
            "Live checks look up the name, compare its port with the published port (Server options) and test "
            "that the port is free. With https://, put a TLS proxy in front of the container.")
