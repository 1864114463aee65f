"""The whole wizard driven with the keyboard alone, at 80x24, against a real keyring (Secret Service)."""

from __future__ import annotations

from pydantic import SecretStr

from screens.app import WizardApp
from tests.screens.conftest import SIZE, fixed_clock, read_session
from tests.screens.helpers import (
    choose, fid, license_token, next_step, ready, screen_text, settle, tab_to, type_field, wait_for,
)
from wizard import config, draft
from wizard.providers.mysql import MySQLDatabase
from wizard.providers.oidc import OidcSSO
from wizard.providers.redis import RedisCache
from wizard.providers.s3 import S3Storage
from wizard.steps import CONFIG_STEPS, StepStatus

CANARY = "CANARY-db-pw-7f3a"


def keyring_secrets(keyring, name: str) -> dict[str, str]:
    return keyring.get_all(name, draft.secret_ids())


async def test_defaults_from_welcome_to_review(keyring, state_home):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await pilot.press("enter")  # the Begin button has the focus
        await wait_for(pilot, lambda: app.current_step == "license")
        for expected in ("host", "sso", "storage", "database", "cache", "slack", "server", "review"):
            await next_step(pilot, wait_checks=True)
            assert app.current_step == expected
        text = screen_text(app)
        assert "Every step is valid" in text or "Needs attention" in text
        await settle(pilot)
        env = "\n".join(str(w.render()) for w in app.query("#review-env"))
        assert "HOST=http://203.0.113.5:8080" in env  # the default: the SSH connection's address
        await pilot.press("ctrl+q")
    saved = read_session(state_home, "demo")
    assert saved["current_step"] == "review"
    cfg = draft.build_config(saved["values"], keyring_secrets(keyring, "demo"))
    assert cfg == config.InstallConfig()
    statuses = {step: saved["steps"][step]["status"] for step in CONFIG_STEPS}
    assert all(StepStatus(status).complete for status in statuses.values()), statuses
    assert not (state_home / "sessions" / "demo.lock").exists()


async def test_every_step_with_a_non_default_provider(keyring, state_home):
    token = license_token()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await next_step(pilot)
        # License: pasted (typed) into the hidden field.
        await type_field(pilot, "license", ("key",), token)
        await next_step(pilot)
        # Host
        await type_field(pilot, "host", ("url",), "http://127.0.0.1:9080")
        await next_step(pilot)
        # SSO: generic OIDC with PKCE; the callback URL is copied with a key.
        await choose(pilot, "sso", ("provider",), "oidc")
        await type_field(pilot, "sso", ("oidc", "issuer"), "https://idp.example.com/realms/wandb")
        await type_field(pilot, "sso", ("oidc", "client_id"), "wandb-web")
        await choose(pilot, "sso", ("oidc", "auth_method"), "pkce")
        await tab_to(pilot, "copy-sso-callback")
        await pilot.press("c")
        assert app.clipboard == "http://127.0.0.1:9080/oidc/callback"
        await next_step(pilot)
        # Storage: S3 + SQS; the SQS policy names the bucket.
        await choose(pilot, "storage", ("provider",), "s3")
        await type_field(pilot, "storage", ("s3", "bucket"), "acme-wandb")
        await type_field(pilot, "storage", ("s3", "region"), "eu-central-1")
        await type_field(pilot, "storage", ("s3", "queue"), "wandb-events")
        await tab_to(pilot, fid("storage", "s3", "instance_role"))  # no keys: the server uses the EC2 role
        await pilot.press("space")
        await tab_to(pilot, "copy-storage-sqs-policy")
        await pilot.press("enter")
        assert '"aws:SourceArn": "arn:aws:s3:::acme-wandb"' in app.clipboard
        await next_step(pilot)
        # Database: external MySQL; the password goes to the keyring only.
        await choose(pilot, "database", ("provider",), "mysql")
        await type_field(pilot, "database", ("mysql", "host"), "db.example.com")
        await type_field(pilot, "database", ("mysql", "password"), CANARY)
        await choose(pilot, "database", ("mysql", "tls"), "required")
        assert CANARY not in screen_text(app)
        await next_step(pilot)
        # Cache: external Redis without TLS.
        await choose(pilot, "cache", ("provider",), "redis")
        await type_field(pilot, "cache", ("redis", "host"), "cache.example.com")
        await type_field(pilot, "cache", ("redis", "password"), "redis-pw")
        await tab_to(pilot, fid("cache", "redis", "tls"))
        await pilot.press("space")
        await next_step(pilot)
        # Slack
        await type_field(pilot, "slack", ("client_id",), "1234567890.9876543210")
        await type_field(pilot, "slack", ("secret",), "0123456789abcdef0123456789abcdef")
        await next_step(pilot)
        # Server options: port, logging, restart policy and one extra variable.
        await type_field(pilot, "server", ("port",), "9080")
        await choose(pilot, "server", ("restart_policy",), "always")
        await tab_to(pilot, fid("server", "logging_enabled"))
        await pilot.press("space")
        await tab_to(pilot, fid("server", "extra_env", "add"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused.id == fid("server", "extra_env", "0-name")
        await pilot.press("end", *list("DISABLE_PERSONAL_ENTITY"), "tab", *list("true"), "tab")
        await next_step(pilot)
        assert app.current_step == "review"
        await settle(pilot)
        env = str(app.query_one("#review-env").render())
        assert "MYSQL=mysql://wandb_local:********@db.example.com:3306/wandb_local?tls=true" in env
        assert CANARY not in screen_text(app)
        await pilot.press("ctrl+q")
    saved = read_session(state_home, "demo")
    assert CANARY not in (state_home / "sessions" / "demo.json").read_text()
    assert saved["values"]["storage"] == {"provider": "s3", "s3": {"bucket": "acme-wandb", "region": "eu-central-1",
                                                                  "queue": "wandb-events", "instance_role": True}}
    stored = keyring_secrets(keyring, "demo")
    assert stored["database.mysql.password"] == CANARY
    cfg = draft.build_config(saved["values"], stored)
    assert cfg.license.key == SecretStr(token)
    assert cfg.host.url == "http://127.0.0.1:9080"
    assert cfg.sso == OidcSSO(issuer="https://idp.example.com/realms/wandb", client_id="wandb-web",
                                     auth_method="pkce")
    assert cfg.storage == S3Storage(bucket="acme-wandb", region="eu-central-1", queue="wandb-events",
                                           instance_role=True)
    assert isinstance(cfg.database, MySQLDatabase)
    assert (cfg.database.host, cfg.database.tls) == ("db.example.com", "required")
    assert cfg.database.password.get_secret_value() == CANARY
    assert isinstance(cfg.cache, RedisCache) and cfg.cache.tls is False
    assert cfg.slack.client_id == "1234567890.9876543210"
    assert (cfg.server.port, cfg.server.restart_policy, cfg.server.logging_enabled) == (9080, "always", True)
    assert [(e.name, e.value) for e in cfg.server.extra_env] == [("GORILLA_DISABLE_PERSONAL_ENTITY", "true")]
