"""The proxy the server gets is the proxy the checks use: never the one in the wizard's shell.

A real forward proxy (Squid) on loopback says what went through it; the Slack API stand-in of the Slack tests
answers behind it, on this machine's address (Go never proxies loopback). The storage SDKs:
tests/integration/test_storage_sdk_proxies.py.
"""

from __future__ import annotations

import pytest

from tests.integration.test_checks_slack import _ctx, _run, slack_stand_in  # noqa: F401 (fixture)
from tests.services.forward_proxy import forward_proxy, squid  # noqa: F401 (fixtures)
from tests.services.host_address import machine_address
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
                                      no_proxy=f"localhost,{machine_address()}"))
    assert results["slack.api"].status is Status.PASS and forward_proxy.requests() == []


async def test_a_proxy_the_server_gets_but_that_is_down_fails_the_check(slack_stand_in):  # noqa: F811
    dead = f"http://127.0.0.1:{closed_port()}"
    results = await _run(_with_server(_ctx(slack_api_url=slack_stand_in), http_proxy=dead))
    api = results["slack.api"]
    assert api.status is not Status.PASS
    assert "The proxy the server gets" in api.message and dead in api.message, api  # not "the host refused"


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


@pytest.mark.parametrize("host, port, entries, bypassed", [
    # The rules of golang.org/x/net/http/httpproxy, which the server's net/http uses.
    ("db.corp.test", 443, (".corp.test",), True),
    ("corp.test", 443, (".corp.test",), False),  # a leading dot: subdomains only
    ("corp.test", 443, ("corp.test",), True),  # a name: itself and its subdomains
    ("db.corp.test", 443, ("corp.test",), True),
    ("db.corp.test", 443, ("*.corp.test",), True),
    ("corp.test", 443, ("*.corp.test",), False),
    ("evilcorp.test", 443, ("corp.test",), False),
    ("minio.corp.test", 9000, ("minio.corp.test:9000",), True),  # an entry with a port: that port only
    ("minio.corp.test", 443, ("minio.corp.test:9000",), False),
    ("10.1.2.3", 80, ("10.1.2.3",), True),
    ("10.1.2.3", 80, ("10.1.2.3:8080",), False),
    ("10.1.2.3", 443, ("10.0.0.0/8",), True),
    ("10.1.2.3", 443, ("192.168.0.0/16",), False),
    ("fd00::5", 443, ("fd00::/8",), True),
    ("[fd00::5]", 9000, ("[fd00::5]:9000",), True),
    ("DB.Corp.Test", 443, (" .corp.test ",), True),
    ("anything", 443, ("*",), True),
    ("localhost", 80, (), True),  # never proxied, whatever NO_PROXY says
    ("127.0.0.2", 80, (), True),
    ("::1", 443, (), True),
    ("api.slack.com", 443, ("localhost",), False),
])
def test_no_proxy_matching(host, port, entries, bypassed):
    assert Proxies(https="http://p:3128", no_proxy=entries).bypassed(host, port) is bypassed


async def test_a_store_inside_the_network_sent_through_the_proxy_is_named_with_the_fix():
    server, _ = validate_step("server", {"https_proxy": "http://proxy.corp.test:3128", "no_proxy": "localhost"})
    storage, _ = validate_step("storage", {"provider": "s3-compatible", "s3_compatible": {
        "endpoint": "minio.corp.test:9000", "bucket": "wandb", "access_key": "minio"}},
        {"storage.s3_compatible.secret_key": "k"})
    result, = await collect(checks_for("server"), CheckContext({"server": server, "storage": storage}))
    assert result.status is Status.WARN and "minio.corp.test through the proxy" in result.message
    assert result.fix.edits == (("server", ("no_proxy",), "localhost,127.0.0.1,::1,host.docker.internal,"
                                                          "minio.corp.test"),)


def test_the_sdks_get_the_servers_proxy_per_url_and_grpc_never_the_shells():
    proxies = Proxies(http="http://p:3128", https="http://p:3129", no_proxy=(".corp.test", "minio.lan:9000"))
    assert proxies.for_requests("https://storage.googleapis.com", "https://db.corp.test", "http://[fd00::1]:8080",
                                "http://minio.lan:9000") == {
        "https://storage.googleapis.com": "http://p:3129", "http://fd00::1": "http://p:3128"}  # the bare host
    assert proxies.for_url("https://sqs.us-east-1.amazonaws.com") == {"https": "http://p:3129"}
    assert proxies.for_url("http://minio.lan:9001") == {"http": "http://p:3128"}
    assert proxies.for_url("http://minio.lan:9000") == proxies.for_url("http://db.corp.test:9000") == {}
    assert proxies.grpc_options("pubsub.googleapis.com") == [("grpc.http_proxy", "http://p:3129")]  # https, as grpc-go
    assert proxies.grpc_options("pubsub.corp.test") == [("grpc.enable_http_proxy", 0)]
    assert Proxies(http="http://p:3128").grpc_options("pubsub.googleapis.com") == [("grpc.enable_http_proxy", 0)]
