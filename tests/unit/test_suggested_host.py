"""The Host step's default: the address the admin reached this machine at (issue: the default HOST was localhost)."""

from __future__ import annotations

import socket

import pytest

from wizard import config as c
from wizard.suggested_host import LAST_RESORT, primary_address, suggest


def no_name() -> str:
    return "localhost"


def no_route() -> str | None:
    return None


def test_the_ssh_connections_server_address_comes_first():
    found = suggest({"SSH_CONNECTION": "198.51.100.7 50022 10.20.30.40 22"}, fqdn=lambda: "wandb.example.com")
    assert found.url == "http://10.20.30.40:8080"
    assert "SSH connection" in found.source and "10.20.30.40" in found.source


def test_an_ipv6_ssh_address_is_bracketed():
    found = suggest({"SSH_CONNECTION": "2001:db8::7 50022 2001:db8::5 22"}, fqdn=no_name, primary=no_route)
    assert found.url == "http://[2001:db8::5]:8080"


@pytest.mark.parametrize("server", ["127.0.0.1", "::1", "fe80::1%eth0"])
def test_ssh_to_a_loopback_or_link_local_address_is_not_the_default(server):
    # `ssh localhost` or a tunnel: users would not reach that address, so the machine's name comes next.
    found = suggest({"SSH_CONNECTION": f"127.0.0.1 50022 {server} 22"}, fqdn=lambda: "gpu-7.lab.example.com.")
    assert found.url == "http://gpu-7.lab.example.com:8080"
    assert "fully qualified name" in found.source


@pytest.mark.parametrize("name", ["localhost", "vm", "localhost.localdomain", "192.0.2.9"])
def test_a_name_that_is_not_a_real_fqdn_gives_way_to_the_primary_address(name):
    found = suggest({}, fqdn=lambda: name, primary=lambda: "192.0.2.44")
    assert found.url == "http://192.0.2.44:8080"
    assert "primary address" in found.source and "192.0.2.44" in found.source


def test_localhost_only_when_nothing_else_is_known_and_it_says_so():
    found = suggest({"SSH_CONNECTION": "garbage"}, fqdn=no_name, primary=no_route)
    assert found.url == LAST_RESORT
    assert "only this machine can reach localhost" in found.source


def test_the_primary_address_is_one_of_this_machines():
    address = primary_address()
    assert address is not None, "this machine has a default route (the test machines do)"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((address, 0))  # only an address of this machine can be bound
    assert not address.startswith("127.")


def test_the_configuration_and_the_form_use_it(ssh_connection):
    from wizard.flow import step_fields

    assert c.InstallConfig().host.url == "http://203.0.113.5:8080"
    assert c.HostConfig.model_validate({}).url == "http://203.0.113.5:8080"
    url = next(spec for spec in step_fields("host") if spec.name == "url")
    assert url.default == "http://203.0.113.5:8080"
