"""This machine's own network address (not loopback, not a Docker bridge): where the tests' services listen too.

The server container cannot reach a service bound to 127.0.0.1 only (127.0.0.1 is the container itself), so the
wizard's checks refuse loopback addresses. The tests' MySQL, Redis and TLS services therefore also listen on this
machine's interface address, which the checks (and a container on the default bridge) reach as a real admin's
would. Traffic to it stays on this machine.
"""

from __future__ import annotations

import functools
import ipaddress
import subprocess

from tests.services import unavailable

SERVICE = "this machine's network address"
BRIDGE_PREFIXES = ("docker", "br-", "veth", "virbr", "lo")


@functools.lru_cache(maxsize=1)
def machine_address() -> str:
    """The first global IPv4 address of an interface that is not a bridge (e.g. eth0's)."""
    try:
        listing = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True,
                                 text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        unavailable(SERVICE, f"`ip addr` failed ({exc}): apt install iproute2")
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 4 and not fields[1].startswith(BRIDGE_PREFIXES):
            address = fields[3].split("/")[0]
            if not ipaddress.ip_address(address).is_loopback:
                return address
    unavailable(SERVICE, "no interface has a global IPv4 address besides loopback and Docker bridges")
    raise AssertionError("unreachable")
