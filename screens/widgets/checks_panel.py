"""Live checks of a step: runs wizard.checks in a worker (exclusive, one group per step), shows each check's state,
message and hint literally, offers fixes behind a confirmation that shows the exact changes first."""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button

from screens.widgets.text import Plain
from wizard.checks import CheckContext, CheckResult, checks_for, run_checks
from wizard.text import printable


def _result_text(title: str, state: str, message: str = "", hint: str = "") -> Text:
    text = Text()
    text.append(f"{state:<8} ", style="bold")
    text.append(title, style="underline")
    if message:
        text.append("\n" + printable(message))  # outside text: control characters (C1 CSI too) shown as \xNN
    if hint:
        text.append("\n→ " + printable(hint), style="italic")
    return text


class FixButton(Button):
    """Offers the fix of one check result."""

    def __init__(self, result_id: str, label: Text, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.result_id = result_id


class ChecksPanel(Vertical):
    """Shows and runs the live checks of one step. Works for any step with registered checks."""

    @dataclass
    class Finished(Message):
        """Every check of the step gave its results (a run that was cancelled or replaced does not finish)."""

        step: str
        results: list[CheckResult]

    @dataclass
    class EditsRequested(Message):
        """A confirmed fix changes settings, not a service: the step applies the edits (step, path, value)."""

        edits: tuple[tuple[str, tuple[str, ...], str], ...]

    @dataclass
    class RerunRequested(Message):
        """A fix was applied to the service: the step runs its checks again (with its current values)."""

    DEFAULT_CSS = """
    ChecksPanel { height: auto; border-top: solid $secondary; padding-top: 0; margin-top: 1; }
    ChecksPanel .checks-title { text-style: bold; }
    ChecksPanel #check-rows { height: auto; }
    ChecksPanel .check-row { height: auto; margin-bottom: 1; }
    ChecksPanel .check-fix { width: auto; max-width: 100%; text-align: left; margin-bottom: 1; }  /* long labels wrap */
    ChecksPanel .checks-note { color: $text-muted; }
    """

    def __init__(self, step: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.step = step
        self.checks = checks_for(step)
        self.results: dict[str, CheckResult] = {}
        self._generation = 0
        self._fixes: dict[str, CheckResult] = {}

    running: var[bool] = var(False)

    def compose(self) -> ComposeResult:
        yield Plain("Live checks (ctrl+r runs them again)", classes="checks-title")
        yield Plain("Not run yet: they run by themselves once the values are valid.", classes="checks-note",
                    id="checks-note")
        yield Vertical(id="check-rows")

    def _rows(self) -> Vertical:
        return self.query_one("#check-rows", Vertical)

    def _note(self, text: str) -> None:
        self.query_one("#checks-note", Plain).set_text(text)

    def run(self, ctx: CheckContext) -> None:
        self.running = True
        self._generation += 1
        self._note("Running… (edit a value or leave the step to stop)")
        self._run(ctx, self._generation)

    @work(exclusive=True, exit_on_error=False, group="checks", description="the step's live checks")
    async def _run(self, ctx: CheckContext, generation: int) -> None:
        rows = self._rows()
        await rows.remove_children()
        self.results.clear()
        self._fixes.clear()
        # One '… running' row per registered check; its first result takes the row over, and further results of
        # the same check (cache -> cache.reachable, cache.auth, ...) go right below, so the groups keep their order.
        placeholders = {check.id: Plain(_result_text(check.title, "… running"), classes="check-row")
                        for check in self.checks}
        last_of_check = dict(placeholders)
        rows_by_result: dict[str, Plain] = {}
        await rows.mount_all(placeholders.values())
        try:
            async with aclosing(run_checks(self.checks, ctx)) as stream:
                async for result in stream:
                    self.results[result.id] = result
                    text = _result_text(result.title, result.status.symbol, result.message, result.hint)
                    check = result.check or result.id
                    row = rows_by_result.get(result.id) or placeholders.pop(check, None)
                    if row is None:
                        row = Plain(text, classes="check-row")
                        await rows.mount(row, after=last_of_check.get(check))
                        last_of_check[check] = row
                    row.set_text(text)
                    rows_by_result[result.id] = row
                    if result.fix is not None and result.id not in self._fixes:
                        self._fixes[result.id] = result
                        button = FixButton(result.id, Text(f"Fix: {result.fix.description}"), classes="check-fix",
                                           compact=True, id=f"fix-{result.id.replace('.', '-')}")
                        await rows.mount(button, after=row)
                        if last_of_check.get(check) is row:
                            last_of_check[check] = button
        finally:
            if generation == self._generation:  # a newer run (or a cancel) owns the state now
                self.running = False
        if generation != self._generation:
            return
        results = list(self.results.values())
        self._note(f"Done: {len(results)} result(s). ctrl+r runs them again.")
        self.post_message(self.Finished(self.step, results))

    def outdated(self, note: str) -> None:
        """A value changed: results (and their fixes) about the old values must not stay on screen."""
        self.cancel(note)
        if self.results or self._rows().children:
            self.results.clear()
            self._fixes.clear()
            self._rows().remove_children()
        self._note(note)

    def cancel(self, note: str = "Stopped.") -> None:
        if self.running:
            self._generation += 1
            self.workers.cancel_group(self, "checks")
            self.running = False
            self._note(note)

    def blocked(self, note: str) -> None:
        self.cancel()
        self._note(note)

    @on(Button.Pressed, ".check-fix")
    def _fix(self, event: Button.Pressed) -> None:
        event.stop()
        result = self._fixes.get(event.button.result_id) if isinstance(event.button, FixButton) else None
        if result is None or result.fix is None:
            return
        from screens.modals import ConfirmScreen

        fix = result.fix

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._apply(fix)

        self.app.push_screen(
            ConfirmScreen(f"Fix: {fix.description}", "These changes will be applied:", fix.changes,
                          yes="Apply", no="Cancel"),
            answered,
        )

    @work(exclusive=True, group="fix", exit_on_error=False, description="apply a fix")
    async def _apply(self, fix) -> None:
        if fix.edits:
            self.post_message(self.EditsRequested(fix.edits))
            return
        try:
            await fix.apply()
        except Exception as exc:  # shown as text, never a traceback
            self.app.notify(f"The fix failed: {type(exc).__name__}: {exc}", severity="error", markup=False)
            return
        self.app.notify("Fix applied: running the checks again.")
        self.post_message(self.RerunRequested())
