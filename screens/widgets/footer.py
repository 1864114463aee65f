"""The footer: Textual's Footer, rebuilt only when what it shows changes."""

from __future__ import annotations

from textual.widgets import Footer


class WizardFooter(Footer):
    """Textual's Footer recomposes on every bindings update (focus moves, dialogs open) even when the keys shown stay
    the same; each rebuild restyles every key twice, which was a large share of the wizard's start-up time."""

    _shown: tuple | None = None

    async def recompose(self) -> None:
        if self.is_attached and self.screen is not self.app.screen:
            return  # under a dialog (at start-up, the passphrase): rebuilt when its screen is back on top
        shown = self._keys_shown()
        if shown is not None and shown == self._shown:
            return
        self._shown = shown
        await super().recompose()

    def _keys_shown(self) -> tuple | None:
        if not self.is_attached:  # (Textual recomposes a footer only once its bindings are ready)
            return None
        keys = tuple(
            (b.key, b.action, b.description, b.show, b.key_display, b.tooltip, b.group, enabled, tooltip)
            for (_, b, enabled, tooltip) in self.screen.active_bindings.values()
        )
        return keys, self.compact, self.show_command_palette
