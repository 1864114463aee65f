"""What the server container gets: its environment, read-only files, host entries and the services it connects to.

`ContainerInputs` is the one model of the container's inputs. `wizard.render` builds it from the configuration
(each section contributes its part); the Docker launcher, every export and the checks read it, so a check cannot
pass on something the server will not get, and nothing is rendered twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Where files given to the server appear inside the container (mounted read-only).
FILES_DIR = "/etc/wandb-local-setup"
# The name Docker maps to the host's gateway address with `--add-host host.docker.internal:host-gateway`: the
# Docker host, as the container sees it (its bridge address, e.g. 172.17.0.1).
HOST_ALIAS = "host.docker.internal"
HOST_GATEWAY = "host-gateway"
SERVER_UID = 999  # wandb/local runs as UID 999, GID 0


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    secret: bool = False  # the value holds a secret (whole or inside a URL)


@dataclass(frozen=True)
class Mount:
    """A file of this machine given to the server read-only at `target`."""

    source: str  # path on this machine, as the admin gave it
    target: str  # path inside the container
    setting: str  # the setting that names the file, e.g. "cache.redis.ca_file"
    secret: bool = False  # its content is a secret (a key): never copied anywhere readable by others


@dataclass(frozen=True)
class HostEntry:
    """A line of the container's /etc/hosts (`--add-host NAME:ADDRESS`); ADDRESS may be `host-gateway`."""

    name: str
    address: str

    @property
    def option(self) -> str:
        return f"{self.name}:{self.address}"


@dataclass(frozen=True)
class Endpoint:
    """A service the server connects to: the variable that names it and the host and port it will dial."""

    variable: str  # MYSQL, REDIS, BUCKET, ...
    setting: str  # the field holding the host, e.g. "database.mysql.host"
    host: str
    port: int
    browser: bool = False  # users' browsers reach it too (S3-compatible signed URLs, the OIDC issuer)


@dataclass(frozen=True)
class ContainerInputs:
    env: tuple[EnvVar, ...] = ()
    mounts: tuple[Mount, ...] = ()
    extra_hosts: tuple[HostEntry, ...] = ()
    endpoints: tuple[Endpoint, ...] = field(default=(), compare=False)

    def __add__(self, other: ContainerInputs) -> ContainerInputs:
        return ContainerInputs(self.env + other.env, self.mounts + other.mounts,
                               _unique(self.extra_hosts + other.extra_hosts), self.endpoints + other.endpoints)

    def environment(self) -> dict[str, str]:
        return {item.name: item.value for item in self.env}

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(item.name for item in self.env if item.secret)

    def host_entry(self, name: str) -> HostEntry | None:
        return next((entry for entry in self.extra_hosts if entry.name.lower() == name.lower()), None)


def local_address(bind_address: str) -> str:
    """Where this machine reaches a port published on `bind_address`: loopback when it is all interfaces."""
    return "127.0.0.1" if bind_address in ("", "0.0.0.0", "::", "[::]") else bind_address


def _unique(entries: tuple[HostEntry, ...]) -> tuple[HostEntry, ...]:
    seen: dict[str, HostEntry] = {}
    for entry in entries:
        seen.setdefault(entry.name.lower(), entry)
    return tuple(seen.values())


def host_entries_for(endpoints: tuple[Endpoint, ...]) -> tuple[HostEntry, ...]:
    """The host entries the endpoints need: host.docker.internal is mapped to the Docker host's gateway."""
    if any(endpoint.host.lower() == HOST_ALIAS for endpoint in endpoints):
        return (HostEntry(HOST_ALIAS, HOST_GATEWAY),)
    return ()
