"""The server container's view of the network: which address a name the server uses leads to, seen from there.

Checks run on this machine, the server in its container. They differ in three ways that break real installs:
- 127.0.0.0/8, ::1 and localhost are the container itself, not this machine;
- `host.docker.internal` exists only through the container's host entry (`host-gateway`: the Docker bridge's
  address on this machine, e.g. 172.17.0.1), and a service bound to 127.0.0.1 only is not reachable there;
- names from this machine's /etc/hosts are not in the container's (Docker writes its own).
`route()` turns the host a setting names into the address to dial from here so that the connection goes where the
container's would, or a CheckResult saying why the container cannot get there (with the fix, where it is safe).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status
from wizard.container import HOST_ALIAS, HOST_GATEWAY, Endpoint
from wizard.steps import step_title
from wizard.validators import is_ip, is_loopback_host

DEFAULT_GATEWAY = "172.17.0.1"  # Docker's default bridge address, when the engine cannot be asked
HOSTS_FILE = "/etc/hosts"


@dataclass(frozen=True)
class Route:
    host: str  # the name the server uses
    address: str  # where this machine connects to reach what the container reaches
    how: str  # how the container gets there, in words (for the results)


class Unreachable(Exception):
    """The container cannot reach the endpoint as configured: `result` says why and how to fix it."""

    def __init__(self, result: CheckResult):
        super().__init__(result.message)
        self.result = result


def _interface_ipv4(name: str) -> str | None:
    """The IPv4 address of a network interface of this machine (Linux), or None."""
    import fcntl
    import socket
    import struct

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
    except OSError:
        return None
    return socket.inet_ntoa(packed[20:24])


def _gateway_from_engine() -> str | None:
    """The default bridge's gateway: from its IPAM settings, else the address of its interface (docker0)."""
    import docker

    try:
        client = docker.from_env(timeout=3)
        try:
            attrs = client.networks.get("bridge").attrs
        finally:
            client.close()
    except Exception:  # no engine, no permission: fall back to Docker's default
        return None
    configured = next((item["Gateway"] for item in (attrs.get("IPAM") or {}).get("Config") or []
                       if item.get("Gateway")), None)
    interface = (attrs.get("Options") or {}).get("com.docker.network.bridge.name", "docker0")
    return configured or _interface_ipv4(interface)


async def host_gateway(ctx: CheckContext) -> tuple[str, str]:
    """(address, source) of `host-gateway` for the container: the bridge's gateway as Docker Engine reports it."""
    cached = ctx.extra.get("host_gateway")
    if cached:
        return cached
    address = await asyncio.to_thread(_gateway_from_engine)
    found = (address, "the Docker bridge's gateway") if address else (
        DEFAULT_GATEWAY, "Docker's default bridge address (Docker Engine did not answer)")
    ctx.extra["host_gateway"] = found
    return found


def names_in_hosts_file(path: str = HOSTS_FILE) -> set[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(1 << 20).splitlines()
    except OSError:
        return set()
    names: set[str] = set()
    for line in lines:
        fields = line.split("#", 1)[0].split()
        names.update(name.lower() for name in fields[1:])
    return names


def _loopback_result(result_id: str, title: str, endpoint: Endpoint) -> CheckResult:
    step, _, rest = endpoint.setting.partition(".")
    path = tuple(rest.split("."))
    where = f"{endpoint.host}:{endpoint.port}"
    message = (f"{endpoint.variable} names {endpoint.host}: inside the server container that is the container "
               "itself, not this machine, so the server would find nothing at " + where + ".")
    if endpoint.browser:
        hint = ("Use an address that both the users' browsers and the server container reach, such as this "
                "machine's name or IP address on the network (and make the service listen there).")
        return CheckResult(result_id, title, Status.FAIL, message, hint)
    hint = (f"If the service runs on this machine, use {HOST_ALIAS}: the wizard gives the container a host entry "
            f"for it ({HOST_ALIAS}:{HOST_GATEWAY}, the Docker bridge address of this machine). The service must "
            "also listen on the Docker bridge address, not only on 127.0.0.1 (e.g. bind-address = 0.0.0.0 or the "
            "bridge address, and allow the container's subnet in its firewall and user grants).")
    fix = FixAction(f"Use {HOST_ALIAS} instead of {endpoint.host} ({step_title(step)} › host)",
                    f"{endpoint.setting}: {endpoint.host} -> {HOST_ALIAS}\n"
                    f"container host entry: {HOST_ALIAS}:{HOST_GATEWAY}",
                    edits=((step, path, HOST_ALIAS),))
    return CheckResult(result_id, title, Status.FAIL, message, hint, fix)


def _refuse_hosts_file_name(ctx: CheckContext, host: str, result_id: str, title: str, who: str, hint: str) -> None:
    """A name only this machine's hosts file gives: the server (`who` ...) could not resolve it."""
    if host.lower() in names_in_hosts_file(ctx.extra.get("hosts_file", HOSTS_FILE)):
        raise Unreachable(CheckResult(
            result_id, title, Status.FAIL,
            f"'{host}' is a name from this machine's {HOSTS_FILE}, which {who}: the server could not resolve it.",
            hint,
        ))


def _pod_route(ctx: CheckContext, endpoint: Endpoint, result_id: str, title: str) -> Route:
    """The same rules for the pods of W&B's Kubernetes operator: no Docker host entry, nor this machine's hosts
    file, and a pod's loopback is the pod. What is left is checked from here, which is not a pod: said so."""
    host = endpoint.host
    where = f"{host}:{endpoint.port}"
    if is_loopback_host(host.strip("[]")):
        raise Unreachable(CheckResult(
            result_id, title, Status.FAIL,
            f"{endpoint.variable} names {host}: inside a pod that is the pod itself, so the server would find "
            f"nothing at {where}.",
            "Use an address or DNS name the pods reach: the service's Kubernetes Service name, or its address on "
            "the network.",
        ))
    if host.lower() == HOST_ALIAS:
        raise Unreachable(CheckResult(
            result_id, title, Status.FAIL,
            f"{endpoint.variable} names {HOST_ALIAS}, Docker's name for the Docker host: pods cannot resolve it.",
            "Use the address or DNS name of the machine the service runs on, as the pods reach it.",
        ))
    _refuse_hosts_file_name(ctx, host, result_id, title, "the pods do not see",
                            "Use the service's IP address, or a name in DNS (or a Kubernetes Service name) the pods "
                            "resolve.")
    if is_ip(host.strip("[]")):
        return Route(host, host.strip("[]"), f"{host} is an IP address (checked from this machine: the pods must "
                                             "reach it too)")
    return Route(host, host, f"{host} resolves through DNS here; the pods use the cluster's DNS, which must resolve "
                             "it too")


async def route(ctx: CheckContext, step: str, variable: str, result_id: str, title: str) -> Route:
    """Where to connect for the endpoint behind `variable` of `step`, as the container (or a pod) will. Raises
    Unreachable."""
    inputs = ctx.container(step)
    endpoint = next((item for item in inputs.endpoints if item.variable == variable), None)
    if endpoint is None:
        raise LookupError(f"{step} gives the container no {variable} endpoint")
    if ctx.in_pods:
        return _pod_route(ctx, endpoint, result_id, title)
    host = endpoint.host
    if is_loopback_host(host.strip("[]")):
        raise Unreachable(_loopback_result(result_id, title, endpoint))
    entry = inputs.host_entry(host)
    if entry is not None and endpoint.browser:
        raise Unreachable(CheckResult(
            result_id, title, Status.FAIL,
            f"{endpoint.variable} names {host}, which exists only inside the server container, but the users' "
            "browsers reach this address too (signed upload and download URLs, sign-in redirects).",
            "Use an address that both the browsers and the server container reach: this machine's name or IP "
            "address on the network.",
        ))
    if entry is not None:
        if entry.address == HOST_GATEWAY:
            address, source = await host_gateway(ctx)
            return Route(host, address, f"{host} is this machine for the container ({HOST_GATEWAY}: {address}, "
                                        f"{source})")
        return Route(host, entry.address, f"{host} is {entry.address} (the container's host entry)")
    if is_ip(host.strip("[]")):
        return Route(host, host.strip("[]"), f"{host} is an IP address")
    _refuse_hosts_file_name(ctx, host, result_id, title, "the server container does not see (Docker writes the "
                            "container's own hosts file)",
                            "Use the service's IP address, or a name in DNS that the container can resolve.")
    return Route(host, host, f"{host} resolves through DNS, as in the container (Docker gives it this machine's "
                             "DNS servers)")


DEFAULT_PORTS = {"http": 80, "https": 443}


def shown_proxy(url: str) -> str:
    """A proxy URL for a message: scheme://host:port, without a user name or password."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def proxy_hint(what: str) -> str:
    """What to do when the server's proxy did not carry a request to `what` (a host, or "this store")."""
    return ("Check that the proxy runs and that its address on the Server options step is right; if the server "
            f"reaches {what} directly, add it to No proxy for.")


def _no_proxy_entry_matches(entry: str, host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
                            port: int) -> bool:
    """One NO_PROXY entry against host:port, as golang.org/x/net/http/httpproxy reads it: `*`; a CIDR range; an IP
    address; `name` (the name and its subdomains); `.name` or `*.name` (subdomains only); each with an optional
    `:port`."""
    item = entry.strip().lower()
    if not item:
        return False
    if item == "*":
        return True
    if "/" in item:
        try:
            return ip is not None and ip in ipaddress.ip_network(item, strict=False)
        except ValueError:
            return False
    name, wanted_port = item, ""
    if item.startswith("[") and "]:" in item:
        name, _, wanted_port = item[1:].partition("]:")
    elif item.count(":") == 1:
        name, _, wanted_port = item.partition(":")
    name = name.strip("[]")
    if not name or (wanted_port and wanted_port != str(port)):
        return False
    try:
        entry_ip = ipaddress.ip_address(name)
    except ValueError:
        entry_ip = None
    if entry_ip is not None:
        return ip == entry_ip
    if name.startswith("*."):
        name = name[1:]
    if name.startswith("."):
        return host.endswith(name)
    return host == name or host.endswith("." + name)


@dataclass(frozen=True)
class Proxies:
    """The forward proxies the server container gets (HTTP_PROXY, HTTPS_PROXY, NO_PROXY): every client of the checks
    (httpx, botocore, requests, azure-core, gRPC) uses these, never the proxy settings of the shell the wizard runs in,
    and decides host by host as the server (Go's net/http) does."""

    http: str | None = None
    https: str | None = None
    no_proxy: tuple[str, ...] = ()

    def by_scheme(self) -> dict[str, str]:
        return {scheme: url for scheme, url in (("http", self.http), ("https", self.https)) if url}

    def listed(self, host: str, port: int | None = None) -> bool:
        """Whether a NO_PROXY entry names host[:port] (port None: an entry with a port does not count)."""
        host = host.strip("[]").lower()
        try:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        return any(_no_proxy_entry_matches(entry, host, ip, port if port is not None else -1)
                   for entry in self.no_proxy)

    def bypassed(self, host: str, port: int | None = None) -> bool:
        """Whether the server reaches host[:port] directly: Go never proxies localhost or a loopback address, and
        skips the proxy for what NO_PROXY lists."""
        bare = host.strip("[]").lower()
        try:
            loopback = ipaddress.ip_address(bare).is_loopback
        except ValueError:
            loopback = bare == "localhost"
        return loopback or self.listed(bare, port)

    def proxy_for(self, url: str) -> str | None:
        """The proxy the server uses for `url`, or None (direct)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        proxy = self.by_scheme().get(scheme)
        if proxy is None or self.bypassed(parts.hostname or "", parts.port or DEFAULT_PORTS.get(scheme)):
            return None
        return proxy

    def for_url(self, url: str) -> dict[str, str]:
        """botocore's `proxies` for a client whose endpoint is `url` ({}: direct, and no environment proxies)."""
        proxy = self.proxy_for(url)
        return {urlsplit(url).scheme.lower(): proxy} if proxy else {}

    def for_requests(self, *urls: str) -> dict[str, str]:
        """A `proxies` mapping for requests (and azure-core) with trust_env off: exactly these URLs' hosts go through
        the server's proxy ("scheme://host" keys); every other host goes direct."""
        found = {}
        for url in urls:
            proxy = self.proxy_for(url)
            if proxy:
                parts = urlsplit(url)
                found[f"{parts.scheme.lower()}://{parts.hostname}"] = proxy
        return found

    def failure(self, exc: BaseException) -> str | None:
        """The proxy (as `shown_proxy` writes it) if `exc` is a failure to reach it or to pass through it, else None.
        Recognised by the SDKs' proxy error types (requests, urllib3, httpx: ProxyError; botocore:
        ProxyConnectionError), in the chain of causes, or by the proxy's address in the error (gRPC names the address
        it could not reach)."""
        proxies = list(dict.fromkeys(self.by_scheme().values()))
        if not proxies:
            return None
        seen: set[int] = set()
        item: BaseException | None = exc
        while item is not None and id(item) not in seen:
            seen.add(id(item))
            text = str(item)
            for proxy in proxies:
                parts = urlsplit(proxy)
                if f"{parts.hostname}:{parts.port or 80}" in text:
                    return shown_proxy(proxy)
            if type(item).__name__ in ("ProxyError", "ProxyConnectionError"):
                return shown_proxy(self.https or proxies[0])
            item = item.__cause__ or item.__context__ or getattr(item, "inner_exception", None)  # azure-core's
        return None

    def grpc_options(self, host: str, port: int = 443) -> list[tuple[str, str | int]]:
        """gRPC channel options: the server's HTTPS proxy for host:port (grpc-go looks a target up as an https URL),
        or no proxy at all (grpc would otherwise take grpc_proxy, https_proxy or http_proxy from the shell). The shell's
        no_proxy is kept out by `wizard.cli.pin_grpc_proxy_choice`."""
        proxy = None if self.bypassed(host, port) else self.https
        return [("grpc.http_proxy", proxy)] if proxy else [("grpc.enable_http_proxy", 0)]


def server_proxies(ctx: CheckContext) -> Proxies:
    env = ctx.container("server").environment()
    entries = tuple(item.strip() for item in (env.get("NO_PROXY") or "").split(",") if item.strip())
    return Proxies(env.get("HTTP_PROXY"), env.get("HTTPS_PROXY"), entries)


def unreachable_hint(route_: Route, port: int) -> str:
    """What to say when the route's address refuses or drops the connection."""
    if route_.host.lower() == HOST_ALIAS:
        return (f"The service must listen on {route_.address}, the Docker bridge address of this machine (not only "
                f"on 127.0.0.1), on port {port}; check also that no firewall drops traffic from the containers' "
                "subnet.")
    return "Check the address and port, that the service runs, and that the container's network may reach it."


async def reach(ctx: CheckContext, step: str, variable: str, section, result_id: str, title: str,
                timeout: float):
    """Route to the section's host:port as the container will and open a TCP connection there.

    Returns (the section to connect with: its host replaced by the routed address where they differ, the passing
    result). Raises Unreachable with the failing result."""
    from wizard.checks.tcp import reachable, where

    found = await route(ctx, step, variable, result_id, title)
    place = where(found.address, section.port)
    error = await reachable(found.address, section.port, timeout)
    if error:
        hint = unreachable_hint(found, section.port) if error.kind in ("refused", "timeout") else error.hint
        raise Unreachable(CheckResult(result_id, title, Status.FAIL, f"{error.message} ({found.how}.)", hint))
    dial = section if found.address == section.host else section.model_copy(update={"host": found.address})
    return dial, CheckResult(result_id, title, Status.PASS,
                             f"{place} accepts TCP connections, as the server container will connect: {found.how}.")
