"""The Host step's default: the address the administrator reached this machine at, not localhost.

In this order: the server address of this SSH connection (SSH_CONNECTION), this machine's fully qualified name, its
primary address (the source address of its default route). http://localhost:8080 only when none is known, and the
Host step's checks then warn that only this machine can reach the server. The source is said with the default.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping

from wizard.validators import is_ip

PORT = 8080  # the published port's default (Server options)
LAST_RESORT = f"http://localhost:{PORT}"
# Connecting a UDP socket picks the route and the source address the kernel would use; no packet is sent. The
# addresses are documentation ranges (RFC 5737, RFC 3849): any address off this machine would do.
ROUTE_PROBES = ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"))


@dataclass(frozen=True)
class SuggestedHost:
    url: str
    source: str  # where the default came from, as the Host step says it


def _routable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast)


def _url(host: str) -> str:
    return f"http://[{host}]:{PORT}" if ":" in host else f"http://{host}:{PORT}"


def primary_address() -> str | None:
    """This machine's address on its default route (None without one). No packet is sent."""
    for family, probe in ROUTE_PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                address = str(sock.getsockname()[0])
        except OSError:
            continue
        if _routable(address):
            return address
    return None


def _fqdn() -> str:
    return socket.getfqdn()


def suggest(environ: Mapping[str, str] | None = None, fqdn: Callable[[], str] = _fqdn,
            primary: Callable[[], str | None] = primary_address) -> SuggestedHost:
    environ = os.environ if environ is None else environ
    fields = environ.get("SSH_CONNECTION", "").split()
    if len(fields) == 4 and _routable(fields[2]):
        return SuggestedHost(_url(fields[2].split("%", 1)[0]),
                             f"the address your SSH connection reached this machine at ({fields[2]}, SSH_CONNECTION)")
    name = fqdn().strip().rstrip(".").lower()
    if "." in name and not name.startswith("localhost") and not is_ip(name):
        return SuggestedHost(_url(name), f"this machine's fully qualified name ({name})")
    address = primary()
    if address:
        return SuggestedHost(_url(address), f"this machine's primary address ({address}, on its default route)")
    return SuggestedHost(LAST_RESORT, "nothing better: no SSH connection, fully qualified name or default route is "
                                      "known, and only this machine can reach localhost")


@lru_cache(maxsize=1)
def suggested() -> SuggestedHost:
    """The default for this process (asked once: the name lookup can take a moment)."""
    return suggest()


def default_url() -> str:
    return suggested().url
