"""What every provider module builds on: the settings base class and field types, `Parts`, the collector a
provider's `render` fills with what the server container gets, and `ChartParts`, the same for W&B's Kubernetes
operator chart (operator-wandb), in the chart's own keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, AsyncIterator, Awaitable, Callable, ClassVar, Mapping
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr

from wizard import validators as v
from wizard.container import ContainerInputs, Endpoint, EnvVar, Mount, host_entries_for

if TYPE_CHECKING:
    from wizard.checks.engine import CheckContext, CheckResult
    from wizard.instructions import Instruction

Values = Mapping[str, Mapping[str, Any]]  # the session's draft values, by step
Secrets = Mapping[str, str]  # keyring id -> secret
# How a secret appears in the output: reveal (for the container), mask (for screens), placeholder (for exports).
SecretView = Callable[[str, str], str]  # (secret id, secret value) -> text


# A provider's implementation of one of its step's checks: (context, the validated section) -> results.
CheckImpl = Callable[["CheckContext", Any], AsyncIterator["CheckResult"]]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    PROVIDER: ClassVar[Provider | None] = None  # set by the provider whose settings these are
    # Fields whose value may be pasted wrapped over lines (their validator removes all whitespace): line breaks and
    # tabs are no control characters there (wizard.draft).
    WRAPPED: ClassVar[frozenset[str]] = frozenset()

    def render(self, out: Parts) -> None:
        """Put what this section gives the server container into `out`: its provider's `render` (the License, Host
        and Server options sections render themselves)."""
        self._provider().render(self, out)

    def chart(self, out: ChartParts) -> None:
        """Put what this section gives W&B's operator chart into `out`: its provider's `chart` (the License, Host
        and Server options sections do it themselves)."""
        self._provider().chart(self, out)

    def _provider(self) -> Provider:
        provider = provider_of(self)
        if provider is None:
            raise TypeError(f"{type(self).__name__} is no provider's settings")
        return provider


def provider_of(section: Any) -> Provider | None:
    """The provider of a validated section (None for sections that are not a provider's: license, host...)."""
    return type(section).__dict__.get("PROVIDER")


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


@dataclass(frozen=True)
class SecretKey:
    """One key of a Kubernetes Secret the chart values refer to, and the setting its value comes from."""

    secret: str  # the Secret's name
    key: str
    setting: str  # where its value is set, e.g. "database.mysql.password"
    value: str  # "" unless the export was asked for secrets
    url_encoded: bool = False  # the chart puts it inside a URL as it is: it is kept URL-encoded
    source: str = ""  # a file on this machine whose content is the value (a CA certificate the chart reads there)


@dataclass
class ChartParts:
    """What one section gives W&B's operator chart: values in the chart's keys, the Secrets they name (secrets are
    never values), and what the chart cannot express (said in the export and the wizard, never dropped)."""

    with_secrets: bool
    values: dict[str, Any] = field(default_factory=dict)
    secrets: list[SecretKey] = field(default_factory=list)
    cannot: list[str] = field(default_factory=list)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # value path -> (file on this machine, setting)

    def set(self, path: str, value: Any) -> None:
        """`path` is dotted: "global.bucket.name"."""
        node = self.values
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    def secret(self, secret: str, key: str, setting: str, value: SecretStr, url_encoded: bool = False) -> None:
        raw = value.get_secret_value()
        shown = (quote(raw, safe="") if url_encoded else raw) if self.with_secrets else ""
        self.secrets.append(SecretKey(secret, key, setting, shown, url_encoded))

    def secret_file(self, secret: str, key: str, source: str, setting: str) -> None:
        """A Secret's key that holds a file's content (read when exported)."""
        self.secrets.append(SecretKey(secret, key, setting, "", source=source))

    def file(self, path: str, source: str, setting: str) -> None:
        """The value at `path` is the content of a file (a CA certificate: not a secret), read when exported."""
        self.files[path] = (source, setting)

    def env(self, name: str, value: str) -> None:
        """A variable the chart has no key for (global.extraEnv: every W&B container gets it). Kubernetes expands
        $(NAME) in a variable's value and reads $$ as $: every $ is doubled, so the server gets the value as typed."""
        self.set(f"global.extraEnv.{name}", value.replace("$", "$$"))

    def secret_env(self, name: str, secret: str, key: str, setting: str, value: SecretStr) -> None:
        """A secret variable the chart has no key for, from a Secret: an `app.env` entry with `valueFrom` (the
        server's container takes map values as they are; it never reads `global.extraEnvFrom`). An env entry wins
        over the chart's own envFrom ConfigMaps and Secrets."""
        self.set(f"app.env.{name}", {"valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
        if not any(item.secret == secret and item.key == key for item in self.secrets):
            self.secret(secret, key, setting, value)


def streamed(function: Callable[[CheckContext, Any], Awaitable[list[CheckResult]]]) -> CheckImpl:
    """A check written as `async def f(ctx, section) -> list[CheckResult]`, in the shape providers register."""

    async def check(ctx: CheckContext, section: Any) -> AsyncIterator[CheckResult]:
        for item in await function(ctx, section):
            yield item

    return check


def nothing_to_check(result: CheckResult) -> CheckImpl:
    """A check that only says why there is nothing to check for this provider."""

    async def check(ctx: CheckContext, section: Any) -> AsyncIterator[CheckResult]:
        yield result

    return check


# --- The provider ---------------------------------------------------------------------------------------------


def _renders_nothing(section: Any, out: Parts) -> None:
    """The service runs inside the server container: it needs no settings."""


def _no_instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    return []


def _not_in_the_chart(section: Any, out: ChartParts) -> None:
    provider = provider_of(section)
    out.cannot.append(f"{provider.step if provider else 'this step'}: the operator chart has no setting for "
                      f"'{provider.key if provider else section}'")


@dataclass(frozen=True)
class Provider:
    step: str
    key: str  # the value of the settings' `provider` field (also in answers files and session drafts)
    settings: type[Section]
    render: Callable[[Any, Parts], None] = _renders_nothing
    chart: Callable[[Any, ChartParts], None] = _not_in_the_chart  # what W&B's operator chart is given instead
    checks: Mapping[str, CheckImpl] = field(default_factory=dict)  # check id (a slot of the step) -> implementation
    instructions: Callable[[Values, Secrets], list[Instruction]] = _no_instructions
    # Whether the service refuses these credentials themselves (then a permission failure elsewhere says nothing).
    credentials_rejected: Callable[[CheckContext, Any], Awaitable[bool]] | None = None
    in_container: bool = False  # the service runs inside the server container (embedded, local volume, no SSO)

    def __post_init__(self) -> None:
        self.settings.PROVIDER = self  # its sections find it without the registry (render, checks)
