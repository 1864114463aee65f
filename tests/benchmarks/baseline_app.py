"""The baseline for start-up and traffic figures: a minimal Textual app (one Input and a Footer)."""

from __future__ import annotations

import os
import time

from textual.app import App, ComposeResult
from textual.widgets import Footer, Input


class Baseline(App):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="baseline")
        yield Footer()

    def on_ready(self) -> None:
        ready_file = os.environ.get("WANDB_LOCAL_SETUP_READY_FILE")
        if ready_file:
            self.call_after_refresh(lambda: _write_ready(ready_file))


def _write_ready(path: str) -> None:
    with open(path, "w") as handle:
        handle.write(repr(time.monotonic()))


if __name__ == "__main__":
    Baseline().run()
