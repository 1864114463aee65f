"""The providers: one module per provider of the SSO, File storage, Database, Cache and Slack steps. Each module
owns its settings model, what the server container gets from it (`render`), its live checks and its instructions,
and ends with its `PROVIDER`. This package registers them; nothing else in wizard/ branches on the provider.

Adding a provider: write `wizard/providers/<name>.py` (settings model, render, checks, instructions, PROVIDER),
add it to `registered()` below, give it a label for the step's choice (`wizard.flow.PROVIDER_LABELS`), and test it.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Mapping

from wizard.providers.base import Parts, Section, Secrets, Values

if TYPE_CHECKING:
    from wizard.checks.engine import CheckContext, CheckResult
    from wizard.instructions import Instruction

# A provider's implementation of one of its step's checks: (context, the validated section) -> results.
CheckImpl = Callable[["CheckContext", Any], AsyncIterator["CheckResult"]]


def _renders_nothing(section: Any, out: Parts) -> None:
    """The service runs inside the server container: it needs no settings."""


def _no_instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    return []


@dataclass(frozen=True)
class Provider:
    step: str
    key: str  # the value of the settings' `provider` field (also in answers files and session drafts)
    settings: type[Section]
    render: Callable[[Any, Parts], None] = _renders_nothing
    checks: Mapping[str, CheckImpl] = field(default_factory=dict)  # check id (a slot of the step) -> implementation
    instructions: Callable[[Values, Secrets], list[Instruction]] = _no_instructions
    # Whether the service refuses these credentials themselves (then a permission failure elsewhere says nothing).
    credentials_rejected: Callable[[CheckContext, Any], Awaitable[bool]] | None = None
    in_container: bool = False  # the service runs inside the server container (embedded, local volume, no SSO)


@functools.cache
def registered() -> tuple[Provider, ...]:
    """Every provider, in each step's order (the default first). Loaded on first use: the provider modules build
    on this package."""
    from wizard.providers import (
        azure, builtin, cognito, gcs, local, mysql, oidc, okta, redis, s3, s3_compatible, slack,
    )

    return (
        builtin.NO_SSO, cognito.PROVIDER, okta.PROVIDER, oidc.PROVIDER,
        local.PROVIDER, s3.PROVIDER, s3_compatible.PROVIDER, gcs.PROVIDER, azure.PROVIDER,
        builtin.EMBEDDED_DATABASE, mysql.PROVIDER,
        builtin.EMBEDDED_CACHE, redis.PROVIDER,
        slack.PROVIDER,
    )


def for_step(step: str) -> dict[str, Provider]:
    """The step's providers by key, the default first (empty for a step without providers)."""
    return {provider.key: provider for provider in registered() if provider.step == step}


def choices() -> dict[str, dict[str, Provider]]:
    """The steps where the admin chooses a provider (Slack has one, so no choice)."""
    steps = dict.fromkeys(provider.step for provider in registered())
    return {step: chosen for step in steps if len(chosen := for_step(step)) > 1}


def of(section: Any) -> Provider | None:
    """The provider of a validated section (None for the sections that are not a provider's: license, host...)."""
    return next((provider for provider in registered() if type(section) is provider.settings), None)


def slot(step: str, check_id: str, title: str, timeout: float | None = None, needs_credentials: bool = False) -> None:
    """Register a check of `step` that the chosen provider runs (its `checks[check_id]`), in the step's order.

    With `needs_credentials`, a failure is re-judged once: when the service refuses the credentials themselves (the
    provider's `credentials_rejected`), an "access denied" with advice about permissions says nothing, so it
    becomes "not checked" (the credentials check says why)."""
    from wizard.checks.engine import CheckResult, Status, register

    async def run(ctx: CheckContext) -> AsyncIterator[CheckResult]:
        section = ctx.section(step)
        provider = of(section)
        implementation = provider.checks.get(check_id) if provider is not None else None
        if implementation is None:
            yield CheckResult(check_id, title, Status.SKIPPED, "The settings are not complete yet."
                              if section is None else "Nothing to check for this choice.")
            return
        judge = provider.credentials_rejected if needs_credentials and provider is not None else None
        rejected = False  # asked once, at the first failure (refused, not silent: a timeout says nothing)
        async for item in implementation(ctx, section):
            if judge is not None and item.status is Status.FAIL:
                rejected, judge = await judge(ctx, section), None
            if rejected and item.status in (Status.FAIL, Status.ERROR):
                item = dataclasses.replace(item, status=Status.SKIPPED, message=NOT_CHECKED, hint="", fix=None)
            yield item

    register(step, check_id, title, timeout)(run)


NOT_CHECKED = "Not checked: the credentials were rejected (see 'Credentials valid')."
