"""What every provider module builds on: the settings base class and field types, and `Parts`, the collector a
provider's `render` fills with what the server container gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, AsyncIterator, Awaitable, Callable, Mapping
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr

from wizard import validators as v
from wizard.container import ContainerInputs, Endpoint, EnvVar, Mount, host_entries_for

Values = Mapping[str, Mapping[str, Any]]  # the session's draft values, by step
Secrets = Mapping[str, str]  # keyring id -> secret
# How a secret appears in the output: reveal (for the container), mask (for screens), placeholder (for exports).
SecretView = Callable[[str, str], str]  # (secret id, secret value) -> text


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class FieldProblem(ValueError):
    """A cross-field check's error, reported on the field to correct (so the message names it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def checked(fn: Callable[..., Any], *args: Any) -> AfterValidator:
    return AfterValidator(lambda value: fn(value, *args) if value is not None else value)


def _required_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("is required")
    return value


def _one_line_secret(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in text):
        raise ValueError("a client secret is one line of printable characters: paste it again")
    return value


RequiredSecret = Annotated[SecretStr, AfterValidator(_required_secret)]
ClientSecret = Annotated[SecretStr, AfterValidator(_one_line_secret)]
Port = Annotated[int, checked(v.port)]
Hostname = Annotated[str, checked(v.hostname)]


def provider_key(provider: str) -> str:
    """A provider's name as a draft key and in secret ids (s3-compatible -> s3_compatible)."""
    return provider.replace("-", "_")


def netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def query(params: list[tuple[str, str]]) -> str:
    return ("?" + "&".join(f"{name}={value}" for name, value in params)) if params else ""


@dataclass
class Parts:
    """What one section gives the container, collected in order by its provider's `render`."""

    view: SecretView
    env: list[EnvVar] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)

    def put(self, name: str, value: str, secret: bool = False) -> None:
        self.env.append(EnvVar(name, value, secret))

    def secret(self, secret_id: str, value: SecretStr) -> str:
        return self.view(secret_id, value.get_secret_value())

    def url_secret(self, secret_id: str, value: SecretStr) -> str:
        raw = value.get_secret_value()
        shown = self.view(secret_id, raw)
        return quote(raw, safe="") if shown == raw else shown

    def inputs(self) -> ContainerInputs:
        endpoints = tuple(self.endpoints)
        return ContainerInputs(tuple(self.env), tuple(self.mounts), host_entries_for(endpoints), endpoints)


def streamed(function: Callable[..., Awaitable[list[Any]]]) -> Callable[..., AsyncIterator[Any]]:
    """A check written as `async def f(ctx, section) -> list[CheckResult]`, in the shape providers register."""

    async def check(ctx: Any, section: Any) -> AsyncIterator[Any]:
        for item in await function(ctx, section):
            yield item

    return check


def nothing_to_check(result: Any) -> Callable[..., AsyncIterator[Any]]:
    """A check that only says why there is nothing to check for this provider (`result`: its CheckResult)."""

    async def check(ctx: Any, section: Any) -> AsyncIterator[Any]:
        yield result

    return check
