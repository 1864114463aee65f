"""Slack alerts: the server gets SLACK_CLIENT_ID and SLACK_SECRET (both or neither).

Its checks: the credentials that will be used, the redirect URL the Slack app must list (HOST), and whether this
machine reaches Slack's API over HTTPS (alerts cannot leave a server without outbound access)."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from wizard.checks.engine import CheckContext, CheckResult, Status
from wizard.checks.net import NetError, client, fetch, insecure_warning, truncate
from wizard.instructions import Instruction, host_url
from wizard.providers.base import ChartParts, FieldProblem, Parts, Provider, Secrets, Section, Values
from wizard.validators import is_loopback_host

# api.test answers {"ok": true} without authentication. Tests point the check elsewhere with
# ctx.extra["slack_api_url"] (or by changing this constant).
SLACK_API_TEST_URL = "https://slack.com/api/api.test"
API_TIMEOUT = 3.0  # seconds at most, however long the step's timeout


class SlackConfig(Section):
    client_id: str | None = Field(None, title="Client ID", description="Slack app › Basic Information › Client ID")
    secret: SecretStr | None = Field(None, title="Client secret", description="Slack app › Basic Information › Client Secret")

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"\d+\.\d+", value):
            raise ValueError(f"'{value}' is not a Slack client ID: expected two numbers joined by a dot, e.g. 1234567890.9876543210")
        return value or None

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"[0-9a-f]{32}", value.get_secret_value()):
            raise ValueError("is not a Slack client secret: expected 32 hexadecimal characters")
        return value

    @model_validator(mode="after")
    def _both_or_none(self) -> "SlackConfig":
        if bool(self.client_id) != bool(self.secret):
            raise FieldProblem(
                "secret" if self.client_id else "client_id",
                "give both the client ID and the client secret, or neither (no Slack alerts)",
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.client_id)


def render(section: SlackConfig, out: Parts) -> None:
    if section.enabled and section.secret is not None:
        out.put("SLACK_CLIENT_ID", section.client_id or "")
        out.put("SLACK_SECRET", out.secret("slack.secret", section.secret), secret=True)


def _off(check_id: str, title: str) -> CheckResult:
    return CheckResult(check_id, title, Status.SKIPPED, "Slack alerts are off (no client ID and secret).")


async def check_credentials(ctx: CheckContext, slack: SlackConfig):
    title = "Slack app credentials"
    if not slack.enabled:
        yield _off("slack.credentials", title)
        return
    yield CheckResult("slack.credentials", title, Status.PASS,
                      f"W&B will use the client ID {slack.client_id} and a client secret of the expected form "
                      "(32 hexadecimal characters). Slack itself checks them when the first alert is connected.")


def redirect_url(host_url: str) -> str:
    """The redirect URL the Slack app must list: the server's address (HOST) exactly."""
    return host_url.rstrip("/")


async def check_redirect(ctx: CheckContext, slack: SlackConfig):
    title = "Slack redirect URL"
    if not slack.enabled:
        yield _off("slack.redirect", title)
        return
    host = ctx.section("host")
    if host is None:
        yield CheckResult("slack.redirect", title, Status.WARN, "The server URL is not valid yet, so the redirect URL "
                          "for the Slack app is unknown.", "Complete the Host step first.")
        return
    url = redirect_url(host.url)
    where = f"Slack app › OAuth & Permissions › Redirect URLs › Add: {url}"
    parts = urlsplit(url)
    if parts.scheme != "https":
        yield CheckResult("slack.redirect", title, Status.WARN,
                          f"The redirect URL would be {url}, but Slack accepts only https:// redirect URLs.",
                          f"Serve W&B over HTTPS (Host step), then add the https:// address: {where}")
    elif is_loopback_host(parts.hostname or ""):
        yield CheckResult("slack.redirect", title, Status.WARN,
                          f"The redirect URL {url} is a loopback address: connecting Slack works only from a "
                          "browser on this machine.", f"Use the address users open (Host step); {where}")
    else:
        yield CheckResult("slack.redirect", title, Status.PASS,
                          f"The Slack app must list the redirect URL {url} (an https:// URL, as Slack requires).",
                          where)


def api_url(ctx: CheckContext) -> str:
    return str(ctx.extra.get("slack_api_url") or SLACK_API_TEST_URL)


async def check_api(ctx: CheckContext, slack: SlackConfig):
    title = "Slack API reachable"
    if not slack.enabled:
        yield _off("slack.api", title)
        return
    url, timeout = api_url(ctx), min(API_TIMEOUT, ctx.timeout * 0.8)
    no_outbound = ("Allow outbound HTTPS (port 443) from this server to slack.com, or route it through your "
                   "proxy; otherwise turn Slack alerts off.")
    if ctx.insecure:
        yield insecure_warning("slack.api-verify", title)
    started = time.monotonic()
    try:
        async with client(ctx, timeout) as http:
            reply = await fetch(http, url, timeout=timeout, limit=64_000)
    except NetError as error:
        yield CheckResult("slack.api", title, Status.WARN,
                          f"This machine cannot reach Slack's API ({error.message.rstrip('.')}): alerts will not "
                          "leave a server without outbound HTTPS access.", no_outbound)
        return
    elapsed_ms = (time.monotonic() - started) * 1000
    try:
        answer = json.loads(reply.text)
    except ValueError:
        answer = None
    if reply.status == 200 and isinstance(answer, dict) and answer.get("ok") is True:
        yield CheckResult("slack.api", title, Status.PASS,
                          f"Slack's API answered ok in {elapsed_ms:.0f} ms ({url}).")
        return
    yield CheckResult("slack.api", title, Status.WARN,
                      f"{url} answered HTTP {reply.status} but not as Slack's API does "
                      f"({truncate(reply.text, 120) or 'empty answer'}): a proxy or firewall may be in the way.",
                      no_outbound)


def instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    return [Instruction(
        "slack.redirect", "Slack redirect URL", host_url(values),
        note="Slack app › OAuth & Permissions › Redirect URLs. Also give the bot the incoming-webhook scope.",
    )]


def chart(section: SlackConfig, out: ChartParts) -> None:
    if not (section.enabled and section.secret is not None):
        return
    out.set("global.slack.clientId", section.client_id or "")
    # global.slack.secret would put the secret into the values: both variables come from a Secret instead.
    for name in ("SLACK_SECRET", "GORILLA_SLACK_SECRET"):
        out.secret_env(name, "wandb-slack", "SLACK_SECRET", "slack.secret", section.secret)


PROVIDER = Provider(
    "slack", "slack", SlackConfig, render,
    checks={"slack.credentials": check_credentials, "slack.redirect": check_redirect, "slack.api": check_api},
    instructions=instructions, chart=chart)
