"""Once the server is ready: liveness, whether HOST answers from this machine, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.checks.engine import CheckResult, Status
from wizard.launcher.spec import LaunchSpec
from wizard.launcher.watch import http_status, ready_url


@dataclass(frozen=True)
class AfterReady:
    healthz: CheckResult
    host: CheckResult
    next_steps: tuple[str, ...]


def next_steps(host_url: str) -> tuple[str, ...]:
    host = host_url.rstrip("/")
    return (
        f"Open {host} in a browser and create the first (admin) account.",
        f"Add the license and review the settings at {host}/system-admin.",
        f"Connect clients: `wandb login --host={host}` (the API key is at {host}/authorize).",
    )


def check_healthz(spec: LaunchSpec, timeout: float = 5.0) -> CheckResult:
    url = ready_url(spec, "/healthz")
    status, detail = http_status(url, timeout)
    if status == 200:
        return CheckResult("after.healthz", "Liveness", Status.PASS, f"{url} answers 200.")
    got = f"HTTP {status}" if status is not None else f"no answer ({detail})"
    return CheckResult("after.healthz", "Liveness", Status.WARN, f"{url} gives {got} although /ready answered.",
                       f"Watch `docker logs -f {spec.container_name}` for errors.")


@dataclass(frozen=True)
class HostAnswer:
    """What a GET of HOST/ready got from this machine: a status, or the kind of failure and its detail."""

    status: int | None = None
    failure: str = ""  # certificate | tls | redirect-loop | refused | other
    detail: str = ""
    location: str = ""  # where a redirect pointed


def fetch_host(url: str, timeout: float, ca_file: str | None = None) -> HostAnswer:
    """GET `url` as a user's browser would from here: redirects followed, the certificate verified (the system's
    CAs, or `ca_file`), no proxy from the environment."""
    import socket
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=ca_file)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=timeout) as response:
            return HostAnswer(response.status)
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location", "") if exc.headers else ""
        if 300 <= exc.code < 400:  # urllib stops a redirect that comes back to where it was, or one more than 10
            return HostAnswer(exc.code, "redirect-loop", str(exc.reason), location)
        return HostAnswer(exc.code, detail=str(exc.reason))
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return HostAnswer(failure="certificate", detail=reason.verify_message or str(reason))
        if isinstance(reason, ssl.SSLError):
            return HostAnswer(failure="tls", detail=reason.reason or str(reason))
        if isinstance(reason, ConnectionRefusedError):
            return HostAnswer(failure="refused", detail="connection refused")
        return HostAnswer(failure="other", detail=str(reason.strerror if isinstance(reason, OSError) and
                                                       reason.strerror else reason))
    except (ConnectionError, socket.timeout, OSError) as exc:
        return HostAnswer(failure="other", detail=str(exc) or type(exc).__name__)


GATEWAY = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def check_host_reachable(spec: LaunchSpec, timeout: float = 5.0, ca_file: str | None = None) -> CheckResult:
    """HOST/ready through the public URL (the reverse proxy, when there is one), each way it fails named."""
    title = "HOST answers from here"
    if not spec.host_url:
        return CheckResult("after.host", title, Status.WARN, "No HOST is set.",
                           "Set HOST to the address users open, or clients and downloads point at localhost.")
    url = spec.host_url.rstrip("/") + "/ready"
    upstream = f"http://<this server>:{spec.port}"
    got = fetch_host(url, timeout, ca_file)
    if got.status == 200:
        return CheckResult("after.host", title, Status.PASS, f"{url} answers 200 from this machine.")

    def warn(message: str, hint: str) -> CheckResult:
        return CheckResult("after.host", title, Status.WARN, message, hint)

    if got.failure == "redirect-loop":
        return warn(f"{url} redirects in a loop (HTTP {got.status} to {got.location or 'the same address'}).",
                    "The proxy redirects to https although the request came over https: it must pass "
                    "X-Forwarded-Proto (nginx: proxy_set_header X-Forwarded-Proto $scheme) and redirect only "
                    "plain-HTTP requests; a load balancer that ends TLS must send X-Forwarded-Proto: https.")
    if got.status in GATEWAY:
        return warn(f"{url} answers HTTP {got.status} {GATEWAY[got.status]}: the proxy runs but does not reach the "
                    "server.", f"Point the proxy at {upstream} (nginx proxy_pass, Caddy reverse_proxy), check that "
                    "the server container runs (`docker ps`) and that nothing blocks the proxy's connection "
                    "(a firewall; SELinux: setsebool -P httpd_can_network_connect 1).")
    if got.status is not None:
        return warn(f"{url} answers HTTP {got.status}, not this server's 200.",
                    f"Something else answers at HOST: check the reverse proxy or load balancer forwards to {upstream}.")
    if got.failure == "certificate":
        return warn(f"HOST's certificate is not trusted from this machine: {got.detail}.",
                    "Users' browsers will refuse it too, unless they trust its CA: give the proxy the full chain of "
                    "a certificate for this name (nginx ssl_certificate, Caddy tls), or with a private CA pass it "
                    "with --ca-file.")
    if got.failure == "tls":
        return warn(f"The TLS handshake with HOST fails: {got.detail}.",
                    "Something answers there without TLS, or with a protocol users cannot use: the proxy must "
                    "listen with ssl on this port (nginx: listen 443 ssl).")
    if got.failure == "refused":
        return warn(f"Nothing listens at {url} (connection refused).",
                    "Start the reverse proxy (systemctl status nginx / caddy) and open its port in the firewall; "
                    "without a proxy, HOST must name the published port.")
    return warn(f"{url} does not answer from this machine ({got.detail}).",
                "Users may still reach it (a firewall or split DNS can hide it from the server itself), but check: "
                "the DNS record points here, the firewall allows the port, and any TLS proxy in front is running.")


def after_ready(spec: LaunchSpec, timeout: float = 5.0, ca_file: str | None = None) -> AfterReady:
    return AfterReady(check_healthz(spec, timeout), check_host_reachable(spec, timeout, ca_file),
                      next_steps(spec.host_url))
