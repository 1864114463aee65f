"""What is already on the machine: a container with our name, the data volume, and who holds a port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.launcher.engine import engine_errors
from wizard.launcher.spec import (
    DATA_PATH,
    LABEL_CONFIG_HASH,
    LABEL_MANAGED,
    LABEL_SESSION,
    LaunchSpec,
    masked_environment,
)


@dataclass(frozen=True)
class ContainerInfo:
    """A container as it may be shown: environment values masked."""

    name: str
    id: str
    image: str  # the reference it was created from, e.g. wandb/local:latest
    image_id: str
    created: str
    started_at: str
    state: str  # created, running, restarting, exited, paused, dead
    exit_code: int | None
    managed: bool  # created by this wizard (label wandb-local-setup.managed=true)
    session: str
    config_hash: str
    restart_policy: str
    auto_remove: bool  # `docker run --rm`: stopping it deletes it (as `wandb server start` does)
    ports: tuple[str, ...]  # "0.0.0.0:8080->8080/tcp"
    data_mount: str  # what is mounted at /vol: volume name or host path ("" if nothing)
    environment: dict[str, str] = field(default_factory=dict)  # masked

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting")

    def summary(self) -> list[str]:
        lines = [
            f"container {self.name} ({self.state}{'' if self.exit_code in (None, 0) else f', exit code {self.exit_code}'})",
            f"image {self.image} ({self.image_id[:19]})",
            f"created {self.created}, last started {self.started_at or 'never'}",
            f"data at /vol: {self.data_mount or 'none (data lives only in the container)'}",
            f"ports {', '.join(self.ports) or 'none'}; restart policy {self.restart_policy}",
            "created by this wizard" + (f" (session {self.session})" if self.session else "")
            if self.managed else "not created by this wizard",
        ]
        lines += [f"  {name}={value}" for name, value in sorted(self.environment.items())]
        return lines


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    created: str
    mountpoint: str
    used_by: tuple[str, ...]  # container names


@dataclass(frozen=True)
class ExistingInstall:
    container: ContainerInfo | None
    volume: VolumeInfo | None  # the named volume (None for a bind path, or when there is none yet)
    previous: tuple[str, ...] = ()  # containers left as <name>-previous-<time> by an interrupted replace


def _short_time(value: str) -> str:
    if not value or value.startswith("0001-01-01"):
        return ""
    return value.replace("T", " ")[:19] + " UTC"


def describe_container(container: Any, secret_names: frozenset[str] = frozenset()) -> ContainerInfo:
    attrs = container.attrs
    config, state, host = attrs.get("Config", {}), attrs.get("State", {}), attrs.get("HostConfig", {})
    labels = config.get("Labels") or {}
    env = {}
    for item in config.get("Env") or []:
        name, _, value = item.partition("=")
        env[name] = value
    ports = []
    for container_port, bindings in sorted((attrs.get("NetworkSettings", {}).get("Ports") or {}).items()):
        for binding in bindings or []:
            ports.append(f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}->{container_port}")
    if not ports:  # a stopped container has no live bindings: show what it asks for
        for container_port, bindings in sorted((host.get("PortBindings") or {}).items()):
            for binding in bindings or []:
                ports.append(f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}->{container_port}")
    data_mount = ""
    for mount in attrs.get("Mounts") or []:
        if mount.get("Destination") == DATA_PATH:
            data_mount = mount.get("Name") or mount.get("Source") or ""
    return ContainerInfo(
        name=attrs.get("Name", "").lstrip("/"),
        id=attrs.get("Id", ""),
        image=config.get("Image", ""),
        image_id=attrs.get("Image", ""),
        created=_short_time(attrs.get("Created", "")),
        started_at=_short_time(state.get("StartedAt", "")),
        state=state.get("Status", "unknown"),
        exit_code=state.get("ExitCode"),
        managed=labels.get(LABEL_MANAGED) == "true",
        session=labels.get(LABEL_SESSION, ""),
        config_hash=labels.get(LABEL_CONFIG_HASH, ""),
        restart_policy=(host.get("RestartPolicy") or {}).get("Name") or "no",
        auto_remove=bool(host.get("AutoRemove")),
        ports=tuple(ports),
        data_mount=data_mount,
        environment=masked_environment(env, secret_names),
    )


def get_container(client: Any, name: str) -> Any | None:
    """The container named exactly `name`, or None."""
    from docker.errors import NotFound

    try:
        container = client.containers.get(name)
    except NotFound:
        return None
    return container if container.name == name else None


def get_volume(client: Any, name: str) -> VolumeInfo | None:
    from docker.errors import NotFound

    try:
        volume = client.volumes.get(name)
    except NotFound:
        return None
    users = client.containers.list(all=True, filters={"volume": name})
    return VolumeInfo(
        name=volume.name,
        created=_short_time(volume.attrs.get("CreatedAt", "")),
        mountpoint=volume.attrs.get("Mountpoint", ""),
        used_by=tuple(sorted(c.name for c in users)),
    )


def previous_containers(client: Any, name: str) -> list[Any]:
    """Managed containers `<name>-previous-*` (left by a replace that was interrupted)."""
    found = client.containers.list(all=True, filters={"name": f"{name}-previous-", "label": f"{LABEL_MANAGED}=true"})
    return [c for c in found if c.name.startswith(f"{name}-previous-")]


@engine_errors
def is_ours(container: Any, spec: LaunchSpec) -> bool:
    """Created by this wizard, or adopted into the session (`adopt` recorded its id): it may be replaced."""
    return describe_container(container).managed or bool(spec.adopted_id and container.id == spec.adopted_id)


def find_existing(client: Any, spec: LaunchSpec) -> ExistingInstall:
    container = get_container(client, spec.container_name)
    return ExistingInstall(
        container=describe_container(container, spec.secret_names) if container is not None else None,
        volume=None if spec.volume_is_bind else get_volume(client, spec.volume),
        previous=tuple(sorted(c.name for c in previous_containers(client, spec.container_name))),
    )


def containers_publishing(client: Any, port: int) -> list[Any]:
    """Running containers that publish host port `port`."""
    holders = []
    for container in client.containers.list():
        for bindings in (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).values():
            if any(str(b.get("HostPort")) == str(port) for b in bindings or []):
                holders.append(container)
                break
    return holders
