"""wizard.draft: draft values and keyring secrets to a validated configuration, errors by field, and back.

Field-by-field checks are in test_config.py; the round trip of every rendered case is in test_render.py.
"""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from wizard import config as c
from wizard.providers.azure import AzureStorage
from wizard.providers.local import LocalStorage
from wizard.providers.mysql import MySQLDatabase
from wizard.providers.redis import RedisCache
from wizard.providers.s3 import S3Storage
from wizard.providers.s3_compatible import S3CompatibleStorage
from wizard.draft import (
    ConfigErrors,
    FieldError,
    build_config,
    default_provider,
    draft_from_config,
    provider_key,
    secret_fields,
    secret_ids,
    section_input,
    validate_step,
)
from wizard.steps import CONFIG_STEPS
from wizard.suggested_host import default_url


def test_field_error_text():
    error = FieldError("storage", ("s3", "bucket"), "Bucket", "is required")
    assert str(error) == "File storage › Bucket: is required"


def test_empty_draft_is_the_default_configuration():
    assert build_config({}) == c.InstallConfig()
    assert build_config({step: {} for step in CONFIG_STEPS}, {}) == c.InstallConfig()
    for step in CONFIG_STEPS:
        section, errors = validate_step(step, None)
        assert errors == [] and section == getattr(c.InstallConfig(), step)


def test_blank_inputs_mean_not_given():
    section, errors = validate_step("server", {"image": "", "tag": "   ", "port": "", "volume": "\t"})
    assert errors == [] and section == c.ServerOptions()


def test_config_errors_list_every_problem_of_every_step_in_step_order():
    values = {
        "host": {"url": "wandb.example.com"},
        "storage": {"provider": "s3", "s3": {"bucket": "AB"}},
        "database": {"provider": "mysql", "mysql": {"host": "db.example.com"}},
        "server": {"port": "0", "tag": "-x"},
    }
    with pytest.raises(ConfigErrors) as caught:
        build_config(values, {})
    errors = caught.value.errors
    assert [(error.step, error.path) for error in errors] == [
        ("host", ("url",)),
        ("storage", ("s3", "bucket")),
        ("storage", ("s3", "region")),
        ("database", ("mysql", "password")),
        ("server", ("tag",)),
        ("server", ("port",)),
    ]
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).splitlines() == [str(error) for error in errors]
    assert str(caught.value).splitlines()[3] == "Database › Password: is required"


def test_unknown_provider_in_build_config():
    with pytest.raises(ConfigErrors) as caught:
        build_config({"cache": {"provider": "memcached"}})
    [error] = caught.value.errors
    assert (error.step, error.path, error.label) == ("cache", ("provider",), "Provider")
    assert str(error) == "Cache › Provider: 'memcached' is not a choice here: expected 'embedded', 'redis'"


@pytest.mark.parametrize("step, draft, secrets, path, label", [
    ("sso", {"provider": "cognito", "cognito": {"user_pool_id": "us-east-1_A1", "client_id": "x", "region": "eu-west-1"}},
     {}, ("cognito", "region"), "Region"),
    ("sso", {"provider": "oidc", "oidc": {"issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A1",
                                          "client_id": "x"}}, {}, ("oidc", "auth_method"), "Auth method"),
    ("storage", {"provider": "s3", "s3": {"bucket": "abc", "region": "us-east-1", "access_key_id": "AKIA"}}, {},
     ("s3", "secret_access_key"), "Secret access key"),
    ("storage", {"provider": "s3", "s3": {"bucket": "abc", "region": "us-east-1"}},
     {"storage.s3.secret_access_key": "k"}, ("s3", "access_key_id"), "Access key ID"),
    ("storage", {"provider": "gcs", "gcs": {"bucket": "abc", "project": "acme-prod", "subscription": "s-1",
                                            "instance_account": True}}, {},
     ("gcs", "topic"), "Pub/Sub topic"),
    ("cache", {"provider": "redis", "redis": {"host": "r", "user": "wandb"}}, {}, ("redis", "password"), "Password"),
    ("slack", {"client_id": "1.2"}, {}, ("secret",), "Client secret"),
    ("slack", {}, {"slack.secret": "0" * 32}, ("client_id",), "Client ID"),
])
def test_cross_field_errors_point_at_the_field_to_correct(step, draft, secrets, path, label):
    _, [error] = validate_step(step, draft, secrets)
    assert (error.path, error.label) == (path, label)


def test_provider_steps_keep_every_providers_values():
    draft = {
        "provider": "s3-compatible",
        "s3": {"bucket": "not valid!"},  # another provider's half-typed input is kept but not validated
        "s3_compatible": {"endpoint": "minio:9000", "bucket": "wandb", "access_key": "k"},
    }
    section, errors = validate_step("storage", draft, {"storage.s3_compatible.secret_key": "s", "storage.s3.secret_access_key": "x"})
    assert errors == []
    assert section == S3CompatibleStorage(endpoint="minio:9000", bucket="wandb", access_key="k", secret_key="s")


def test_section_input_merges_the_providers_secrets():
    draft = {"provider": "mysql", "mysql": {"host": "db", "user": "", "port": 3307}, "embedded": {}}
    data = section_input("database", draft, {"database.mysql.password": " pw ", "cache.redis.password": "other"})
    password = data.pop("password")
    assert data == {"provider": "mysql", "host": "db", "port": 3307}
    assert password.get_secret_value() == " pw "  # passwords are never trimmed
    slack = section_input("slack", {"client_id": "1.2"}, {"slack.secret": "s"})
    assert slack["client_id"] == "1.2" and slack["secret"].get_secret_value() == "s"


def test_provider_helpers():
    assert provider_key("s3-compatible") == "s3_compatible"
    assert {step: default_provider(step) for step in CONFIG_STEPS} == {
        "license": None, "host": None, "sso": "none", "storage": "local", "database": "embedded",
        "cache": "embedded", "slack": None, "server": None,
    }


def test_secret_fields_and_ids():
    assert secret_fields(MySQLDatabase) == ["password"]
    assert secret_fields(S3Storage) == ["secret_access_key"]
    assert secret_fields(c.HostConfig) == []
    assert secret_ids("storage") == [
        "storage.s3.secret_access_key", "storage.s3_compatible.secret_key", "storage.azure.account_key",
    ]
    assert secret_ids("host") == []
    assert secret_ids() == [secret_id for step in CONFIG_STEPS for secret_id in secret_ids(step)]


def test_draft_from_config_layout():
    cfg = c.InstallConfig(
        license=c.LicenseConfig(),
        storage=AzureStorage(account="acmewandb", container="wandb", account_key=SecretStr("key")),
        cache=RedisCache(host="cache", password=SecretStr("pw")),
        server=c.ServerOptions(extra_env=(c.ExtraEnv(name="GORILLA_X", value="1"),)),
    )
    values, secrets = draft_from_config(cfg)
    assert values["storage"] == {
        "provider": "azure", "azure": {"account": "acmewandb", "container": "wandb", "queue": None},
    }
    assert values["sso"] == {"provider": "none", "none": {}}
    assert values["host"] == {"url": default_url(), "reverse_proxy": False}
    assert values["license"] == {}
    assert values["server"]["extra_env"] == [{"name": "GORILLA_X", "value": "1"}]
    assert secrets == {"storage.azure.account_key": "key", "cache.redis.password": "pw"}
    json.dumps(values)  # saved as JSON in the session file
    assert build_config(values, secrets) == cfg


def test_draft_from_config_then_switching_provider_back_and_forth():
    values, secrets = draft_from_config(c.InstallConfig(storage=S3Storage(bucket="acme-wandb", region="us-east-1", instance_role=True)))
    values["storage"]["provider"] = "local"
    assert build_config(values, secrets).storage == LocalStorage()
    values["storage"]["provider"] = "s3"
    assert build_config(values, secrets).storage == S3Storage(bucket="acme-wandb", region="us-east-1", instance_role=True)
