"""An Input whose Enter moves on to the next control at once."""

from __future__ import annotations

from textual.widgets import Input


class NextOnEnter(Input):
    """Enter goes on to the next control at once, so keys typed right behind it go there: the App runs a key's
    binding before the next key of a burst (screens/app.py), where a Submitted message would move the focus only
    after all of them."""

    async def action_submit(self) -> None:
        self.screen.focus_next()
