"""Every field of every configuration model, with good and bad values, validated as the UI does it.

Values go through `wizard.draft.validate_step(step, draft, secrets)`: plain fields in the draft, secret fields in
the keyring mapping. A bad value must give exactly one error, on that field, whose text starts with
"<Step title> › <Field label>:" and says what is expected.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from wizard import config as c
from wizard.providers.base import Section
from wizard.providers.builtin import EmbeddedCache, EmbeddedDatabase, NoSSO
from wizard.providers.cognito import cognito_issuer
from wizard.providers.gcs import GcsStorage
from wizard.providers.local import LocalStorage
from wizard.providers.slack import SlackConfig
from wizard.draft import provider_key, secret_fields, validate_step
from wizard.steps import CONFIG_STEPS, step_title
from wizard.suggested_host import default_url

OMIT = object()  # the field is not given at all


def b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


LICENSE = f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64({'sub': 'acme', 'exp': 1893456000})}.{b64(b'signature')}"

# A valid set of values per (step, provider); each case changes one field of it.
BASE: dict[tuple[str, str | None], dict[str, Any]] = {
    ("license", None): {},
    ("host", None): {},
    ("sso", "none"): {},
    ("sso", "cognito"): {"user_pool_id": "us-east-1_AbC123xyz", "client_id": "4v8fexample"},
    ("sso", "okta"): {"issuer": "https://acme.okta.com", "client_id": "0oa1b2c3d4"},
    ("sso", "oidc"): {"issuer": "https://idp.example.com/realms/wandb", "client_id": "wandb"},
    ("storage", "local"): {},
    ("storage", "s3"): {"bucket": "acme-wandb", "region": "us-east-1", "instance_role": True},
    ("storage", "s3-compatible"): {
        "endpoint": "minio.example.com:9000", "bucket": "wandb", "access_key": "minio", "secret_key": "minio-secret",
    },
    ("storage", "gcs"): {"bucket": "acme-wandb", "instance_account": True},
    ("storage", "azure"): {"account": "acmewandb", "container": "wandb", "account_key": "a2V5"},
    ("database", "embedded"): {},
    ("database", "mysql"): {"host": "db.example.com", "password": "pw"},
    ("cache", "embedded"): {},
    ("cache", "redis"): {"host": "cache.example.com"},
    ("slack", None): {},
    ("server", None): {},
}


def model_for(step: str, provider: str | None) -> type[Section]:
    return c.PROVIDER_MODELS[step][provider] if provider else c.SECTION_MODELS[step]


def draft_and_secrets(step: str, provider: str | None, fields: dict[str, Any]) -> tuple[dict, dict]:
    """The session's shape: secret fields go to the keyring mapping under their dotted id."""
    values = {**BASE[(step, provider)], **fields}
    values = {name: value for name, value in values.items() if value is not OMIT}
    secret_names = set(secret_fields(model_for(step, provider)))
    prefix = (step, provider_key(provider)) if provider else (step,)
    secrets = {".".join((*prefix, name)): value for name, value in values.items() if name in secret_names}
    plain = {name: value for name, value in values.items() if name not in secret_names}
    draft = {"provider": provider, provider_key(provider): plain} if provider else plain
    return draft, secrets


def validate(step: str, provider: str | None, **fields: Any):
    return validate_step(step, *draft_and_secrets(step, provider, fields))


def valid(step: str, provider: str | None, **fields: Any) -> Section:
    section, errors = validate(step, provider, **fields)
    assert errors == [], [str(error) for error in errors]
    return section


def single_error(step: str, provider: str | None, field: str, **fields: Any):
    section, errors = validate(step, provider, **fields)
    assert section is None
    assert len(errors) == 1, [str(error) for error in errors]
    error = errors[0]
    label = model_for(step, provider).model_fields[field].title
    assert str(error).startswith(f"{step_title(step)} › {label}: "), str(error)
    assert error.label == label
    assert error.path == ((provider_key(provider),) if provider else ()) + (field,)
    return error


def _secret_value(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


PUBSUB = {"project": "acme-prod", "topic": "wandb-files", "subscription": "wandb-files-sub"}

# (step, provider, field, given value, expected value after validation (OMIT: same as given)[, other fields])
GOOD = [
    ("license", None, "key", "", None),
    ("license", None, "key", LICENSE, LICENSE),
    ("license", None, "key", f"  {LICENSE[:20]}\n {LICENSE[20:40]}\r\n\t{LICENSE[40:]}\n", LICENSE),  # pasted, wrapped
    ("host", None, "url", "https://wandb.example.com", OMIT),
    ("host", None, "url", "https://wandb.example.com/", "https://wandb.example.com"),
    ("host", None, "url", "http://10.0.0.5:8080", OMIT),
    ("host", None, "url", "http://[::1]:8080", OMIT),
    ("host", None, "url", "", default_url()),  # the address this machine is reached at
    ("host", None, "reverse_proxy", True, OMIT),
    ("host", None, "reverse_proxy", "yes", True),
    ("sso", "cognito", "region", "", None),
    ("sso", "cognito", "region", "us-east-1", OMIT),
    ("sso", "cognito", "user_pool_id", "eu-west-1_AbC123xyz", OMIT),
    ("sso", "cognito", "user_pool_id", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz",
     "eu-west-1_AbC123xyz"),
    ("sso", "cognito", "user_pool_id", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz/",
     "eu-west-1_AbC123xyz"),
    ("sso", "cognito", "user_pool_id", "us-gov-west-1_Abc", OMIT),
    ("sso", "cognito", "client_id", " 4v8fexample ", "4v8fexample"),
    ("sso", "okta", "issuer", "https://acme.okta.com", OMIT),
    ("sso", "okta", "issuer", "https://acme.okta.com/oauth2/default", OMIT),
    ("sso", "okta", "issuer", "https://login.acme.com/oauth2/aus1abc2DEF", OMIT),
    ("sso", "okta", "client_id", "0oa9", OMIT),
    ("sso", "okta", "auth_method", "pkce", OMIT),
    ("sso", "okta", "auth_method", "", "implicit"),
    ("sso", "oidc", "issuer", "https://idp.example.com/realms/wandb/", OMIT),  # kept exactly, slash included
    ("sso", "oidc", "issuer", "http://localhost:8081/realms/test", OMIT),
    ("sso", "oidc", "issuer", "http://127.0.0.1:5556/dex", OMIT),
    ("sso", "oidc", "client_id", "wandb-local", OMIT),
    ("sso", "oidc", "auth_method", "implicit", OMIT),
    ("sso", "oidc", "auth_method", "pkce", OMIT),
    ("storage", "s3", "bucket", "acme.wandb-files", OMIT),
    ("storage", "s3", "region", "us-gov-west-1", OMIT),
    ("storage", "s3", "queue", "wandb-files", OMIT),
    ("storage", "s3", "queue", "", None),
    ("storage", "s3", "kms_key_arn", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
     OMIT),
    ("storage", "s3", "kms_key_arn", "", None),
    ("storage", "s3", "notifications_queue", "wandb-notifications", OMIT),
    ("storage", "s3", "access_key_id", "", None),
    ("storage", "s3", "access_key_id", "AKIAIOSFODNN7EXAMPLE", OMIT,
     {"instance_role": False, "secret_access_key": "wJalrXUtnFEMI/K7MDENG"}),
    ("storage", "s3", "secret_access_key", "", None),
    ("storage", "s3", "instance_role", True, OMIT),
    ("sso", "okta", "client_secret", "okta-Secret_1~x", OMIT),
    ("sso", "okta", "client_secret", "", None),
    ("sso", "oidc", "client_secret", "azure~AbC.123-x", OMIT),
    ("storage", "s3", "instance_role", "false", False, {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                                         "secret_access_key": "wJalrXUtnFEMI/K7MDENG"}),
    ("storage", "s3-compatible", "endpoint", "minio.example.com", OMIT),
    ("storage", "s3-compatible", "endpoint", "10.0.0.5:9000", OMIT),
    ("storage", "s3-compatible", "bucket", "wandb-files", OMIT),
    ("storage", "s3-compatible", "region", "", "us-east-1"),
    ("storage", "s3-compatible", "region", "garage", OMIT),
    ("storage", "s3-compatible", "access_key", "AKIA@/:+ x", OMIT),
    ("storage", "s3-compatible", "secret_key", "s@c/r:e+t", OMIT),
    ("storage", "s3-compatible", "tls", "false", False),
    ("storage", "s3-compatible", "tls", True, OMIT),
    ("storage", "gcs", "bucket", "acme_wandb.files", OMIT),
    ("storage", "gcs", "project", "acme-prod", OMIT, PUBSUB),
    ("storage", "gcs", "project", "", None, {"topic": "", "subscription": ""}),  # none: internal queue
    ("storage", "gcs", "topic", "t.wandb~files+1", OMIT, PUBSUB),
    ("storage", "gcs", "subscription", "Sub_1", OMIT, PUBSUB),
    ("storage", "gcs", "credentials_file", "/home/me/key.json", OMIT, {"instance_account": False}),
    ("storage", "gcs", "credentials_file", "", None),
    ("storage", "gcs", "instance_account", True, OMIT),
    ("storage", "gcs", "instance_account", "no", False, {"credentials_file": "/home/me/key.json"}),
    ("storage", "azure", "account", "acmewandb01", OMIT),
    ("storage", "azure", "container", "wandb-files", OMIT),
    ("storage", "azure", "queue", "wandb-events", OMIT),
    ("storage", "azure", "queue", "", None),
    ("storage", "azure", "account_key", "a2V5PT0=", OMIT),
    ("database", "mysql", "host", "10.0.0.7", OMIT),
    ("database", "mysql", "host", "fd00::7", OMIT),
    ("database", "mysql", "port", "3307", 3307),
    ("database", "mysql", "port", "", 3306),
    ("database", "mysql", "user", "wandb$app-1", OMIT),
    ("database", "mysql", "user", "", "wandb_local"),
    ("database", "mysql", "password", "p@ss/w:rd", OMIT),
    ("database", "mysql", "database", "wandb_local2", OMIT),
    ("database", "mysql", "tls", "required", OMIT),
    ("database", "mysql", "tls", "disabled", OMIT),
    ("database", "mysql", "tls", "", "preferred"),
    ("database", "mysql", "ca_file", "/etc/ssl/rds.pem", OMIT),
    ("cache", "redis", "host", "10.0.0.8", OMIT),
    ("cache", "redis", "port", 6380, OMIT),
    ("cache", "redis", "user", "", None),
    ("cache", "redis", "password", "only-a-password", OMIT),  # password-only AUTH
    ("cache", "redis", "password", "", None),  # no AUTH
    ("cache", "redis", "tls", "no", False),
    ("cache", "redis", "ca_file", "/etc/ssl/redis.pem", OMIT),
    ("slack", None, "client_id", "", None),
    ("slack", None, "secret", "", None),
    ("server", None, "image", "registry.example.com:5000/wandb/local", OMIT),
    ("server", None, "image", "localhost:5000/wandb/local", OMIT),
    ("server", None, "tag", "0.60.0", OMIT),
    ("server", None, "container_name", "wandb_local.2", OMIT),
    ("server", None, "bind_address", "127.0.0.1", OMIT),
    ("server", None, "bind_address", "::", OMIT),
    ("server", None, "port", "8081", 8081),
    ("server", None, "volume", "wandb-data", OMIT),
    ("server", None, "volume", "/srv/wandb/", "/srv/wandb"),
    ("server", None, "restart_policy", "always", OMIT),
    ("server", None, "http_proxy", "http://proxy.example.com:3128", OMIT),
    ("server", None, "http_proxy", "", None),
    ("server", None, "https_proxy", "HTTP://Proxy.example.com:3128/", "http://Proxy.example.com:3128"),
    ("server", None, "no_proxy", " localhost, .corp.example.com,10.0.0.0/8 ", "localhost,.corp.example.com,10.0.0.0/8"),
    ("server", None, "no_proxy", "", None),
    ("server", None, "restart_policy", "no", OMIT),
    ("server", None, "logging_enabled", "true", True),
    ("server", None, "local_restore", True, OMIT),
    ("server", None, "extra_env", [{"name": "GORILLA_CORS_ORIGINS", "value": "https://a.example.com"}],
     (c.ExtraEnv(name="GORILLA_CORS_ORIGINS", value="https://a.example.com"),)),
    ("server", None, "extra_env", [{"name": "GORILLA_DISABLE_PERSONAL_ENTITY"}],
     (c.ExtraEnv(name="GORILLA_DISABLE_PERSONAL_ENTITY", value=""),)),
]

# (step, provider, field the error is on, fields to set, fragments of the message)
BAD = [
    # License
    ("license", None, "key", {"key": "aaa.bbb"}, ("three parts separated by dots", "found 2")),
    ("license", None, "key", {"key": "aaa..bbb"}, ("three parts", "found 2")),
    ("license", None, "key", {"key": LICENSE + ".x"}, ("three parts", "found 4")),
    ("license", None, "key", {"key": LICENSE.replace("J", "$", 1)}, ("characters a license cannot have",)),
    ("license", None, "key", {"key": LICENSE.replace(".", "=.", 1)}, ("characters a license cannot have",)),
    ("license", None, "key", {"key": "abc.def.ghi"}, ("license's header is not readable", "copy the whole license")),
    ("license", None, "key", {"key": f"{b64([1])}.e30.c2ln"}, ("header is not readable",)),
    ("license", None, "key", {"key": f"e30.{b64(b'not json')}.c2ln"}, ("content is not readable",)),
    # Host
    ("host", None, "url", {"url": "wandb.example.com"}, ("has no scheme", "expected", "http:// or https://")),
    ("host", None, "reverse_proxy", {"reverse_proxy": "maybe"}, ("expected yes or no",)),
    ("host", None, "url", {"url": "ftp://wandb.example.com"}, ("scheme 'ftp' is not supported", "expected")),
    ("host", None, "url", {"url": "https://wandb.example.com/wandb"}, ("must not contain a path",)),
    ("host", None, "url", {"url": "https://wandb.example.com/?a=1"}, ("must not contain '?' or '#'",)),
    ("host", None, "url", {"url": "https://admin:secret@wandb.example.com"}, ("must not contain a user name or password",)),
    ("host", None, "url", {"url": "https://wandb.example.com:0"}, ("expected a number from 1 to 65535",)),
    ("host", None, "url", {"url": "https://wandb.example.com:70000"}, ("invalid port", "expected a number from 1 to 65535")),
    ("host", None, "url", {"url": "https://wandb.example.com:80a"}, ("invalid port", "expected")),
    # SSO: Cognito
    ("sso", "cognito", "region", {"region": "useast1"}, ("is not an AWS region", "expected")),
    ("sso", "cognito", "region", {"region": "us-west-2"},
     ("the user pool us-east-1_AbC123xyz is in us-east-1, not in us-west-2", "correct the region or leave it empty")),
    ("sso", "cognito", "user_pool_id", {"user_pool_id": "AbC123xyz"}, ("not a Cognito user pool ID", "expected <region>_<id>")),
    ("sso", "cognito", "user_pool_id", {"user_pool_id": "https://acme.auth.us-east-1.amazoncognito.com"},
     ("this is the Cognito domain", "user pool ID", "https://cognito-idp.<region>.amazonaws.com/<user-pool-id>")),
    ("sso", "cognito", "user_pool_id", {"user_pool_id": "acme.auth.us-east-1.amazoncognito.com"}, ("Cognito domain",)),
    ("sso", "cognito", "user_pool_id", {"user_pool_id": "https://cognito-idp.us-east-1.amazonaws.com/"},
     ("not a Cognito user pool ID",)),
    ("sso", "cognito", "client_id", {"client_id": OMIT}, ("is required",)),
    # SSO: Okta
    ("sso", "okta", "issuer", {"issuer": "https://acme-admin.okta.com"}, ("Okta admin console", "https://acme.okta.com")),
    ("sso", "okta", "issuer", {"issuer": "https://acme.okta.com/"}, ("no trailing slash", "remove it")),
    ("sso", "okta", "issuer", {"issuer": "https://acme.okta.com/oauth2/default/"}, ("no trailing slash",)),
    ("sso", "okta", "issuer", {"issuer": "https://acme.okta.com/app/wandb/sso"},
     ("expected the org URL", "/oauth2/default")),
    ("sso", "okta", "issuer", {"issuer": "http://acme.okta.com"}, ("must use https://",)),
    ("sso", "okta", "issuer", {"issuer": "acme.okta.com"}, ("has no scheme",)),
    ("sso", "okta", "client_id", {"client_id": OMIT}, ("is required",)),
    ("sso", "okta", "auth_method", {"auth_method": "code"}, ("'code' is not accepted", "expected 'implicit' or 'pkce'")),
    # SSO: generic OIDC
    ("sso", "oidc", "issuer", {"issuer": "http://idp.example.com/realms/wandb"}, ("must use https://",)),
    ("sso", "oidc", "issuer", {"issuer": "idp.example.com"}, ("has no scheme", "expected")),
    ("sso", "oidc", "issuer", {"issuer": OMIT}, ("is required",)),
    ("sso", "oidc", "client_id", {"client_id": OMIT}, ("is required",)),
    ("sso", "oidc", "client_id", {"client_id": 12345}, ("expected text",)),
    ("sso", "oidc", "auth_method", {"auth_method": "IMPLICIT"}, ("is not accepted", "expected 'implicit' or 'pkce'")),
    ("sso", "oidc", "auth_method", {"issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyz"},
     ("Cognito issuer", "requires the pkce auth method")),
    # File storage: S3
    ("storage", "s3", "instance_role", {"instance_role": True, "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                        "secret_access_key": "wJalrXUtnFEMI"}, ("not both",)),
    ("storage", "s3", "access_key_id", {"instance_role": False}, ("the server needs credentials", "instance's role")),
    ("storage", "gcs", "instance_account", {"credentials_file": "/k.json"}, ("not both",)),
    ("storage", "gcs", "credentials_file", {"instance_account": False}, ("the server needs credentials",)),
    ("storage", "gcs", "credentials_file", {"instance_account": False, "credentials_file": "key.json"},
     ("expected an absolute path",)),
    ("sso", "okta", "client_secret", {"client_secret": "line1\nline2"}, ("contains a line break", "one line")),
    ("sso", "oidc", "client_secret", {"client_secret": "a\x1b[31m"}, ("contains an escape character (ESC)",)),
    ("storage", "s3", "bucket", {"bucket": "ab"}, ("is not a valid S3 bucket name", "expected 3-63 characters")),
    ("storage", "s3", "bucket", {"bucket": "a" * 64}, ("expected 3-63 characters",)),
    ("storage", "s3", "bucket", {"bucket": "Acme-Wandb"}, ("lowercase letters",)),
    ("storage", "s3", "bucket", {"bucket": "acme_wandb"}, ("expected 3-63 characters",)),
    ("storage", "s3", "bucket", {"bucket": "10.1.2.3"}, ("must not look like an IP address",)),
    ("storage", "s3", "bucket", {"bucket": "acme..wandb"}, ("dots must not be next to dots",)),
    ("storage", "s3", "bucket", {"bucket": "xn--acme"}, ("prefix or suffix AWS reserves",)),
    ("storage", "s3", "bucket", {"bucket": "acme-s3alias"}, ("prefix or suffix AWS reserves",)),
    ("storage", "s3", "bucket", {"bucket": "s3://acme-wandb"}, ("without s3://", "'acme-wandb'")),
    ("storage", "s3", "bucket", {"bucket": OMIT}, ("is required",)),
    ("storage", "s3", "region", {"region": "useast1"}, ("not an AWS region", "expected a code such as us-east-1")),
    ("storage", "s3", "region", {"region": "US-EAST-1"}, ("not an AWS region",)),
    ("storage", "s3", "region", {"region": OMIT}, ("is required",)),
    ("storage", "s3", "queue", {"queue": "wandb-files.fifo"}, ("FIFO", "standard SQS queue")),
    ("storage", "s3", "queue", {"queue": "https://sqs.us-east-1.amazonaws.com/123456789012/wandb-files"},
     ("queue name only", "'wandb-files'")),
    ("storage", "s3", "queue", {"queue": "arn:aws:sqs:us-east-1:123456789012:wandb-files"}, ("'wandb-files'",)),
    ("storage", "s3", "queue", {"queue": "q" * 81}, ("expected 1-80",)),
    ("storage", "s3", "kms_key_arn", {"kms_key_arn": "1234abcd-12ab-34cd-56ef-1234567890ab"}, ("expected a KMS key ARN",)),
    ("storage", "s3", "notifications_queue", {"notifications_queue": "notify.fifo"}, ("FIFO",)),
    ("storage", "s3", "notifications_queue", {"notifications_queue": "sqs://notify"}, ("queue name only", "'notify'")),
    ("storage", "s3", "access_key_id", {"secret_access_key": "wJalrXUtnFEMI"}, ("give both", "or neither")),
    ("storage", "s3", "secret_access_key", {"access_key_id": "AKIAIOSFODNN7EXAMPLE"}, ("give both", "or neither")),
    # File storage: S3-compatible
    ("storage", "s3-compatible", "endpoint", {"endpoint": "https://minio.example.com:9000"},
     ("without a scheme", "e.g. minio.example.com:9000")),
    ("storage", "s3-compatible", "endpoint", {"endpoint": "minio.example.com:99999"}, ("expected a number from 1 to 65535",)),
    ("storage", "s3-compatible", "endpoint", {"endpoint": "minio.example.com:0"}, ("expected a number from 1 to 65535",)),
    ("storage", "s3-compatible", "endpoint", {"endpoint": "minio.example.com:s3"}, ("'s3' is not a port", "host[:port]")),
    ("storage", "s3-compatible", "endpoint", {"endpoint": "minio_1:9000"}, ("not a valid host name",)),
    ("storage", "s3-compatible", "bucket", {"bucket": "Wandb"}, ("not a valid S3 bucket name",)),
    ("storage", "s3-compatible", "region", {"region": "US East"}, ("not a region name", "expected lowercase letters")),
    ("storage", "s3-compatible", "access_key", {"access_key": OMIT}, ("is required",)),
    ("storage", "s3-compatible", "secret_key", {"secret_key": OMIT}, ("is required",)),
    ("storage", "s3-compatible", "secret_key", {"secret_key": "   "}, ("is required",)),
    ("storage", "s3-compatible", "tls", {"tls": "maybe"}, ("expected yes or no",)),
    # File storage: GCS
    ("storage", "gcs", "bucket", {"bucket": "goog-wandb"}, ("must not start with 'goog'",)),
    ("storage", "gcs", "bucket", {"bucket": "acme-google-files"}, ("contain 'google'",)),
    ("storage", "gcs", "bucket", {"bucket": "ab"}, ("not a valid Cloud Storage bucket name", "expected")),
    ("storage", "gcs", "bucket", {"bucket": "a" * 64}, ("at most 63 characters",)),
    ("storage", "gcs", "bucket", {"bucket": "files." + "a" * 64}, ("63 between dots",)),
    ("storage", "gcs", "bucket", {"bucket": "gs://acme-wandb"}, ("without gs://",)),
    ("storage", "gcs", "project", {"project": "abcde", "topic": "wandb", "subscription": "wandb-sub"},
     ("not a Google Cloud project ID", "expected 6-30 lowercase letters")),
    ("storage", "gcs", "project", {"project": "My-Project", "topic": "wandb", "subscription": "wandb-sub"},
     ("expected 6-30",)),
    ("storage", "gcs", "project", {"topic": "wandb", "subscription": "wandb-sub"}, ("together, or none",)),
    ("storage", "gcs", "topic", {"project": "acme-prod", "topic": "projects/acme-prod/topics/wandb",
                                 "subscription": "wandb-sub"}, ("short name only", "'wandb'")),
    ("storage", "gcs", "topic", {"project": "acme-prod", "subscription": "wandb-sub"}, ("together, or none",)),
    ("storage", "gcs", "subscription", {"project": "acme-prod", "topic": "wandb",
                                        "subscription": "projects/acme-prod/subscriptions/wandb-sub"},
     ("short name only", "'wandb-sub'")),
    ("storage", "gcs", "subscription", {"project": "acme-prod", "topic": "wandb", "subscription": "goog-sub"},
     ("not starting with 'goog'",)),
    ("storage", "gcs", "subscription", {"project": "acme-prod", "topic": "wandb"}, ("together, or none",)),
    ("storage", "gcs", "credentials_file", {"credentials_file": 42}, ("expected text",)),
    # File storage: Azure
    ("storage", "azure", "account", {"account": "AcmeWandb"}, ("not a valid storage account name", "3-24 lowercase")),
    ("storage", "azure", "account", {"account": "a" * 25}, ("expected 3-24",)),
    ("storage", "azure", "account", {"account": "ab"}, ("expected 3-24",)),
    ("storage", "azure", "container", {"container": "wandb--files"}, ("not a valid container name", "single hyphens")),
    ("storage", "azure", "container", {"container": "-wandb"}, ("starting and ending with a letter or digit",)),
    ("storage", "azure", "container", {"container": "c" * 64}, ("expected 3-63",)),
    ("storage", "azure", "queue", {"queue": "wandb--events"}, ("not a valid queue name", "single hyphens")),
    ("storage", "azure", "queue", {"queue": "-events"}, ("not a valid queue name",)),
    ("storage", "azure", "queue", {"queue": "q" * 64}, ("expected 3-63",)),
    ("storage", "azure", "account_key", {"account_key": OMIT}, ("is required",)),
    # Database
    ("database", "mysql", "host", {"host": "db_1.example.com"}, ("not a valid host name", "e.g.")),
    ("database", "mysql", "host", {"host": OMIT}, ("is required",)),
    ("database", "mysql", "port", {"port": "0"}, ("expected a number from 1 to 65535",)),
    ("database", "mysql", "port", {"port": 65536}, ("expected a number from 1 to 65535",)),
    ("database", "mysql", "port", {"port": "3306a"}, ("not a whole number", "expected")),
    ("database", "mysql", "user", {"user": "wandb local"}, ("is not accepted", "expected 1-64 letters")),
    ("database", "mysql", "user", {"user": "u" * 65}, ("expected 1-64",)),
    ("database", "mysql", "password", {"password": OMIT}, ("is required",)),
    ("database", "mysql", "database", {"database": "wandb;drop"}, ("expected 1-64 letters",)),
    ("database", "mysql", "tls", {"tls": "true"}, ("'true' is not accepted", "'disabled', 'preferred' or 'required'")),
    ("database", "mysql", "ca_file", {"ca_file": ["/a", "/b"]}, ("expected text",)),
    # Cache
    ("cache", "redis", "host", {"host": "redis host"}, ("not a valid host name",)),
    ("cache", "redis", "port", {"port": "70000"}, ("expected a number from 1 to 65535",)),
    ("cache", "redis", "user", {"user": 6379, "password": "pw"}, ("expected text",)),
    ("cache", "redis", "password", {"user": "wandb"}, ("an ACL user needs a password",)),
    ("cache", "redis", "tls", {"tls": "sometimes"}, ("expected yes or no",)),
    ("cache", "redis", "ca_file", {"ca_file": 1}, ("expected text",)),
    # Slack
    ("slack", None, "client_id", {"client_id": "abc", "secret": "0" * 32}, ("not a Slack client ID", "two numbers joined by a dot")),
    ("slack", None, "client_id", {"secret": "0123456789abcdef0123456789abcdef"}, ("give both", "or neither")),
    ("slack", None, "secret", {"client_id": "1234567890.9876543210"}, ("give both", "or neither")),
    ("slack", None, "secret", {"client_id": "1.2", "secret": "0" * 31}, ("expected 32 hexadecimal characters",)),
    ("slack", None, "secret", {"client_id": "1.2", "secret": "g" * 32}, ("expected 32 hexadecimal characters",)),
    ("slack", None, "secret", {"client_id": "1.2", "secret": "A" * 32}, ("expected 32 hexadecimal characters",)),
    # Server options
    ("server", None, "image", {"image": "wandb/local:latest"}, ("without a tag or digest",)),
    ("server", None, "image", {"image": "Wandb/Local"}, ("not a valid image name", "expected e.g. wandb/local")),
    ("server", None, "tag", {"tag": "-rc"}, ("not a valid image tag", "expected")),
    ("server", None, "container_name", {"container_name": "wandb local"}, ("not a valid container name", "expected")),
    ("server", None, "container_name", {"container_name": "w"}, ("at least 2 characters",)),
    ("server", None, "bind_address", {"bind_address": "localhost"}, ("not an IP address", "expected e.g. 0.0.0.0")),
    ("server", None, "port", {"port": "0"}, ("expected a number from 1 to 65535",)),
    ("server", None, "port", {"port": "eighty"}, ("not a whole number",)),
    ("server", None, "volume", {"volume": "./wandb-data"}, ("bind path must be absolute", "/srv/wandb")),
    ("server", None, "volume", {"volume": "~/wandb"}, ("bind path must be absolute",)),
    ("server", None, "volume", {"volume": "data/wandb"}, ("bind path must be absolute",)),
    ("server", None, "volume", {"volume": "/"}, ("absolute directory path other than /",)),
    ("server", None, "volume", {"volume": "my volume"}, ("not a valid volume name", "expected")),
    ("server", None, "http_proxy", {"http_proxy": "proxy.example.com:3128"}, ("has no scheme",)),
    ("server", None, "https_proxy", {"https_proxy": "http://me:pw@proxy.example.com:3128"},
     ("would be stored in clear",)),
    ("server", None, "no_proxy", {"no_proxy": "localhost;evil"}, ("is not a host name",)),
    ("server", None, "restart_policy", {"restart_policy": "sometimes"},
     ("'sometimes' is not accepted", "'no', 'always', 'unless-stopped' or 'on-failure'")),
    ("server", None, "logging_enabled", {"logging_enabled": "perhaps"}, ("expected yes or no",)),
    ("server", None, "local_restore", {"local_restore": "2"}, ("expected yes or no",)),
    ("server", None, "extra_env", {"extra_env": [{"name": "GORILLA_A", "value": "1"}, {"name": "GORILLA_A", "value": "2"}]},
     ("GORILLA_A is given more than once",)),
]

# Errors inside the extra environment rows: (rows, label after "Server options › ", fragments)
BAD_EXTRA_ENV = [
    ([{"name": "HOST", "value": "x"}], "Extra environment, row 1 › Name", ("set by the wizard's steps",)),
    ([{"name": "GORILLA_A", "value": "1"}, {"name": "gorilla-b", "value": "2"}], "Extra environment, row 2 › Name",
     ("is not an environment variable name",)),
    ([{"name": "GORILLA_A", "value": "line 1\nline 2"}], "Extra environment, row 1 › Value", ("contains a line break",)),
    ([{"value": "x"}], "Extra environment, row 1 › Name", ("is required",)),
    ([{"name": "GORILLA_A", "secret": "x"}], "Extra environment, row 1 › Secret", ("expected yes or no",)),
    ([{"name": "GORILLA_A", "colour": "x"}], "Extra environment, row 1 › colour", ("is not a setting of this step",)),
]


def _all_fields() -> set[tuple[str, str | None, str]]:
    fields = set()
    for step in CONFIG_STEPS:
        for provider in c.PROVIDER_MODELS.get(step, {None: None}):
            fields |= {(step, provider, name) for name in model_for(step, provider).model_fields if name != "provider"}
    return fields


def test_every_model_field_has_good_and_bad_cases():
    fields = _all_fields()
    good = {(step, provider, field) for step, provider, field, *_ in GOOD}
    bad = {(step, provider, field) for step, provider, field, *_ in BAD}
    assert fields - good == set(), "fields without a good value"
    assert fields - bad == set(), "fields without a bad value"
    assert (good | bad) - fields == set(), "cases for fields that do not exist"


@pytest.mark.parametrize("step, provider, field, given, expected, other", [(*case, {})[:6] for case in GOOD])
def test_good_value(step, provider, field, given, expected, other):
    section = valid(step, provider, **{**other, field: given})
    assert _secret_value(getattr(section, field)) == (given if expected is OMIT else expected)


@pytest.mark.parametrize("step, provider, field, fields, fragments", BAD)
def test_bad_value_names_the_field_and_says_what_is_expected(step, provider, field, fields, fragments):
    error = single_error(step, provider, field, **fields)
    for fragment in fragments:
        assert fragment in error.message, error.message
    assert "Value error" not in error.message and "Input should" not in error.message


@pytest.mark.parametrize("rows, label, fragments", BAD_EXTRA_ENV)
def test_extra_environment_rows(rows, label, fragments):
    _, errors = validate_step("server", {"extra_env": rows})
    assert len(errors) == 1, [str(error) for error in errors]
    assert str(errors[0]).startswith(f"Server options › {label}: ")
    assert all(fragment in errors[0].message for fragment in fragments)


def test_pasted_cognito_issuer_gives_pool_and_region():
    section = valid("sso", "cognito", user_pool_id="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz")
    assert section.user_pool_id == "eu-west-1_AbC123xyz"
    assert section.region is None  # derived, not stored
    assert section.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"
    assert section.auth_method == "pkce"


def test_cognito_region_matching_the_pool_is_accepted():
    section = valid("sso", "cognito", user_pool_id="eu-west-1_AbC123xyz", region="eu-west-1")
    assert section.issuer == cognito_issuer("eu-west-1", "eu-west-1_AbC123xyz")


def test_generic_oidc_with_cognito_issuer_and_pkce_is_accepted():
    issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyz"
    assert valid("sso", "oidc", issuer=issuer, auth_method="pkce").issuer == issuer


def test_several_errors_in_one_step_are_all_reported():
    _, errors = validate("storage", "s3", bucket="AB", region="useast1", queue="x.fifo")
    assert [error.label for error in errors] == ["Bucket", "Region", "SQS queue"]


@pytest.mark.parametrize("step", ["sso", "storage", "database", "cache"])
def test_unknown_provider_is_a_provider_error(step):
    section, errors = validate_step(step, {"provider": "ftp", "ftp": {"x": 1}})
    assert section is None
    assert len(errors) == 1
    assert errors[0].path == ("provider",)
    assert str(errors[0]).startswith(f"{step_title(step)} › Provider: 'ftp' is not a choice here: expected ")
    for provider in c.PROVIDER_MODELS[step]:
        assert f"'{provider}'" in errors[0].message


@pytest.mark.parametrize("step, provider", [("host", None), ("slack", None), ("server", None), ("license", None),
                                            ("storage", "s3"), ("sso", "none"), ("cache", "redis")])
def test_unknown_key_is_not_a_setting_of_this_step(step, provider):
    error = validate(step, provider, colour="blue")[1]
    assert len(error) == 1
    assert str(error[0]) == f"{step_title(step)} › colour: is not a setting of this step"


def test_missing_provider_means_the_default_provider():
    for step, providers in c.PROVIDER_MODELS.items():
        section, errors = validate_step(step, {})
        assert errors == []
        assert isinstance(section, next(iter(providers.values())))


def test_other_providers_values_are_ignored():
    draft = {"provider": "gcs", "gcs": {"bucket": "acme-files", "instance_account": True}, "s3": {"bucket": "INVALID"}}
    section, errors = validate_step("storage", draft)
    assert errors == [] and section == GcsStorage(bucket="acme-files", instance_account=True)


def test_secret_in_keyring_wins_and_blank_secret_is_missing():
    draft = {"provider": "mysql", "mysql": {"host": "db.example.com"}}
    section, _ = validate_step("database", draft, {"database.mysql.password": "from-keyring"})
    assert section.password.get_secret_value() == "from-keyring"
    _, errors = validate_step("database", draft, {"database.mysql.password": ""})
    assert [str(error) for error in errors] == ["Database › Password: is required"]


# --- Models themselves -----------------------------------------------------------------------------------------


def test_every_field_has_a_title_for_its_label():
    models = {model_for(step, provider) for step, provider in BASE} | {c.ExtraEnv}
    for model in models:
        for name, field in model.model_fields.items():
            assert name == "provider" or field.title, f"{model.__name__}.{name} has no title"


def test_provider_tables_match_the_unions():
    for step, providers in c.PROVIDER_MODELS.items():
        for key, model in providers.items():
            assert model.model_fields["provider"].default == key
            data = {"provider": key, **BASE[(step, key)]}
            assert isinstance(getattr(c.InstallConfig.model_validate({step: data}), step), model)


def test_install_config_defaults():
    cfg = c.InstallConfig()
    assert cfg.license.key is None
    assert cfg.host.url == default_url()
    assert isinstance(cfg.sso, NoSSO) and isinstance(cfg.storage, LocalStorage)
    assert isinstance(cfg.database, EmbeddedDatabase) and isinstance(cfg.cache, EmbeddedCache)
    assert not cfg.slack.enabled
    assert cfg.server.image_ref == "wandb/local:latest"
    assert (cfg.server.container_name, cfg.server.volume, cfg.server.port) == ("wandb-local", "wandb", 8080)


def test_sections_are_frozen_and_forbid_extra_keys():
    cfg = c.InstallConfig()
    with pytest.raises(ValidationError):
        cfg.host.url = "https://x.example.com"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        c.HostConfig(url="https://x.example.com", path="/")


def test_decode_license():
    header, claims = c.decode_license(LICENSE)
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert claims == {"sub": "acme", "exp": 1893456000}


def test_slack_enabled_and_image_ref():
    slack = SlackConfig(client_id="1.2", secret="0" * 32)
    assert slack.enabled
    assert c.ServerOptions(image="registry.example.com:5000/wandb/local", tag="0.60.0").image_ref == (
        "registry.example.com:5000/wandb/local:0.60.0"
    )
