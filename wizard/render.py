"""The container's inputs (`wizard.container.ContainerInputs`), rendered from the install configuration in the
formats wandb/local expects. A provider's section is rendered by its provider (`wizard.providers`); the License,
Host and Server options sections by the renderers here."""

from __future__ import annotations

from typing import Any, Callable

from wizard import config as c
from wizard import providers
from wizard.container import ContainerInputs
from wizard.providers.base import Parts, SecretView
from wizard.text import MASK

__all__ = ["container_inputs", "section_inputs", "environment_dict", "reveal", "mask", "placeholder",
           "placeholder_name"]


def reveal(secret_id: str, value: str) -> str:
    return value


def mask(secret_id: str, value: str) -> str:
    return MASK


def placeholder_name(secret_id: str) -> str:
    return secret_id.upper().replace(".", "_").replace("-", "_")


def placeholder(secret_id: str, value: str) -> str:
    return "${" + placeholder_name(secret_id) + "}"


def _license(section: c.LicenseConfig, out: Parts) -> None:
    if section.key is not None:
        out.put("LICENSE", out.secret("license.key", section.key), secret=True)


def _host(section: c.HostConfig, out: Parts) -> None:
    # The server needs HOST even on the default port, or clients and downloads point at localhost.
    out.put("HOST", section.url.rstrip("/"))


def _server(section: c.ServerOptions, out: Parts) -> None:
    if section.logging_enabled:
        out.put("LOGGING_ENABLED", "true")
    if section.local_restore:
        out.put("LOCAL_RESTORE", "true")
    # Both spellings: the server (Go) reads either, other programs in the image only the lower-case one.
    for name, value in (("HTTP_PROXY", section.http_proxy), ("HTTPS_PROXY", section.https_proxy),
                        ("NO_PROXY", section.no_proxy)):
        if value:
            out.put(name, value)
            out.put(name.lower(), value)
    for extra in section.extra_env:
        if extra.is_secret:
            out.put(extra.name, out.view(f"server.extra_env.{extra.name}", extra.value), secret=True)
        else:
            out.put(extra.name, extra.value)


_OWN: dict[type, Callable[[Any, Parts], None]] = {
    c.LicenseConfig: _license,
    c.HostConfig: _host,
    c.ServerOptions: _server,
}

# The order of the sections in the environment (HOST first: it is what people look for).
ORDER = ("host", "license", "sso", "storage", "database", "cache", "slack", "server")


def section_inputs(section: Any, view: SecretView = reveal) -> ContainerInputs:
    """What one validated section gives the container."""
    provider = providers.of(section)
    renderer = provider.render if provider is not None else _OWN.get(type(section))
    if renderer is None:
        raise TypeError(f"no renderer for {type(section).__name__}")
    out = Parts(view)
    renderer(section, out)
    return out.inputs()


def container_inputs(cfg: c.InstallConfig, view: SecretView = reveal) -> ContainerInputs:
    total = ContainerInputs()
    for step in ORDER:
        total = total + section_inputs(getattr(cfg, step), view)
    return total


def environment_dict(cfg: c.InstallConfig, view: SecretView = reveal) -> dict[str, str]:
    return container_inputs(cfg, view).environment()
