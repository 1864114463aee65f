"""Checks of the Server options step: the proxy the server container gets, compared with this machine's.

An admin behind a forward proxy has HTTPS_PROXY in the shell, so whatever the wizard fetches works; the container
gets nothing from that shell. The check says so and offers the shell's settings, with this machine and the
services the server reaches inside the network (an S3-compatible store, the instance metadata service) added to
NO_PROXY. (MySQL and Redis are not HTTP: a proxy setting does not apply to them.)
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from wizard.checks.container_view import Proxies, server_proxies
from wizard.checks.engine import CheckContext, CheckResult, FixAction, Status, register
from wizard.container import HOST_ALIAS, Endpoint

TITLE = "Proxy for the server"
ALWAYS_DIRECT = ("localhost", "127.0.0.1", "::1", HOST_ALIAS)


def _shell_proxies() -> dict[str, str]:
    found = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        value = os.environ.get(name) or os.environ.get(name.lower())
        if value:
            found[name] = value.strip()
    return found


def _without_credentials(url: str) -> tuple[str, bool]:
    """(scheme://host[:port], whether the URL held a user name or password)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}", "@" in parts.netloc


def internal_endpoints(ctx: CheckContext) -> list[Endpoint]:
    """The services inside the network the server speaks HTTP to (an S3-compatible store, the EC2 instance metadata
    service that gives the instance role's credentials)."""
    return list({(endpoint.host, endpoint.port): endpoint for endpoint in ctx.container("storage").endpoints}.values())


def suggested_no_proxy(current: str, internal: list[str]) -> str:
    """NO_PROXY with this machine and the server's own services added (those not listed already). Go never proxies
    loopback, but the image's other programs read NO_PROXY literally: this machine's names are listed too."""
    entries = [item.strip() for item in current.split(",") if item.strip()]
    for host in (*ALWAYS_DIRECT, *internal):
        if not Proxies(no_proxy=tuple(entries)).listed(host):
            entries.append(host)
    return ",".join(entries)


@register("server", "server.proxy", TITLE)
async def check_proxy(ctx: CheckContext):
    server = ctx.section("server")
    if server is None:
        yield CheckResult("server.proxy", TITLE, Status.SKIPPED, "The settings are not complete yet.")
        return
    shell = _shell_proxies()
    given = server_proxies(ctx)
    internal = internal_endpoints(ctx)
    if given.by_scheme():
        proxied = list(dict.fromkeys(e.host for e in internal if not given.bypassed(e.host, e.port)))
        if proxied:
            wanted = suggested_no_proxy(",".join(given.no_proxy), proxied)
            yield CheckResult(
                "server.proxy", TITLE, Status.WARN,
                f"The server sends its requests to {', '.join(proxied)} through the proxy too (not in NO_PROXY).",
                "Add the hosts of services inside your network to No proxy for, or the proxy must reach them.",
                FixAction(f"Add {', '.join(proxied)} to No proxy for", f"server.no_proxy: {wanted}",
                          edits=(("server", ("no_proxy",), wanted),)),
            )
            return
        shown = ", ".join(f"{name.upper()}_PROXY={url}" for name, url in given.by_scheme().items())
        yield CheckResult("server.proxy", TITLE, Status.PASS, f"The server gets {shown} (NO_PROXY="
                          f"{','.join(given.no_proxy) or 'none'}); the checks use the same proxy.")
        return
    if not (shell.get("HTTP_PROXY") or shell.get("HTTPS_PROXY")):
        yield CheckResult("server.proxy", TITLE, Status.PASS,
                          "No proxy: the server and the checks connect directly.")
        return
    names = " and ".join(name for name in ("HTTP_PROXY", "HTTPS_PROXY") if shell.get(name))
    cleaned = {name: _without_credentials(shell[name]) for name in ("HTTP_PROXY", "HTTPS_PROXY") if shell.get(name)}
    if any(has_credentials for _, has_credentials in cleaned.values()):
        shown = ", ".join(f"{name}={url}" for name, (url, _) in cleaned.items())
        yield CheckResult(
            "server.proxy", TITLE, Status.WARN,
            f"This shell uses a proxy that needs a password ({shown}, credentials not shown), but the server "
            "container gets none: it would try to reach the internet directly.",
            "The wizard does not keep proxy passwords (they would sit in the session file in clear): admit this "
            "machine at the proxy by its address and enter the proxy here without credentials.",
        )
        return
    http, https = (cleaned[name][0] if name in cleaned else None for name in ("HTTP_PROXY", "HTTPS_PROXY"))
    no_proxy = suggested_no_proxy(shell.get("NO_PROXY", ""), [endpoint.host for endpoint in internal])
    edits = tuple((("server", (field,), value)) for field, value in
                  (("http_proxy", http), ("https_proxy", https), ("no_proxy", no_proxy)) if value)
    changes = "\n".join(f"server.{path[0]}: {value}" for _, path, value in edits)
    yield CheckResult(
        "server.proxy", TITLE, Status.WARN,
        f"This shell uses a proxy ({names}), but the server container gets none: it would try to reach the "
        "internet (license checks, SSO, cloud storage) directly. The checks connect directly too, as the server "
        "will.",
        "If this network needs the proxy, give it to the server (the fix copies this shell's settings, with the "
        "server's own services added to NO_PROXY).",
        FixAction("Give the server this shell's proxy settings", changes, edits=edits),
    )
