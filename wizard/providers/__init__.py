"""The providers: one module per provider of the SSO, File storage, Database, Cache and Slack steps. Each module
owns its settings model, what the server container gets from it (`render`), its live checks and its instructions,
and ends with its `PROVIDER`. This package registers them; nothing else in wizard/ branches on the provider.

Adding a provider: write `wizard/providers/<name>.py` (settings model, render, checks, instructions, PROVIDER),
add it to `registered()` below, give it a label for the step's choice (`screens/words.py`), and test it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, AsyncIterator

from wizard.providers.base import Provider, Secrets, Values, provider_of

if TYPE_CHECKING:
    from wizard.checks.engine import CheckContext, CheckResult
    from wizard.instructions import Instruction


@functools.cache
def registered() -> tuple[Provider, ...]:
    """Every provider, in each step's order (the default first), loaded on first use."""
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


def instructions_for(step: str, values: Values, secrets: Secrets | None = None) -> list[Instruction]:
    """Every text to paste elsewhere for one step (the chosen provider's, from the session's draft values), and
    what the server container gets from it."""
    chosen = for_step(step)
    if not chosen:
        return []
    provider = chosen.get(str((values.get(step) or {}).get("provider") or next(iter(chosen))))
    secrets = secrets or {}
    own = provider.instructions(values, secrets) if provider is not None else []
    return own + server_inputs(step, values, secrets)


def server_inputs(step: str, values: Values, secrets: Secrets) -> list[Instruction]:
    """What the server container gets from this step (secrets masked), once the step is valid. For File storage
    the copy holds the real values of the System Settings › File storage page (secrets included)."""
    from wizard.checks.storage_common import STORAGE_VARIABLES
    from wizard.draft import validate_step
    from wizard.instructions import Instruction, container_lines
    from wizard.render import mask, reveal, section_inputs

    section, errors = validate_step(step, values.get(step) or {}, secrets)
    provider = provider_of(section)
    if errors or section is None or (provider is not None and provider.in_container):
        return []
    text = container_lines(section_inputs(section, mask))
    if not text:
        return []
    if step == "storage":
        return [Instruction("storage.settings", "What the server container gets", text,
                            copy_text=container_lines(section_inputs(section, reveal), STORAGE_VARIABLES),
                            note="The copy holds the System Settings › File storage values (secrets included).")]
    return [Instruction(f"{step}.server", "What the server container gets", text,
                        note="Exactly what the launcher and every export give the container; the checks test it.")]


def slot(step: str, check_id: str, title: str, timeout: float | None = None, needs_credentials: bool = False) -> None:
    """Register a check of `step` that the chosen provider runs (its `checks[check_id]`), in the step's order.

    With `needs_credentials`, a failure is re-judged once: when the service refuses the credentials themselves (the
    provider's `credentials_rejected`), an "access denied" with advice about permissions says nothing, so it
    becomes "not checked" (the credentials check says why)."""
    from wizard.checks.engine import CheckResult, Status, register

    async def run(ctx: CheckContext) -> AsyncIterator[CheckResult]:
        section = ctx.section(step)
        provider = provider_of(section)
        implementation = provider.checks.get(check_id) if provider is not None else None
        if provider is None or implementation is None:
            yield CheckResult(check_id, title, Status.SKIPPED, "The settings are not complete yet."
                              if section is None else "Nothing to check for this choice.")
            return
        judge = provider.credentials_rejected if needs_credentials else None
        rejected = False  # asked once, at the first failure (refused, not silent: a timeout says nothing)
        async for item in implementation(ctx, section):
            if judge is not None and item.status is Status.FAIL:
                rejected, judge = await judge(ctx, section), None
            if rejected and item.status in (Status.FAIL, Status.ERROR):
                item = dataclasses.replace(item, status=Status.SKIPPED, message=NOT_CHECKED, hint="", fix=None)
            yield item

    register(step, check_id, title, timeout)(run)


NOT_CHECKED = "Not checked: the credentials were rejected (see 'Credentials valid')."
