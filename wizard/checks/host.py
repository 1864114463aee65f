"""Checks of the Host step: the name resolves to this machine, ports line up, the published port is free."""

from __future__ import annotations

import asyncio
import errno
import socket
from urllib.parse import urlsplit

from wizard.checks.engine import CheckContext, CheckResult, Status, register
from wizard.validators import is_loopback_host


def _host_and_port(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return parts.hostname or "", parts.port or (443 if scheme == "https" else 80), scheme


def _is_local_address(address: str) -> bool:
    """True when this machine owns `address` (the kernel lets us bind to it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


@register("host", "host.dns", "Name resolves to this machine")
async def check_dns(ctx: CheckContext):
    if ctx.in_pods:
        yield CheckResult("host.dns", "Name resolves to this machine", Status.SKIPPED,
                          "Kubernetes: the name must resolve to the cluster's ingress or load balancer, which this "
                          "machine cannot tell.", "Point the DNS record at the ingress the operator sets up.")
        return
    host_cfg = ctx.section("host")
    name, _, _ = _host_and_port(host_cfg.url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        yield CheckResult(
            "host.dns", "Name resolves to this machine", Status.FAIL,
            f"'{name}' does not resolve ({exc.strerror or exc}).",
            "Create a DNS record (A/AAAA) for it pointing at this server, or use this server's IP address.",
        )
        return
    addresses = sorted({str(info[4][0]) for info in infos})
    local = [a for a in addresses if _is_local_address(a)]
    shown = ", ".join(addresses)
    if local:
        status, message, hint = Status.PASS, f"'{name}' resolves to {shown}, an address of this machine.", ""
        if is_loopback_host(name) or all(a.startswith("127.") or a == "::1" for a in local):
            status = Status.WARN
            message = f"'{name}' is a loopback address ({shown}): only this machine can reach the server."
            hint = "Use the name or IP address users will open, e.g. https://wandb.example.com."
    elif host_cfg.reverse_proxy:
        status, hint = Status.PASS, ""
        message = f"'{name}' resolves to {shown}: the reverse proxy or load balancer in front, not this machine."
    else:
        status = Status.WARN
        message = f"'{name}' resolves to {shown}, which is not an address of this machine."
        hint = ("That is fine behind a load balancer or reverse proxy that forwards to this server; otherwise "
                "users will not reach W&B: point the DNS record at this server.")
    yield CheckResult("host.dns", "Name resolves to this machine", status, message, hint)


@register("host", "host.ports", "Port and scheme line up")
async def check_ports(ctx: CheckContext):
    host_cfg, server, sso = ctx.section("host"), ctx.section("server"), ctx.section("sso")
    name, url_port, scheme = _host_and_port(host_cfg.url)
    published = server.port if server else 8080
    results = []
    if ctx.in_pods:
        results.append(CheckResult(
            "host.ports", "Port and scheme line up", Status.SKIPPED,
            f"Kubernetes: the operator's ingress serves {host_cfg.url}; no port of this machine is published.",
        ))
    elif host_cfg.reverse_proxy and (scheme == "https" or url_port != published):
        ends = "TLS ends" if scheme == "https" else "Requests arrive"
        results.append(CheckResult(
            "host.ports", "Port and scheme line up", Status.PASS,
            f"{ends} at the reverse proxy in front (port {url_port}), which forwards to http://<this server>:"
            f"{published}. Its configuration is above; after launch, {host_cfg.url}/ready is fetched through it.",
        ))
    elif scheme == "https":
        results.append(CheckResult(
            "host.ports", "Port and scheme line up", Status.WARN,
            f"The server speaks plain HTTP on port {published}; {host_cfg.url} needs TLS on port {url_port}.",
            f"Put a reverse proxy or load balancer in front that terminates TLS on {url_port} and forwards to "
            f"http://<this server>:{published}, and say so (Reverse proxy): the wizard then gives its configuration.",
        ))
    elif url_port != published:
        results.append(CheckResult(
            "host.ports", "Port and scheme line up", Status.WARN,
            f"The URL uses port {url_port} but the container is published on port {published}.",
            f"Publish on port {url_port} (Server options), or forward {url_port} to {published} with a reverse proxy "
            "(and say so: Reverse proxy).",
        ))
    else:
        results.append(CheckResult(
            "host.ports", "Port and scheme line up", Status.PASS,
            f"The URL's port {url_port} is the published port.",
        ))
    if scheme == "http" and sso is not None and getattr(sso, "provider", "none") != "none" and not is_loopback_host(name):
        results.append(CheckResult(
            "host.sso-http", "SSO over HTTPS", Status.WARN,
            "SSO is configured but the server URL uses http:// on a non-loopback address.",
            "Identity providers reject http:// callback URLs for non-local hosts: serve W&B over https://.",
        ))
    for result in results:
        yield result


@register("host", "host.port-free", "Published port is free")
async def check_port_free(ctx: CheckContext):
    if ctx.in_pods:
        yield CheckResult("host.port-free", "Published port is free", Status.SKIPPED,
                          "Kubernetes: the server publishes no port on this machine.")
        return
    server = ctx.section("server")
    address, port = (server.bind_address, server.port) if server else ("0.0.0.0", 8080)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                yield CheckResult(
                    "host.port-free", "Published port is free", Status.WARN,
                    f"Port {port} on {address} is already in use.",
                    "If an earlier wandb-local container holds it, the Launch step will replace it; otherwise stop "
                    "the program using it (ss -ltnp 'sport = :%d') or choose another port in Server options." % port,
                )
            else:
                yield CheckResult(
                    "host.port-free", "Published port is free", Status.FAIL,
                    f"Cannot use {address}:{port}: {exc.strerror or exc}.",
                    "Choose an address of this machine (0.0.0.0 for all) in Server options.",
                )
            return
    yield CheckResult("host.port-free", "Published port is free", Status.PASS, f"Port {port} on {address} is free.")
