"""The container's inputs (`wizard.container.ContainerInputs`), rendered from the install configuration in the
formats wandb/local expects. Each section contributes its part through the renderer registered for its model, so a
new provider adds one renderer here and no branch anywhere else."""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

from pydantic import SecretStr

from wizard import config as c
from wizard.container import FILES_DIR, ContainerInputs, Endpoint, EnvVar, Mount, host_entries_for
from wizard.text import MASK

__all__ = ["MASK", "EnvVar", "container_inputs", "section_inputs", "environment_dict", "reveal", "mask", "placeholder",
           "placeholder_name"]

# How a secret appears in the output: reveal (for the container), mask (for screens), placeholder (for exports).
SecretView = Callable[[str, str], str]  # (secret id, secret value) -> text

REDIS_TTL_SECONDS = 604800  # what every W&B deployment sets (Terraform modules, the operator chart)
REDIS_CA_PATH = f"{FILES_DIR}/redis-ca.pem"
MYSQL_CA_PATH = f"{FILES_DIR}/mysql-ca.pem"
GCS_KEY_PATH = f"{FILES_DIR}/gcs-key.json"


def reveal(secret_id: str, value: str) -> str:
    return value


def mask(secret_id: str, value: str) -> str:
    return MASK


def placeholder_name(secret_id: str) -> str:
    return secret_id.upper().replace(".", "_").replace("-", "_")


def placeholder(secret_id: str, value: str) -> str:
    return "${" + placeholder_name(secret_id) + "}"


class _Parts:
    """What one section renders, collected in order."""

    def __init__(self, view: SecretView):
        self.view = view
        self.env: list[EnvVar] = []
        self.mounts: list[Mount] = []
        self.endpoints: list[Endpoint] = []

    def put(self, name: str, value: str, secret: bool = False) -> None:
        self.env.append(EnvVar(name, value, secret))

    def secret(self, secret_id: str, value: SecretStr) -> str:
        return self.view(secret_id, value.get_secret_value())

    def url_secret(self, secret_id: str, value: SecretStr) -> str:
        raw = value.get_secret_value()
        shown = self.view(secret_id, raw)
        return quote(raw, safe="") if shown == raw else shown

    def inputs(self) -> ContainerInputs:
        endpoints = tuple(self.endpoints)
        return ContainerInputs(tuple(self.env), tuple(self.mounts), host_entries_for(endpoints), endpoints)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _query(params: list[tuple[str, str]]) -> str:
    return ("?" + "&".join(f"{name}={value}" for name, value in params)) if params else ""


# --- One renderer per section model -----------------------------------------------------------------------------


def _license(section: c.LicenseConfig, out: _Parts) -> None:
    if section.key is not None:
        out.put("LICENSE", out.secret("license.key", section.key), secret=True)


def _host(section: c.HostConfig, out: _Parts) -> None:
    # The server needs HOST even on the default port, or clients and downloads point at localhost.
    out.put("HOST", section.url.rstrip("/"))


def _no_sso(section: c.NoSSO, out: _Parts) -> None:
    pass


def _oidc(section: c.CognitoSSO | c.OktaSSO | c.OidcSSO, out: _Parts) -> None:
    from urllib.parse import urlsplit

    out.put("OIDC_ISSUER", section.issuer)
    out.put("OIDC_CLIENT_ID", section.client_id)
    out.put("OIDC_AUTH_METHOD", section.auth_method)
    secret = getattr(section, "client_secret", None)
    if secret is not None and secret.get_secret_value():
        out.put("GORILLA_OIDC_SECRET", out.secret(f"sso.{section.provider}.client_secret", secret), secret=True)
    parts = urlsplit(section.issuer)
    if parts.hostname:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        out.endpoints.append(Endpoint("OIDC_ISSUER", f"sso.{section.provider}.issuer", parts.hostname, port,
                                      browser=True))


def _local(section: c.LocalStorage, out: _Parts) -> None:
    pass  # the container's own storage under /vol


def _s3(section: c.S3Storage, out: _Parts) -> None:
    out.put("BUCKET", f"s3://{section.bucket}")
    out.put("BUCKET_QUEUE", f"sqs://{section.queue}" if section.queue else "internal://")
    out.put("AWS_REGION", section.region)
    if section.kms_key_arn:
        out.put("AWS_S3_KMS_ID", section.kms_key_arn)
    if section.notifications_queue:
        out.put("NOTIFICATIONS_QUEUE", f"sqs://{section.notifications_queue}")
    if section.access_key_id and section.secret_access_key is not None:
        out.put("AWS_ACCESS_KEY_ID", section.access_key_id)
        out.put("AWS_SECRET_ACCESS_KEY", out.secret("storage.s3.secret_access_key", section.secret_access_key), True)


def _s3_compatible(section: c.S3CompatibleStorage, out: _Parts) -> None:
    secret = out.url_secret("storage.s3_compatible.secret_key", section.secret_key)
    query = _query([("region", quote(section.region))] + ([("tls", "true")] if section.tls else []))
    out.put("BUCKET", f"s3://{quote(section.access_key, safe='')}:{secret}@{section.endpoint}/{section.bucket}{query}",
            True)
    out.put("BUCKET_QUEUE", "internal://")
    host, port = _endpoint_host_port(section)
    out.endpoints.append(Endpoint("BUCKET", "storage.s3_compatible.endpoint", host, port, browser=True))


def _endpoint_host_port(section: c.S3CompatibleStorage) -> tuple[str, int]:
    host, sep, port = section.endpoint.rpartition(":") if section.endpoint.count(":") == 1 else ("", "", "")
    if not sep:
        return section.endpoint.strip("[]"), 443 if section.tls else 80
    return host, int(port)


def _gcs(section: c.GcsStorage, out: _Parts) -> None:
    out.put("BUCKET", f"gs://{section.bucket}")
    queue = f"pubsub:/{section.project}/{section.topic}/{section.subscription}" if section.topic else "internal://"
    out.put("BUCKET_QUEUE", queue)
    if section.credentials_file:
        out.mounts.append(Mount(section.credentials_file, GCS_KEY_PATH, "storage.gcs.credentials_file", secret=True))
        out.put("GOOGLE_APPLICATION_CREDENTIALS", GCS_KEY_PATH)


def _azure(section: c.AzureStorage, out: _Parts) -> None:
    out.put("BUCKET", f"az://{section.account}/{section.container}")
    out.put("BUCKET_QUEUE", f"az://{section.account}/{section.queue}" if section.queue else "internal://")
    out.put("AZURE_STORAGE_ACCOUNT", section.account)
    out.put("AZURE_STORAGE_KEY", out.secret("storage.azure.account_key", section.account_key), True)


def _embedded(section: Any, out: _Parts) -> None:
    pass  # inside the container


def _mysql(section: c.MySQLDatabase, out: _Parts) -> None:
    password = out.url_secret("database.mysql.password", section.password)
    query = {"disabled": "", "preferred": "?tls=preferred", "required": "?tls=true"}[section.tls]
    out.put("MYSQL", f"mysql://{quote(section.user, safe='')}:{password}@{_netloc(section.host, section.port)}/"
                     f"{section.database}{query}", True)
    if section.ca_file and section.tls != "disabled":
        out.mounts.append(Mount(section.ca_file, MYSQL_CA_PATH, "database.mysql.ca_file"))
        out.put("MYSQL_CA_CERT_PATH", MYSQL_CA_PATH)  # as W&B's operator chart gives it
    out.endpoints.append(Endpoint("MYSQL", "database.mysql.host", section.host, section.port))


def _redis(section: c.RedisCache, out: _Parts) -> None:
    auth = ""
    if section.password is not None:
        auth = f"{quote(section.user or '', safe='')}:{out.url_secret('cache.redis.password', section.password)}@"
    params = []
    if section.tls:
        params.append(("tls", "true"))
        if section.ca_file:
            out.mounts.append(Mount(section.ca_file, REDIS_CA_PATH, "cache.redis.ca_file"))
            params.append(("caCertPath", REDIS_CA_PATH))
    params.append(("ttlInSeconds", str(REDIS_TTL_SECONDS)))
    out.put("REDIS", f"redis://{auth}{_netloc(section.host, section.port)}{_query(params)}",
            section.password is not None)
    out.endpoints.append(Endpoint("REDIS", "cache.redis.host", section.host, section.port))


def _slack(section: c.SlackConfig, out: _Parts) -> None:
    if section.enabled and section.secret is not None:
        out.put("SLACK_CLIENT_ID", section.client_id or "")
        out.put("SLACK_SECRET", out.secret("slack.secret", section.secret), secret=True)


def _server(section: c.ServerOptions, out: _Parts) -> None:
    if section.logging_enabled:
        out.put("LOGGING_ENABLED", "true")
    if section.local_restore:
        out.put("LOCAL_RESTORE", "true")
    # Both spellings: the server (Go) reads either, other programs in the image only the lower-case one.
    for name, value in (("HTTP_PROXY", section.http_proxy), ("HTTPS_PROXY", section.https_proxy),
                        ("NO_PROXY", section.no_proxy)):
        if value:
            out.put(name, value)
            out.put(name.lower(), value)
    for extra in section.extra_env:
        if extra.is_secret:
            out.put(extra.name, out.view(f"server.extra_env.{extra.name}", extra.value), secret=True)
        else:
            out.put(extra.name, extra.value)


RENDERERS: dict[type, Callable[[Any, _Parts], None]] = {
    c.LicenseConfig: _license,
    c.HostConfig: _host,
    c.NoSSO: _no_sso,
    c.CognitoSSO: _oidc,
    c.OktaSSO: _oidc,
    c.OidcSSO: _oidc,
    c.LocalStorage: _local,
    c.S3Storage: _s3,
    c.S3CompatibleStorage: _s3_compatible,
    c.GcsStorage: _gcs,
    c.AzureStorage: _azure,
    c.EmbeddedDatabase: _embedded,
    c.MySQLDatabase: _mysql,
    c.EmbeddedCache: _embedded,
    c.RedisCache: _redis,
    c.SlackConfig: _slack,
    c.ServerOptions: _server,
}

# The order of the sections in the environment (HOST first: it is what people look for).
ORDER = ("host", "license", "sso", "storage", "database", "cache", "slack", "server")


def section_inputs(section: Any, view: SecretView = reveal) -> ContainerInputs:
    """What one validated section gives the container."""
    try:
        renderer = RENDERERS[type(section)]
    except KeyError:  # a new provider must register its renderer
        raise TypeError(f"no renderer for {type(section).__name__}") from None
    out = _Parts(view)
    renderer(section, out)
    return out.inputs()


def container_inputs(cfg: c.InstallConfig, view: SecretView = reveal) -> ContainerInputs:
    total = ContainerInputs()
    for step in ORDER:
        total = total + section_inputs(getattr(cfg, step), view)
    return total


def environment_dict(cfg: c.InstallConfig, view: SecretView = reveal) -> dict[str, str]:
    return container_inputs(cfg, view).environment()

