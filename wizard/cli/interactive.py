"""The interactive wizard: the only place in wizard/ that starts the UI. The domain does not import the UI: it
names the UI's entry point (the installation ships both packages) and loads it only for the interactive mode, so
Textual loads here, on first use, and never for a headless command."""

from __future__ import annotations

import importlib
import sys

from wizard.cli.exit import Exit

UI_ENTRY = ("screens.app", "run_wizard")  # module, function(session, new=...) -> exit code


def open_wizard(session: str | None, new: bool = False) -> int:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        print(
            "wandb-local-setup: the interactive wizard needs a terminal. "
            "Run it in an SSH session or terminal, or use the headless commands (check, export, apply).",
            file=sys.stderr,
        )
        return Exit.USAGE
    module, function = UI_ENTRY
    run_wizard = getattr(importlib.import_module(module), function)
    return int(run_wizard(session, new=new))
