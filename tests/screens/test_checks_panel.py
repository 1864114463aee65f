"""The live checks area with stand-in checks registered for a step (the real checks look at this machine and the
network; these are fixed so the panel's own behaviour can be tested): running, cancelling, fixes, statuses."""

from __future__ import annotations

import asyncio

import pytest

from screens.app import WizardApp
from screens.modals import ConfirmScreen
from tests.screens.conftest import SIZE, fixed_clock, read_session
from tests.screens.helpers import ready, screen_text, tab_to, wait_for, widget_text
from wizard.checks import engine
from wizard.checks.engine import CheckDef, CheckResult, FixAction, Status
from wizard.steps import StepStatus

applied: list[str] = []


async def slow_check(ctx):
    await asyncio.sleep(30)
    yield CheckResult("cache.slow", "Slow check", Status.PASS, "never reached")


async def fixable_check(ctx):
    async def apply() -> None:
        applied.append("fixed")

    if applied:
        yield CheckResult("slack.app", "Slack app", Status.PASS, "The app is set up.")
    else:
        yield CheckResult("slack.app", "Slack app", Status.WARN, "The redirect URL is missing [red]in the app[/].",
                          "Add it.", fix=FixAction("Add the redirect URL", '{"redirect_urls": ["http://x"]}', apply))


@pytest.fixture(autouse=True)
def stand_in_checks(monkeypatch: pytest.MonkeyPatch):
    applied.clear()
    monkeypatch.setattr(engine, "CHECK_MODULES", ())
    monkeypatch.setattr(engine, "_REGISTRY", {
        "cache": [CheckDef("cache.slow", "Slow check", slow_check, timeout=60)],
        "slack": [CheckDef("slack.app", "Slack app", fixable_check)],
    })


async def test_editing_a_field_cancels_running_checks(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("cache")
        await wait_for(pilot, lambda: app.current_step == "cache")
        await pilot.press("ctrl+r")
        panel = app.view.checks_panel
        await wait_for(pilot, lambda: panel.running, what="the checks to start")
        assert "… running" in screen_text(app)
        await pilot.press("f8")  # leaving the step cancels them too; come back and edit instead
        await wait_for(pilot, lambda: app.current_step == "slack")
        assert not panel.running
        assert app.flow.status("cache") == StepStatus.EDITED  # valid, checks not run: not complete
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.current_step == "cache")
        await pilot.press("ctrl+r")
        panel = app.view.checks_panel
        await wait_for(pilot, lambda: panel.running)
        from tests.screens.helpers import choose
        await choose(pilot, "cache", ("provider",), "redis")
        await wait_for(pilot, lambda: not panel.running, what="the cancellation")
        assert "A value changed" in widget_text(app, "#checks-note")
        await pilot.press("ctrl+q")


async def test_a_fix_is_confirmed_with_its_changes_then_checks_run_again(keyring, state_home):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("slack")
        await wait_for(pilot, lambda: app.current_step == "slack", what="the slack step")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.flow.status("slack") == StepStatus.CHECKED_WARN, what="the warning")
        text = screen_text(app)
        assert "! warn" in text
        rows = " ".join(str(w.render()) for w in app.query(".check-row"))
        assert "The redirect URL is missing [red]in the app[/]." in rows  # shown literally, not as markup
        await tab_to(pilot, "fix-slack-app")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        assert '{"redirect_urls": ["http://x"]}' in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="the dialog to close")
        assert applied == []
        await tab_to(pilot, "fix-slack-app")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the second confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.flow.status("slack") == StepStatus.CHECKED_OK, what="the re-run")
        assert applied == ["fixed"]
        await pilot.press("ctrl+q")
    assert read_session(state_home, "demo")["steps"]["slack"]["status"] == "checked-ok"
