from screens.steps.base import StepView


class ServerStep(StepView):
    STEP = "server"
    INTRO = "How the container runs: image, name, published address and port, data volume, logging."
    HELP = ("Data volume: a named volume (wandb) or an absolute path on this machine, mounted at /vol. A path must "
            "be writable by UID 999 (the server's user).\n\n"
            "Extra environment: further GORILLA_* server options, one per row. Tab to '+ Add variable' and press "
            "Enter to add a row; 'Remove' deletes a row.\n\n"
            "Restore mode (LOCAL_RESTORE) prints temporary admin credentials in the logs and turns SSO off: use it "
            "only to recover access, then turn it off.")
