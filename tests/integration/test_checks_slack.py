"""Slack step checks: credentials, redirect URL, and reaching Slack's API (closed port, a local stand-in, the real
address with this machine's network, whatever it allows)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.services.host_address import machine_address
from tests.services.local_process import free_port
from wizard.checks import CheckContext, Status
from wizard.providers import slack as slack_checks
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step

CLIENT_ID = "1234567890.9876543210"
SECRET = "0123456789abcdef0123456789abcdef"  # canary: must never appear in a result


def _ctx(host_url: str = "https://wandb.example.com", enabled: bool = True, timeout: float = 2.0,
         **extra) -> CheckContext:
    slack, errors = validate_step("slack", {"client_id": CLIENT_ID} if enabled else {},
                                  {"slack.secret": SECRET} if enabled else {})
    assert not errors, errors
    host, errors = validate_step("host", {"url": host_url})
    assert not errors, errors
    return CheckContext({"slack": slack, "host": host}, timeout=timeout, extra=extra)


async def _run(ctx: CheckContext) -> dict[str, object]:
    results = await collect(checks_for("slack"), ctx)
    for result in results:
        assert SECRET not in result.message and SECRET not in result.hint
    return {result.id: result for result in results}


class _Answer(BaseHTTPRequestHandler):
    body = b'{"ok": true}'
    status = 200

    def do_GET(self):  # http.server's name
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slack_stand_in(request) -> Iterator[str]:
    """A hand-written stand-in for Slack's api.test on this machine's address (Slack cannot run here). Param: (status, body)."""
    status, body = getattr(request, "param", (200, b'{"ok": true}'))
    handler = type("Handler", (_Answer,), {"status": status, "body": body})
    host = machine_address()  # not loopback, which Go's net/http never sends through a proxy
    server = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{host}:{server.server_address[1]}/api/api.test"
    server.shutdown()
    server.server_close()
    thread.join(5)


async def test_slack_off_skips_every_check():
    results = await _run(_ctx(enabled=False))
    assert {r.status for r in results.values()} == {Status.SKIPPED}
    assert len(results) == 3


async def test_credentials_report_what_will_be_used():
    credentials = (await _run(_ctx(slack_api_url=f"http://127.0.0.1:{free_port()}/")))["slack.credentials"]
    assert credentials.status is Status.PASS
    assert CLIENT_ID in credentials.message


@pytest.mark.parametrize("client_id, secret, words", [
    ("12345", SECRET, "not a Slack client ID"),
    (CLIENT_ID, "not-hex", "32 hexadecimal characters"),
    (CLIENT_ID, "", "give both"),
])
def test_malformed_credentials_are_rejected_by_the_model(client_id, secret, words):
    section, errors = validate_step("slack", {"client_id": client_id}, {"slack.secret": secret} if secret else {})
    assert section is None
    assert any(words in error.message for error in errors), errors
    assert all(SECRET not in error.message for error in errors)


async def test_redirect_url_is_the_exact_host():
    redirect = (await _run(_ctx("https://wandb.example.com/", slack_api_url=f"http://127.0.0.1:{free_port()}/")))[
        "slack.redirect"]
    assert redirect.status is Status.PASS
    assert "https://wandb.example.com " in redirect.message + " "
    assert redirect.hint.endswith("Add: https://wandb.example.com")


@pytest.mark.parametrize("url, words", [
    ("http://wandb.example.com:8080", "accepts only https://"),
    ("https://localhost", "loopback address"),
])
async def test_redirect_url_that_slack_or_users_cannot_use_warns(url, words):
    redirect = (await _run(_ctx(url, slack_api_url=f"http://127.0.0.1:{free_port()}/")))["slack.redirect"]
    assert redirect.status is Status.WARN
    assert words in redirect.message


async def test_unreachable_api_warns_within_the_timeout():
    started = time.monotonic()
    api = (await _run(_ctx(slack_api_url=f"http://127.0.0.1:{free_port()}/api/api.test")))["slack.api"]
    assert api.status is Status.WARN
    assert "alerts will not leave a server without outbound HTTPS access" in api.message
    assert "outbound HTTPS" in api.hint
    assert time.monotonic() - started < 1


async def test_silent_api_endpoint_warns_within_the_bound():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        api = (await _run(_ctx(timeout=1.5, slack_api_url=f"http://127.0.0.1:{silent.getsockname()[1]}/")))["slack.api"]
        elapsed = time.monotonic() - started
    assert api.status is Status.WARN and "did not answer" in api.message
    assert elapsed < 1.5


async def test_insecure_mode_says_verification_is_off(slack_stand_in):
    ctx = _ctx(slack_api_url=slack_stand_in)
    ctx.insecure = True
    results = await _run(ctx)
    assert results["slack.api-verify"].status is Status.WARN
    assert results["slack.api"].status is Status.PASS


async def test_reachable_api_stand_in_passes(slack_stand_in):
    api = (await _run(_ctx(slack_api_url=slack_stand_in)))["slack.api"]
    assert api.status is Status.PASS, api.message
    assert "answered ok" in api.message


@pytest.mark.parametrize("slack_stand_in", [(403, b"<html>Blocked by proxy</html>")], indirect=True)
async def test_api_stand_in_answering_like_a_proxy_warns(slack_stand_in):
    api = (await _run(_ctx(slack_api_url=slack_stand_in)))["slack.api"]
    assert api.status is Status.WARN
    assert "HTTP 403" in api.message and "Blocked by proxy" in api.message


async def test_real_slack_address_gives_a_verdict_within_the_bound():
    # Whatever this machine's network allows (often no internet here): a verdict, never a hang or an error.
    started = time.monotonic()
    api = (await _run(_ctx(timeout=5.0)))["slack.api"]
    assert api.status in (Status.PASS, Status.WARN), api.message
    assert time.monotonic() - started < slack_checks.API_TIMEOUT + 0.5
    assert slack_checks.SLACK_API_TEST_URL == "https://slack.com/api/api.test"
