"""The interactive wizard: the only place in wizard/ that starts the UI (Textual loads here, on first use)."""

from __future__ import annotations

import sys

from wizard.cli.exit import Exit


def open_wizard(session: str | None, new: bool = False) -> int:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        print(
            "wandb-local-setup: the interactive wizard needs a terminal. "
            "Run it in an SSH session or terminal, or use the headless commands (check, export, apply).",
            file=sys.stderr,
        )
        return Exit.USAGE
    from screens.app import run_wizard  # Textual is loaded only for the interactive mode

    return run_wizard(session, new=new)
