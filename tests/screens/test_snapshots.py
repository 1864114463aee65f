"""SVG snapshots of every step and each provider's form, at 80x24 (and a few at 120x40).

Deterministic: no cursor blink (conftest), no animations, a fixed clock, paths under a temp HOME shown as ~/...,
and the live checks replaced by fixed stand-in checks (the real ones look at this machine and the network).
Canary secrets are typed into secret fields; the last test asserts no snapshot holds one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.app import WizardApp
from screens.modals import ConfirmScreen, PassphraseScreen
from screens.opening import keyring_notice
from tests.screens.conftest import fixed_clock
from tests.screens.helpers import fid, license_token, paste, tab_to, wait_for
from wizard.checks import engine
from wizard.checks.engine import CheckDef, CheckResult, FixAction, Status
from wizard.flow import WizardFlow
from wizard.session import SessionStore

CANARY = "CANARY-snapshot-secret-93b1"
SNAPSHOTS = Path(__file__).parent / "__snapshots__"
BIG = (120, 40)


async def _stand_in_dns(ctx):
    yield CheckResult("host.dns", "Name resolves to this machine", Status.WARN,
                      "'localhost' is a loopback address (127.0.0.1): only this machine can reach the server.",
                      "Use the name or IP address users will open, e.g. https://wandb.example.com.")


async def _stand_in_port(ctx):
    async def apply() -> None:
        return None

    yield CheckResult("host.port-free", "Published port is free", Status.FAIL,
                      "Port 8080 on 0.0.0.0 is already in use [not markup].",
                      "Stop the program using it, or choose another port.",
                      fix=FixAction("Stop the old wandb-local container", "docker stop wandb-local", apply))


STAND_IN_CHECKS = {
    "host": [CheckDef("host.dns", "Name resolves to this machine", _stand_in_dns),
             CheckDef("host.port-free", "Published port is free", _stand_in_port)],
}


@pytest.fixture(autouse=True)
def stand_in_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed results instead of the real checks (which depend on this machine, the network and today's date)."""
    monkeypatch.setattr(engine, "CHECK_MODULES", ())
    monkeypatch.setattr(engine, "_REGISTRY", {k: list(v) for k, v in STAND_IN_CHECKS.items()})


@pytest.fixture
def make_app(keyring):
    apps = []

    def make(session: str | None = "demo") -> WizardApp:
        app = WizardApp(session, secret_store=keyring, clock=fixed_clock)
        app.animation_level = "none"
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close_flow()


async def _ready(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.current_step is not None and app.view is not None, what="the first step")
    await pilot.pause()


def at(step: str, provider: str | None = None, values: dict | None = None, secrets: dict | None = None,
       reveal: bool = False, then=None):
    """A run_before that opens `step` (with a provider and values set), optionally showing its errors."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await _ready(pilot)
        flow = app.flow
        if provider:
            flow.set_provider(step, provider)
        for path, value in (values or {}).items():
            flow.set_value(step, path, value)
        app.go_to(step)
        await wait_for(pilot, lambda: app.current_step == step and app.view.STEP == step, what=step)
        for path, value in (secrets or {}).items():  # typed (pasted) into the hidden field, as a user would
            await tab_to(pilot, fid(step, *path))
            await paste(pilot, value)
        if secrets:
            await pilot.press("tab")
        if reveal:
            app.view.reveal_errors()
        if app.view.checks_panel is not None and not flow.validate(step)[1]:
            app.view.run_checks()
            await wait_for(pilot, lambda: app.view.checks_panel.results and not app.view.checks_panel.running)
        if then is not None:
            await then(pilot)
        await pilot.pause()
        assert "CANARY" not in app.export_screenshot()  # what the snapshot is about to record

    return run_before


def test_welcome(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("welcome"))


def test_welcome_big(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=BIG, run_before=at("welcome"))


def test_license_with_an_error(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("license", secrets={("key",): "abc.def"}, reveal=True))


def test_license_valid(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("license", secrets={("key",): license_token()}))


def test_host_with_checks(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("host"))


def test_host_with_checks_big(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=BIG, run_before=at("host"))


BEHIND_A_PROXY = {("url",): "https://wandb.example.com", ("reverse_proxy",): True}


def test_host_behind_a_reverse_proxy(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("host", values=BEHIND_A_PROXY))


def test_host_behind_a_reverse_proxy_big(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=BIG, run_before=at("host", values=BEHIND_A_PROXY))


async def _open_fix(pilot) -> None:
    app = pilot.app
    button = app.query_one(".check-fix")
    button.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the fix confirmation")


def test_host_fix_confirmation(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("host", then=_open_fix))


@pytest.mark.parametrize("provider,values", [
    ("none", {}),
    ("cognito", {("cognito", "user_pool_id"): "us-east-1_AbC123xyz", ("cognito", "client_id"): "4k2j3h"}),
    ("okta", {("okta", "issuer"): "https://acme.okta.com", ("okta", "client_id"): "0oa1b2c3"}),
    ("oidc", {("oidc", "issuer"): "https://idp.example.com/realms/wandb", ("oidc", "client_id"): "wandb"}),
])
def test_sso(snap_compare, make_app, provider, values):
    assert snap_compare(make_app(), run_before=at("sso", provider, values, reveal=True))


STORAGE = {
    "local": ({}, {}),
    "s3": ({("s3", "bucket"): "acme-wandb", ("s3", "region"): "us-east-1", ("s3", "queue"): "wandb-events",
            ("s3", "access_key_id"): "AKIAIOSFODNN7EXAMPLE"},
           {("s3", "secret_access_key"): CANARY}),
    "s3-compatible": ({("s3_compatible", "endpoint"): "minio.example.com:9000",
                       ("s3_compatible", "bucket"): "wandb", ("s3_compatible", "access_key"): "minio"},
                      {("s3_compatible", "secret_key"): CANARY}),
    "gcs": ({("gcs", "bucket"): "acme-wandb", ("gcs", "project"): "acme-project", ("gcs", "topic"): "wandb-files",
             ("gcs", "subscription"): "wandb-files-sub"}, {}),
    "azure": ({("azure", "account"): "acmewandb", ("azure", "container"): "wandb"},
              {("azure", "account_key"): CANARY}),
}


@pytest.mark.parametrize("provider", list(STORAGE))
def test_storage(snap_compare, make_app, provider):
    values, secrets = STORAGE[provider]
    assert snap_compare(make_app(), run_before=at("storage", provider, values, secrets, reveal=True))


def test_storage_s3_big(snap_compare, make_app):
    values, secrets = STORAGE["s3"]
    assert snap_compare(make_app(), terminal_size=BIG, run_before=at("storage", "s3", values, secrets))


@pytest.mark.parametrize("provider,values,secrets", [
    ("embedded", {}, {}),
    ("mysql", {("mysql", "host"): "db.example.com"}, {("mysql", "password"): CANARY}),
])
def test_database(snap_compare, make_app, provider, values, secrets):
    assert snap_compare(make_app(), run_before=at("database", provider, values, secrets, reveal=True))


@pytest.mark.parametrize("provider,values,secrets", [
    ("embedded", {}, {}),
    ("redis", {("redis", "host"): "cache.example.com", ("redis", "user"): "wandb"}, {("redis", "password"): CANARY}),
])
def test_cache(snap_compare, make_app, provider, values, secrets):
    assert snap_compare(make_app(), run_before=at("cache", provider, values, secrets, reveal=True))


def test_slack(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("slack", values={("client_id",): "1234567890.9876543210"},
                                                  secrets={("secret",): "not-hex"}, reveal=True))


def test_server_options(snap_compare, make_app):
    values = {("extra_env",): [{"name": "GORILLA_DISABLE_PERSONAL_ENTITY", "value": "true"}]}
    assert snap_compare(make_app(), run_before=at("server", values=values))


def test_review_defaults(snap_compare, make_app):
    assert snap_compare(make_app(), run_before=at("review"))


def test_review_with_problems(snap_compare, make_app):
    async def problems(pilot) -> None:
        flow = pilot.app.flow
        flow.set_provider("database", "mysql")
        flow.set_value("database", ("mysql", "host"), "db.example.com")
        flow.set_value("database", ("mysql", "password"), CANARY)
        flow.set_value("host", ("url",), "wandb.example.com")
        flow.leave_step("host")
        flow.leave_step("database")
        pilot.app.show_step("review")
        await pilot.pause()

    assert snap_compare(make_app(), run_before=at("review", then=problems))


def test_review_big(snap_compare, make_app):
    values, secrets = STORAGE["s3"]
    assert snap_compare(make_app(), terminal_size=BIG, run_before=at("storage", "s3", values, secrets,
                                                                     then=_goto("review")))


def _goto(step: str):
    async def go(pilot) -> None:
        pilot.app.go_to(step)
        await wait_for(pilot, lambda: pilot.app.current_step == step)

    return go


def test_launch_not_ready(snap_compare, make_app):
    # The launch itself is machine-dependent (Docker preflight): tests/screens/test_launch.py drives it for real.
    async def incomplete(pilot) -> None:
        await _ready(pilot)
        pilot.app.flow.set_provider("storage", "s3")
        pilot.app.go_to("launch")
        await wait_for(pilot, lambda: pilot.app.current_step == "launch" and pilot.app.view.STEP == "launch")

    assert snap_compare(make_app(), run_before=incomplete)


def test_help(snap_compare, make_app):
    assert snap_compare(make_app(), press=["f1"], run_before=at("storage"))


def test_leave_with_errors_confirmation(snap_compare, make_app):
    assert snap_compare(make_app(), press=["f8"], run_before=at("host", values={("url",): "wandb.example.com"}))


def test_passphrase_modal(snap_compare, make_app):
    async def modal(pilot) -> None:
        pilot.app.push_screen(PassphraseScreen("Encrypted file (~/.local/state/wandb-local-setup/keyring/secrets.cfg)",
                                               new_file=False, error="The passphrase … is wrong: type it again."))
        await pilot.pause()

    assert snap_compare(make_app(), run_before=at("welcome", then=modal))


def test_keyring_problem_notice(snap_compare, make_app):
    async def notice(pilot) -> None:
        pilot.app.push_screen(keyring_notice(
            "The Secret Service keyring cannot be used: there is no D-Bus session [bold]x[/].", retry=True))
        await pilot.pause()

    assert snap_compare(make_app(), run_before=at("welcome", then=notice))


def test_session_picker(snap_compare, make_app, keyring):
    flow = WizardFlow.open("other", store=SessionStore(), clock=fixed_clock)
    flow.attach_secrets(keyring)
    flow.set_value("host", ("url",), "http://10.0.0.5:8080")
    flow.record_checks("host", [])
    flow.close()

    async def picker(pilot) -> None:
        await pilot.pause(0.2)

    assert snap_compare(make_app(None), run_before=picker)


def test_no_color_host(snap_compare, make_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), run_before=at("host"))


async def _focus_instructions(pilot) -> None:
    blocks = list(pilot.app.view.query("InstructionBlock"))
    blocks[-1].focus()  # scrolls the texts into view
    await pilot.pause()


@pytest.mark.parametrize("step,provider,values,secrets", [
    ("sso", "okta", {("okta", "issuer"): "https://acme.okta.com", ("okta", "client_id"): "0oa1"}, {}),
    ("storage", "s3", STORAGE["s3"][0], STORAGE["s3"][1]),
    ("storage", "gcs", STORAGE["gcs"][0], {}),
    ("storage", "azure", STORAGE["azure"][0], STORAGE["azure"][1]),
    ("database", "mysql", {("mysql", "host"): "db.example.com"}, {("mysql", "password"): CANARY}),
    ("slack", None, {}, {}),
], ids=["sso-okta", "storage-s3", "storage-gcs", "storage-azure", "database-mysql", "slack"])
def test_texts_to_paste_elsewhere(snap_compare, make_app, step, provider, values, secrets):
    assert snap_compare(make_app(), run_before=at(step, provider, values, secrets, then=_focus_instructions))


def test_zz_no_snapshot_holds_a_secret():
    """Runs last in this module: no SVG written by the tests above may contain a canary secret."""
    svgs = list(SNAPSHOTS.rglob("*.svg"))
    if not svgs:
        pytest.skip("no snapshots on disk yet (syrupy writes them at the end of an --snapshot-update run)")
    for svg in svgs:
        assert CANARY not in svg.read_text(), svg
        assert "CANARY" not in svg.read_text(), svg
