"""Shared HTTP plumbing for live checks.

One way to build an httpx client (explicit timeouts, TLS verified by default, the admin's CA added to the system
ones, redirects never followed silently), to read an answer without letting 10 MB of garbage or a trickling server
stall a check, and to turn a network failure into a plain message and hint. httpx is imported inside the
functions so that importing wizard.* stays light.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

from wizard.checks.engine import CheckContext, CheckResult, Status
from wizard.text import printable

MAX_BODY = 1_000_000  # bytes read from any answer; more is cut off (a discovery document is a few kB)
TEXT_LIMIT = 300  # characters of outside text shown in a message


def truncate(text: str, limit: int = TEXT_LIMIT) -> str:
    """Outside text for a message: one line, control characters shown as visible escapes (as everywhere: see
    wizard.text.printable), cut to `limit` characters."""
    return printable(re.sub(r"\s+", " ", text).strip(), limit)


class Deadline:
    """A time budget shared by the requests of one check, so the check reports its own precise timeout
    before the engine's overall one fires."""

    def __init__(self, seconds: float, margin: float = 0.9):
        self.total = max(0.1, seconds * margin)
        self._end = time.monotonic() + self.total

    def left(self) -> float:
        return max(0.05, self._end - time.monotonic())


@dataclass(frozen=True)
class Reply:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False  # the body was longer than the limit and was cut

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class NetError(Exception):
    """A request that got no HTTP answer. `kind`: dns, refused, unreachable, timeout, tls, protocol, proxy, config,
    other."""

    kind: str
    message: str
    hint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def ssl_context(ctx: CheckContext) -> ssl.SSLContext | bool:
    """False when verification is off; else the system CAs plus the admin's CA file, if any."""
    if ctx.insecure:
        return False
    context = ssl.create_default_context()
    if ctx.ca_file:
        try:
            context.load_verify_locations(cafile=ctx.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise NetError(
                "config", f"The CA file {ctx.ca_file} cannot be used: {getattr(exc, 'strerror', None) or exc}.",
                "Give the path of a readable PEM file holding the CA certificate(s).",
            ) from None
    return context


def client(ctx: CheckContext, timeout: float | None = None):
    """An httpx.AsyncClient for one check: never follows redirects (callers look at them), explicit timeout."""
    import httpx

    from wizard.checks.container_view import server_proxies

    verify = ssl_context(ctx)
    proxies = server_proxies(ctx)  # the server's proxies, not the wizard's shell's (trust_env=False)
    transport = None
    if proxies.by_scheme():
        from wizard.checks.http_transport import ServerProxyTransport

        transport = ServerProxyTransport(proxies, verify)
    return httpx.AsyncClient(
        verify=verify,
        timeout=httpx.Timeout(timeout if timeout is not None else ctx.timeout),
        follow_redirects=False,
        headers={"User-Agent": "wandb-local-setup (configuration check)", "Accept": "application/json, */*;q=0.5"},
        trust_env=False,
        transport=transport,
    )


def insecure_warning(check_id: str, title: str) -> CheckResult:
    return CheckResult(
        check_id, title, Status.WARN,
        "TLS certificate verification is turned off for these checks: a passing result does not prove the "
        "server's certificate is valid.",
        "Give the CA file that signed the server's certificate instead of turning verification off.",
    )


async def fetch(http, url: str, *, timeout: float, params: Mapping[str, str] | None = None,
                limit: int = MAX_BODY, form: Mapping[str, str] | None = None,
                auth: tuple[str, str] | None = None) -> Reply:
    """GET `url` (POST when a `form` is given) and read at most `limit` bytes, all within `timeout` seconds.
    Raises NetError."""
    import httpx

    method = "GET" if form is None else "POST"

    async def run() -> Reply:
        async with http.stream(method, url, params=params, data=form, auth=auth,
                               timeout=httpx.Timeout(timeout)) as response:
            chunks, size, truncated = [], 0, False
            async for chunk in response.aiter_bytes():  # decoded: the limit also bounds a compression bomb
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    truncated = True
                    break
            body = b"".join(chunks)[:limit]
            return Reply(str(response.url), response.status_code, dict(response.headers.items()), body, truncated)

    try:
        return await asyncio.wait_for(run(), timeout)
    except (asyncio.TimeoutError, httpx.TimeoutException):
        raise NetError("timeout", f"{_where(url)} did not answer within {timeout:.1f} s.",
                       "Check that the address is right and that this machine may reach it (firewall, proxy, VPN).") from None
    except httpx.HTTPError as exc:
        raise describe_http_error(exc, url) from None


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or url}" + (f":{parts.port}" if parts.port else "")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


def describe_http_error(exc: BaseException, url: str) -> NetError:
    """A request failure (httpx or OS) as a NetError with a message naming the host and a hint."""
    import httpx

    where, host = _where(url), urlsplit(url).hostname or url
    chain = list(_causes(exc))
    text = " ".join(str(item) for item in chain)
    if isinstance(exc, httpx.ProxyError):  # the server's proxy (wizard.checks.http_transport) is down or refused
        from wizard.checks.container_view import proxy_hint

        return NetError("proxy", f"The proxy the server gets did not carry the request to {where}: "
                                 f"{truncate(str(exc))}.", proxy_hint(host))
    if any(isinstance(item, socket.gaierror) for item in chain) or re.search(
            r"Name or service not known|nodename nor servname|getaddrinfo failed|Temporary failure in name resolution|"
            r"No address associated", text):
        return NetError("dns", f"The name '{host}' does not resolve (DNS lookup failed).",
                        "Check the spelling of the host name, and that this machine's DNS can resolve it.")
    verify = next((item for item in chain if isinstance(item, ssl.SSLCertVerificationError)), None)
    if verify is not None or "CERTIFICATE_VERIFY_FAILED" in text:
        reason = truncate(getattr(verify, "verify_message", "") or "certificate verify failed")
        return NetError("tls", f"{where} presented a TLS certificate this machine does not trust ({reason}).",
                        "If it is signed by a private CA, give that CA file; check that the certificate covers the "
                        "host name and has not expired.")
    if any(isinstance(item, ssl.SSLError) for item in chain):
        ssl_error = next(item for item in chain if isinstance(item, ssl.SSLError))
        return NetError("tls", f"The TLS handshake with {where} failed ({truncate(str(ssl_error))}).",
                        "Check that the port speaks HTTPS (not plain HTTP) and supports TLS 1.2 or newer.")
    if any(isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED
           for item in chain) or "Connection refused" in text:
        return NetError("refused", f"{where} refused the connection: nothing listens on that port.",
                        "Check the host name and port, and that the service is running.")
    if any(getattr(item, "errno", None) in (errno.EHOSTUNREACH, errno.ENETUNREACH) for item in chain):
        return NetError("unreachable", f"{where} cannot be reached from this machine (no route).",
                        "Check the address and this machine's network, firewall or proxy settings.")
    if isinstance(exc, httpx.TimeoutException):
        return NetError("timeout", f"{where} did not answer in time.",
                        "Check that the address is right and that this machine may reach it (firewall, proxy, VPN).")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return NetError("protocol", f"{where} closed the connection without a valid HTTP answer.",
                        "Check the scheme (http:// or https://) and the port: it may speak another protocol.")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return NetError("config", f"'{truncate(url)}' is not a URL that can be requested ({truncate(str(exc))}).",
                        "Use an https:// URL.")
    return NetError("other", f"The request to {where} failed: {truncate(str(exc) or type(exc).__name__)}.",
                    "Check the address and this machine's network settings.")
