"""Faults and hostile input, end to end.

- The UI keeps taking keys while a check hangs (the fault server's "hang" port as an OIDC issuer), and the check
  ends with its timeout message.
- Text from outside is shown literally: an IdP's error_description, an S3-compatible store's error Message and a
  container log line carrying Rich markup and ANSI/C1 escape sequences appear as plain characters in the TUI (no
  style, no link applied, no raw control character on screen) and in headless output (no raw ESC/CSI byte on
  stdout or stderr: wizard.text.printable escapes them).

The IdP and the S3-compatible store are a small HTTP server started here; the container is the stand-in image in a
variant whose STANDIN_VERSION (echoed by its entrypoint in its first log line) holds the hostile text, and which
crashes (STANDIN_CRASH=1) so that the launcher shows the last log lines.
"""

from __future__ import annotations

import json
import re
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from rich.text import Text

from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.fault_server import fault_server  # noqa: F401 (fixture)
from tests.cli_runner import run_wizard
from tests.services.local_process import free_port
from tests.services.standin_image import build_standin, standin_server_toml
from tests.services.host_address import machine_address

ROOT = Path(__file__).resolve().parents[2]
PASS = "hostile passphrase"

MARKUP = "[bold red]x[/] [link=https://evil.example/]click[/link]"
ANSI = "\x1b[31mred\x1b[0m \x9b1mcsi\x07"
HOSTILE = f"{MARKUP} {ANSI}"
# What must never reach a terminal raw: C0 controls but \t \n, DEL and C1 controls (ESC, CSI ...).
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ALLOWED_STYLES = {"bold", "underline", "italic"}  # what the wizard itself applies to check and outcome rows


# --- a hostile IdP and S3-compatible store ---------------------------------------------------------------------


class _Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        base = f"http://{machine_address()}:{self.server.server_address[1]}"
        path = urlsplit(self.path).path
        if path.startswith("/idp/.well-known/openid-configuration"):
            doc = {
                "issuer": f"{base}/idp", "authorization_endpoint": f"{base}/idp/authorize",
                "jwks_uri": f"{base}/idp/jwks", "scopes_supported": ["openid", "profile", "email"],
                "response_types_supported": ["code", "id_token", "code id_token"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "implicit"],
            }
            self._send(200, json.dumps(doc).encode(), "application/json")
        elif path == "/idp/jwks":
            self._send(200, b'{"keys": [{"kid": "k1", "kty": "RSA", "n": "AQAB", "e": "AQAB"}]}', "application/json")
        elif path == "/idp/authorize":
            # The provider refuses the login: its error_description is the hostile text (as a real IdP may echo
            # back a client name, a redirect URI or a message an attacker chose).
            location = f"{base}/oidc/callback?error=server_error&error_description={quote(HOSTILE)}"
            self._send(302, b"", "text/plain", {"Location": location})
        else:
            self._s3_error()

    def _s3_error(self) -> None:
        # XML 1.0 cannot carry ESC; C1 controls (CSI U+009B) are allowed characters, so the store sends those.
        message = f"{MARKUP} \u009b31mcsi".replace("&", "&amp;").replace("<", "&lt;")
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>{message}</Message>'
                f"<RequestId>hostile</RequestId></Error>").encode()
        self._send(403, body, "application/xml")

    do_HEAD = do_GET

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._s3_error()

    do_POST = do_PUT
    do_DELETE = do_PUT


@pytest.fixture(scope="module")
def hostile_server():
    server = ThreadingHTTPServer((machine_address(), 0), _Hostile)  # where the server container could reach it
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{machine_address()}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _cli(home: Path, *args: str, env_extra: dict | None = None, timeout: float = 180):
    result = run_wizard(*args, state=home / "state", home=home, passphrase=PASS, timeout=timeout, cwd=home,
                        env_extra={"PYTHONPATH": str(ROOT), **(env_extra or {})})
    return result.returncode, result.stdout, result.stderr


def _assert_plain_output(text: str, what: str) -> None:
    raw = RAW_CONTROL.findall(text.replace("\t", "").replace("\n", ""))
    assert not raw, f"{what}: raw control characters {sorted(set(raw))!r} reach the terminal:\n{text[-3000:]}"


def _assert_literal(widget_text: Text, what: str) -> None:
    """The widget's Text holds the markup as characters and only the wizard's own styles."""
    plain = widget_text.plain
    assert "[bold red]x[/]" in plain and "[link=https://evil.example/]click[/link]" in plain, f"{what}: {plain!r}"
    _assert_plain_output(plain, what)
    for span in widget_text.spans:
        style = str(span.style)
        assert style in ALLOWED_STYLES, f"{what}: a style {style!r} was applied to {plain[span.start:span.end]!r}"


async def _quiet(pilot, panel) -> None:
    """Let the automatic run that the last edit scheduled (AUTO_CHECK_DELAY) start and end first, so that it cannot
    replace the rows of the run started next."""
    from screens.steps.base import AUTO_CHECK_DELAY
    from tests.screens.helpers import wait_for

    await pilot.pause(AUTO_CHECK_DELAY + 0.5)
    await wait_for(pilot, lambda: not panel.running, timeout=30, what="the automatic checks")


async def _show(pilot, widget) -> None:
    """Scroll the step's body so that the widget is on the 80x24 screen (its first line at the top), with the step
    list hidden (ctrl+t) so that each screen line is the body's alone."""
    from screens.widgets.step_list import StepList

    if pilot.app.query_one("#steps", StepList).display:
        await pilot.press("ctrl+t")
    pilot.app.query_one("#body").scroll_to_widget(widget, animate=False, top=True)
    await pilot.pause(0.2)


def _unwrapped(app) -> str:
    """The screen's text with line breaks, spaces and scrollbar glyphs removed (a row may wrap anywhere)."""
    return re.sub(r"[\s▁▂▃▄▅▆▇█▉▊▋▌▍▎▏▐│┃╹╻]", "", _screen_plain(app))


def _screen_plain(app) -> str:
    from tests.screens.helpers import screen_text

    return screen_text(app)


def _assert_screen_unstyled(app) -> None:
    """No segment on screen carries a link, and none of the hostile characters is drawn red."""
    strips = app.screen._compositor.render_strips()
    for strip in strips:
        for segment in strip:
            style = segment.style
            if style is None:
                continue
            assert not style.link, f"a link was rendered: {segment.text!r} -> {style.link}"
            if "click" in segment.text or segment.text.strip() == "x":
                assert not (style.color and style.color.name in ("red", "bright_red")), segment


# --- the UI takes keys while a check hangs ----------------------------------------------------------------------


async def _open_oidc(pilot, client_id: str, issuer: str) -> None:
    """From Welcome: a valid Host, then the SSO step with an OIDC provider, its client ID and issuer typed."""
    from tests.screens.helpers import choose, ready, type_field, wait_for

    app = pilot.app
    await ready(pilot, "welcome")
    app.go_to("host")
    await wait_for(pilot, lambda: app.current_step == "host" and app.view.STEP == "host")
    await type_field(pilot, "host", ("url",), "http://127.0.0.1:8080")
    app.go_to("sso")
    await wait_for(pilot, lambda: app.current_step == "sso" and app.view.STEP == "sso")
    await choose(pilot, "sso", ("provider",), "oidc")
    await type_field(pilot, "sso", ("oidc", "client_id"), client_id)
    await type_field(pilot, "sso", ("oidc", "issuer"), issuer)


async def test_ui_takes_keys_while_a_check_hangs(tui_home, fault_server):  # noqa: F811
    from textual.command import CommandPalette
    from textual.widgets import Input

    from screens.app import WizardApp
    from screens.widgets.step_list import StepList
    from tests.screens.helpers import fid, tab_to, type_field, wait_for

    issuer = fault_server.url("hang")  # accepts the connection, never answers
    app = WizardApp("hang", new=True, keyring_backend="secretservice")
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_oidc(pilot, "wandb-client", issuer)
        panel = app.view.checks_panel
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: panel.running, what="the checks to start")
        started = time.monotonic()

        # While the discovery request hangs: keys move the focus, open and close the help, hide the step list,
        # and typing into a field of the step list's search / another step's field all take effect at once.
        await tab_to(pilot, fid("sso", "oidc", "client_id"))
        assert app.focused.id == fid("sso", "oidc", "client_id") and panel.running
        await pilot.press("f1")
        await wait_for(pilot, lambda: len(app.screen_stack) == 2, timeout=2, what="the help screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, timeout=2, what="the help to close")
        steps = app.query_one("#steps", StepList)
        await pilot.press("ctrl+t")
        assert not steps.display
        await pilot.press("ctrl+t")
        assert steps.display
        await pilot.press("f2")
        assert app.focused is steps
        before = steps.highlighted
        await pilot.press("down")
        assert before is not None and steps.highlighted == before + 1
        assert panel.running, "a key stopped the check"
        assert time.monotonic() - started < 4, "keys were slow: the UI waited for the check"

        # Still within the check: switch to another step and type there; the hanging check is stopped, the keys
        # go where they should.
        await tab_to(pilot, fid("sso", "oidc", "client_id"))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: panel.running, what="the checks to start again")
        app.go_to("slack")
        await wait_for(pilot, lambda: app.current_step == "slack" and app.view.STEP == "slack", timeout=2)
        await type_field(pilot, "slack", ("client_id",), "1234567890.1234567890")
        assert app.flow.value("slack", ("client_id",)) == "1234567890.1234567890"
        assert not panel.running  # leaving the step stopped it (and its hanging request)

        # Back on SSO: the check runs again by itself and ends with its own timeout message.
        app.go_to("sso")
        await wait_for(pilot, lambda: app.current_step == "sso" and app.view.STEP == "sso", timeout=2)
        panel = app.view.checks_panel
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: panel.running, what="the checks to start")
        started = time.monotonic()
        # Typing while it runs: into the command palette's search (typing into a field of this step would stop
        # the check on purpose: a changed value makes its results stale).
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), timeout=2, what="the palette")
        await pilot.press(*list("slack"))
        palette_input = app.screen.query_one(Input)
        assert palette_input.value == "slack" and panel.running
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), timeout=2, what="the palette to close")
        typed_while_running = "wandb-client-2"
        field = app.query_one(f"#{fid('sso', 'oidc', 'client_id')}", Input)
        await tab_to(pilot, field.id)
        assert panel.running and time.monotonic() - started < 4, "keys waited for the hanging check"
        await wait_for(pilot, lambda: panel.results and not panel.running, timeout=30, what="the check's timeout")
        discovery = panel.results["sso.discovery"]
        assert discovery.status.value in ("fail", "error")
        assert "did not answer" in discovery.message or "No answer within" in discovery.message, discovery.message
        assert time.monotonic() - started >= 4, "the check did not wait for its timeout"
        rows = " ".join(str(w.render()) for w in app.query("#check-rows Plain"))
        assert "did not answer" in rows or "No answer within" in rows, rows
        assert app.flow.status("sso").value == "failed"
        # Keys right after the timeout still work (typed into the field).
        await pilot.press("end", *list("-2"))
        assert app.flow.value("sso", ("oidc", "client_id")) == typed_while_running
        await pilot.press("ctrl+q")


# --- outside text shown literally -------------------------------------------------------------------------------


def _sso_answers(home: Path, server: str) -> Path:
    path = home / "sso.toml"
    path.write_text(textwrap.dedent(f"""
        [host]
        url = "http://127.0.0.1:8080"
        [sso]
        provider = "oidc"
        issuer = "http://{server}/idp"
        client_id = "wandb"
        auth_method = "pkce"
        [storage]
        provider = "s3-compatible"
        endpoint = "{server}"
        bucket = "hostile-bucket"
        access_key = "HOSTILEKEY"
        secret_key = "env:T_S3C"
        tls = false
        """).lstrip())
    return path


def test_headless_check_prints_outside_text_literally(tmp_path, hostile_server):
    # --timeout 30: the hostile server answers at once, but under load (a second suite on the other core) the S3
    # client alone took more than the 5 s this test once gave it ("No answer within 5 s": no AccessDenied to show).
    home = tmp_path / "home"
    home.mkdir()
    path = _sso_answers(home, hostile_server)
    code, out, err = _cli(home, "check", "--answers", str(path), "--timeout", "30", env_extra={"T_S3C": "s3c-secret"})
    assert code == 8, out + err
    _assert_plain_output(out + err, "check (text)")
    lines = [line for line in out.splitlines() if "[bold red]x[/]" in line]
    assert any("The provider said: server_error" in line for line in lines), out
    assert any("AccessDenied" in line for line in lines), out  # the store's Message, in the storage checks
    assert "[link=https://evil.example/]click[/link]" in out
    # C1 CSI from the store is shown as a visible escape, not dropped silently nor sent raw.
    assert "\\x9b31mcsi" in out, out
    code, out, err = _cli(home, "check", "--answers", str(path), "--timeout", "30", "--json",
                          env_extra={"T_S3C": "s3c-secret"})
    assert code == 8
    assert not RAW_CONTROL.search(out.replace("\n", "")), "raw control characters in the JSON report"
    report = json.loads(out)
    messages = [r["message"] for step in report["steps"] for r in step["results"]]
    assert any("[bold red]x[/]" in m for m in messages)
    assert any("\\x9b31mcsi" in m for m in messages)  # the visible escape, as in the text report


async def test_tui_shows_outside_text_literally(tui_home, hostile_server):
    from screens.app import WizardApp
    from tests.screens.helpers import choose, type_field, wait_for

    app = WizardApp("hostile", new=True, keyring_backend="secretservice")
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_oidc(pilot, "wandb", f"http://{hostile_server}/idp")  # the IdP's error_description
        await choose(pilot, "sso", ("oidc", "auth_method"), "pkce")
        panel = app.view.checks_panel
        await _quiet(pilot, panel)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "sso.callback" in panel.results and not panel.running, timeout=20,
                       what="the SSO checks")
        callback = panel.results["sso.callback"]
        assert "[bold red]x[/]" in callback.message, callback.message
        rows = [w for w in app.query("#check-rows Plain") if "[bold red]x[/]" in str(w.render())]
        assert rows, "the provider's text is not shown"
        for row in rows:
            _assert_literal(row.render(), "SSO check row")
        await _show(pilot, rows[0])
        assert "[boldred]x[/]" in _unwrapped(app), _screen_plain(app)
        _assert_plain_output(_screen_plain(app), "SSO step screen")
        _assert_screen_unstyled(app)

        # The S3-compatible store's error Message.
        app.go_to("storage")
        await wait_for(pilot, lambda: app.current_step == "storage" and app.view.STEP == "storage")
        await choose(pilot, "storage", ("provider",), "s3-compatible")
        for path, value in ((("s3_compatible", "endpoint"), hostile_server),
                            (("s3_compatible", "bucket"), "hostile-bucket"),
                            (("s3_compatible", "access_key"), "HOSTILEKEY"),
                            (("s3_compatible", "secret_key"), "hostile-secret")):
            await type_field(pilot, "storage", path, value)
        tls = app.query_one("#f-storage-s3_compatible-tls")
        if tls.value:
            tls.focus()
            await pilot.press("space")
        assert app.flow.value("storage", ("s3_compatible", "tls")) is False
        panel = app.view.checks_panel
        await _quiet(pilot, panel)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: panel.results and not panel.running, timeout=30, what="the storage checks")
        hostile = [r for r in panel.results.values() if "[bold red]x[/]" in r.message]
        assert hostile, [r.message for r in panel.results.values()]
        rows = [w for w in app.query("#check-rows Plain") if "[bold red]x[/]" in str(w.render())]
        assert rows
        for row in rows:
            _assert_literal(row.render(), "storage check row")
        await _show(pilot, rows[0])
        assert "[boldred]x[/]" in _unwrapped(app), _screen_plain(app)
        _assert_plain_output(_screen_plain(app), "storage step screen")
        _assert_screen_unstyled(app)
        await pilot.press("ctrl+q")


# --- a container log line ---------------------------------------------------------------------------------------

# Image ENV from `docker import --change`: one value, no spaces (the entrypoint echoes it in its first log line).
LOG_HOSTILE = "\x1b[31m[red]x[/red]\x1b[0m[link=https://evil.example/]click[/link]\x9b1m"


@pytest.fixture
def crashing_standin(docker_client, docker_names):  # noqa: F811
    reference = build_standin(docker_client, variant=f"hostile-{docker_names.tag}",
                              env={"STANDIN_VERSION": LOG_HOSTILE, "STANDIN_CRASH": "1"})
    docker_names.image(reference)
    return reference


def _server_answers(home: Path, names, image_ref: str, port: int) -> Path:
    path = home / "server.toml"
    path.write_text(f'session = "{names("session")}"\n[host]\nurl = "http://127.0.0.1:{port}"\n'
                    + standin_server_toml(names, image_ref, port))
    return path


def _assert_log_literal(text: str, what: str) -> None:
    assert "[red]x[/red]" in text and "[link=https://evil.example/]click[/link]" in text, f"{what}: {text[-2000:]}"
    assert "\\x1b[31m" in text, f"{what}: the ESC is not shown as a visible escape: {text[-2000:]}"
    _assert_plain_output(text, what)


def test_headless_apply_prints_the_container_log_literally(tmp_path, docker_names, crashing_standin):  # noqa: F811
    home = tmp_path / "home"
    home.mkdir()
    path = _server_answers(home, docker_names, crashing_standin, free_port())
    code, out, err = _cli(home, "apply", "--answers", str(path), "--skip-checks", "--ready-timeout", "30")
    assert code == 1, out + err  # the stand-in crashed on purpose
    assert "stand-in told to crash" in err, err
    _assert_log_literal(out + err, "apply output")
    assert "[bold]markup-looking text[/bold] stays literal" in err  # the entrypoint's own markup-looking line


async def test_tui_launch_shows_the_container_log_literally(tui_home, docker_names, crashing_standin):  # noqa: F811
    from textual.widgets import Log

    from screens.app import WizardApp
    from tests.screens.helpers import ready, wait_for
    from wizard.flow import WizardFlow
    from wizard.session import SessionStore

    port = free_port()
    repository, _, tag = crashing_standin.rpartition(":")
    name = docker_names("session")
    flow = WizardFlow.open(name, store=SessionStore())
    flow.set_value("host", ("url",), f"http://127.0.0.1:{port}")
    for key, value in (("image", repository), ("tag", tag), ("container_name", docker_names("server")),
                       ("bind_address", "127.0.0.1"), ("port", port), ("volume", docker_names("data")),
                       ("restart_policy", "no")):
        flow.set_value("server", (key,), value)
    flow.go_to("launch")
    flow.close()

    app = WizardApp(name, keyring_backend="secretservice")
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        if app.current_step != "launch":
            app.go_to("launch")
        await wait_for(pilot, lambda: app.current_step == "launch" and app.view.STEP == "launch")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "action-launch",
                       what="the Launch button")
        await pilot.press("enter")
        view = app.view
        await wait_for(pilot, lambda: view.running is None and str(app.query_one("#launch-outcome").render()),
                       timeout=90, what="the launch to end")
        outcome = app.query_one("#launch-outcome").render()
        assert "stand-in told to crash" in outcome.plain or "exited" in outcome.plain, outcome.plain
        _assert_log_literal(outcome.plain, "launch outcome")
        for span in outcome.spans:
            assert str(span.style) in ALLOWED_STYLES, f"style {span.style!r} on {outcome.plain[span.start:span.end]!r}"
        log = app.query_one("#launch-log", Log)
        lines = "\n".join(log.lines)
        _assert_log_literal(lines, "launch log view")
        assert "[bold]markup-looking text[/bold] stays literal" in lines
        app.query_one("#launch-log").scroll_home(animate=False)
        await pilot.pause()
        _assert_plain_output(_screen_plain(app), "launch screen")
        _assert_screen_unstyled(app)
        await pilot.press("ctrl+q")
