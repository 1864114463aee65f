"""What to launch: `LaunchSpec`, the labels that mark our containers, the config hash and secret masking.

The spec is plain data: the configuration model renders it (the environment holds the real secret values, for
the container only); everything shown to people or written anywhere else goes through `masked_environment`
or `redact`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from wizard.container import HostEntry, Mount, local_address
from wizard.text import MASK

CONTAINER_PORT = "8080/tcp"
DATA_PATH = "/vol"
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")

LABEL_PREFIX = "wandb-local-setup"
LABEL_MANAGED = f"{LABEL_PREFIX}.managed"
LABEL_SESSION = f"{LABEL_PREFIX}.session"
LABEL_CONFIG_HASH = f"{LABEL_PREFIX}.config-hash"

# Names whose values are secret in any wandb/local environment, also when the spec does not say so (an existing
# container found on the machine, a value typed into "extra environment").
KNOWN_SECRET_NAMES = frozenset({
    "LICENSE", "MYSQL", "REDIS", "AZURE_STORAGE_KEY", "SLACK_SECRET", "AWS_SECRET_ACCESS_KEY",
    "OIDC_SECRET", "GORILLA_LICENSE",
})
_SECRET_WORDS = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|LICENSE|(^|_)KEY$|PRIVATE", re.IGNORECASE)
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


class InvalidSpec(ValueError):
    """The spec cannot be launched as given (a programming or configuration error, with the field named)."""


@dataclass(frozen=True)
class LaunchSpec:
    image: str = "wandb/local"
    tag: str = "latest"
    container_name: str = "wandb-local"
    bind_address: str = "0.0.0.0"
    port: int = 8080
    volume: str = "wandb"  # a named volume, or an absolute path bind-mounted at /vol
    restart_policy: str = "unless-stopped"
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)  # holds secrets: never repr'd
    secret_names: frozenset[str] = frozenset()
    session_name: str = "default"
    host_url: str = ""
    mounts: tuple[Mount, ...] = ()  # files given read-only (staged for UID 999 when the container is created)
    extra_hosts: tuple[HostEntry, ...] = ()  # lines of the container's /etc/hosts
    adopted_id: str = ""  # a container the wizard did not create, taken over by `adopt`: it may be replaced too

    def __post_init__(self) -> None:
        if not self.image or any(c.isspace() for c in self.image):
            raise InvalidSpec(f"image: '{self.image}' is not an image name, e.g. wandb/local")
        if not self.tag or any(c.isspace() or c in "/:@" for c in self.tag):
            raise InvalidSpec(f"tag: '{self.tag}' is not an image tag, e.g. latest")
        if not _NAME.fullmatch(self.container_name):
            raise InvalidSpec(f"container name: '{self.container_name}' may hold letters, digits, '_', '.', '-'")
        if not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise InvalidSpec(f"port: {self.port!r} is not a TCP port (1-65535)")
        if self.restart_policy not in RESTART_POLICIES:
            raise InvalidSpec(f"restart policy: '{self.restart_policy}' is not one of {', '.join(RESTART_POLICIES)}")
        if self.volume.startswith("/"):
            if self.volume.rstrip("/") == "" or "\0" in self.volume:
                raise InvalidSpec("volume: a bind path must be an absolute directory other than /")
        elif not _NAME.fullmatch(self.volume):
            raise InvalidSpec(f"volume: '{self.volume}' is neither a volume name nor an absolute path")
        for name, value in self.environment.items():
            if not name or "=" in name or "\0" in name or "\0" in str(value):
                raise InvalidSpec(f"environment: '{name}' cannot be passed to a container")
        for entry in self.extra_hosts:
            if not entry.name or any(c.isspace() or c == ":" for c in entry.name):
                raise InvalidSpec(f"extra host: '{entry.name}' is not a host name")
        object.__setattr__(self, "environment", dict(self.environment))
        object.__setattr__(self, "mounts", tuple(self.mounts))
        object.__setattr__(self, "extra_hosts", tuple(self.extra_hosts))
        object.__setattr__(self, "secret_names", frozenset(self.secret_names))

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.tag}"

    @property
    def volume_is_bind(self) -> bool:
        return self.volume.startswith("/")

    @property
    def probe_address(self) -> str:
        """Where this machine reaches the published port: loopback when published on all interfaces."""
        return local_address(self.bind_address)

    def with_environment(self, **changes: str | None) -> LaunchSpec:
        """A copy with variables set (a value) or removed (None)."""
        env = dict(self.environment)
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return replace(self, environment=env)


def labels(spec: LaunchSpec) -> dict[str, str]:
    """The labels on every container we create. None of them can carry a secret (the hash is one-way)."""
    return {
        LABEL_MANAGED: "true",
        LABEL_SESSION: spec.session_name,
        LABEL_CONFIG_HASH: config_hash(spec),
    }


def config_hash(spec: LaunchSpec) -> str:
    """sha256 over canonical JSON of the settings and the environment with its secrets masked (a URL keeps its
    shape: user, host, port and options count, the password does not), stable across runs and machines.

    No secret value enters it: a label anyone with `docker ps` rights reads could otherwise confirm a guessed
    password offline, given the other values. A change of a secret alone therefore leaves it as it is.
    """
    payload = {
        "image": spec.image,
        "tag": spec.tag,
        "container_name": spec.container_name,
        "bind_address": spec.bind_address,
        "port": spec.port,
        "volume": spec.volume,
        "restart_policy": spec.restart_policy,
        "environment": dict(sorted(masked_environment(spec.environment, spec.secret_names).items())),
    }
    if spec.mounts or spec.extra_hosts:  # absent before v1 knew them: older containers keep their hash
        from wizard.launcher.files import content_digests

        payload["files"] = content_digests(spec.mounts)
        payload["extra_hosts"] = sorted(entry.option for entry in spec.extra_hosts)
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(b"wandb-local-setup/config/v1\0" + canonical.encode()).hexdigest()


# --- Masking ---------------------------------------------------------------------------------------------------


def is_secret_name(name: str, secret_names: Iterable[str] = ()) -> bool:
    return name in set(secret_names) or name in KNOWN_SECRET_NAMES or bool(_SECRET_WORDS.search(name))


def mask_value(value: str) -> str:
    """A secret value as shown: URLs keep their scheme, user and host with the password masked; others: MASK."""
    parts = urlsplit(value) if "://" in value else None
    if parts is not None and parts.scheme and parts.netloc and "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if has_password else f"{MASK}@{hostport}"
        return urlunsplit((parts.scheme, netloc, parts.path, MASK if parts.query else "", ""))
    return MASK


def url_password(value: str) -> str | None:
    """Mask an embedded URL password even in a variable not known to be secret."""
    if "://" not in value:
        return None
    parts = urlsplit(value)
    return parts.password if parts.netloc and parts.password else None


def masked_environment(environment: Mapping[str, str], secret_names: Iterable[str] = ()) -> dict[str, str]:
    """The environment as it may be shown or recorded: secret values masked."""
    names = frozenset(secret_names)
    shown = {}
    for name, value in environment.items():
        if is_secret_name(name, names) or url_password(value):
            shown[name] = mask_value(value)
        else:
            shown[name] = value
    return shown


def secret_values(environment: Mapping[str, str], secret_names: Iterable[str] = ()) -> list[str]:
    """Every text that must not appear outside the container: whole secret values and URL passwords."""
    names = frozenset(secret_names)
    found: set[str] = set()
    for name, value in environment.items():
        if is_secret_name(name, names) and value:
            found.add(value)
        password = url_password(value)
        if password:
            found.update({password, unquote(password), quote(unquote(password), safe="")})
    return sorted((v for v in found if len(v) >= 4), key=len, reverse=True)
