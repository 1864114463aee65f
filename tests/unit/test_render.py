"""The container's environment, compared with reviewed golden files, and the draft round trip of each case.

Each case is what a user would enter: draft values per step plus secrets by keyring id, built with
`wizard.draft.build_config`. The golden file tests/unit/golden/<case>.json holds the revealed environment (what the
container gets), the masked one (what screens show) and the names of the variables that carry secrets.

The golden files were reviewed by hand against /work/shared/reference/wandb-local-facts.md. To rewrite them after an
intended change, run with UPDATE_GOLDEN=1, then review the diff before committing it.
"""

from __future__ import annotations

import base64
import json
import os
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from wizard import config as c
from wizard.draft import build_config, draft_from_config, secret_fields, secret_ids
from wizard.container import EnvVar
from wizard.text import MASK
from wizard.render import (
    container_inputs,
    environment_dict,
    mask,
    placeholder,
    reveal,
)
from wizard.steps import CONFIG_STEPS

GOLDEN = Path(__file__).parent / "golden"
pytestmark = pytest.mark.usefixtures("ssh_connection")  # the default HOST is the same on every machine
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


LICENSE = ".".join(
    (_b64(b'{"alg":"RS256","typ":"JWT"}'), _b64(b'{"sub":"acme","exp":1893456000}'), _b64(b"not-a-real-signature"))
)
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SLACK_SECRET = "0123456789abcdef0123456789abcdef"

# name -> (draft values per step, secrets by keyring id)
CASES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "defaults": ({}, {}),
    "s3_sqs": (
        {
            "host": {"url": "https://wandb.example.com"},
            "storage": {"provider": "s3", "s3": {
                "bucket": "acme-wandb", "region": "eu-central-1", "queue": "acme-wandb-files",
                "kms_key_arn": "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "notifications_queue": "acme-wandb-notifications",
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",  # the server's keys: AWS_ACCESS_KEY_ID / _SECRET_
            }},
        },
        {"license.key": LICENSE, "storage.s3.secret_access_key": S3_SECRET},
    ),
    "s3_internal_queue": (
        {
            "host": {"url": "https://wandb.example.com"},
            "storage": {"provider": "s3", "s3": {"bucket": "acme-wandb", "region": "us-east-1", "instance_role": True}},
        },
        {},
    ),
    "s3_compatible": (
        {
            "host": {"url": "http://10.0.0.5:8080"},
            "storage": {"provider": "s3-compatible", "s3_compatible": {
                "endpoint": "minio.example.com:9000", "bucket": "wandb", "access_key": "AK@/:+ x",
            }},
        },
        {"storage.s3_compatible.secret_key": "s@c/r:e+t x"},
    ),
    "s3_compatible_no_tls": (
        {
            "storage": {"provider": "s3-compatible", "s3_compatible": {
                "endpoint": "10.0.0.9:3900", "bucket": "wandb-files", "access_key": "GK31c2f218a2e44f485b94239e",
                "region": "garage", "tls": False,
            }},
        },
        {"storage.s3_compatible.secret_key": "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835"},
    ),
    "gcs_pubsub": (
        {
            "host": {"url": "https://wandb.example.com"},
            "storage": {"provider": "gcs", "gcs": {
                "bucket": "acme-wandb", "project": "acme-prod", "topic": "wandb-files", "subscription": "wandb-files-sub",
                "credentials_file": "/home/me/key.json",  # mounted read-only, GOOGLE_APPLICATION_CREDENTIALS
            }},
        },
        {},
    ),
    "gcs_internal_queue": (
        {"storage": {"provider": "gcs", "gcs": {"bucket": "acme-wandb", "instance_account": True}}},
        {},
    ),
    "azure": (
        {
            "host": {"url": "https://wandb.example.com"},
            "storage": {"provider": "azure", "azure": {"account": "acmewandb", "container": "wandb", "queue": "wandb-events"}},
        },
        {"storage.azure.account_key": "c2VjcmV0LWF6dXJlLWtleQ=="},
    ),
    "azure_internal_queue": (
        {"storage": {"provider": "azure", "azure": {"account": "acmewandb", "container": "wandb"}}},
        {"storage.azure.account_key": "c2VjcmV0LWF6dXJlLWtleQ=="},
    ),
    "mysql_preferred_redis_user_tls": (
        {
            "database": {"provider": "mysql", "mysql": {"host": "db.example.com", "user": "wandb$app", "database": "wandb_local"}},
            "cache": {"provider": "redis", "redis": {"host": "cache.example.com", "user": "wandb", "tls": True}},
        },
        {"database.mysql.password": "p@ss/w:rd+ %", "cache.redis.password": "r3dis:p@ss"},
    ),
    "mysql_disabled_redis_password_only": (
        {
            "database": {"provider": "mysql", "mysql": {"host": "10.0.0.7", "port": 3307, "tls": "disabled"}},
            "cache": {"provider": "redis", "redis": {"host": "10.0.0.8", "port": 6380}},
        },
        {"database.mysql.password": "plain", "cache.redis.password": "only/password"},
    ),
    "mysql_required_redis_no_auth_no_tls": (
        {
            "database": {"provider": "mysql", "mysql": {"host": "fd00::7", "tls": "required", "ca_file": "/etc/ssl/rds.pem"}},
            "cache": {"provider": "redis", "redis": {"host": "redis.internal", "tls": False}},
        },
        {"database.mysql.password": "plain"},
    ),
    "cognito": (
        {
            "host": {"url": "https://wandb.example.com"},
            "sso": {"provider": "cognito", "cognito": {
                "user_pool_id": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz",
                "client_id": "4v8f2p1example",
            }},
        },
        {},
    ),
    "okta_implicit": (
        {
            "host": {"url": "https://wandb.example.com"},
            "sso": {"provider": "okta", "okta": {"issuer": "https://acme.okta.com/oauth2/default", "client_id": "0oa1b2c3d4"}},
        },
        {},
    ),
    "okta_confidential": (
        {
            "host": {"url": "https://wandb.example.com"},
            "sso": {"provider": "okta", "okta": {"issuer": "https://acme.okta.com", "client_id": "0oa9z8y7x6"}},
        },
        {"sso.okta.client_secret": "okta-s3cret_Value~1"},
    ),
    "oidc_confidential_loopback_mysql": (
        {
            "host": {"url": "http://10.0.0.5:8080"},
            "sso": {"provider": "oidc", "oidc": {"issuer": "https://login.example.com/tenant/v2.0", "client_id": "app"}},
            "database": {"provider": "mysql", "mysql": {"host": "host.docker.internal", "tls": "disabled"}},
            "cache": {"provider": "redis", "redis": {"host": "host.docker.internal", "tls": True,
                                                     "ca_file": "/etc/ssl/redis-ca.pem"}},
        },
        {"sso.oidc.client_secret": "azure~Secret.Value-1", "database.mysql.password": "db-pw"},
    ),
    "oidc_pkce_issuer_kept": (
        {
            "host": {"url": "https://wandb.example.com"},
            "sso": {"provider": "oidc", "oidc": {
                "issuer": "https://idp.example.com/realms/wandb/", "client_id": "wandb-local", "auth_method": "pkce",
            }},
        },
        {},
    ),
    "slack": (
        {"host": {"url": "https://wandb.example.com"}, "slack": {"client_id": "1234567890.9876543210"}},
        {"slack.secret": SLACK_SECRET},
    ),
    "server_options": (
        {
            "host": {"url": "https://wandb.example.com/"},  # the trailing slash is dropped
            "server": {
                "image": "registry.example.com:5000/wandb/local", "tag": "0.60.0", "port": 9090,
                "volume": "/srv/wandb", "bind_address": "127.0.0.1", "restart_policy": "always",
                "logging_enabled": True, "local_restore": True,
                "extra_env": [
                    {"name": "GORILLA_CORS_ORIGINS", "value": "https://a.example.com,https://b.example.com"},
                    {"name": "GORILLA_DISABLE_PERSONAL_ENTITY", "value": "true"},
                ],
            },
        },
        {},
    ),
}

SECRET_VALUES = sorted({value for _, secrets in CASES.values() for value in secrets.values()}, key=len, reverse=True)


def build(name: str) -> c.InstallConfig:
    values, secrets = CASES[name]
    return build_config(values, secrets)


def rendered(cfg: c.InstallConfig) -> dict[str, Any]:
    inputs = container_inputs(cfg)
    result: dict[str, Any] = {
        "environment": environment_dict(cfg),
        "masked": environment_dict(cfg, mask),
        "secret_names": sorted(inputs.secret_names),
    }
    if inputs.mounts:
        result["mounts"] = [[mount.source, mount.target, mount.secret] for mount in inputs.mounts]
    if inputs.extra_hosts:
        result["extra_hosts"] = [entry.option for entry in inputs.extra_hosts]
    return result


@pytest.mark.parametrize("name", CASES)
def test_golden_environment(name):
    path = GOLDEN / f"{name}.json"
    actual = rendered(build(name))
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip(f"wrote {path.name}: review it against wandb-local-facts.md before committing")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert actual == json.loads(path.read_text(encoding="utf-8"))


def test_no_stray_golden_files():
    assert {path.stem for path in GOLDEN.glob("*.json")} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_masked_view_hides_every_secret(name):
    cfg = build(name)
    masked = environment_dict(cfg, mask)
    placeholders = environment_dict(cfg, placeholder)
    for text in (json.dumps(masked), json.dumps(placeholders)):
        for secret in CASES[name][1].values():
            assert secret not in text
    for item in container_inputs(cfg, mask).env:
        assert (MASK in item.value) == item.secret, item


@pytest.mark.parametrize("name", CASES)
def test_only_secret_variables_differ_between_views(name):
    cfg = build(name)
    revealed, masked = environment_dict(cfg), environment_dict(cfg, mask)
    assert revealed.keys() == masked.keys()
    assert {key for key in revealed if revealed[key] != masked[key]} == container_inputs(cfg).secret_names


def test_host_is_always_set_first():
    for name in CASES:
        assert container_inputs(build(name)).env[0].name == "HOST"


def test_placeholder_view_names_the_keyring_id():
    env = environment_dict(build("mysql_preferred_redis_user_tls"), placeholder)
    assert env["MYSQL"] == "mysql://wandb%24app:${DATABASE_MYSQL_PASSWORD}@db.example.com:3306/wandb_local?tls=preferred"
    assert env["REDIS"] == "redis://wandb:${CACHE_REDIS_PASSWORD}@cache.example.com:6379?tls=true&ttlInSeconds=604800"
    env = environment_dict(build("s3_compatible"), placeholder)
    assert env["BUCKET"] == (
        "s3://AK%40%2F%3A%2B%20x:${STORAGE_S3_COMPATIBLE_SECRET_KEY}@minio.example.com:9000/wandb?region=us-east-1&tls=true"
    )
    assert environment_dict(build("s3_sqs"), placeholder)["LICENSE"] == "${LICENSE_KEY}"


def test_secret_view_is_called_with_the_keyring_id_and_raw_value():
    seen: dict[str, str] = {}

    def record(secret_id: str, value: str) -> str:
        seen[secret_id] = value
        return reveal(secret_id, value)

    for name in CASES:
        environment_dict(build(name), record)
    assert set(seen) == set(secret_ids())  # every secret reaches the container
    for secret_id, value in seen.items():
        assert any(secrets.get(secret_id) == value for _, secrets in CASES.values())


def test_env_var_type():
    assert list(container_inputs(c.InstallConfig()).env) == [EnvVar("HOST", "http://203.0.113.5:8080", False)]


# --- Round trip through the draft ------------------------------------------------------------------------------


def _strings(value: Any):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


@pytest.mark.parametrize("name", CASES)
def test_round_trip_through_draft(name):
    cfg = build(name)
    values, secrets = draft_from_config(cfg)
    assert build_config(values, secrets) == cfg
    assert environment_dict(build_config(values, secrets)) == environment_dict(cfg)
    # The draft is saved in the session file: no secret may be in it, not even inside another value.
    json.dumps(values)
    for text in _strings(values):
        for secret in SECRET_VALUES:
            assert secret not in text
    assert set(secrets) <= set(secret_ids())


def _secret_paths(model: type[BaseModel]) -> list[str]:
    """Secret fields found from the JSON schema (format: password), independently of wizard.draft."""
    schema = model.model_json_schema()
    return [name for name, prop in schema["properties"].items()
            if prop.get("format") == "password" or any(p.get("format") == "password" for p in prop.get("anyOf", []))]


def _holds_secret(annotation: Any) -> bool:
    """SecretStr itself, or inside Optional / Annotated (validated secrets are Annotated[SecretStr, ...])."""
    return annotation is SecretStr or any(_holds_secret(arg) for arg in typing.get_args(annotation))


def test_secret_ids_cover_every_secret_field():
    expected = []
    for step in CONFIG_STEPS:
        providers = c.PROVIDER_MODELS.get(step)
        for provider, model in (providers.items() if providers else [(None, c.SECTION_MODELS[step])]):
            prefix = f"{step}.{provider.replace('-', '_')}" if provider else step
            expected += [f"{prefix}.{name}" for name in _secret_paths(model)]
            assert sorted(secret_fields(model)) == sorted(_secret_paths(model))
            for name, field in model.model_fields.items():  # and no SecretStr hides from the schema check
                assert _holds_secret(field.annotation) == (name in _secret_paths(model)), f"{model.__name__}.{name}"
    assert sorted(secret_ids()) == sorted(expected)
    assert sorted(secret_ids()) == sorted([
        "license.key", "sso.okta.client_secret", "sso.oidc.client_secret",
        "storage.s3.secret_access_key", "storage.s3_compatible.secret_key", "storage.azure.account_key",
        "database.mysql.password", "cache.redis.password", "slack.secret",
    ])


@pytest.mark.parametrize("name", CASES)
def test_draft_secrets_are_the_keyring_entries_given(name):
    assert draft_from_config(build(name))[1] == CASES[name][1]
