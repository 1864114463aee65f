"""Amazon Cognito user pools: the server gets the pool's issuer (https://cognito-idp.<region>.amazonaws.com/<pool>),
the app client's ID and the auth method pkce, the only flow Cognito offers W&B (a public client, no secret)."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from wizard import validators as v
from wizard.providers.base import FieldProblem, Provider, checked
from wizard.providers.openid import (
    chart,
    COGNITO_ISSUER, OidcSection, callback_and_logout, cognito_console_steps, render,
)

_COGNITO_DOMAIN = re.compile(r"^(https?://)?[^/]+\.auth\.([a-z0-9-]+)\.amazoncognito\.com", re.IGNORECASE)


def cognito_issuer(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class CognitoSSO(OidcSection):
    provider: Literal["cognito"] = "cognito"
    REQUIRES_PKCE: ClassVar[bool] = True
    region: Annotated[str, checked(v.aws_region)] | None = Field(
        None, title="Region", description="AWS region of the user pool, e.g. us-east-1 (taken from the pool ID if empty)"
    )
    user_pool_id: str = Field(
        title="User pool ID", description="e.g. us-east-1_AbC123xyz (or the issuer URL https://cognito-idp.…/<pool>)"
    )
    client_id: str = Field(title="App client ID", description="The app client's ID (a public client, no secret)")

    @field_validator("user_pool_id")
    @classmethod
    def _pool(cls, value: str) -> str:
        if _COGNITO_DOMAIN.match(value):
            raise ValueError(
                "this is the Cognito domain (…auth.<region>.amazoncognito.com), which W&B cannot use: enter the "
                "user pool ID from User pools › your pool (e.g. us-east-1_AbC123xyz); the issuer is then "
                "https://cognito-idp.<region>.amazonaws.com/<user-pool-id>"
            )
        issuer = COGNITO_ISSUER.match(value)
        if issuer:
            value = issuer.group(2)
        if not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d{1,2}_[A-Za-z0-9]+", value):
            raise ValueError(f"'{value}' is not a Cognito user pool ID: expected <region>_<id>, e.g. us-east-1_AbC123xyz")
        return value

    @model_validator(mode="after")
    def _region_matches_pool(self) -> "CognitoSSO":
        pool_region = self.user_pool_id.split("_", 1)[0]
        if self.region and self.region != pool_region:
            raise FieldProblem(
                "region",
                f"the user pool {self.user_pool_id} is in {pool_region}, not in {self.region}: correct the region "
                "or leave it empty"
            )
        return self

    @property
    def issuer(self) -> str:
        return cognito_issuer(self.user_pool_id.split("_", 1)[0], self.user_pool_id)

    @property
    def auth_method(self) -> str:
        return "pkce"  # Cognito supports only the code flow with PKCE for W&B

    def console_steps(self, host: str) -> str:
        return cognito_console_steps(self.client_id, host)


PROVIDER = Provider("sso", "cognito", CognitoSSO, render, instructions=callback_and_logout, chart=chart)
