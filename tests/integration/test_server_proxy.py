"""The proxy the server gets is the proxy the checks use: never the one in the wizard's shell.

A small forward proxy on loopback (HTTP absolute-form requests, the real proxy protocol for http:// URLs) counts
what goes through it; the Slack API stand-in of the Slack tests answers behind it. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.test_checks_slack import _ctx, _run, slack_stand_in  # noqa: F401 (fixture)
from tests.services.local_process import closed_port
from wizard.checks import CheckContext, Status
from wizard.checks.container_view import Proxies
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step
from wizard.render import section_inputs


class _Proxy(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self):  # http.server's name: a proxied request names the whole URL
        self.seen.append(self.path)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.path, timeout=5) as upstream:
            body = upstream.read()
            self.send_response(upstream.status)
            self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def forward_proxy() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Proxy,), {"seen": seen}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join(5)


def _with_server(ctx: CheckContext, **fields) -> CheckContext:
    server, errors = validate_step("server", fields)
    assert not errors, errors
    return CheckContext({**ctx.sections, "server": server}, timeout=ctx.timeout, extra=ctx.extra)


async def test_the_shells_proxy_is_not_used_by_the_checks(slack_stand_in, monkeypatch):  # noqa: F811
    # A proxy in the admin's shell that goes nowhere: the server would not get it, so the checks ignore it too.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    results = await _run(_with_server(_ctx(slack_api_url=slack_stand_in)))
    assert results["slack.api"].status is Status.PASS, results["slack.api"]


async def test_the_servers_proxy_carries_the_checks(slack_stand_in, forward_proxy):  # noqa: F811
    proxy, seen = forward_proxy
    results = await _run(_with_server(_ctx(slack_api_url=slack_stand_in), http_proxy=proxy))
    assert results["slack.api"].status is Status.PASS, results["slack.api"]
    assert seen == [slack_stand_in]  # the request went through the server's proxy


async def test_no_proxy_sends_a_host_direct(slack_stand_in, forward_proxy):  # noqa: F811
    proxy, seen = forward_proxy
    results = await _run(_with_server(_ctx(slack_api_url=slack_stand_in), http_proxy=proxy,
                                      no_proxy="localhost,127.0.0.1"))
    assert results["slack.api"].status is Status.PASS and seen == []


async def test_a_proxy_the_server_gets_but_that_is_down_fails_the_check(slack_stand_in):  # noqa: F811
    results = await _run(_with_server(_ctx(slack_api_url=slack_stand_in),
                                      http_proxy=f"http://127.0.0.1:{closed_port()}"))
    assert results["slack.api"].status is not Status.PASS


async def test_the_shells_proxy_is_offered_to_the_server(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", ".corp.test")
    server, _ = validate_step("server", {})
    storage, _ = validate_step("storage", {"provider": "s3-compatible", "s3_compatible": {
        "endpoint": "10.1.2.3:9000", "bucket": "wandb", "access_key": "minio"}}, {"storage.s3_compatible.secret_key": "k"})
    result, = await collect(checks_for("server"), CheckContext({"server": server, "storage": storage}))
    assert result.status is Status.WARN and "the server container gets none" in result.message
    assert result.fix.edits == (
        ("server", ("https_proxy",), "http://proxy.corp.test:3128"),
        ("server", ("no_proxy",), ".corp.test,localhost,127.0.0.1,::1,host.docker.internal,10.1.2.3"),
    )
    # Applied, the server gets them in both spellings; the check passes.
    server, errors = validate_step("server", {"https_proxy": "http://proxy.corp.test:3128",
                                              "no_proxy": result.fix.edits[1][2]})
    assert not errors
    env = section_inputs(server).environment()
    assert env["HTTPS_PROXY"] == env["https_proxy"] == "http://proxy.corp.test:3128"
    assert env["NO_PROXY"].endswith(",10.1.2.3")
    result, = await collect(checks_for("server"), CheckContext({"server": server, "storage": storage}))
    assert result.status is Status.PASS


async def test_a_shell_proxy_with_a_password_is_named_without_it(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://user:canary-proxy-pw@proxy.corp.test:3128")
    server, _ = validate_step("server", {})
    result, = await collect(checks_for("server"), CheckContext({"server": server}))
    assert result.status is Status.WARN and result.fix is None
    assert "canary-proxy-pw" not in result.message + result.hint and "proxy.corp.test:3128" in result.message


@pytest.mark.parametrize("host, entries, bypassed", [
    ("db.corp.test", (".corp.test",), True),
    ("corp.test", (".corp.test",), True),
    ("evilcorp.test", ("corp.test",), False),
    ("10.1.2.3", ("10.0.0.0/8",), True),
    ("10.1.2.3", ("192.168.0.0/16",), False),
    ("anything", ("*",), True),
    ("api.slack.com", ("localhost",), False),
])
def test_no_proxy_matching(host, entries, bypassed):
    assert Proxies(https="http://p:3128", no_proxy=entries).bypassed(host) is bypassed


async def test_a_store_inside_the_network_sent_through_the_proxy_is_named_with_the_fix():
    server, _ = validate_step("server", {"https_proxy": "http://proxy.corp.test:3128", "no_proxy": "localhost"})
    storage, _ = validate_step("storage", {"provider": "s3-compatible", "s3_compatible": {
        "endpoint": "minio.corp.test:9000", "bucket": "wandb", "access_key": "minio"}},
        {"storage.s3_compatible.secret_key": "k"})
    result, = await collect(checks_for("server"), CheckContext({"server": server, "storage": storage}))
    assert result.status is Status.WARN and "minio.corp.test through the proxy" in result.message
    assert result.fix.edits == (("server", ("no_proxy",), "localhost,127.0.0.1,::1,host.docker.internal,"
                                                          "minio.corp.test"),)
