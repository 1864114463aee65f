"""Pilot tests of the live checks on screen, against the REAL loopback services of tests/services/ (issues 5 and 7).

Each screen shows a failing (or warning) and a passing result, with its hint, in the checks panel; the Azure CORS
fix is pressed, confirmed (the dialog shows the exact XML) and the re-run passes; editing a field while a check
hangs on a silent server stops the run and no stale result ever appears.

What the user types is typed (keyboard only, secrets into the password Inputs). Two things are set up without the
keyboard, as the preconditions they are: moving between steps with `app.go_to` (as tests/screens/test_behaviour.py
does), and `app.flow.check_extra` (wizard/flow.py), the one hook that points the checks at the emulators
(`azure_blob_endpoint`, `slack_api_url`, ...), exactly as the integration tests pass `CheckContext.extra`.
Nothing but the loopback services started here is contacted: the Slack check never sees slack.com (a closed
loopback port, then a loopback stand-in), host names are 127.0.0.1 (no DNS query leaves the machine).
Under CI=true a missing service fails (the fixtures call `unavailable()`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from screens.app import WizardApp
from screens.modals import ConfirmScreen
from tests.screens.conftest import SIZE, fixed_clock
from tests.screens.helpers import (
    choose,
    fid,
    paste,
    ready,
    screen_text,
    tab_to,
    type_field,
    wait_for,
    widget_text,
)
from tests.services.azurite import ACCOUNT, KEY, Azurite, azurite  # noqa: F401 (fixtures)
from tests.services.fault_server import fault_server  # noqa: F401 (fixtures)
from tests.services.mariadb import MariaDB, mariadb  # noqa: F401 (fixtures)
from tests.services.oidc_provider import OidcProvider, oidc_provider  # noqa: F401 (fixtures)
from tests.services.redis_tls import RedisServer, _redis_tls_server, redis_tls  # noqa: F401 (fixtures)
from wizard.checks import Status
from wizard.steps import StepStatus
from tests.services.local_process import free_port

WRONG = "wrong-password-canary-5e0c"
SLACK_CLIENT_ID = "1234567890.9876543210"
SLACK_SECRET = "0123456789abcdef0123456789abcdef"
CHECKS_TIMEOUT = 30.0


# --- helpers -------------------------------------------------------------------------------------------------------


def rows(app) -> list[str]:
    """The texts of the check rows in the panel, literally (state, title, message, → hint)."""
    return [str(widget.render()) for widget in app.query("#checks .check-row")]


def row_with(app, *words: str) -> str:
    """The one row that holds all these words (fails with every row shown when there is none)."""
    found = [text for text in rows(app) if all(word in text for word in words)]
    assert len(found) == 1, f"{len(found)} rows with {words!r}:\n" + "\n---\n".join(rows(app))
    return found[0]


def panel_text(app) -> str:
    return "\n".join(rows(app))


async def open_step(pilot, step: str) -> None:
    app = pilot.app
    app.go_to(step)
    await wait_for(pilot, lambda: app.current_step == step and app.view is not None and app.view.STEP == step,
                   what=f"the {step} step")
    await pilot.pause()


async def checks_settled(pilot, timeout: float = CHECKS_TIMEOUT) -> None:
    """Wait for the run the last edit started to finish and be recorded (the step is no longer just 'edited')."""
    app = pilot.app
    panel, step = app.view.checks_panel, app.view.STEP
    await wait_for(pilot, lambda: not panel.running and panel.results
                   and widget_text(app, "#checks-note").startswith("Done:")
                   and app.flow.status(step) != StepStatus.EDITED, timeout, what=f"the live checks of {step}")


async def rerun_until(pilot, predicate, what: str, timeout: float = CHECKS_TIMEOUT) -> None:
    panel = pilot.app.view.checks_panel
    await wait_for(pilot, lambda: not panel.running and predicate(), timeout, what=what)


async def set_host(pilot, url: str) -> None:
    """The Host step's URL, typed (its own checks only look at this machine: 127.0.0.1, no DNS)."""
    await open_step(pilot, "host")
    await type_field(pilot, "host", ("url",), url)
    assert pilot.app.flow.value("host", ("url",)) == url


async def type_secret(pilot, step: str, path: tuple[str, ...], secret: str) -> None:
    """A secret typed into its password Input (long ones arrive as a terminal paste), then Tab."""
    await tab_to(pilot, fid(step, *path))
    assert pilot.app.focused.password
    await pilot.press("end", "ctrl+u")
    await paste(pilot, secret)
    await pilot.press("tab")
    await pilot.pause()


async def fill_mysql(pilot, host: str, port: int, account, tls: str) -> None:
    """The Database step with the MySQL provider: host, port, user, database and TLS typed (not the password)."""
    await open_step(pilot, "database")
    await choose(pilot, "database", ("provider",), "mysql")
    await type_field(pilot, "database", ("mysql", "host"), host)
    await type_field(pilot, "database", ("mysql", "port"), str(port))
    await type_field(pilot, "database", ("mysql", "user"), account.user)
    await type_field(pilot, "database", ("mysql", "database"), account.database)
    await choose(pilot, "database", ("mysql", "tls"), tls)


def assert_hidden(app, *secrets: str) -> None:
    shown = screen_text(app) + "\n" + panel_text(app)
    for secret in secrets:
        assert secret not in shown


# --- Database (MySQL provider) against MariaDB ------------------------------------------------------------------


async def test_database_wrong_password_then_right_password_on_mariadb(keyring, mariadb: MariaDB):
    account = mariadb.account()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await fill_mysql(pilot, mariadb.host, mariadb.port, account, "required")
        await type_field(pilot, "database", ("mysql", "ca_file"), str(mariadb.certs.ca))
        await type_secret(pilot, "database", ("mysql", "password"), WRONG)
        await checks_settled(pilot)

        # Failing: the login is refused, with its hint; reaching the server and TLS passed before it.
        login = row_with(app, "✗ fail", f"MySQL refused the login of '{account.user}'")
        assert "wrong user name or password" in login
        assert f"→ Check the password; the user must exist for this host, e.g. '{account.user}'@'%'." in login
        assert "✓ ok" in row_with(app, f"{mariadb.host}:{mariadb.port} accepts TCP connections")
        assert not any("W&B requires MySQL 8.0.28" in text for text in rows(app))  # no version without a login
        assert app.flow.status("database") == StepStatus.FAILED
        assert_hidden(app, WRONG)

        # The right password, typed over the wrong one: the checks run again by themselves.
        await type_secret(pilot, "database", ("mysql", "password"), account.password)
        await checks_settled(pilot)
        assert "✓ ok" in row_with(app, f"Logged in as '{account.user}'.")
        assert "✓ ok" in row_with(app, f"{mariadb.host}:{mariadb.port} accepts TCP connections")
        assert "verified certificate" in row_with(app, "✓ ok", "The connection is encrypted")
        assert "✓ ok" in row_with(app, f"The user '{account.user}' has all privileges on `{account.database}`.")
        # MariaDB is not MySQL 8: a real fail path, said in plain words.
        version = row_with(app, "✗ fail", "The server is MariaDB")
        assert "W&B requires MySQL 8.0.28 or newer" in version
        assert not any("refused the login" in text for text in rows(app))  # nothing left of the first run
        assert "checks:" in (app.flow.status_message("database") or "")
        assert_hidden(app, WRONG, account.password)
        await pilot.press("ctrl+q")


async def test_database_on_loopback_fails_and_the_settings_fix_uses_host_docker_internal(keyring, mariadb: MariaDB):
    """127.0.0.1 is the container itself: the check says so before connecting, and its fix edits the host field
    (confirmed first), after which the checks run again against the address the container will use."""
    account = mariadb.account()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await fill_mysql(pilot, "127.0.0.1", mariadb.port, account, "disabled")
        await type_secret(pilot, "database", ("mysql", "password"), account.password)
        await checks_settled(pilot)

        failed = row_with(app, "✗ fail", "MYSQL names 127.0.0.1")
        assert "inside the server container that is the container itself" in failed
        assert not any("Logged in" in text for text in rows(app))  # a login on loopback would prove nothing
        button = app.query_one("#fix-database-reachable")
        assert str(button.label) == "Fix: Use host.docker.internal instead of 127.0.0.1 (Database › host)"
        await tab_to(pilot, "fix-database-reachable")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        dialog = screen_text(app)
        assert "database.mysql.host: 127.0.0.1 -> host.docker.internal" in dialog
        assert "container host entry: host.docker.internal:host-gateway" in dialog
        assert app.flow.value("database", ("mysql", "host")) == "127.0.0.1"  # nothing changed before the answer
        await pilot.press("y")

        await wait_for(pilot, lambda: app.flow.value("database", ("mysql", "host")) == "host.docker.internal",
                       what="the host field edited by the fix")
        assert app.query_one(f"#{fid('database', 'mysql', 'host')}").value == "host.docker.internal"
        await rerun_until(pilot, lambda: any("host.docker.internal is this machine for the container" in text
                                             for text in rows(app)), "the re-run through host.docker.internal")
        assert app.flow.build_config().database.host == "host.docker.internal"
        # What the server gets now includes the host entry that makes the name work inside the container.
        shown = str(app.query_one("#copy-database-server").render())
        assert "host entry host.docker.internal:host-gateway" in shown
        assert "@host.docker.internal:" in shown and account.password not in shown
        await pilot.press("ctrl+q")


# --- Cache (Redis provider) against TLS + ACL Redis --------------------------------------------------------------


async def test_cache_wrong_password_then_right_password_on_tls_redis(keyring, redis_tls: RedisServer):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await open_step(pilot, "cache")
        await choose(pilot, "cache", ("provider",), "redis")
        await type_field(pilot, "cache", ("redis", "host"), redis_tls.host)
        await type_field(pilot, "cache", ("redis", "port"), str(redis_tls.port))
        await type_field(pilot, "cache", ("redis", "user"), redis_tls.user)
        await type_field(pilot, "cache", ("redis", "ca_file"), str(redis_tls.certs.ca))
        assert app.flow.values("cache")["redis"].get("tls", True) is True  # TLS stays on (the default)
        await type_secret(pilot, "cache", ("redis", "password"), WRONG)
        await checks_settled(pilot)

        auth = row_with(app, "✗ fail", f"The server refused the user '{redis_tls.user}'")
        assert "wrong user name or password, or the user is disabled." in auth
        assert ("→ Check the user name and password; for a server with only a password (requirepass), leave the "
                "user name empty.") in auth
        assert not any("PONG" in text or "Logged in" in text for text in rows(app))
        assert app.flow.status("cache") == StepStatus.FAILED
        assert_hidden(app, WRONG)

        await type_secret(pilot, "cache", ("redis", "password"), redis_tls.password)
        await checks_settled(pilot)
        assert "✓ ok" in row_with(app, f"Logged in as the ACL user '{redis_tls.user}'.")
        statuses = {key: result.status for key, result in app.view.checks_panel.results.items()}
        assert statuses["cache.ping"] is Status.PASS and statuses["cache.tls"] is Status.PASS
        assert not any("refused" in text for text in rows(app))
        url = row_with(app, f"redis://{redis_tls.user}:********@{redis_tls.host}:{redis_tls.port}?tls=true")
        assert url.startswith("✓ ok")
        assert app.flow.status("cache") == StepStatus.CHECKED_OK
        assert_hidden(app, WRONG, redis_tls.password)
        await pilot.press("ctrl+q")


# --- Slack: the API unreachable (closed loopback port), then a loopback stand-in ------------------------------


class _SlackAnswer(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slack_stand_in() -> Iterator[str]:
    """Slack's api.test answered on loopback (Slack itself cannot run here, and nothing may leave the machine)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/api.test"
    server.shutdown()
    server.server_close()
    thread.join(5)


async def test_slack_unreachable_api_warns_then_the_stand_in_answers(keyring, slack_stand_in):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.flow.check_extra["slack_api_url"] = f"http://127.0.0.1:{free_port()}/api/api.test"  # nothing listens
        await set_host(pilot, "https://127.0.0.1:8443")
        await open_step(pilot, "slack")
        await type_field(pilot, "slack", ("client_id",), SLACK_CLIENT_ID)
        await type_secret(pilot, "slack", ("secret",), SLACK_SECRET)
        await checks_settled(pilot)

        credentials = row_with(app, "Slack app credentials")
        assert credentials.startswith("✓ ok")
        assert f"W&B will use the client ID {SLACK_CLIENT_ID}" in credentials
        api = row_with(app, "Slack API reachable")
        assert api.startswith("! warn")
        assert "This machine cannot reach Slack's API" in api
        assert "alerts will not leave a server without outbound HTTPS access." in api
        assert "→ Allow outbound HTTPS (port 443) from this server to slack.com" in api
        redirect = row_with(app, "Slack redirect URL")
        assert redirect.startswith("! warn") and "https://127.0.0.1:8443 is a loopback address" in redirect
        assert app.flow.status("slack") == StepStatus.CHECKED_WARN
        assert_hidden(app, SLACK_SECRET)

        # The API answering (a loopback stand-in): ctrl+r runs the checks again and the row passes.
        app.flow.check_extra["slack_api_url"] = slack_stand_in
        await pilot.press("ctrl+r")
        await rerun_until(pilot, lambda: "answered ok" in panel_text(app), "the stand-in's answer")
        api = row_with(app, "Slack API reachable")
        assert api.startswith("✓ ok") and "Slack's API answered ok in" in api and slack_stand_in in api
        assert "cannot reach" not in panel_text(app)
        await pilot.press("ctrl+q")


# --- SSO against the node oidc-provider ------------------------------------------------------------------------


async def test_sso_discovery_passes_and_an_unregistered_callback_names_the_url_to_add(keyring,
                                                                                       oidc_provider: OidcProvider):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        # wandb-pkce is registered for http://127.0.0.1:8080/oidc/callback only: port 8081 is not.
        await set_host(pilot, "http://127.0.0.1:8081")
        await open_step(pilot, "sso")
        await choose(pilot, "sso", ("provider",), "oidc")
        await type_field(pilot, "sso", ("oidc", "issuer"), oidc_provider.issuer)
        await type_field(pilot, "sso", ("oidc", "client_id"), "wandb-pkce")
        await choose(pilot, "sso", ("oidc", "auth_method"), "pkce")
        await checks_settled(pilot)

        discovery = row_with(app, "Discovery document")
        assert discovery.startswith("✓ ok")
        assert f"The discovery document answers at {oidc_provider.issuer}/.well-known/openid-configuration" in discovery
        assert row_with(app, "Issuer matches").startswith("✓ ok")
        callback = row_with(app, "Login request accepted")
        assert callback.startswith("✗ fail")
        assert "The provider does not allow the callback http://127.0.0.1:8081/oidc/callback for client wandb-pkce" \
            in callback
        assert "invalid_redirect_uri" in callback  # the provider's own words
        assert ("→ In your identity provider's settings for client wandb-pkce, add the allowed callback (redirect) "
                "URL http://127.0.0.1:8081/oidc/callback") in callback
        assert app.flow.status("sso") == StepStatus.FAILED

        # The registered address: ctrl+r after changing the Host step, and the callback passes.
        await set_host(pilot, "http://127.0.0.1:8080")
        await open_step(pilot, "sso")
        await pilot.press("ctrl+r")
        await rerun_until(pilot, lambda: any(t.startswith("✓ ok") and "Login request accepted" in t
                                             for t in rows(app)), "the accepted callback")
        assert "with the callback http://127.0.0.1:8080/oidc/callback" in row_with(app, "Login request accepted")
        await pilot.press("ctrl+q")


async def test_editing_a_field_stops_checks_hanging_on_a_silent_issuer(keyring, fault_server, oidc_provider):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await set_host(pilot, "http://127.0.0.1:8080")
        await open_step(pilot, "sso")
        await choose(pilot, "sso", ("provider",), "oidc")
        hang = fault_server.url("hang")  # accepts, never answers
        await type_field(pilot, "sso", ("oidc", "issuer"), hang)
        await type_field(pilot, "sso", ("oidc", "client_id"), "wandb-pkce")
        await choose(pilot, "sso", ("oidc", "auth_method"), "pkce")
        panel = app.view.checks_panel
        await wait_for(pilot, lambda: panel.running and "… running" in panel_text(app), what="the checks to start")
        started = time.monotonic()
        assert widget_text(app, "#checks-note").startswith("Running…")
        await pilot.pause(0.5)  # the requests are out, waiting on the silent server
        assert panel.running

        # An edit (the issuer cleared, keyboard only) stops the run at once, visibly.
        await tab_to(pilot, fid("sso", "oidc", "issuer"))
        await pilot.press("end", "ctrl+u")
        await wait_for(pilot, lambda: not panel.running, what="the cancellation")
        assert widget_text(app, "#checks-note") == ("A value changed: the earlier results were cleared; the checks run "
                                                    "again once the step is valid.")
        kept = dict(panel.results)  # only what had finished before the edit (the quick license row)
        assert set(kept) <= {"sso.license"}, kept

        # The real issuer pasted in: the next run is about it; the hanging run's timeout (5 s) never shows up.
        await paste(pilot, oidc_provider.issuer)
        await pilot.press("tab")
        seen: list[str] = []

        def finished() -> bool:
            seen.extend(rows(app))
            return (not panel.running and app.flow.status("sso") != StepStatus.EDITED
                    and time.monotonic() - started > 6.0)  # past the hanging run's own timeout

        await wait_for(pilot, finished, timeout=CHECKS_TIMEOUT, what="the run about the new issuer")
        port = str(fault_server.ports["hang"])
        stale = [text for text in seen if port in text or "No answer within" in text or "did not answer" in text]
        assert stale == [], stale
        assert set(panel.results) >= {"sso.discovery", "sso.callback"}
        assert row_with(app, "Discovery document").startswith("✓ ok")
        assert oidc_provider.issuer in row_with(app, "Discovery document")
        assert row_with(app, "Login request accepted").startswith("✓ ok")
        await pilot.press("ctrl+q")


# --- Storage (Azure) against Azurite: the CORS fix, confirmed, then passing ------------------------------------


async def test_azure_cors_fails_the_fix_is_confirmed_and_the_rerun_passes(keyring, azurite: Azurite):
    from azure.storage.blob import CorsRule

    # A known start: one rule for another origin (the blob service's CORS rules are shared by the session).
    azurite.blob_service().set_service_properties(cors=[CorsRule(["https://other.example"], ["GET"])])
    container = azurite.unique("wandb-files")
    azurite.blob_service().create_container(container)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        app.flow.check_extra.update(azure_blob_endpoint=azurite.blob_endpoint,
                                    azure_queue_endpoint=azurite.queue_endpoint, storage_event_wait=1.0)
        await set_host(pilot, origin)
        await open_step(pilot, "storage")
        await choose(pilot, "storage", ("provider",), "azure")
        await type_field(pilot, "storage", ("azure", "account"), ACCOUNT)
        await type_field(pilot, "storage", ("azure", "container"), container)
        await type_secret(pilot, "storage", ("azure", "account_key"), KEY)
        await checks_settled(pilot)

        cors = row_with(app, "✗ fail", f"No CORS rule allows the origin {origin}")
        assert "https://other.example" in cors
        button = app.query_one("#fix-storage-cors")
        fix_label = str(button.label)
        assert fix_label == (f"Fix: Add W&B's CORS rule for {origin} to the blob service of {ACCOUNT}, keeping the "
                             "1 existing rule(s).")
        assert app.flow.status("storage") == StepStatus.FAILED
        assert_hidden(app, KEY)

        # Tab to the button, Enter: the dialog shows the exact XML before anything changes.
        await tab_to(pilot, "fix-storage-cors")
        # Scrolled into view, the whole label wrapped over lines at 80 columns: nothing is cut off.
        region = button.region
        lines = screen_text(app).splitlines()[region.y:region.bottom]
        shown = " ".join(" ".join(line[region.x:region.right].split()) for line in lines)
        assert region.height > 1 and shown == fix_label, lines
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        dialog = screen_text(app)
        assert fix_label in dialog  # the dialog's title: the whole description
        assert "These changes will be applied:" in dialog
        assert f"<AllowedOrigins>{origin}</AllowedOrigins>" in dialog
        assert "<AllowedOrigins>https://other.example</AllowedOrigins>" in dialog
        assert "<MaxAgeInSeconds>3600</MaxAgeInSeconds>" in dialog
        origins = [rule.allowed_origins for rule in azurite.blob_service().get_service_properties()["cors"]]
        assert origins == ["https://other.example"]  # nothing applied before the answer
        await pilot.press("y")

        await rerun_until(pilot, lambda: any(t.startswith("✓ ok") and "CORS" in t for t in rows(app)),
                          "the CORS check to pass on the re-run")
        assert not any(f"No CORS rule allows the origin {origin}" in text for text in rows(app))
        assert not app.query("#fix-storage-cors")
        origins = [rule.allowed_origins for rule in azurite.blob_service().get_service_properties()["cors"]]
        assert origin in origins and "https://other.example" in origins
        await pilot.press("ctrl+q")


# --- Checks that yield several results ------------------------------------------------------------------------


async def test_no_row_says_running_once_the_checks_are_done(keyring, redis_tls: RedisServer):
    # The cache check yields cache.reachable, cache.auth, ...: its placeholder row must be taken over, not left behind.
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await open_step(pilot, "cache")
        await choose(pilot, "cache", ("provider",), "redis")
        await type_field(pilot, "cache", ("redis", "host"), redis_tls.host)
        await type_field(pilot, "cache", ("redis", "port"), str(redis_tls.port))
        await type_field(pilot, "cache", ("redis", "user"), redis_tls.user)
        await type_field(pilot, "cache", ("redis", "ca_file"), str(redis_tls.certs.ca))
        await type_secret(pilot, "cache", ("redis", "password"), redis_tls.password)
        await checks_settled(pilot)
        try:
            assert app.flow.status("cache") == StepStatus.CHECKED_OK
            assert not any(text.startswith("… running") for text in rows(app)), rows(app)
            assert len(rows(app)) == len(app.view.checks_panel.results) > 1, rows(app)
        finally:
            await pilot.press("ctrl+q")


async def test_results_about_old_values_are_cleared_at_once_and_an_emptied_license_is_checked(keyring):
    from tests.screens.helpers import license_token

    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await open_step(pilot, "license")
        await type_secret(pilot, "license", ("key",), license_token())
        await checks_settled(pilot)
        assert any(text.startswith("✓ ok") for text in rows(app))
        # A malformed paste: the earlier "✓ ok" must not stay on screen next to the field's error.
        await type_secret(pilot, "license", ("key",), "abc.def")
        assert rows(app) == [] and "earlier results were cleared" in widget_text(app, "#checks-note")
        assert app.flow.status("license") == StepStatus.EDITED
        # Emptied again (an unlicensed server is a valid choice): checked again, not left "edited".
        await tab_to(pilot, fid("license", "key"))
        await pilot.press("end", "ctrl+u", "tab")
        await checks_settled(pilot)
        assert app.flow.status("license") != StepStatus.EDITED
        await pilot.press("ctrl+q")
