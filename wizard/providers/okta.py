"""Okta: the org URL or a custom authorization server as issuer (compared exactly by the server, so no trailing
slash), the app integration's client ID, implicit (W&B's default) or pkce, and a client secret for a confidential
client (GORILLA_OIDC_SECRET)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from wizard import validators as v
from wizard.instructions import Instruction, host_url
from wizard.providers.base import Provider, Secrets, Values
from wizard.providers.openid import chart, AuthMethod, ConfidentialSecret, OidcSection, callback_instruction, callback_url, render


def _okta_issuer(value: str) -> str:
    value = v.issuer_url(value)
    found = re.match(r"^https?://([^/:]+)", value)
    host = found.group(1).lower() if found else ""
    if "-admin." in host:
        raise ValueError(
            "this is the Okta admin console address: use your org URL without '-admin', "
            f"e.g. https://{host.replace('-admin.', '.')}"
        )
    path = value.split("://", 1)[1].partition("/")[2]
    if value.endswith("/"):
        raise ValueError("Okta issuers have no trailing slash and the server compares them exactly: remove it")
    if path and not re.fullmatch(r"oauth2/[A-Za-z0-9]+", path):
        raise ValueError(
            "expected the org URL (https://your-org.okta.com) or a custom authorization server "
            "(https://your-org.okta.com/oauth2/default)"
        )
    return value


class OktaSSO(OidcSection):
    provider: Literal["okta"] = "okta"
    issuer: Annotated[str, AfterValidator(_okta_issuer)] = Field(
        title="Issuer", description="Org URL https://your-org.okta.com or https://your-org.okta.com/oauth2/default"
    )
    client_id: str = Field(title="Client ID", description="The app integration's client ID")
    auth_method: AuthMethod = Field(
        "implicit", title="Auth method", description="implicit (hybrid, W&B's default) or pkce (authorization code)"
    )
    client_secret: ConfidentialSecret = None

    def console_steps(self, host: str) -> str:
        return (f"In Okta Admin › Applications › your app › General, add the Sign-in redirect URI "
                f"{callback_url(host)} and the Sign-out redirect URI {host}/logout.")


def instructions(values: Values, secrets: Secrets) -> list[Instruction]:
    return [callback_instruction(values), Instruction(
        "sso.logout", "Sign-out redirect URL", f"{host_url(values)}/logout",
        note="Okta › your app › General › Sign-out redirect URIs.",
    )]


PROVIDER = Provider("sso", "okta", OktaSSO, render, instructions=instructions, chart=chart)
