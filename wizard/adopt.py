"""Adopt a W&B server the wizard did not start (`wandb server start`, a hand-written `docker run`): its container's
settings become a session, so the wizard can check it and reconfigure or upgrade it with its rollback.

The container is read as Docker gives it (image and tag, published address and port, the volume or bind path at
/vol, the restart policy, the environment without the image's own defaults); each variable W&B knows goes back into
its step in the wizard's own settings (the inverse of `Section.render`): HOST, LICENSE, MYSQL, REDIS, BUCKET and
BUCKET_QUEUE, OIDC_*, SLACK_*, the proxies... Secrets go to the keyring, never the session file; every other
variable becomes an extra option; what cannot be mapped is said, one sentence each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

DATA_PATH = "/vol"


@dataclass
class Adopted:
    container: str  # the container's name
    container_id: str
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # draft values by step
    secrets: dict[str, str] = field(default_factory=dict)  # keyring id -> value
    taken: list[str] = field(default_factory=list)  # what went where, one line each (no secret value)
    unmapped: list[str] = field(default_factory=list)  # what could not be taken, and why


class _Reader:
    def __init__(self, env: dict[str, str], mounts: dict[str, str], out: Adopted) -> None:
        self.env, self.mounts, self.out = env, mounts, out

    def pop(self, name: str) -> str | None:
        return self.env.pop(name, None)

    def file_for(self, variable: str, path: str | None) -> str | None:
        """The file on this machine mounted where the container reads `path` (a CA file, a key)."""
        if not path:
            return None
        source = self.mounts.get(path)
        if source is None:
            self.out.unmapped.append(f"{variable}: {path} is not a file mounted from this machine: give the file on "
                                     "its step")
        return source

    def step(self, step: str, provider: str | None, values: dict[str, Any], what: str) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        if provider is None:
            self.out.values[step] = values
        else:
            self.out.values[step] = {"provider": provider, provider.replace("-", "_"): values}
        self.out.taken.append(what)

    def secret(self, secret_id: str, value: str | None) -> None:
        if value:
            self.out.secrets[secret_id] = value


def _license(r: _Reader) -> None:
    key = r.pop("LICENSE")
    if r.env.get("GORILLA_LICENSE") == key:
        r.pop("GORILLA_LICENSE")
    if key:
        r.secret("license.key", key)
        r.step("license", None, {}, "License: LICENSE (to the keyring)")


def _host(r: _Reader) -> None:
    host = r.pop("HOST")
    if host:
        r.step("host", None, {"url": host}, f"Host: HOST = {host}")
    else:
        r.out.unmapped.append("HOST was not set (as `wandb server start` leaves it): the Host step suggests one; set "
                              "the address users open, or links and uploads point at localhost")


def _database(r: _Reader) -> None:
    url = r.pop("MYSQL")
    ca_path = r.pop("MYSQL_CA_CERT_PATH")
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme != "mysql" or not parts.hostname:
        r.out.unmapped.append("MYSQL: not a mysql://user:password@host:port/database URL: kept as an extra option")
        r.env["MYSQL"] = url
        return
    query = dict(parse_qsl(parts.query))
    tls = {"preferred": "preferred", "true": "required", "required": "required"}.get(query.pop("tls", ""), "disabled")
    if query:
        r.out.unmapped.append(f"MYSQL: the parameters {', '.join(sorted(query))} are not settings of the wizard: "
                              "they are left out")
    host, port = parts.hostname, parts.port or 3306
    r.step("database", "mysql", {"host": host, "port": port, "user": unquote(parts.username or ""),
                                 "database": parts.path.lstrip("/") or None, "tls": tls,
                                 "ca_file": r.file_for("MYSQL_CA_CERT_PATH", ca_path)},
           f"Database: MYSQL = MySQL at {host}:{port} (the password to the keyring)")
    r.secret("database.mysql.password", unquote(parts.password or ""))


def _cache(r: _Reader) -> None:
    url = r.pop("REDIS")
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        r.out.unmapped.append("REDIS: not a redis://host:port URL: kept as an extra option")
        r.env["REDIS"] = url
        return
    query = dict(parse_qsl(parts.query))
    tls = query.pop("tls", "") == "true" or parts.scheme == "rediss"
    ca_file = r.file_for("REDIS caCertPath", query.pop("caCertPath", None))
    ttl = query.pop("ttlInSeconds", None)
    if ttl and ttl != "604800":
        r.out.unmapped.append(f"REDIS: ttlInSeconds={ttl}: the wizard gives 604800 (W&B's value)")
    if query:
        r.out.unmapped.append(f"REDIS: the parameters {', '.join(sorted(query))} are left out")
    host, port = parts.hostname, parts.port or 6379
    r.step("cache", "redis", {"host": host, "port": port, "user": unquote(parts.username) if parts.username else None,
                              "tls": tls, "ca_file": ca_file},
           f"Cache: REDIS = Redis at {host}:{port}" + (" (the password to the keyring)" if parts.password else ""))
    r.secret("cache.redis.password", unquote(parts.password or ""))


def _queue(r: _Reader, scheme: str) -> str | None:
    queue = r.pop("BUCKET_QUEUE")
    if not queue or queue == "internal://":
        return None
    if not queue.startswith(scheme):
        r.out.unmapped.append(f"BUCKET_QUEUE={queue} does not go with this BUCKET: the internal queue is used")
        return None
    return queue[len(scheme):]


def _storage(r: _Reader) -> None:
    bucket = r.pop("BUCKET")
    if not bucket:
        if r.env.get("BUCKET_QUEUE") == "internal://":
            r.pop("BUCKET_QUEUE")
        r.step("storage", "local", {}, "File storage: none given: files stay on the data volume")
        return
    parts = urlsplit(bucket)
    if parts.scheme == "s3" and parts.password is None:
        queue = _queue(r, "sqs://")
        notifications = r.pop("NOTIFICATIONS_QUEUE")
        key_id, secret = r.pop("AWS_ACCESS_KEY_ID"), r.pop("AWS_SECRET_ACCESS_KEY")
        r.step("storage", "s3", {"bucket": parts.netloc, "region": r.pop("AWS_REGION"), "queue": queue,
                                 "kms_key_arn": r.pop("AWS_S3_KMS_ID"),
                                 "notifications_queue": notifications.removeprefix("sqs://") if notifications else None,
                                 "access_key_id": key_id, "instance_role": not (key_id and secret) or None},
               f"File storage: BUCKET = Amazon S3 bucket {parts.netloc}")
        r.secret("storage.s3.secret_access_key", secret)
    elif parts.scheme == "s3":
        query = dict(parse_qsl(parts.query))
        r.pop("BUCKET_QUEUE")
        endpoint = parts.netloc.rpartition("@")[2]
        r.step("storage", "s3-compatible", {"endpoint": endpoint, "bucket": parts.path.strip("/"),
                                            "region": query.get("region"), "access_key": unquote(parts.username or ""),
                                            "tls": query.get("tls") == "true"},
               f"File storage: BUCKET = S3-compatible store at {endpoint} (the secret key to the keyring)")
        r.secret("storage.s3_compatible.secret_key", unquote(parts.password or ""))
    elif parts.scheme == "gs":
        queue = _queue(r, "pubsub:/")
        project = topic = subscription = None
        if queue:
            project, _, rest = queue.partition("/")
            topic, _, subscription = rest.partition("/")
        key = r.file_for("GOOGLE_APPLICATION_CREDENTIALS", r.pop("GOOGLE_APPLICATION_CREDENTIALS"))
        r.step("storage", "gcs", {"bucket": parts.netloc, "project": project, "topic": topic,
                                  "subscription": subscription, "credentials_file": key,
                                  "instance_account": None if key else True},
               f"File storage: BUCKET = Cloud Storage bucket {parts.netloc}")
    elif parts.scheme == "az":
        container = parts.path.strip("/")
        queue = _queue(r, f"az://{parts.netloc}/")
        r.pop("AZURE_STORAGE_ACCOUNT")
        r.step("storage", "azure", {"account": parts.netloc, "container": container, "queue": queue},
               f"File storage: BUCKET = Azure Blob container {parts.netloc}/{container} (the key to the keyring)")
        r.secret("storage.azure.account_key", r.pop("AZURE_STORAGE_KEY"))
    else:
        r.out.unmapped.append(f"BUCKET: the scheme {parts.scheme}:// is not one the wizard sets up: kept as an "
                              "extra option")
        r.env["BUCKET"] = bucket


COGNITO = re.compile(r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/")
OKTA = re.compile(r"^https://[^/]+\.(okta|oktapreview|okta-emea)\.com(/|$)")


def _sso(r: _Reader) -> None:
    issuer = r.pop("OIDC_ISSUER")
    client_id, method = r.pop("OIDC_CLIENT_ID"), r.pop("OIDC_AUTH_METHOD")
    secret, other = r.pop("GORILLA_OIDC_SECRET"), r.pop("OIDC_SECRET")
    if secret and other and other != secret:
        r.out.unmapped.append("OIDC_SECRET differs from GORILLA_OIDC_SECRET: GORILLA_OIDC_SECRET is kept")
    secret = secret or other
    if not issuer:
        return
    if COGNITO.match(issuer):
        provider, values = "cognito", {"user_pool_id": issuer, "client_id": client_id}
    else:
        provider = "okta" if OKTA.match(issuer) else "oidc"
        values = {"issuer": issuer, "client_id": client_id, "auth_method": method}
    r.step("sso", provider, values, f"SSO: OIDC_ISSUER = {issuer} ({provider})")
    r.secret(f"sso.{provider}.client_secret", secret)


def _slack(r: _Reader) -> None:
    client_id, secret = r.pop("SLACK_CLIENT_ID"), r.pop("SLACK_SECRET")
    if r.env.get("GORILLA_SLACK_SECRET") == secret:
        r.pop("GORILLA_SLACK_SECRET")
    if client_id or secret:
        r.step("slack", None, {"client_id": client_id}, "Slack: SLACK_CLIENT_ID (the secret to the keyring)")
        r.secret("slack.secret", secret)


def _server(r: _Reader, attrs: dict[str, Any]) -> None:
    from wizard.draft import extra_secret_id
    from wizard.launcher.spec import is_secret_name
    from wizard.launcher.image import split_ref

    config, host = attrs.get("Config") or {}, attrs.get("HostConfig") or {}
    image, tag = split_ref(config.get("Image") or "wandb/local")
    bindings = (host.get("PortBindings") or {}).get("8080/tcp") or []
    if len(bindings) > 1:
        r.out.unmapped.append("the server's port 8080 is published more than once: only the first is kept")
    published = bindings[0] if bindings else {}
    if not bindings:
        r.out.unmapped.append("the server's port 8080 is not published: the wizard publishes it on 8080")
    other_ports = sorted(p for p in (host.get("PortBindings") or {}) if p != "8080/tcp")
    if other_ports:
        r.out.unmapped.append(f"the published ports {', '.join(other_ports)} are not the server's: left out")
    volume = None
    for mount in attrs.get("Mounts") or []:
        if mount.get("Destination") == DATA_PATH:
            volume = mount.get("Name") if mount.get("Type") == "volume" else mount.get("Source")
    if volume is None:
        r.out.unmapped.append("nothing is mounted at /vol: the data lives inside the container and is lost when it "
                              "is replaced; back it up first (`docker cp`), then give a volume")
    values: dict[str, Any] = {
        "image": image, "tag": tag, "container_name": (attrs.get("Name") or "").lstrip("/"),
        "bind_address": published.get("HostIp") or "0.0.0.0",
        "port": int(published["HostPort"]) if published.get("HostPort") else None,
        "volume": volume, "restart_policy": (host.get("RestartPolicy") or {}).get("Name") or "no",
        "logging_enabled": r.pop("LOGGING_ENABLED") == "true" or None,
        "local_restore": r.pop("LOCAL_RESTORE") == "true" or None,
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        value = r.pop(name)
        lower = r.env.get(name.lower())
        if lower is not None and (value is None or lower == value):
            value = r.pop(name.lower())
        values[name.lower()] = value
    rows = []
    for name, value in sorted(r.env.items()):
        if is_secret_name(name):
            rows.append({"name": name, "value": "", "secret": True})
            r.secret(extra_secret_id(name), value)
        else:
            rows.append({"name": name, "value": value})
    if rows:
        values["extra_env"] = rows
    r.env.clear()
    r.step("server", None, values, f"Server options: {image}:{tag}, port {values['port'] or 8080}, volume "
                                   f"{volume or '(none)'}, restart {values['restart_policy']}"
           + (f", {len(rows)} extra option(s)" if rows else ""))


def read_container(attrs: dict[str, Any], image_env: list[str]) -> Adopted:
    """The session a container's settings make (`attrs`: its inspect output; `image_env`: its image's ENV)."""
    config = attrs.get("Config") or {}
    defaults = set(image_env)
    env = dict(item.partition("=")[::2] for item in config.get("Env") or [] if item not in defaults)
    mounts = {m.get("Destination"): m.get("Source") for m in attrs.get("Mounts") or []
              if m.get("Type") == "bind" and m.get("Destination") != DATA_PATH}
    out = Adopted((attrs.get("Name") or "").lstrip("/"), attrs.get("Id") or "")
    reader = _Reader(env, mounts, out)
    for part in (_license, _host, _sso, _storage, _database, _cache, _slack):
        part(reader)
    _server(reader, attrs)
    return out


def find_candidates(client: Any) -> list[Any]:
    """Containers running wandb/local that this wizard did not create (newest first)."""
    from wizard.launcher.existing import describe_container
    from wizard.launcher.image import split_ref

    found = []
    for container in client.containers.list(all=True):
        image = (container.attrs.get("Config") or {}).get("Image") or ""
        if split_ref(image)[0].rsplit("/", 1)[-1] == "local" and not describe_container(container).managed:
            found.append(container)
    return sorted(found, key=lambda c: c.attrs.get("Created", ""), reverse=True)


def read_from_engine(client: Any, container: Any) -> Adopted:
    """`read_container` for a container of this Docker Engine (its image's ENV read there, if it still exists)."""
    try:
        image_env = client.images.get(container.attrs.get("Image", "")).attrs.get("Config", {}).get("Env") or []
    except Exception:  # the image was removed: every variable is the container's own
        image_env = []
    return read_container(container.attrs, image_env)
