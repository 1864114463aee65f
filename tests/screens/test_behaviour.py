"""Pilot tests of single behaviours: inline errors, resume, quitting, the session lock, the keyring modals,
colour-less terminals, the command palette and help."""

from __future__ import annotations

import os

import pytest
from textual.widgets import Input

from screens.app import WizardApp
from wizard.cli.exit import Exit
from screens.modals import HelpScreen, NoticeScreen, PassphraseScreen, SessionPickerScreen
from tests.screens.conftest import SIZE, fixed_clock, read_session
from tests.services.keyring_service import locked_secret_service  # noqa: F401 (fixture)
from tests.screens.helpers import (
    checks_done, choose, fid, license_token, next_step, paste, ready, screen_text, settle, tab_to, type_field, wait_for,
    widget_text,
)
from screens.widgets.form import widget_id
from wizard import secrets
from wizard.flow import WizardFlow
from wizard.session import SessionStore
from wizard.checks.engine import Status
from wizard.steps import StepStatus

BAD_VALUES = [
    # step, provider (or None), field path, bad value, part of the message shown
    ("license", None, ("key",), "abc.def", "three parts separated by dots"),
    ("host", None, ("url",), "wandb.example.com", "has no scheme"),
    ("sso", "okta", ("okta", "issuer"), "https://acme-admin.okta.com", "Okta admin console"),
    ("storage", "s3", ("s3", "bucket"), "s3://acme", "without s3://"),
    ("database", "mysql", ("mysql", "port"), "70000", "is not a TCP port"),
    ("cache", "redis", ("redis", "host"), "bad_host!", "is not a valid host name"),
    ("slack", None, ("client_id",), "abc", "is not a Slack client ID"),
    ("server", None, ("volume",), "./data", "must be absolute"),
]


def error_text(app, step: str, path: tuple[str, ...]) -> str:
    row = app.query_one(f"#{widget_id(step, path, 'row')}")
    assert row.has_class("-error"), f"no error shown for {step} {path}"
    return str(row.query_one(".field-error").render())


async def test_a_bad_value_on_each_step_shows_its_message(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        for step, provider, path, bad, expected in BAD_VALUES:
            app.go_to(step)
            await wait_for(pilot, lambda step=step: app.current_step == step and app.view.STEP == step)
            await pilot.pause()
            if provider:
                await choose(pilot, step, ("provider",), provider)
            await type_field(pilot, step, path, bad)  # typed, then Tab leaves the field
            await wait_for(pilot, lambda step=step, path=path: app.query_one(
                               f"#{widget_id(step, path, 'row')}").has_class("-error"),
                           what=f"the error of {step}")
            assert expected in error_text(app, step, path)
        # Leaving with errors needs a visible confirmation and marks the step failed.
        await pilot.press("f8")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the confirmation")
        assert "must be absolute" in screen_text(app)
        await pilot.press("n")
        assert app.current_step == "server"
        await next_step(pilot, accept_failed=True)
        assert app.flow.status("server") == StepStatus.FAILED
        assert "✗ Server options" in screen_text(app).replace("  ", " ") or "failed" in screen_text(app)
        await pilot.press("ctrl+q")


def _prepare_resumable(keyring, token: str) -> None:
    flow = WizardFlow.open("demo", store=SessionStore(), clock=fixed_clock)
    flow.attach_secrets(keyring)
    flow.set_value("license", ("key",), token)
    flow.record_checks("license", [])
    flow.set_value("host", ("url",), "http://10.0.0.5:8080")
    flow.record_checks("host", [])
    flow.set_provider("sso", "oidc")
    flow.set_value("sso", ("oidc", "issuer"), "https://idp.example.com")
    flow.go_to("sso")
    flow.close()


async def test_resume_lands_on_the_first_incomplete_step_with_values_and_secrets(keyring, state_home):
    token = license_token()
    _prepare_resumable(keyring, token)
    app = WizardApp(None, secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SessionPickerScreen), what="the session picker")
        text = screen_text(app)
        assert "demo: last edited 2026-11-26 22:30 UTC (just now)" in text
        assert "2 of 8 steps" in text
        await pilot.press("enter")
        await ready(pilot, "sso")
        assert app.query_one(f"#{fid('sso', 'oidc', 'issuer')}", Input).value == "https://idp.example.com"
        await pilot.press("f7", "f7")
        await wait_for(pilot, lambda: app.current_step == "license")
        await pilot.pause()
        key = app.query_one(f"#{fid('license', 'key')}", Input)
        assert key.password and key.value == token  # from the keyring, shown only as dots
        assert token not in screen_text(app)
        await pilot.press("ctrl+q")


async def test_new_session_from_the_picker(keyring, state_home):
    _prepare_resumable(keyring, license_token())
    app = WizardApp(None, secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SessionPickerScreen))
        await pilot.press("down", "enter")  # "+ Start a new session" then the name field
        await pilot.press("end", "ctrl+u", *"other", "enter")
        await ready(pilot, "welcome")
        assert app.flow.name == "other"
        await pilot.press("ctrl+q")
    assert (state_home / "sessions" / "other.json").exists()


async def test_quitting_mid_step_keeps_what_was_typed(keyring, state_home):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("database")
        await wait_for(pilot, lambda: app.current_step == "database")
        await pilot.pause()
        await choose(pilot, "database", ("provider",), "mysql")
        await type_field(pilot, "database", ("mysql", "host"), "db.internal")
        await tab_to(pilot, fid("database", "mysql", "password"))
        await paste(pilot, "typed-not-left")  # still in the field
        await pilot.press("ctrl+q")
    saved = read_session(state_home, "demo")
    assert saved["values"]["database"]["mysql"]["host"] == "db.internal"
    assert "typed-not-left" not in (state_home / "sessions" / "demo.json").read_text()
    assert keyring.get("demo", "database.mysql.password") == "typed-not-left"


async def test_ctrl_c_quits_and_saves(keyring, state_home):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("host")
        await wait_for(pilot, lambda: app.current_step == "host")
        await tab_to(pilot, fid("host", "url"))
        await pilot.press("end", "ctrl+u")
        await paste(pilot, "http://10.1.2.3:8080")
        await pilot.press("ctrl+c")
    assert read_session(state_home, "demo")["values"]["host"]["url"] == "http://10.1.2.3:8080"


async def test_a_second_wizard_on_the_same_session_is_refused(keyring, state_home):
    first = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with first.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        second = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
        async with second.run_test(size=SIZE) as pilot2:
            await wait_for(pilot2, lambda: isinstance(second.screen, NoticeScreen), what="the refusal")
            text = screen_text(second)
            assert f"PID {os.getpid()}" in text
            assert "open in another wizard" in text
            await pilot2.press("enter")
        assert second.return_value == Exit.LOCKED
        await pilot.press("ctrl+q")


async def test_encrypted_keyring_asks_for_its_passphrase_and_allows_a_retry(monkeypatch, state_home):
    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "cryptfile")
    secrets.open_store(passphrase="right horse").set("demo", "license.key", license_token())
    app = WizardApp("demo", clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PassphraseScreen), what="the passphrase modal")
        await pilot.press(*"wrong", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PassphraseScreen) and app.screen.error, timeout=15,
                       what="the wrong-passphrase message")
        assert "is wrong: type it again" in screen_text(app)
        await pilot.press(*"right horse", "enter")
        await ready(pilot, "welcome")
        assert "Encrypted file (~/state/keyring/secrets.cfg)" in widget_text(app, "#welcome-keyring")
        assert app.flow.has_secret("license.key")
        await pilot.press("ctrl+q")


async def test_missing_keyring_gives_a_way_forward_without_losing_values(monkeypatch, state_home):
    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "secretservice")  # and no D-Bus session
    app = WizardApp("demo", clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoticeScreen), what="the keyring notice")
        assert "no D-Bus session" in screen_text(app)
        await pilot.press("enter")  # "Continue without a keyring"
        await ready(pilot, "welcome")
        assert "secrets NOT saved" in screen_text(app)
        app.go_to("slack")
        await wait_for(pilot, lambda: app.current_step == "slack")
        await type_field(pilot, "slack", ("secret",), "0123456789abcdef0123456789abcdef")
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.current_step == "cache")
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.current_step == "slack")
        await pilot.pause()
        assert app.query_one(f"#{fid('slack', 'secret')}", Input).value == "0123456789abcdef0123456789abcdef"
        await pilot.press("ctrl+q")


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "xterm-256color", "COLORTERM": None}],
                         ids=["no-color", "xterm-256color"])
async def test_readable_without_rich_colour(env, monkeypatch, keyring):
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        if "NO_COLOR" in env:
            assert app.no_color
        await next_step(pilot)
        text = screen_text(app)
        for shown in ("✓ Welcome", "ok", "· Host", "todo", "License"):
            assert shown in text
        await pilot.press("ctrl+q")


async def test_command_palette_jumps_to_a_step(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"database")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_step == "database", what="the Database step")
        await pilot.press("ctrl+q")


async def test_help_explains_the_current_step(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("storage")
        await wait_for(pilot, lambda: app.current_step == "storage")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert "Help: File storage" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("ctrl+q")


async def test_help_lists_the_keys_of_the_launch_step(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("launch")
        await wait_for(pilot, lambda: app.current_step == "launch")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = " ".join(screen_text(app).split())
        assert "Help: Launch" in text and "Tab moves between the buttons" in text  # once never shown
        await pilot.press("escape")
        await pilot.press("ctrl+q")


async def test_a_worker_that_fails_is_said_in_one_plain_line(keyring, monkeypatch):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    said: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        monkeypatch.setattr(app, "notify", lambda message, **options: said.append(message))

        def broken() -> None:
            raise RuntimeError("kaput [b]x[/b]")

        app.run_worker(broken, thread=True, exit_on_error=False, description="a test worker")
        await wait_for(pilot, lambda: bool(said), what="the notification")
        assert said == ["a test worker failed: RuntimeError: kaput [b]x[/b]. Everything typed is kept; try again."]
        assert app.is_running  # the wizard goes on
        await pilot.press("ctrl+q")


async def test_step_list_opens_any_step_with_the_keyboard(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await pilot.press("f2", "down", "down", "down", "enter")
        await wait_for(pilot, lambda: app.current_step == "sso", what="the SSO step")
        await pilot.press("ctrl+q")


async def test_license_read_from_a_file(keyring, tmp_path):
    token = license_token()
    path = tmp_path / "license.txt"
    path.write_text(token[:40] + "\n" + token[40:] + "\n")  # line breaks from copying are removed
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await next_step(pilot)
        await tab_to(pilot, "license-file")
        await paste(pilot, str(tmp_path / "missing.txt"))
        await pilot.press("enter")
        assert "does not exist" in widget_text(app, "#license-file-result")
        await pilot.press("end", "ctrl+u")
        await paste(pilot, str(path))
        await pilot.press("enter")
        assert "Read" in widget_text(app, "#license-file-result")
        assert app.flow.value("license", ("key",)) == token
        assert token not in screen_text(app)
        await next_step(pilot)
        await settle(pilot)
        await pilot.press("ctrl+q")
    assert keyring.get("demo", "license.key") == token


async def test_an_unreadable_session_is_listed_but_cannot_be_opened(keyring, state_home):
    sessions = state_home / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "broken.json").write_text("{not json")
    _prepare_resumable(keyring, license_token())
    app = WizardApp(None, secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SessionPickerScreen))
        text = screen_text(app)
        assert "broken: cannot be opened" in text
        await pilot.press("ctrl+q")


async def test_opening_a_corrupt_session_keeps_the_file_and_says_where(keyring, state_home):
    sessions = state_home / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "demo.json").write_text("{not json")
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoticeScreen), what="the notice")
        assert "could not be read" in screen_text(app)
        await pilot.press("enter")
    assert app.return_value == 4
    assert list(sessions.glob("demo.json.corrupt-*"))


async def test_ctrl_y_copies_the_first_text_of_the_step(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("slack")
        await wait_for(pilot, lambda: app.current_step == "slack")
        await pilot.press("ctrl+y")
        assert app.clipboard == "http://203.0.113.5:8080"  # the default HOST (tests/conftest.py)
        await pilot.press("ctrl+q")


async def test_review_jumps_back_to_a_step_with_problems(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("slack")
        await wait_for(pilot, lambda: app.current_step == "slack")
        await type_field(pilot, "slack", ("client_id",), "123")
        app.go_to("review")  # as from the step list: leaving marks Slack failed, visibly
        await wait_for(pilot, lambda: app.current_step == "review")
        assert app.flow.status("slack") == StepStatus.FAILED
        text = screen_text(app)
        assert "Needs attention" in text and "Go to Slack: ✗ failed" in text
        await tab_to(pilot, "goto-slack")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_step == "slack", what="the Slack step")
        assert "is not a Slack client ID" in error_text(app, "slack", ("client_id",))  # shown at once
        await pilot.press("ctrl+q")


async def test_palette_runs_actions_and_ctrl_t_hides_the_step_list(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await pilot.press("ctrl+t")
        assert not app.query_one("#steps").display
        await pilot.press("ctrl+t")
        assert app.query_one("#steps").display
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"help for")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        assert "Help: Welcome" in screen_text(app)
        await pilot.press("escape", "ctrl+q")


async def test_a_new_encrypted_keyring_asks_for_the_passphrase_twice(monkeypatch, state_home):
    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "cryptfile")
    app = WizardApp("demo", clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PassphraseScreen), what="the passphrase modal")
        assert "Choose a passphrase" in screen_text(app)
        await pilot.press(*"one", "enter", *"two", "enter")
        assert "The two passphrases differ" in screen_text(app)
        await pilot.press(*"one", "enter")
        await ready(pilot, "welcome")
        await pilot.press("ctrl+q")
    assert (state_home / "keyring" / "secrets.cfg").exists()


async def test_a_new_passphrase_typed_twice_in_one_burst_opens_the_keyring(monkeypatch, state_home):
    """Passphrase, Enter, the same again, Enter, as a quick typist's keys arrive over a slow link: Enter moves to
    the second field before the next key (a Submitted message would move it after them all)."""
    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "cryptfile")
    app = WizardApp("demo", clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PassphraseScreen), what="the passphrase modal")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.has_focus, what="the first field")
        _burst(app, [*"one-2", "enter", *"one-2", "enter"])
        await ready(pilot, "welcome")
        await pilot.press("ctrl+q")
    assert (state_home / "keyring" / "secrets.cfg").exists()


async def test_a_locked_secret_service_gives_a_clear_message_and_a_way_forward(locked_secret_service, monkeypatch):
    monkeypatch.setenv("WANDB_LOCAL_SETUP_KEYRING", "secretservice")
    app = WizardApp("demo", clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoticeScreen), timeout=20, what="the keyring notice")
        text = screen_text(app)
        assert "is locked and cannot be unlocked from here" in text
        assert "Try again" in text and "Continue without a keyring" in text
        await pilot.press("down", "enter")  # to "Continue without a keyring"
        await ready(pilot, "welcome")
        assert "no keyring" in widget_text(app, "#welcome-keyring")
        await pilot.press("ctrl+q")


async def test_a_step_opens_at_its_top_even_when_its_first_control_is_further_down(keyring):
    # Review's first control (the exports) is below the summary. The app focuses it after a refresh; whether the
    # layout was done by then depended on timing, and when it was, the focus scrolled the summary away.
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        body = app.query_one("#body")
        app.go_to("review")
        await wait_for(pilot, lambda: app.current_step == "review" and app.focused is not None, what="Review")
        await pilot.pause(0.2)
        app.screen.set_focus(None)
        app._focus_first(app.view)  # the same call, once the layout is surely done
        await pilot.pause(0.2)
        assert body.scroll_y == 0
        assert "Everything that will be configured" in screen_text(app)
        assert app.focused is app.view.first_focus()  # the keys still start at the first control
        await pilot.press("ctrl+q")


async def test_an_extra_option_named_like_a_secret_is_hidden_and_kept_in_the_keyring(keyring, state_home):
    canary = "canary-extra-option-9f9f"
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("server")
        await wait_for(pilot, lambda: app.current_step == "server" and app.view.STEP == "server", what="server")
        await tab_to(pilot, fid("server", "extra_env", "add"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == fid("server", "extra_env",
                                                                                         "0-name"), what="the row")
        await pilot.press("end", *list("API_TOKEN"), "tab")
        value = app.query_one(f"#{fid('server', 'extra_env', '0-value')}", Input)
        toggle = app.query_one(f"#{fid('server', 'extra_env', '0-secret')}")
        assert value.password and toggle.value and "secret" in str(toggle.label)  # the name says so: hidden
        await paste(pilot, canary)
        await pilot.press("tab")  # to the toggle
        await pilot.pause()
        assert canary not in screen_text(app)
        await pilot.press("ctrl+q")  # saves, and writes the step's secrets to the keyring
    assert keyring.get("demo", "server.extra_env.GORILLA_API_TOKEN") == canary
    assert canary not in (state_home / "sessions" / "demo.json").read_text()

    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "license")  # resumed at the first step not done
        app.go_to("server")
        await wait_for(pilot, lambda: app.current_step == "server" and app.view.STEP == "server", what="server")
        # Marked plain, the value is shown and moves to the session file; the keyring entry goes.
        await tab_to(pilot, fid("server", "extra_env", "0-secret"))
        await pilot.press("space")
        await wait_for(pilot, lambda: not app.query_one(f"#{fid('server', 'extra_env', '0-value')}", Input).password,
                       what="the value shown")
        assert "plain" in str(app.query_one(f"#{fid('server', 'extra_env', '0-secret')}").label)
        assert app.query_one(f"#{fid('server', 'extra_env', '0-value')}", Input).value == canary  # from the keyring
        await pilot.press("ctrl+q")
    assert keyring.get("demo", "server.extra_env.GORILLA_API_TOKEN") is None
    assert canary in (state_home / "sessions" / "demo.json").read_text()


async def test_a_choice_followed_at_once_by_f8_is_kept(keyring):
    """Keys in one burst (Enter on a list, F8) run F8 before the list's Changed message is handled: the step is
    left with what its controls show, and the review says so (seen over a slow SSH link)."""
    from textual.widgets import Select

    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("server")
        await wait_for(pilot, lambda: app.current_step == "server" and app.view.STEP == "server", what="server")
        app.query_one(f"#{fid('server', 'restart_policy')}", Select).value = "no"
        app.query_one(f"#{fid('server', 'port')}", Input).value = "9123"
        app.action_next()  # in the same turn: no message of the two controls has been handled yet
        assert app.flow.value("server", ("restart_policy",)) == "no"
        assert app.flow.value("server", ("port",)) == 9123
        await wait_for(pilot, lambda: app.current_step == "review", what="the review")
        server = next(section for section in app.flow.review().sections if section.step == "server")
        assert ("Restart policy", "no") in [(row.label, row.value) for row in server.rows]
        await pilot.press("ctrl+q")


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_no_button_label_is_cut_on_any_step(keyring, size):
    """Every button shows its whole label on every step (the Launch step's third button read "Recover acces")."""
    from textual.widgets import Button

    from wizard.steps import STEP_IDS

    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=size) as pilot:
        await ready(pilot, "welcome")
        cut = []
        for step in STEP_IDS:
            app.go_to(step)
            await wait_for(pilot, lambda s=step: app.current_step == s and app.view.STEP == s, what=step)
            await pilot.pause(0.2)
            for button in app.view.query(Button):
                if not button.display:
                    continue
                width = button.label.cell_length  # the label as Textual holds it (Content)
                room = button.parent.content_region  # a row of buttons wider than its container cuts the last
                if button.content_size.width < width or button.region.right > room.right:
                    cut.append(f"{step}: {button.label.plain!r} ({button.region} in {room})")
        assert cut == []
        await pilot.press("ctrl+q")


async def test_the_host_step_says_where_its_default_came_from(keyring):
    # Over SSH the default is the address the connection reached (tests/conftest.py: 203.0.113.5), not localhost.
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("host")
        await wait_for(pilot, lambda: app.current_step == "host")
        assert app.query_one(f"#{fid('host', 'url')}", Input).value == "http://203.0.113.5:8080"
        assert ("Default: http://203.0.113.5:8080, from the address your SSH connection reached this machine at "
                "(203.0.113.5, SSH_CONNECTION).") == widget_text(app, "#host-default")
        await pilot.press("ctrl+q")


async def test_a_reverse_proxy_in_front_gives_its_configuration_and_no_tls_warning(keyring, state_home):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("host")
        await wait_for(pilot, lambda: app.current_step == "host")
        await type_field(pilot, "host", ("url",), "https://wandb.example.com")
        await pilot.press("ctrl+r")
        await checks_done(pilot)
        ports = app.view.checks_panel.results["host.ports"]
        assert ports.status is Status.WARN and "Reverse proxy" in ports.hint  # TLS with nothing said about it
        assert not app.query("#copy-host-nginx")
        await tab_to(pilot, fid("host", "reverse_proxy"))
        await pilot.press("space")
        await wait_for(pilot, lambda: bool(app.query("#copy-host-nginx")), what="the nginx configuration")
        await tab_to(pilot, "copy-host-nginx")
        await pilot.press("enter")
        assert "server_name wandb.example.com;" in app.clipboard and "proxy_pass http://127.0.0.1:8080;" in app.clipboard
        await tab_to(pilot, "copy-host-caddy")
        await pilot.press("c")
        assert app.clipboard.startswith("# W&B Local behind Caddy: https://wandb.example.com -> http://127.0.0.1:8080")
        await pilot.press("ctrl+r")
        panel = app.view.checks_panel
        await wait_for(pilot, lambda: not panel.running and "host.ports" in panel.results
                       and panel.results["host.ports"].status is not Status.WARN, what="the checks without the warning")
        ports = panel.results["host.ports"]
        assert ports.status is Status.PASS, ports
        assert "TLS ends at the reverse proxy in front (port 443)" in ports.message
        await pilot.press("ctrl+q")
    assert read_session(state_home, "demo")["values"]["host"] == {"url": "https://wandb.example.com",
                                                                  "reverse_proxy": True}


def _burst(app, keys: list[str]) -> None:
    """Keys in the App's queue in one go, as a slow SSH link or a quick typist's terminal delivers them in one
    read (Pilot.press waits after every key)."""
    from textual import events

    names = {".": "full_stop", "-": "minus", "_": "underscore", ":": "colon", "/": "slash"}
    for key in keys:
        character = key if len(key) == 1 else {"tab": "\t", "enter": "\r"}.get(key)
        app.post_message(events.Key(names.get(key, key), character))


@pytest.mark.parametrize("leave", ["tab", "enter"])
async def test_typing_right_behind_tab_or_enter_replaces_the_next_field_and_loses_nothing(keyring, leave):
    """Tab (or Enter) to a field, then its new text, in one burst that the terminal delivers in two reads. The
    field moved to selects its text when it handles its Focus event, which waits in its queue behind the first
    characters: those were then selected and replaced by the next ones ("latest" + "0.7", then ".0" left ".0",
    as "s3cr3t-e2e" became "3t-e2e" over SSH). What is typed replaces the old text, whole and in order."""
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.go_to("server")
        await wait_for(pilot, lambda: app.current_step == "server" and app.view.STEP == "server", what="server")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == fid("server", "image")
                       and app.focused.has_focus, what="the image field focused")
        tag = app.query_one(f"#{fid('server', 'tag')}", Input)
        assert tag.value == "latest"
        _burst(app, [leave, "0", ".", "7"])
        await pilot.pause()  # the first read is done: the tag field has handled its Focus event
        assert tag.has_focus
        _burst(app, [".", "0"])
        await pilot.pause()
        assert tag.value == "0.7.0"
        await wait_for(pilot, lambda: app.flow.value("server", ("tag",)) == "0.7.0", what="the tag in the flow")
        # A field focused the slow way (each key handled before the next) still has its text selected.
        await pilot.press("tab", "w")
        assert app.query_one(f"#{fid('server', 'container_name')}", Input).value == "w"
        await pilot.press("ctrl+q")


async def test_keys_typed_right_behind_f8_go_to_the_next_step(keyring):
    """F8 and the next step's first value in one burst: the step is built after F8 is handled, so the keys behind
    it wait for its first field (they went to the step being left, or were lost)."""
    token = license_token()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        _burst(app, ["f8", *token[:12]])
        await wait_for(pilot, lambda: app.current_step == "license" and app.focused is not None
                       and app.focused.id == fid("license", "key"), what="the License field")
        await pilot.pause()
        assert app.focused.value == token[:12]
        _burst(app, ["end", "ctrl+u", *token, "f8", *"https://wandb.example.com"])
        await wait_for(pilot, lambda: app.current_step == "host", what="the Host step")
        await wait_for(pilot, lambda: app.flow.value("host", ("url",)) == "https://wandb.example.com",
                       what="the URL typed right behind F8")
        assert app.flow.secrets.get("demo", "license.key") == token  # the License step kept its own value
        await pilot.press("ctrl+q")
