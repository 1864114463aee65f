"""What the three SSO providers (Cognito, Okta, any OpenID Connect provider) share: the server reads OIDC_ISSUER,
OIDC_CLIENT_ID, OIDC_AUTH_METHOD and, for a confidential client, GORILLA_OIDC_SECRET; users are sent back to
HOST/oidc/callback. Not a provider itself: the provider modules build on it, and the OIDC checks
(`wizard.checks.sso`) run for each of them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr

from wizard.checks.oidc_probe import callback_url
from wizard.container import Endpoint
from wizard.instructions import Instruction, host_url
from wizard.providers.base import ChartParts, ClientSecret, Parts, Secrets, Section, Values

AuthMethod = Literal["implicit", "pkce"]
ConfidentialSecret = Annotated[ClientSecret | None, Field(
    title="Client secret",
    description="Only for confidential clients (e.g. Azure AD Web apps): GORILLA_OIDC_SECRET; empty for public",
)]
COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9-]+_[A-Za-z0-9]+)/?$")


class OidcSection(Section):
    """What every SSO provider's settings have besides their fields `provider`, `issuer`, `client_id` and
    `auth_method` (fields or properties: each model declares them itself, in its form's order)."""

    REQUIRES_PKCE: ClassVar[bool] = False  # the provider takes only the code flow with PKCE

    if TYPE_CHECKING:  # declared by each model, in its form's order (a field here would come first in the form)
        provider: str
        client_id: str

        @property
        def issuer(self) -> str: ...

        @property
        def auth_method(self) -> str: ...

    @property
    def secret(self) -> SecretStr | None:
        """The client secret of a confidential client (a `client_secret` field), None for a public one."""
        secret = getattr(self, "client_secret", None)
        return secret if isinstance(secret, SecretStr) else None

    def console_steps(self, host: str) -> str:
        """What to add in the provider's console, with the exact URLs."""
        return (f"In your identity provider's settings for client {self.client_id}, add the allowed callback "
                f"(redirect) URL {callback_url(host)} and, if it has logout URLs, {host}.")


def chart(section: Any, out: ChartParts) -> None:
    """`section`: an OidcSection subclass. The chart gives GORILLA_OIDC_SECRET and OIDC_SECRET from the Secret."""
    out.set("global.auth.oidc.issuer", section.issuer)
    out.set("global.auth.oidc.clientId", section.client_id)
    out.set("global.auth.oidc.authMethod", section.auth_method)
    if confidential(section):
        out.set("global.auth.oidc.oidcSecret", {"name": "wandb-oidc", "secretKey": "OIDC_SECRET"})
        out.secret("wandb-oidc", "OIDC_SECRET", f"sso.{section.provider}.client_secret", section.secret)


def confidential(section: Any) -> bool:
    """A confidential client: it has a client secret."""
    return section.secret is not None and bool(section.secret.get_secret_value())


def render(section: Any, out: Parts) -> None:
    """`section`: an OidcSection subclass."""
    out.put("OIDC_ISSUER", section.issuer)
    out.put("OIDC_CLIENT_ID", section.client_id)
    out.put("OIDC_AUTH_METHOD", section.auth_method)
    if confidential(section):
        out.put("GORILLA_OIDC_SECRET", out.secret(f"sso.{section.provider}.client_secret", section.secret), secret=True)
    parts = urlsplit(section.issuer)
    if parts.hostname:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        out.endpoints.append(Endpoint("OIDC_ISSUER", f"sso.{section.provider}.issuer", parts.hostname, port,
                                      browser=True))


def callback_instruction(values: Values) -> Instruction:
    return Instruction(
        "sso.callback", "Callback URL", callback_url(host_url(values)),
        note="Allow it as a callback (redirect) URL of the application client in your identity provider.",
    )


def cognito_console_steps(client_id: str, host: str) -> str:
    """What to add in Amazon Cognito's console for the app client (also for a Cognito pool given as plain OIDC)."""
    return (f"In Amazon Cognito › User pools › your pool › App clients › client {client_id} › Login pages, "
            f"add the allowed callback URL {callback_url(host)} and the allowed sign-out URL {host}.")


def callback_and_logout(values: Values, secrets: Secrets) -> list[Instruction]:
    """The instructions of a provider whose console takes a callback URL and a logout URL (Cognito, plain OIDC)."""
    return [callback_instruction(values), logout_instruction(values)]


def logout_instruction(values: Values) -> Instruction:
    return Instruction(
        "sso.logout", "Logout URL", host_url(values),
        note="Allow it as the sign-out (logout) URL: where users land after signing out.",
    )
