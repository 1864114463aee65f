"""The container's environment, rendered from the install configuration in the formats wandb/local expects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

from pydantic import SecretStr

from wizard import config as c
from wizard.text import MASK

# How a secret appears in the output: reveal (for the container), mask (for screens), placeholder (for exports).
SecretView = Callable[[str, str], str]  # (secret id, secret value) -> text


def reveal(secret_id: str, value: str) -> str:
    return value


def mask(secret_id: str, value: str) -> str:
    return MASK


def placeholder_name(secret_id: str) -> str:
    return secret_id.upper().replace(".", "_").replace("-", "_")


def placeholder(secret_id: str, value: str) -> str:
    return "${" + placeholder_name(secret_id) + "}"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    secret: bool = False  # the value holds a secret (whole or inside a URL)


def _url_secret(view: SecretView, secret_id: str, secret: SecretStr) -> str:
    raw = secret.get_secret_value()
    shown = view(secret_id, raw)
    return quote(raw, safe="") if shown == raw else shown


def render_environment(cfg: c.InstallConfig, view: SecretView = reveal) -> list[EnvVar]:
    env: list[EnvVar] = []

    def put(name: str, value: str, secret: bool = False) -> None:
        env.append(EnvVar(name, value, secret))

    # The server needs HOST even on the default port, or clients and downloads point at localhost.
    put("HOST", cfg.host.url.rstrip("/"))
    if cfg.license.key is not None:
        put("LICENSE", view("license.key", cfg.license.key.get_secret_value()), secret=True)

    sso = cfg.sso
    if not isinstance(sso, c.NoSSO):
        put("OIDC_ISSUER", sso.issuer)
        put("OIDC_CLIENT_ID", sso.client_id)
        put("OIDC_AUTH_METHOD", sso.auth_method)

    _render_storage(cfg.storage, put, view)

    db = cfg.database
    if isinstance(db, c.MySQLDatabase):
        password = _url_secret(view, "database.mysql.password", db.password)
        query = {"disabled": "", "preferred": "?tls=preferred", "required": "?tls=true"}[db.tls]
        put("MYSQL", f"mysql://{quote(db.user, safe='')}:{password}@{_netloc(db.host, db.port)}/{db.database}{query}", True)

    cache = cfg.cache
    if isinstance(cache, c.RedisCache):
        auth = ""
        if cache.password is not None:
            auth = f"{quote(cache.user or '', safe='')}:{_url_secret(view, 'cache.redis.password', cache.password)}@"
        put("REDIS", f"redis://{auth}{_netloc(cache.host, cache.port)}{'?tls=true' if cache.tls else ''}",
            cache.password is not None)

    if cfg.slack.enabled:
        put("SLACK_CLIENT_ID", cfg.slack.client_id or "")
        put("SLACK_SECRET", view("slack.secret", cfg.slack.secret.get_secret_value()), secret=True)

    server = cfg.server
    if server.logging_enabled:
        put("LOGGING_ENABLED", "true")
    if server.local_restore:
        put("LOCAL_RESTORE", "true")
    for extra in server.extra_env:
        put(extra.name, extra.value)
    return env


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _render_storage(storage, put, view: SecretView) -> None:
    if isinstance(storage, c.LocalStorage):
        return  # the container's own storage under /vol
    if isinstance(storage, c.S3Storage):
        put("BUCKET", f"s3://{storage.bucket}")
        put("BUCKET_QUEUE", f"sqs://{storage.queue}" if storage.queue else "internal://")
        put("AWS_REGION", storage.region)
        if storage.kms_key_arn:
            put("AWS_S3_KMS_ID", storage.kms_key_arn)
        if storage.notifications_queue:
            put("NOTIFICATIONS_QUEUE", f"sqs://{storage.notifications_queue}")
    elif isinstance(storage, c.S3CompatibleStorage):
        secret = _url_secret(view, "storage.s3_compatible.secret_key", storage.secret_key)
        query = f"?region={quote(storage.region)}" + ("&tls=true" if storage.tls else "")
        put("BUCKET", f"s3://{quote(storage.access_key, safe='')}:{secret}@{storage.endpoint}/{storage.bucket}{query}", True)
        put("BUCKET_QUEUE", "internal://")
    elif isinstance(storage, c.GcsStorage):
        put("BUCKET", f"gs://{storage.bucket}")
        queue = f"pubsub:/{storage.project}/{storage.topic}/{storage.subscription}" if storage.topic else "internal://"
        put("BUCKET_QUEUE", queue)
    elif isinstance(storage, c.AzureStorage):
        put("BUCKET", f"az://{storage.account}/{storage.container}")
        put("BUCKET_QUEUE", f"az://{storage.account}/{storage.queue}" if storage.queue else "internal://")
        put("AZURE_STORAGE_ACCOUNT", storage.account)
        put("AZURE_STORAGE_KEY", view("storage.azure.account_key", storage.account_key.get_secret_value()), True)
    else:  # a new provider must be rendered explicitly
        raise TypeError(f"no rendering for storage provider {storage.provider!r}")


def environment_dict(cfg: c.InstallConfig, view: SecretView = reveal) -> dict[str, str]:
    return {item.name: item.value for item in render_environment(cfg, view)}


def secret_names(cfg: c.InstallConfig) -> frozenset[str]:
    return frozenset(item.name for item in render_environment(cfg, mask) if item.secret)
