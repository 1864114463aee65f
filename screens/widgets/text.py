"""Text that is never read as markup: check messages, error messages and user values are shown literally."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Plain(Static):
    """A Static whose content is always literal text (never markup)."""

    def __init__(self, text: str | Text = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(text if isinstance(text, Text) else Text(text), id=id, classes=classes, markup=False)

    def set_text(self, text: str | Text) -> None:
        text = text if isinstance(text, Text) else Text(text)
        if text != self.content:  # unchanged: no repaint (each keystroke sets headings and the title again)
            self.update(text)
