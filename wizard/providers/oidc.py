"""Any OpenID Connect provider (Keycloak, Azure AD / Entra ID, Google, Auth0, ...): the issuer, kept exactly
(discovery must answer at <issuer>/.well-known/openid-configuration), the client ID, implicit or pkce, and a
client secret for a confidential client (GORILLA_OIDC_SECRET)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from wizard import validators as v
from wizard.checks.oidc_probe import is_cognito_issuer
from wizard.providers.base import FieldProblem, Provider
from wizard.providers.openid import (
    chart,
    COGNITO_ISSUER, AuthMethod, ConfidentialSecret, OidcSection, callback_and_logout, cognito_console_steps, render,
)


class OidcSSO(OidcSection):
    provider: Literal["oidc"] = "oidc"
    issuer: Annotated[str, AfterValidator(v.issuer_url)] = Field(
        title="Issuer",
        description="Issuer URL; discovery must be at <issuer>/.well-known/openid-configuration (kept exactly)",
    )
    client_id: str = Field(title="Client ID", description="The client (application) ID registered for W&B")
    auth_method: AuthMethod = Field(
        "implicit", title="Auth method", description="implicit (id_token + form_post, default) or pkce (code + S256)"
    )
    client_secret: ConfidentialSecret = None

    @model_validator(mode="after")
    def _cognito_needs_pkce(self) -> "OidcSSO":
        if COGNITO_ISSUER.match(self.issuer) and self.auth_method != "pkce":
            raise FieldProblem(
                "auth_method", "this is an AWS Cognito issuer and Cognito requires the pkce auth method: choose pkce"
            )
        return self

    def console_steps(self, host: str) -> str:
        if is_cognito_issuer(self.issuer):  # a Cognito pool entered as a generic provider
            return cognito_console_steps(self.client_id, host)
        return super().console_steps(host)


PROVIDER = Provider("sso", "oidc", OidcSSO, render, instructions=callback_and_logout, chart=chart)
