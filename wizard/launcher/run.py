"""Create and start the server container through the Docker API (never a command line: the environment holds
secrets, and a command line is visible to every user of the machine in `ps`)."""

from __future__ import annotations

import re
from typing import Any

from wizard.launcher.errors import NameConflict, OperationFailed, PortInUse, docker_error_text
from wizard.launcher.events import EventCallback, Step, emit
from wizard.launcher.files import mount_options
from wizard.launcher.spec import CONTAINER_PORT, DATA_PATH, LaunchSpec, labels, masked_environment

_PORT_TAKEN = re.compile(r"port is already allocated|address already in use|bind: ", re.IGNORECASE)


def create_options(spec: LaunchSpec, *, mask_secrets: bool) -> dict[str, Any]:
    """The arguments of `containers.create` for `spec`. With mask_secrets, safe to show (the dry run uses it, and
    the files keep the admin's paths); without, the files are staged for the server's user."""
    environment = masked_environment(spec.environment, spec.secret_names) if mask_secrets else dict(spec.environment)
    restart: dict[str, Any] = {"Name": spec.restart_policy}
    if spec.restart_policy == "on-failure":
        restart["MaximumRetryCount"] = 0  # unlimited, as Docker's own default
    return {
        "image": spec.image_ref,
        "name": spec.container_name,
        "environment": environment,
        "ports": {CONTAINER_PORT: (spec.bind_address, spec.port)},
        "mounts": [{
            "Type": "bind" if spec.volume_is_bind else "volume",
            "Source": spec.volume,
            "Target": DATA_PATH,
            "ReadOnly": False,
        }] + mount_options(spec.mounts, spec.container_name, staged=not mask_secrets),
        "extra_hosts": {entry.name: entry.address for entry in spec.extra_hosts},
        "labels": labels(spec),
        "restart_policy": restart,
        "detach": True,
    }


def conflict_error(client: Any, name: str) -> NameConflict:
    from wizard.launcher.existing import describe_container, get_container

    container = get_container(client, name)
    if container is not None and describe_container(container).managed:
        return NameConflict(
            f"A container named {name} created by this wizard already exists.",
            "Use reconfigure (or upgrade) to replace it: its data volume is kept.",
        )
    info = describe_container(container) if container is not None else None
    what = f" (image {info.image}, {info.state})" if info else ""
    return NameConflict(
        f"A container named {name}{what} exists and was not created by this wizard.",
        f"Choose another container name, or retire that one yourself: `docker stop {name}` then "
        f"`docker rename {name} {name}-old` (its volume and data stay). If it runs W&B with the volume you "
        "configured, the new server will find the same data.",
    )


def create_container(client: Any, spec: LaunchSpec, on_event: EventCallback | None = None) -> Any:
    from docker.errors import APIError

    emit(on_event, Step("create", f"Creating the container {spec.container_name} from {spec.image_ref}"))
    try:
        return client.containers.create(**create_options(spec, mask_secrets=False))
    except APIError as exc:
        if exc.status_code == 409:
            raise conflict_error(client, spec.container_name) from None
        raise OperationFailed(f"The container {spec.container_name} could not be created: {docker_error_text(exc)}",
                              "Check the settings on the review step; `docker info` shows the engine's state.") from None


def start_container(client: Any, container: Any, spec: LaunchSpec, on_event: EventCallback | None = None) -> None:
    """Start it; when Docker refuses, remove the half-made container and explain."""
    from docker.errors import APIError

    emit(on_event, Step("start", f"Starting {spec.container_name} on {spec.bind_address}:{spec.port}"))
    try:
        container.start()
    except APIError as exc:
        text = docker_error_text(exc)
        remove_quietly(container)
        if _PORT_TAKEN.search(text):
            raise PortInUse(
                f"Port {spec.port} on {spec.bind_address} is already in use: {text}",
                port_hint(spec.port),
            ) from None
        raise OperationFailed(f"The container {spec.container_name} could not start: {text}",
                              "Fix the cause Docker names, then launch again.") from None


def port_hint(port: int) -> str:
    return (f"See what holds it with `sudo ss -ltnp 'sport = :{port}'` (or `docker ps` for a container), stop that "
            "program, or choose another published port (and update HOST if it contains the port).")


def remove_quietly(container: Any) -> None:
    """Remove a container we created (force: stops it first). Never touches volumes."""
    from docker.errors import APIError, NotFound

    try:
        container.remove(force=True, v=False)
    except NotFound:
        pass
    except APIError:
        pass
