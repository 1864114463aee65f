"""The container's inputs (`wizard.container.ContainerInputs`), rendered from the install configuration in the
formats wandb/local expects. Each section renders itself (`Section.render`): a provider's section through its
provider (`wizard.providers`), the License, Host and Server options sections in `wizard.config`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wizard.container import ContainerInputs
from wizard.providers.base import Parts, SecretView

from wizard.text import MASK

if TYPE_CHECKING:
    from wizard.config import InstallConfig

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


# The order of the sections in the environment (HOST first: it is what people look for).
ORDER = ("host", "license", "sso", "storage", "database", "cache", "slack", "server")


def section_inputs(section: Any, view: SecretView = reveal) -> ContainerInputs:
    """What one validated section gives the container."""
    out = Parts(view)
    section.render(out)
    return out.inputs()


def container_inputs(cfg: InstallConfig, view: SecretView = reveal) -> ContainerInputs:
    total = ContainerInputs()
    for step in ORDER:
        total = total + section_inputs(getattr(cfg, step), view)
    return total


def environment_dict(cfg: InstallConfig, view: SecretView = reveal) -> dict[str, str]:
    return container_inputs(cfg, view).environment()
