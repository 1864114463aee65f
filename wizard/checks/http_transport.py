"""The checks' httpx transport: each request goes through the server's proxy for its scheme, or direct, decided
host by host with the server's rules (`Proxies.proxy_for`: NO_PROXY names, ports and CIDR ranges, loopback never
proxied), which httpx's mount patterns cannot express. Imported only when a check makes an HTTP client."""

from __future__ import annotations

import ssl

import httpx

from wizard.checks.container_view import Proxies, shown_proxy


class ServerProxyTransport(httpx.AsyncBaseTransport):
    def __init__(self, proxies: Proxies, verify: ssl.SSLContext | bool) -> None:
        self._proxies = proxies
        self._direct = httpx.AsyncHTTPTransport(verify=verify)
        self._via = {url: httpx.AsyncHTTPTransport(verify=verify, proxy=url)
                     for url in set(proxies.by_scheme().values())}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self._proxies.proxy_for(str(request.url))
        if proxy is None:
            return await self._direct.handle_async_request(request)
        try:
            return await self._via[proxy].handle_async_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # the proxy itself (it dials the host)
            raise httpx.ProxyError(f"{shown_proxy(proxy)} could not be reached ({exc})", request=request) from exc

    async def aclose(self) -> None:
        for transport in (self._direct, *self._via.values()):
            await transport.aclose()
