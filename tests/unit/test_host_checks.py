"""Host step checks against the real resolver and real sockets of this machine."""

from __future__ import annotations

import socket

import pytest

from wizard.checks import CheckContext, Status, checks_for
from tests.check_runs import collect
from wizard.draft import validate_step
from tests.services.local_process import free_port


def _ctx(url: str, reverse_proxy: bool = False, **server) -> CheckContext:
    host, errors = validate_step("host", {"url": url, "reverse_proxy": reverse_proxy})
    assert not errors
    sections = {"host": host}
    srv, errors = validate_step("server", server)
    assert not errors
    sections["server"] = srv
    return CheckContext(sections, timeout=5)


async def _results(ctx) -> dict[str, object]:
    return {r.id: r for r in await collect(checks_for("host"), ctx)}


async def test_unresolvable_name_fails_with_a_hint():
    results = await _results(_ctx("https://no-such-host.invalid"))
    dns = results["host.dns"]
    assert dns.status is Status.FAIL
    assert "'no-such-host.invalid' does not resolve" in dns.message
    assert "DNS record" in dns.hint


async def test_loopback_name_warns_that_only_this_machine_can_reach_it():
    port = free_port()
    results = await _results(_ctx(f"http://127.0.0.1:{port}", port=port, bind_address="127.0.0.1"))
    assert results["host.dns"].status is Status.WARN
    assert "only this machine" in results["host.dns"].message
    assert results["host.ports"].status is Status.PASS
    assert results["host.port-free"].status is Status.PASS


async def test_address_of_another_machine_warns():
    # 192.0.2.1 (TEST-NET-1) is never assigned to this machine; resolving a literal sends no traffic.
    results = await _results(_ctx("http://192.0.2.1:8080"))
    assert results["host.dns"].status is Status.WARN
    assert "not an address of this machine" in results["host.dns"].message


async def test_own_non_loopback_address_passes():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it picks the outgoing interface address
        own = s.getsockname()[0]
    if own.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    results = await _results(_ctx(f"http://{own}:8080"))
    assert results["host.dns"].status is Status.PASS, results["host.dns"].message


async def test_https_host_needs_a_proxy_in_front():
    results = await _results(_ctx("https://localhost"))
    assert results["host.ports"].status is Status.WARN
    assert "reverse proxy or load balancer" in results["host.ports"].hint


async def test_port_mismatch_warns():
    results = await _results(_ctx("http://localhost:9000", port=8080))
    assert results["host.ports"].status is Status.WARN
    assert "port 9000" in results["host.ports"].message and "8080" in results["host.ports"].message


async def test_http_with_sso_on_a_remote_host_warns():
    sso, errors = validate_step("sso", {"provider": "oidc", "oidc": {"issuer": "https://idp.example.com", "client_id": "c"}})
    assert not errors
    ctx = _ctx("http://192.0.2.1:8080")
    ctx.sections["sso"] = sso
    results = {r.id: r for r in await collect(checks_for("host"), ctx)}
    assert results["host.sso-http"].status is Status.WARN


async def test_port_in_use_is_reported():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        results = await _results(_ctx(f"http://127.0.0.1:{port}", port=port, bind_address="127.0.0.1"))
    assert results["host.port-free"].status is Status.WARN
    assert f"Port {port} on 127.0.0.1 is already in use" in results["host.port-free"].message


async def test_bind_address_not_on_this_machine_fails():
    results = await _results(_ctx("http://localhost:8080", bind_address="192.0.2.1"))
    assert results["host.port-free"].status is Status.FAIL



async def test_tls_at_a_reverse_proxy_is_no_warning():
    # The proxy on another machine (a load balancer): the name resolves there, TLS ends there; both are expected.
    results = await _results(_ctx("https://192.0.2.1", reverse_proxy=True, port=free_port()))
    assert results["host.ports"].status is Status.PASS, results["host.ports"].message
    assert "TLS ends at the reverse proxy in front (port 443)" in results["host.ports"].message
    assert "/ready is fetched through it" in results["host.ports"].message
    assert results["host.dns"].status is Status.PASS
    assert "the reverse proxy or load balancer in front" in results["host.dns"].message
    # Without saying so, the same address warns and the hint says how to say so.
    plain = await _results(_ctx("https://192.0.2.1", port=free_port()))
    assert plain["host.ports"].status is Status.WARN and "Reverse proxy" in plain["host.ports"].hint
    assert plain["host.dns"].status is Status.WARN


async def test_a_reverse_proxy_on_another_port_without_tls_is_no_warning():
    results = await _results(_ctx("http://192.0.2.1", reverse_proxy=True, port=free_port()))
    assert results["host.ports"].status is Status.PASS
    assert results["host.ports"].message.startswith("Requests arrive at the reverse proxy in front (port 80)")
