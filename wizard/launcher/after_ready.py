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


def check_host_reachable(spec: LaunchSpec, timeout: float = 5.0) -> CheckResult:
    title = "HOST answers from here"
    if not spec.host_url:
        return CheckResult("after.host", title, Status.WARN, "No HOST is set.",
                           "Set HOST to the address users open, or clients and downloads point at localhost.")
    url = spec.host_url.rstrip("/") + "/ready"
    status, detail = http_status(url, timeout)
    if status == 200:
        return CheckResult("after.host", title, Status.PASS, f"{url} answers 200 from this machine.")
    if status is not None:
        return CheckResult(
            "after.host", title, Status.WARN, f"{url} answers HTTP {status}, not this server's 200.",
            "Something else answers at HOST: check the reverse proxy or load balancer forwards to "
            f"http://<this server>:{spec.port}.",
        )
    return CheckResult(
        "after.host", title, Status.WARN, f"{url} does not answer from this machine ({detail}).",
        "Users may still reach it (a firewall or split DNS can hide it from the server itself), but check: the DNS "
        "record points here, the firewall allows the port, and any TLS proxy in front is running.",
    )


def after_ready(spec: LaunchSpec, timeout: float = 5.0) -> AfterReady:
    return AfterReady(check_healthz(spec, timeout), check_host_reachable(spec, timeout), next_steps(spec.host_url))
