"""Keyboard-only helpers for the Pilot tests (no clicks, no direct widget calls to change values)."""

from __future__ import annotations

import base64
import json

from textual.pilot import Pilot
from textual.widgets import Select

from screens.widgets.form import widget_id


def license_token(claims: dict | None = None) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return ".".join([part({"alg": "RS256", "typ": "JWT"}), part(claims or {"sub": "acme", "exp": 4102444800}),
                     "c2lnbmF0dXJl"])


async def wait_for(pilot: Pilot, predicate, timeout: float = 10.0, what: str = "condition") -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def ready(pilot: Pilot, step: str | None = None) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.current_step is not None and app.view is not None, what="the first step")
    if step is not None:
        assert app.current_step == step, app.current_step
    await pilot.pause()


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def tab_to(pilot: Pilot, target_id: str, limit: int = 60) -> None:
    app = pilot.app
    for _ in range(limit):
        if app.focused is not None and app.focused.id == target_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached #{target_id} (focus: {app.focused!r})")


def fid(step: str, *path: str) -> str:
    return widget_id(step, tuple(path))


async def paste(pilot: Pilot, text: str) -> None:
    """What a terminal sends for a paste (bracketed paste), to the focused widget."""
    from textual import events

    pilot.app.focused.post_message(events.Paste(text))
    await pilot.pause()


async def type_field(pilot: Pilot, step: str, path: tuple[str, ...], text: str, leave: bool = True) -> None:
    """Tab to the field, clear it (ctrl+u) and type the text; long texts arrive as a terminal paste."""
    await tab_to(pilot, fid(step, *path))
    await pilot.press("end", "ctrl+u")
    if len(text) > 6:
        await paste(pilot, text)
    else:
        await pilot.press(*list(text))
    if leave:
        await pilot.press("tab")
    await pilot.pause()


async def choose(pilot: Pilot, step: str, path: tuple[str, ...], value: str) -> None:
    """Open a Select with Enter and move to `value` with the arrow keys."""
    await tab_to(pilot, fid(step, *path))
    select = pilot.app.focused
    assert isinstance(select, Select)
    values = [v for _, v in select._options]
    steps = values.index(value) - values.index(select.value)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
    await pilot.pause()
    assert select.value == value, select.value


async def checks_done(pilot: Pilot, timeout: float = 20.0) -> None:
    """Wait until the step's live checks (if it has any) have run to the end."""
    panel = pilot.app.view.checks_panel if pilot.app.view is not None else None
    if panel is None:
        return
    await wait_for(pilot, lambda: panel.results and not panel.running, timeout, what="the live checks")
    await pilot.pause()


async def next_step(pilot: Pilot, accept_failed: bool = False, wait_checks: bool = False) -> None:
    if wait_checks:
        await checks_done(pilot)
    before = pilot.app.current_step
    await pilot.press("f8")
    await pilot.pause()
    if accept_failed:
        await wait_for(pilot, lambda: len(pilot.app.screen_stack) > 1, what="the confirmation")
        await pilot.press("y")
        await pilot.pause()
    await wait_for(pilot, lambda: pilot.app.current_step != before, what="the next step")
    await pilot.pause()


def screen_text(app) -> str:
    """Everything on screen as plain text, line by line (what the user reads)."""
    from textual.widgets import Static

    strips = app.screen._compositor.render_strips()
    lines = ["".join(segment.text for segment in strip) for strip in strips]
    if app.screen.is_modal:  # the dialog's own texts, whole
        lines += [str(widget.render()) for widget in app.screen.query(Static) if widget.display]
    return "\n".join(lines)


def widget_text(app, selector: str) -> str:
    """The literal text of one widget (whole, however it wraps on screen)."""
    return str(app.query_one(selector).render())
