"""The checks connect where the server container will: loopback is refused with the fix, host.docker.internal is
routed to the Docker bridge's gateway (read from the real Docker Engine), and a name only this machine's hosts file
knows is refused. The settings fix offered for loopback is a settings edit, not a change to a service."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from tests.services.docker_engine import docker_client, docker_engine  # noqa: F401 (fixtures)
from tests.services.host_address import machine_address
from tests.services.local_process import free_port
from wizard.checks import CheckContext, Status
from wizard.checks.container_view import host_gateway
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.container import HOST_ALIAS
from wizard.draft import validate_step

TIMEOUT = 3.0


def _sections(**steps) -> dict:
    sections = {}
    for step, (provider, values, secrets) in steps.items():
        section, errors = validate_step(step, {"provider": provider, provider: values}, secrets)
        assert not errors, errors
        sections[step] = section
    return sections


async def _results(step: str, ctx: CheckContext) -> dict:
    return {result.id: result for result in await collect(checks_for(step), ctx)}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.1.1", "::1"])
async def test_loopback_mysql_fails_and_offers_host_docker_internal(host):
    ctx = CheckContext(_sections(database=("mysql", {"host": host, "tls": "disabled"},
                                           {"database.mysql.password": "pw"})), timeout=TIMEOUT)
    results = await _results("database", ctx)
    reachable = results["database.reachable"]
    assert reachable.status is Status.FAIL
    assert "inside the server container that is the container itself" in reachable.message
    assert "listen on the Docker bridge address" in reachable.hint
    assert reachable.fix is not None and reachable.fix.apply is None
    assert reachable.fix.edits == (("database", ("mysql", "host"), HOST_ALIAS),)
    assert f"{HOST_ALIAS}:host-gateway" in reachable.fix.changes
    assert set(results) == {"database.reachable"}  # nothing else is judged on an address the server cannot use


async def test_loopback_redis_fails_with_the_same_fix():
    ctx = CheckContext(_sections(cache=("redis", {"host": "127.0.0.1", "tls": False}, {})), timeout=TIMEOUT)
    reachable = (await _results("cache", ctx))["cache.reachable"]
    assert reachable.status is Status.FAIL and reachable.fix.edits == (("cache", ("redis", "host"), HOST_ALIAS),)


async def test_host_docker_internal_goes_to_the_bridge_gateway(docker_engine):  # noqa: F811
    ctx = CheckContext({}, timeout=TIMEOUT)
    gateway, source = await host_gateway(ctx)
    bridge = docker_engine.client.networks.get("bridge").attrs
    subnet = ipaddress.ip_network(bridge["IPAM"]["Config"][0]["Subnet"])
    assert ipaddress.ip_address(gateway) in subnet and source == "the Docker bridge's gateway"
    assert bridge["IPAM"]["Config"][0].get("Gateway", gateway) == gateway

    with socket.socket() as listener:  # a service that listens on the bridge address, as an admin must make it
        listener.bind((gateway, 0))
        listener.listen()
        port = listener.getsockname()[1]
        ctx = CheckContext(_sections(cache=("redis", {"host": HOST_ALIAS, "port": port, "tls": False}, {})),
                           timeout=TIMEOUT)
        reachable = (await _results("cache", ctx))["cache.reachable"]
    assert reachable.status is Status.PASS, reachable
    assert f"{gateway}:{port} accepts TCP connections" in reachable.message
    assert f"{HOST_ALIAS} is this machine for the container (host-gateway: {gateway}" in reachable.message


async def test_a_service_only_on_loopback_is_not_reachable_through_host_docker_internal(docker_engine):  # noqa: F811
    with socket.socket() as listener:  # bound to 127.0.0.1 only: what most default configurations do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ctx = CheckContext(_sections(database=("mysql", {"host": HOST_ALIAS, "port": port, "tls": "disabled"},
                                               {"database.mysql.password": "pw"})), timeout=TIMEOUT)
        reachable = (await _results("database", ctx))["database.reachable"]
    gateway, _ = await host_gateway(ctx)
    assert reachable.status is Status.FAIL
    assert f"must listen on {gateway}, the Docker bridge address of this machine" in reachable.hint


async def test_a_name_from_this_machines_hosts_file_is_refused(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{machine_address()} db.internal.test  # added by hand\n")
    ctx = CheckContext(_sections(database=("mysql", {"host": "db.internal.test", "port": free_port(),
                                                     "tls": "disabled"}, {"database.mysql.password": "pw"})),
                       timeout=TIMEOUT, extra={"hosts_file": str(hosts)})
    reachable = (await _results("database", ctx))["database.reachable"]
    assert reachable.status is Status.FAIL
    assert "which the server container does not see" in reachable.message and reachable.fix is None


async def test_an_address_of_this_machine_is_reached_directly():
    with socket.socket() as listener:
        listener.bind((machine_address(), 0))
        listener.listen()
        port = listener.getsockname()[1]
        ctx = CheckContext(_sections(cache=("redis", {"host": machine_address(), "port": port, "tls": False}, {})),
                           timeout=TIMEOUT)
        reachable = (await _results("cache", ctx))["cache.reachable"]
    assert reachable.status is Status.PASS and f"{machine_address()} is an IP address" in reachable.message


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:9/realms/wandb", "http://localhost:9", "https://[::1]:9"])
async def test_an_issuer_on_loopback_fails_before_any_request(issuer):
    sso, errors = validate_step("sso", {"provider": "oidc", "oidc": {"issuer": issuer, "client_id": "wandb"}})
    assert not errors, errors
    results = await _results("sso", CheckContext({"sso": sso}, timeout=TIMEOUT))
    discovery = results["sso.discovery"]
    assert discovery.status is Status.FAIL and discovery.fix is None  # no address fits both browsers and container
    assert "inside the server container that is the container itself" in discovery.message
    assert "browsers" in discovery.hint
