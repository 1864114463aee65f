"""A reverse proxy in front of the server (Host step, "Reverse proxy"): ready-to-paste nginx and Caddy configurations.

The server speaks plain HTTP on its published port; users open HOST. What W&B needs from the proxy in between:
- the Host header as the user sent it and X-Forwarded-Proto/-Host/-For (the server builds redirects and links from
  them; a wrong X-Forwarded-Proto gives an https -> http -> https redirect loop);
- websockets (Upgrade/Connection) for the live pages;
- no limit on the request body and no request buffering (artifacts and media are uploaded through the server);
- long read and send timeouts (large downloads and uploads, long-running API calls).
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from wizard import validators as v
from wizard.container import local_address
from wizard.instructions import Instruction

TIMEOUT = "600s"
CERT = "/etc/ssl/certs/{name}.crt"  # where the admin's certificate (full chain) and key usually go
KEY = "/etc/ssl/private/{name}.key"


def upstream(bind_address: str, port: int) -> str:
    """Where a proxy on this machine reaches the server: loopback when it is published on all interfaces."""
    address = local_address(bind_address)
    return f"[{address.strip('[]')}]:{port}" if ":" in address.strip("[]") else f"{address}:{port}"


def _site(host_url: str) -> tuple[str, str, int]:
    parts = urlsplit(host_url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "localhost", parts.port or (443 if scheme == "https" else 80)


def nginx(host_url: str, to: str) -> str:
    scheme, name, port = _site(host_url)
    tls = scheme == "https"
    lines = [
        f"# W&B Local behind nginx: {host_url} -> http://{to}",
        "# In /etc/nginx/conf.d/wandb.conf (inside http {}), then: nginx -t && systemctl reload nginx",
        "map $http_upgrade $connection_upgrade {",
        "    default upgrade;",
        "    ''      close;",
        "}",
        "",
    ]
    if tls and port == 443:
        lines += [
            "server {",
            "    listen 80;",
            f"    server_name {name};",
            "    return 301 https://$host$request_uri;",
            "}",
            "",
        ]
    lines += [
        "server {",
        f"    listen {port}{' ssl' if tls else ''};",
        f"    server_name {name};",
    ]
    if tls:
        lines += [
            f"    ssl_certificate     {CERT.format(name=name)};  # the full chain",
            f"    ssl_certificate_key {KEY.format(name=name)};",
        ]
    lines += [
        "",
        "    client_max_body_size 0;       # artifacts and media: no upload limit",
        "    proxy_request_buffering off;  # stream uploads to the server",
        "    proxy_buffering off;",
        f"    proxy_read_timeout {TIMEOUT};",
        f"    proxy_send_timeout {TIMEOUT};",
        "",
        "    location / {",
        f"        proxy_pass http://{to};",
        "        proxy_http_version 1.1;",
        "        proxy_set_header Host $http_host;",
        "        proxy_set_header X-Forwarded-Host $http_host;",
        "        proxy_set_header X-Forwarded-Proto $scheme;",
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "        proxy_set_header X-Real-IP $remote_addr;",
        "        proxy_set_header Upgrade $http_upgrade;",
        "        proxy_set_header Connection $connection_upgrade;",
        "    }",
        "}",
    ]
    return "\n".join(lines)


def caddy(host_url: str, to: str) -> str:
    scheme, name, port = _site(host_url)
    tls = scheme == "https"
    site = name if tls and port == 443 else f"{scheme}://{name}:{port}"
    lines = [
        f"# W&B Local behind Caddy: {host_url} -> http://{to}",
        "# In /etc/caddy/Caddyfile, then: caddy validate --config /etc/caddy/Caddyfile && systemctl reload caddy",
        "# (Caddy sends Host and X-Forwarded-*, passes websockets and sets no body limit by itself.)",
        f"{site} {{",
    ]
    if tls:
        lines += ["\t# your certificate (full chain) and key; for a public name, drop the line: Caddy gets one",
                  f"\ttls {CERT.format(name=name)} {KEY.format(name=name)}"]
    lines += [  # indented with tabs, as `caddy fmt` writes it
        f"\treverse_proxy {to} {{",
        "\t\tflush_interval -1",
        "\t\ttransport http {",
        f"\t\t\tread_timeout {TIMEOUT}",
        f"\t\t\twrite_timeout {TIMEOUT}",
        "\t\t}",
        "\t}",
        "}",
    ]
    return "\n".join(lines)


def instructions(values: Mapping[str, Mapping[str, Any]]) -> list[Instruction]:
    """The Host step's texts to paste, when a reverse proxy is in front (none before the URL is valid)."""
    host = values.get("host") or {}
    if not host.get("reverse_proxy"):
        return []
    try:
        url = v.server_url(str(host.get("url") or "").strip())
    except ValueError:
        return []
    server = values.get("server") or {}
    to = upstream(str(server.get("bind_address") or "0.0.0.0"), _port(server.get("port")))
    where = f"It forwards to http://{to}, the published port (a proxy on another machine: use this machine's address)."
    return [
        Instruction("host.nginx", "nginx site (reverse proxy)", nginx(url, to), note=where),
        Instruction("host.caddy", "Caddyfile (reverse proxy)", caddy(url, to), note=where),
    ]


def _port(value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return 8080
    return port if 1 <= port <= 65535 else 8080
