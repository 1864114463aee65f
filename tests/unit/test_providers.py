"""The providers' registry: one module per provider owns its model, container inputs, checks and instructions, and
nothing outside wizard/providers chooses by provider."""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path

import pytest

from wizard import config, providers
from wizard.checks.all_steps import check_all
from wizard.checks.engine import CheckContext, Status, checks_for
from tests.check_runs import collect
from wizard.container import ContainerInputs
from wizard.providers.base import Parts, Section, provider_of
from wizard.render import mask, section_inputs

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("sso", "storage", "database", "cache", "slack")


def test_every_step_with_providers_is_registered_and_the_default_comes_first():
    assert {provider.step for provider in providers.registered()} == set(STEPS)
    assert [next(iter(providers.for_step(step))) for step in STEPS] == ["none", "local", "embedded", "embedded", "slack"]
    assert set(providers.choices()) == {"sso", "storage", "database", "cache"}  # Slack has one provider: no choice
    assert config.PROVIDER_MODELS["storage"]["s3-compatible"] is providers.for_step("storage")["s3-compatible"].settings


@pytest.mark.parametrize("provider", providers.registered(), ids=lambda p: f"{p.step}-{p.key}")
def test_each_provider_is_complete(provider):
    model = provider.settings
    if provider.step in providers.choices():  # the discriminator is the registry's key
        assert typing.get_args(model.model_fields["provider"].annotation) == (provider.key,)
    # Its model is the one the configuration validates for its step.
    section_model = config.SECTION_MODELS[provider.step]
    assert section_model is model or model in typing.get_args(typing.get_args(section_model)[0])
    # Its checks implement checks its step lists (the step's order and titles), and nothing else.
    step_checks = {check.id for check in checks_for(provider.step)}
    assert set(provider.checks) <= step_checks
    if provider.step == "storage":
        assert set(provider.checks) == step_checks  # every storage check runs for every storage provider
    if provider.in_container:
        out = Parts(mask)
        provider.render(model(), out)
        assert out.inputs() == ContainerInputs()  # an embedded service needs no settings from the container


def test_a_section_is_rendered_by_its_own_provider():
    section = providers.for_step("cache")["redis"].settings(host="cache.internal", password="pw")
    assert provider_of(section) is providers.for_step("cache")["redis"]
    assert section_inputs(section, mask).environment()["REDIS"].startswith("redis://:")
    assert provider_of(config.HostConfig()) is None  # the Host step is not a provider's


def test_nothing_outside_the_providers_branches_on_a_provider_model():
    names = sorted(provider.settings.__name__ for provider in providers.registered())
    pattern = re.compile(r"isinstance\([^)]*\b(" + "|".join(names) + r")\b")
    found = [f"{path.relative_to(ROOT)}:{number}"
             for folder in ("wizard", "screens") for path in (ROOT / folder).rglob("*.py")
             if "providers" not in path.relative_to(ROOT).parts
             for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []
    # The test itself can fail: the providers do use their models this way.
    assert pattern.search("isinstance(section, RedisCache)")


@pytest.mark.parametrize("provider", providers.registered(), ids=lambda p: f"{p.step}-{p.key}")
def test_every_check_of_a_provider_streams_its_results(provider):
    # One shape for every provider (GCS's events once returned a list where the others streamed).
    assert all(inspect.isasyncgenfunction(check) for check in provider.checks.values())


async def test_a_section_no_provider_owns_is_not_checked_as_another_provider():
    class Unknown(Section):  # a provider nobody registered (the storage checks once sent it to Azure's)
        provider: str = "unknown"

    results = await collect(checks_for("storage"), CheckContext({"storage": Unknown()}))
    assert {result.status for result in results} == {Status.SKIPPED}
    assert {result.message for result in results} == {"Nothing to check for this choice."}


async def test_the_headless_report_keeps_each_step_in_the_order_of_its_checks():
    # storage.local comes from the first storage check (storage.access): it once sorted to the end.
    reports = {item.step: item for item in await check_all(config.InstallConfig(), timeout=2)}
    ids = [result.id for result in reports["storage"].results]
    assert ids == ["storage.local", "storage.cors", "storage.preflight", "storage.queue", "storage.kms"]
