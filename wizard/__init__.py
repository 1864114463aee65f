"""wandb-local-setup: the domain (configuration, sessions, secrets, checks, launcher). No UI in here."""

__version__ = "0.1.0"
