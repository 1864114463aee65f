"""The install configuration: one pydantic model per wizard step, composed into `InstallConfig`.

The License, Host and Server options models are here; the providers' models are in their modules
(`wizard.providers`). Provider choices are discriminated unions (SSO, storage, database, cache), built from the
registry, so only the chosen provider's fields are required. The session keeps every provider's draft values side by side (see `wizard.draft`), so switching
provider in the UI never loses what was typed.
"""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union

from pydantic import AfterValidator, Field, SecretStr, field_validator

from wizard import providers, suggested_host
from wizard import validators as v
from wizard.providers.base import ChartParts, Parts, Port, Section, checked


# --- License ---------------------------------------------------------------------------------------------------


def _b64url_json(part: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"the license's {what} is not readable: copy the whole license again") from None
    if not isinstance(data, dict):
        raise ValueError(f"the license's {what} is not readable: copy the whole license again")
    return data


def decode_license(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS. The signature cannot be verified offline (W&B's key is not public)."""
    token = re.sub(r"\s+", "", token)
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        found = len([part for part in parts if part])  # "a..b" has two parts, not three
        raise ValueError(
            f"is not a W&B license: a license has three parts separated by dots (found {found}); "
            "copy it again in one piece, or read it from a file"
        )
    if not all(re.fullmatch(r"[A-Za-z0-9_-]+", part) for part in parts):
        raise ValueError("contains characters a license cannot have: copy it again, or read it from a file")
    return _b64url_json(parts[0], "header"), _b64url_json(parts[1], "content")


class LicenseConfig(Section):
    WRAPPED = frozenset({"key"})  # a license pasted from an e-mail comes wrapped
    key: SecretStr | None = Field(None, title="License", description="Your W&B license (empty: unlicensed server)")

    @field_validator("key")
    @classmethod
    def _shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = re.sub(r"\s+", "", value.get_secret_value())
        if not token:
            return None
        decode_license(token)
        return SecretStr(token)

    def render(self, out: Parts) -> None:
        if self.key is not None:
            out.put("LICENSE", out.secret("license.key", self.key), secret=True)

    def chart(self, out: ChartParts) -> None:
        if self.key is not None:
            out.set("global.licenseSecret", {"name": "wandb-license", "key": "license"})
            out.secret("wandb-license", "license", "license.key", self.key)


# --- Host ------------------------------------------------------------------------------------------------------


class HostConfig(Section):
    url: Annotated[str, checked(v.server_url)] = Field(
        default_factory=suggested_host.default_url,  # the address the admin reached this machine at
        title="Server URL",
        description="The address users will open, e.g. https://wandb.example.com (no path)",
    )
    reverse_proxy: bool = Field(
        False,
        title="Reverse proxy",
        description="A reverse proxy or load balancer in front ends TLS and forwards to the published port",
    )

    def render(self, out: Parts) -> None:
        # The server needs HOST even on the default port, or clients and downloads point at localhost.
        out.put("HOST", self.url.rstrip("/"))

    def chart(self, out: ChartParts) -> None:
        out.set("global.host", self.url.rstrip("/"))


# --- The providers' steps (SSO, File storage, Database, Cache, Slack: see wizard.providers) ------------------------


def _union(step: str) -> Any:
    models = tuple(provider.settings for provider in providers.for_step(step).values())
    return Annotated[Union[models], Field(discriminator="provider")]


def _default(step: str) -> Any:
    return next(iter(providers.for_step(step).values())).settings()


if TYPE_CHECKING:  # the type checker sees a provider's settings; at run time the union is built from the registry
    SSOConfig: TypeAlias = Section
    StorageConfig: TypeAlias = Section
    DatabaseConfig: TypeAlias = Section
    CacheConfig: TypeAlias = Section
    SlackConfig: TypeAlias = Section
else:
    SSOConfig = _union("sso")
    StorageConfig = _union("storage")
    DatabaseConfig = _union("database")
    CacheConfig = _union("cache")
    SlackConfig = providers.for_step("slack")["slack"].settings


# --- Server options --------------------------------------------------------------------------------------------


class ExtraEnv(Section):
    name: Annotated[str, AfterValidator(v.extra_env_name)] = Field(title="Name")
    value: Annotated[str, AfterValidator(v.env_value)] = Field("", title="Value")
    secret: bool | None = Field(
        None, title="Secret", description="Kept in the keyring, masked (default: names with SECRET, PASSWORD, TOKEN, KEY)"
    )

    @property
    def is_secret(self) -> bool:
        return self.secret if self.secret is not None else v.looks_secret(self.name)


def _volume(value: str) -> str:
    value = value.strip()
    if value.startswith("/"):
        if "\0" in value or value.rstrip("/") == "":
            raise ValueError("expected an absolute directory path other than /, e.g. /srv/wandb")
        return value.rstrip("/")
    if value.startswith((".", "~")) or "/" in value:
        raise ValueError("a bind path must be absolute, e.g. /srv/wandb (or give a volume name such as wandb)")
    return v.docker_name(value, "volume")


class ServerOptions(Section):
    image: Annotated[str, AfterValidator(v.image_name)] = Field("wandb/local", title="Image", description="Docker image name")
    tag: Annotated[str, AfterValidator(v.image_tag)] = Field("latest", title="Tag", description="Image tag, e.g. latest")
    container_name: Annotated[str, AfterValidator(lambda s: v.docker_name(s, "container"))] = Field(
        "wandb-local", title="Container name", description="Name of the Docker container"
    )
    bind_address: Annotated[str, AfterValidator(v.ip_address)] = Field(
        "0.0.0.0", title="Bind address", description="Host address to publish on (0.0.0.0: all interfaces)"
    )
    port: Port = Field(8080, title="Published port", description="Host port mapped to the container's 8080")
    volume: Annotated[str, AfterValidator(_volume)] = Field(
        "wandb", title="Data volume", description="Named volume (wandb) or absolute bind path, mounted at /vol"
    )
    restart_policy: Literal["no", "always", "unless-stopped", "on-failure"] = Field(
        "unless-stopped", title="Restart policy", description="Docker restart policy"
    )
    logging_enabled: bool = Field(False, title="Access logs to stdout", description="LOGGING_ENABLED=true")
    local_restore: bool = Field(
        False, title="Restore mode", description="LOCAL_RESTORE=true: temporary admin credentials in the logs, SSO off"
    )
    http_proxy: Annotated[str, AfterValidator(v.proxy_url)] | None = Field(
        None, title="HTTP proxy", description="Proxy the server uses for http:// (HTTP_PROXY), e.g. http://proxy:3128"
    )
    https_proxy: Annotated[str, AfterValidator(v.proxy_url)] | None = Field(
        None, title="HTTPS proxy", description="Proxy the server uses for https:// (HTTPS_PROXY); the checks use it too"
    )
    no_proxy: Annotated[str, AfterValidator(v.no_proxy_list)] | None = Field(
        None, title="No proxy for", description="Hosts reached directly (NO_PROXY), e.g. localhost,.internal.example.com"
    )
    extra_env: tuple[ExtraEnv, ...] = Field(
        (), title="Extra environment", description="Further server options (GORILLA_*, ENABLE_REGISTRY_UI, ...)"
    )

    @field_validator("extra_env")
    @classmethod
    def _unique(cls, value: tuple[ExtraEnv, ...]) -> tuple[ExtraEnv, ...]:
        names = [item.name for item in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"{', '.join(duplicates)} is given more than once")
        return value

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.tag}"

    def render(self, out: Parts) -> None:
        if self.logging_enabled:
            out.put("LOGGING_ENABLED", "true")
        if self.local_restore:
            out.put("LOCAL_RESTORE", "true")
        # Both spellings: the server (Go) reads either, other programs in the image only the lower-case one.
        for name, value in (("HTTP_PROXY", self.http_proxy), ("HTTPS_PROXY", self.https_proxy),
                            ("NO_PROXY", self.no_proxy)):
            if value:
                out.put(name, value)
                out.put(name.lower(), value)
        for extra in self.extra_env:
            if extra.is_secret:
                out.put(extra.name, out.view(f"server.extra_env.{extra.name}", extra.value), secret=True)
            else:
                out.put(extra.name, extra.value)

    def chart(self, out: ChartParts) -> None:
        """The image, and the variables the server gets from these options (the same `render`), as extra ones."""
        out.set("app.image", {"repository": self.image, "tag": self.tag})
        parts = Parts(lambda secret_id, value: value)
        self.render(parts)
        for item in parts.env:
            if item.secret:
                out.secret_env(item.name, "wandb-extra-env", item.name, f"server.extra_env.{item.name}",
                               SecretStr(item.value))
            else:
                out.env(item.name, item.value)


# --- The whole install -----------------------------------------------------------------------------------------


class InstallConfig(Section):
    license: LicenseConfig = LicenseConfig()
    host: HostConfig = Field(default_factory=HostConfig)  # its default URL is found when needed
    sso: SSOConfig = _default("sso")
    storage: StorageConfig = _default("storage")
    database: DatabaseConfig = _default("database")
    cache: CacheConfig = _default("cache")
    slack: SlackConfig = SlackConfig()
    server: ServerOptions = ServerOptions()


# The step each section belongs to, and whether the step chooses a provider.
SECTION_MODELS: dict[str, Any] = {
    "license": LicenseConfig,
    "host": HostConfig,
    "sso": SSOConfig,
    "storage": StorageConfig,
    "database": DatabaseConfig,
    "cache": CacheConfig,
    "slack": SlackConfig,
    "server": ServerOptions,
}

PROVIDER_MODELS: dict[str, dict[str, type[Section]]] = {
    step: {key: provider.settings for key, provider in chosen.items()} for step, chosen in providers.choices().items()
}
