"""The proxy the server gets is the proxy the checks use: never the one in the wizard's shell.

A real forward proxy (tinyproxy) on loopback says what went through it; the Slack API stand-in of the Slack tests
answers behind it. Everything stays on 127.0.0.1. The storage SDKs: tests/integration/test_storage_sdk_proxies.py.
"""

from __future__ import annotations

import pytest

from tests.integration.test_checks_slack import _ctx, _run, slack_stand_in  # noqa: F401 (fixture)
from tests.services.forward_proxy import forward_proxy  # noqa: F401 (fixture)
from tests.services.local_process import closed_port
from wizard.checks import CheckContext, Status
from wizard.checks.container_view import Proxies
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.draft import validate_step
from wizard.render import section_inputs


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
    results = await _run(_with_server(_ctx(slack_api_url=slack_stand_in), http_proxy=forward_proxy.url))
    assert results["slack.api"].status is Status.PASS, results["slack.api"]
    assert [url for _, url in forward_proxy.requests()] == [slack_stand_in]  # it went through the server's proxy


async def test_no_proxy_sends_a_host_direct(slack_stand_in, forward_proxy):  # noqa: F811
    results = await _run(_with_server(_ctx(slack_api_url=slack_stand_in), http_proxy=forward_proxy.url,
                                      no_proxy="localhost,127.0.0.1"))
    assert results["slack.api"].status is Status.PASS and forward_proxy.requests() == []


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


def test_the_sdks_get_the_servers_proxies_per_host_and_grpc_never_the_shells():
    proxies = Proxies(http="http://p:3128", https="http://p:3129", no_proxy=(".corp.test",))
    assert proxies.for_requests("storage.googleapis.com", "db.corp.test", "[fd00::1]") == {
        "http://storage.googleapis.com": "http://p:3128", "https://storage.googleapis.com": "http://p:3129",
        "http://fd00::1": "http://p:3128", "https://fd00::1": "http://p:3129"}  # requests matches the bare host
    assert proxies.grpc_options("pubsub.googleapis.com") == [("grpc.http_proxy", "http://p:3129")]  # https, as grpc-go
    assert proxies.grpc_options("pubsub.corp.test") == [("grpc.enable_http_proxy", 0)]
    assert Proxies(http="http://p:3128").grpc_options("pubsub.googleapis.com") == [("grpc.enable_http_proxy", 0)]
