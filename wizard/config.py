"""The install configuration: one pydantic model per wizard step, composed into `InstallConfig`.

Provider choices are discriminated unions (SSO, storage, database, cache), so only the chosen provider's fields
are required. The session keeps every provider's draft values side by side (see `wizard.draft`), so switching
provider in the UI never loses what was typed.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from wizard import validators as v


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class FieldProblem(ValueError):
    """A cross-field check's error, reported on the field to correct (so the message names it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _checked(fn, *args):
    return AfterValidator(lambda value: fn(value, *args) if value is not None else value)


def _required_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("is required")
    return value


RequiredSecret = Annotated[SecretStr, AfterValidator(_required_secret)]
Port = Annotated[int, _checked(v.port)]
Hostname = Annotated[str, _checked(v.hostname)]


# --- License ---------------------------------------------------------------------------------------------------


def _b64url_json(part: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"the license's {what} is not readable: copy the whole license again") from None
    if not isinstance(data, dict):
        raise ValueError(f"the license's {what} is not readable: copy the whole license again")
    return data


def decode_license(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS. The signature cannot be verified offline (W&B's key is not public)."""
    token = re.sub(r"\s+", "", token)
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        found = len([part for part in parts if part])  # "a..b" has two parts, not three
        raise ValueError(
            f"is not a W&B license: a license has three parts separated by dots (found {found}); "
            "copy it again in one piece, or read it from a file"
        )
    if not all(re.fullmatch(r"[A-Za-z0-9_-]+", part) for part in parts):
        raise ValueError("contains characters a license cannot have: copy it again, or read it from a file")
    return _b64url_json(parts[0], "header"), _b64url_json(parts[1], "content")


class LicenseConfig(Section):
    key: SecretStr | None = Field(None, title="License", description="Your W&B license (empty: unlicensed server)")

    @field_validator("key")
    @classmethod
    def _shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = re.sub(r"\s+", "", value.get_secret_value())
        if not token:
            return None
        decode_license(token)
        return SecretStr(token)


# --- Host ------------------------------------------------------------------------------------------------------


class HostConfig(Section):
    url: Annotated[str, _checked(v.server_url)] = Field(
        "http://localhost:8080",
        title="Server URL",
        description="The address users will open, e.g. https://wandb.example.com (no path)",
    )


# --- SSO -------------------------------------------------------------------------------------------------------

AuthMethod = Literal["implicit", "pkce"]
_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9-]+_[A-Za-z0-9]+)/?$")
_COGNITO_DOMAIN = re.compile(r"^(https?://)?[^/]+\.auth\.([a-z0-9-]+)\.amazoncognito\.com", re.IGNORECASE)


def cognito_issuer(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class NoSSO(Section):
    provider: Literal["none"] = "none"


class CognitoSSO(Section):
    provider: Literal["cognito"] = "cognito"
    region: Annotated[str, _checked(v.aws_region)] | None = Field(
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
        issuer = _COGNITO_ISSUER.match(value)
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


def _client_secret(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in text):
        raise ValueError("a client secret is one line of printable characters: paste it again")
    return value


def _okta_issuer(value: str) -> str:
    value = v.issuer_url(value)
    host = (re.match(r"^https?://([^/:]+)", value) or [None, ""])[1].lower()
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


class OktaSSO(Section):
    provider: Literal["okta"] = "okta"
    issuer: Annotated[str, AfterValidator(_okta_issuer)] = Field(
        title="Issuer", description="Org URL https://your-org.okta.com or https://your-org.okta.com/oauth2/default"
    )
    client_id: str = Field(title="Client ID", description="The app integration's client ID")
    auth_method: AuthMethod = Field(
        "implicit", title="Auth method", description="implicit (hybrid, W&B's default) or pkce (authorization code)"
    )
    client_secret: Annotated[SecretStr, AfterValidator(_client_secret)] | None = Field(
        None, title="Client secret",
        description="Only for confidential clients (e.g. Azure AD Web apps): GORILLA_OIDC_SECRET; empty for public",
    )


class OidcSSO(Section):
    provider: Literal["oidc"] = "oidc"
    issuer: Annotated[str, AfterValidator(v.issuer_url)] = Field(
        title="Issuer",
        description="Issuer URL; discovery must be at <issuer>/.well-known/openid-configuration (kept exactly)",
    )
    client_id: str = Field(title="Client ID", description="The client (application) ID registered for W&B")
    auth_method: AuthMethod = Field(
        "implicit", title="Auth method", description="implicit (id_token + form_post, default) or pkce (code + S256)"
    )
    client_secret: Annotated[SecretStr, AfterValidator(_client_secret)] | None = Field(
        None, title="Client secret",
        description="Only for confidential clients (e.g. Azure AD Web apps): GORILLA_OIDC_SECRET; empty for public",
    )

    @model_validator(mode="after")
    def _cognito_needs_pkce(self) -> "OidcSSO":
        if _COGNITO_ISSUER.match(self.issuer) and self.auth_method != "pkce":
            raise FieldProblem(
                "auth_method", "this is an AWS Cognito issuer and Cognito requires the pkce auth method: choose pkce"
            )
        return self


SSOConfig = Annotated[Union[NoSSO, CognitoSSO, OktaSSO, OidcSSO], Field(discriminator="provider")]


# --- File storage ----------------------------------------------------------------------------------------------


class LocalStorage(Section):
    provider: Literal["local"] = "local"


class S3Storage(Section):
    provider: Literal["s3"] = "s3"
    bucket: Annotated[str, _checked(v.s3_bucket)] = Field(title="Bucket", description="S3 bucket name, e.g. acme-wandb")
    region: Annotated[str, _checked(v.aws_region)] = Field(title="Region", description="The bucket's region, e.g. us-east-1")
    queue: Annotated[str, _checked(v.sqs_queue_name)] | None = Field(
        None, title="SQS queue", description="Standard SQS queue receiving the bucket's ObjectCreated events (empty: internal queue)"
    )
    kms_key_arn: Annotated[str, _checked(v.kms_key_arn)] | None = Field(
        None, title="KMS key ARN", description="Optional key for server-side encryption (AWS_S3_KMS_ID)"
    )
    notifications_queue: Annotated[str, _checked(v.sqs_queue_name)] | None = Field(
        None, title="Notifications queue", description="Optional SQS queue the server publishes run events to"
    )
    access_key_id: str | None = Field(
        None, title="Access key ID", description="The server's key (AWS_ACCESS_KEY_ID); the checks use it too"
    )
    secret_access_key: SecretStr | None = Field(
        None, title="Secret access key", description="The server's secret key (AWS_SECRET_ACCESS_KEY)"
    )
    instance_role: bool = Field(
        False, title="Use the instance's role",
        description="No keys: the server asks the EC2 instance metadata (a container needs IMDSv2 hop limit 2)",
    )

    @model_validator(mode="after")
    def _key_pair(self) -> "S3Storage":
        has_secret = bool(self.secret_access_key and self.secret_access_key.get_secret_value())
        if bool(self.access_key_id) != has_secret:
            raise FieldProblem(
                "secret_access_key" if self.access_key_id else "access_key_id",
                "give both the access key ID and the secret access key (or neither, with the instance's role)",
            )
        if self.instance_role and self.access_key_id:
            raise FieldProblem(
                "instance_role", "either give the server access keys or use the instance's role, not both: clear "
                "the keys or this choice"
            )
        if not self.instance_role and not self.access_key_id:
            raise FieldProblem(
                "access_key_id", "the server needs credentials for the bucket: give the access key ID and secret "
                "access key it will use, or choose the instance's role (only on an EC2 instance with a role)"
            )
        return self


def _endpoint(value: str) -> str:
    value = value.strip()
    if "://" in value:
        raise ValueError("enter host[:port] without a scheme (TLS has its own switch), e.g. minio.example.com:9000")
    host, _, port_text = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    v.hostname(host)
    if port_text:
        if not port_text.isdigit():
            raise ValueError(f"'{port_text}' is not a port: expected host[:port], e.g. minio.example.com:9000")
        v.port(int(port_text))
    return value


class S3CompatibleStorage(Section):
    provider: Literal["s3-compatible"] = "s3-compatible"
    endpoint: Annotated[str, AfterValidator(_endpoint)] = Field(
        title="Endpoint", description="host[:port] of the S3 API, e.g. minio.example.com:9000"
    )
    bucket: Annotated[str, _checked(v.s3_bucket)] = Field(title="Bucket", description="Bucket name")
    region: str = Field("us-east-1", title="Region", description="Region the store expects (MinIO: us-east-1)")
    access_key: str = Field(title="Access key", description="Access key ID (goes into the BUCKET URL)")
    secret_key: RequiredSecret = Field(title="Secret key", description="Secret key (goes into the BUCKET URL)")
    tls: bool = Field(True, title="TLS", description="The endpoint speaks HTTPS")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9-]{2,40}", value):
            raise ValueError(f"'{value}' is not a region name: expected lowercase letters, digits and hyphens")
        return value


class GcsStorage(Section):
    provider: Literal["gcs"] = "gcs"
    bucket: Annotated[str, _checked(v.gcs_bucket)] = Field(title="Bucket", description="Cloud Storage bucket name")
    project: Annotated[str, _checked(v.gcp_project)] | None = Field(
        None, title="Pub/Sub project", description="Project ID holding the topic and subscription"
    )
    topic: Annotated[str, _checked(v.pubsub_name)] | None = Field(
        None, title="Pub/Sub topic", description="Topic the bucket notifies (gsutil notification create -t …)"
    )
    subscription: Annotated[str, _checked(v.pubsub_name)] | None = Field(
        None, title="Pub/Sub subscription", description="Pull subscription on that topic, read by the server"
    )
    credentials_file: Annotated[str, AfterValidator(v.file_path)] | None = Field(
        None, title="Key file",
        description="Service-account JSON key, given to the server read-only (GOOGLE_APPLICATION_CREDENTIALS)",
    )
    instance_account: bool = Field(
        False, title="Use the instance's account",
        description="No key file: the server uses the GCE instance's service account (metadata server)",
    )

    @model_validator(mode="after")
    def _credentials(self) -> "GcsStorage":
        if self.instance_account and self.credentials_file:
            raise FieldProblem("instance_account", "either give the server a key file or use the instance's "
                               "service account, not both: clear the key file or this choice")
        if not self.instance_account and not self.credentials_file:
            raise FieldProblem("credentials_file", "the server needs credentials for the bucket: give the "
                               "service-account key file, or choose the instance's account (only on a GCE instance)")
        return self

    @model_validator(mode="after")
    def _pubsub_complete(self) -> "GcsStorage":
        given = [self.project, self.topic, self.subscription]
        if any(given) and not all(given):
            missing = ("project", "topic", "subscription")[[bool(value) for value in given].index(False)]
            raise FieldProblem(
                missing, "give the Pub/Sub project, topic and subscription together, or none (internal queue)"
            )
        return self


class AzureStorage(Section):
    provider: Literal["azure"] = "azure"
    account: Annotated[str, _checked(v.azure_account)] = Field(
        title="Storage account", description="Storage account name, e.g. acmewandb"
    )
    container: Annotated[str, _checked(v.azure_container_or_queue, "container")] = Field(
        title="Blob container", description="Private blob container for W&B files"
    )
    queue: Annotated[str, _checked(v.azure_container_or_queue, "queue")] | None = Field(
        None, title="Queue", description="Storage queue receiving BlobCreated events (empty: internal queue)"
    )
    account_key: RequiredSecret = Field(title="Account key", description="Access key (Storage account › Access keys)")


StorageConfig = Annotated[
    Union[LocalStorage, S3Storage, S3CompatibleStorage, GcsStorage, AzureStorage], Field(discriminator="provider")
]


# --- Database and cache ----------------------------------------------------------------------------------------


class EmbeddedDatabase(Section):
    provider: Literal["embedded"] = "embedded"


class MySQLDatabase(Section):
    provider: Literal["mysql"] = "mysql"
    host: Hostname = Field(title="Host", description="MySQL 8 server host name or IP")
    port: Port = Field(3306, title="Port", description="Default 3306")
    user: str = Field("wandb_local", title="User", description="Database user for W&B")
    password: RequiredSecret = Field(title="Password", description="That user's password")
    database: str = Field("wandb_local", title="Database", description="Database (schema) name")
    tls: Literal["disabled", "preferred", "required"] = Field(
        "preferred", title="TLS", description="disabled, preferred (W&B's default) or required (verified)"
    )
    ca_file: Annotated[str, AfterValidator(v.file_path)] | None = Field(
        None, title="CA file", description="Private CA, given to the server read-only (MYSQL_CA_CERT_PATH) and checked"
    )

    @field_validator("user", "database")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_$-]{1,64}", value):
            raise ValueError(f"'{value}' is not accepted: expected 1-64 letters, digits, '_', '$' or '-'")
        return value


class EmbeddedCache(Section):
    provider: Literal["embedded"] = "embedded"


class RedisCache(Section):
    provider: Literal["redis"] = "redis"
    host: Hostname = Field(title="Host", description="Redis server host name or IP")
    port: Port = Field(6379, title="Port", description="Default 6379")
    user: str | None = Field(None, title="User", description="ACL user (empty: password-only or no auth)")
    password: SecretStr | None = Field(None, title="Password", description="Password (AUTH)")
    tls: bool = Field(True, title="TLS", description="In-transit encryption (recommended)")
    ca_file: Annotated[str, AfterValidator(v.file_path)] | None = Field(
        None, title="CA file", description="Private CA, given to the server read-only (caCertPath in REDIS)"
    )

    @model_validator(mode="after")
    def _user_needs_password(self) -> "RedisCache":
        if self.user and not (self.password and self.password.get_secret_value()):
            raise FieldProblem("password", "an ACL user needs a password: enter the password or clear the user")
        return self


DatabaseConfig = Annotated[Union[EmbeddedDatabase, MySQLDatabase], Field(discriminator="provider")]
CacheConfig = Annotated[Union[EmbeddedCache, RedisCache], Field(discriminator="provider")]


# --- Slack -----------------------------------------------------------------------------------------------------


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


# --- Server options --------------------------------------------------------------------------------------------


class ExtraEnv(Section):
    name: Annotated[str, AfterValidator(v.extra_env_name)] = Field(title="Name")
    value: Annotated[str, AfterValidator(v.env_value)] = Field("", title="Value")
    secret: bool | None = Field(
        None, title="Secret", description="Kept in the keyring, masked (default: names with SECRET, PASSWORD, TOKEN, KEY)"
    )

    @property
    def is_secret(self) -> bool:
        return self.secret if self.secret is not None else v.looks_secret(self.name)


def _volume(value: str) -> str:
    value = value.strip()
    if value.startswith("/"):
        if "\0" in value or value.rstrip("/") == "":
            raise ValueError("expected an absolute directory path other than /, e.g. /srv/wandb")
        return value.rstrip("/")
    if value.startswith((".", "~")) or "/" in value:
        raise ValueError("a bind path must be absolute, e.g. /srv/wandb (or give a volume name such as wandb)")
    return v.docker_name(value, "volume")


class ServerOptions(Section):
    image: Annotated[str, AfterValidator(v.image_name)] = Field("wandb/local", title="Image", description="Docker image name")
    tag: Annotated[str, AfterValidator(v.image_tag)] = Field("latest", title="Tag", description="Image tag, e.g. latest")
    container_name: Annotated[str, AfterValidator(lambda s: v.docker_name(s, "container"))] = Field(
        "wandb-local", title="Container name", description="Name of the Docker container"
    )
    bind_address: Annotated[str, AfterValidator(v.ip_address)] = Field(
        "0.0.0.0", title="Bind address", description="Host address to publish on (0.0.0.0: all interfaces)"
    )
    port: Port = Field(8080, title="Published port", description="Host port mapped to the container's 8080")
    volume: Annotated[str, AfterValidator(_volume)] = Field(
        "wandb", title="Data volume", description="Named volume (wandb) or absolute bind path, mounted at /vol"
    )
    restart_policy: Literal["no", "always", "unless-stopped", "on-failure"] = Field(
        "unless-stopped", title="Restart policy", description="Docker restart policy"
    )
    logging_enabled: bool = Field(False, title="Access logs to stdout", description="LOGGING_ENABLED=true")
    local_restore: bool = Field(
        False, title="Restore mode", description="LOCAL_RESTORE=true: temporary admin credentials in the logs, SSO off"
    )
    http_proxy: Annotated[str, AfterValidator(v.proxy_url)] | None = Field(
        None, title="HTTP proxy", description="Proxy the server uses for http:// (HTTP_PROXY), e.g. http://proxy:3128"
    )
    https_proxy: Annotated[str, AfterValidator(v.proxy_url)] | None = Field(
        None, title="HTTPS proxy", description="Proxy the server uses for https:// (HTTPS_PROXY); the checks use it too"
    )
    no_proxy: Annotated[str, AfterValidator(v.no_proxy_list)] | None = Field(
        None, title="No proxy for", description="Hosts reached directly (NO_PROXY), e.g. localhost,.internal.example.com"
    )
    extra_env: tuple[ExtraEnv, ...] = Field(
        (), title="Extra environment", description="Further server options (GORILLA_*, ENABLE_REGISTRY_UI, ...)"
    )

    @field_validator("extra_env")
    @classmethod
    def _unique(cls, value: tuple[ExtraEnv, ...]) -> tuple[ExtraEnv, ...]:
        names = [item.name for item in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"{', '.join(duplicates)} is given more than once")
        return value

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.tag}"


# --- The whole install -----------------------------------------------------------------------------------------


class InstallConfig(Section):
    license: LicenseConfig = LicenseConfig()
    host: HostConfig = HostConfig()
    sso: SSOConfig = NoSSO()
    storage: StorageConfig = LocalStorage()
    database: DatabaseConfig = EmbeddedDatabase()
    cache: CacheConfig = EmbeddedCache()
    slack: SlackConfig = SlackConfig()
    server: ServerOptions = ServerOptions()


# The step each section belongs to, and whether the step chooses a provider.
SECTION_MODELS: dict[str, Any] = {
    "license": LicenseConfig,
    "host": HostConfig,
    "sso": SSOConfig,
    "storage": StorageConfig,
    "database": DatabaseConfig,
    "cache": CacheConfig,
    "slack": SlackConfig,
    "server": ServerOptions,
}

PROVIDER_MODELS: dict[str, dict[str, type[Section]]] = {
    "sso": {"none": NoSSO, "cognito": CognitoSSO, "okta": OktaSSO, "oidc": OidcSSO},
    "storage": {
        "local": LocalStorage,
        "s3": S3Storage,
        "s3-compatible": S3CompatibleStorage,
        "gcs": GcsStorage,
        "azure": AzureStorage,
    },
    "database": {"embedded": EmbeddedDatabase, "mysql": MySQLDatabase},
    "cache": {"embedded": EmbeddedCache, "redis": RedisCache},
}
