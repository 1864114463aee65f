"""The connection to Docker Engine, and plain-words explanations when there is none.

The Docker SDK is imported here, inside the functions, so importing the launcher costs nothing at start-up.
"""

from __future__ import annotations

import errno
import functools
import grp
import os
import shutil
from typing import Any, Callable, TypeVar

from wizard.launcher.errors import EnginePermissionDenied, EngineUnavailable

Operation = TypeVar("Operation", bound=Callable[..., Any])
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
API_TIMEOUT = 120  # seconds per API call (a pull's stream reads chunk by chunk under the same limit)


def engine_address(base_url: str | None = None) -> str:
    return base_url or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def connect(base_url: str | None = None, timeout: int = API_TIMEOUT) -> Any:
    """A `docker.DockerClient` for `base_url` (default: DOCKER_HOST, else the local socket), API version negotiated.

    Raises EngineUnavailable or EnginePermissionDenied with what to do.
    """
    import docker
    from docker.errors import DockerException

    try:
        if base_url:
            client = docker.DockerClient(base_url=base_url, version="auto", timeout=timeout)
        else:
            client = docker.from_env(version="auto", timeout=timeout)
        client.ping()
        return client
    except DockerException as exc:
        raise explain_connection_error(exc, engine_address(base_url)) from None
    except Exception as exc:  # requests errors can escape ping(); keep the user away from a traceback
        raise explain_connection_error(exc, engine_address(base_url)) from None


def engine_errors(operation: Operation) -> Operation:
    """Docker Engine going away in the middle of `operation` (daemon stopped, socket removed, connection cut)
    becomes EngineUnavailable saying so, not an unexpected error. Other errors pass unchanged."""

    @functools.wraps(operation)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        import requests

        try:
            return operation(*args, **kwargs)
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.Timeout, ConnectionError) as exc:
            error = explain_connection_error(exc, engine_address(kwargs.get("base_url")))
            error.message = f"Docker Engine stopped answering in the middle of the operation. {error.message}"
            error.hint = (f"{error.hint} Then run the same action again: it goes on from what was done (an "
                          "unfinished server container is replaced).")
            raise error from None

    return guarded  # type: ignore[return-value]


def _os_errors(exc: BaseException, seen: set[int] | None = None) -> list[OSError]:
    """OSErrors anywhere in the exception's cause/context chain and arguments (requests nests them deeply)."""
    seen = seen if seen is not None else set()
    if id(exc) in seen:
        return []
    seen.add(id(exc))
    found = [exc] if isinstance(exc, OSError) and exc.errno is not None else []
    for inner in (exc.__cause__, exc.__context__, *getattr(exc, "args", ())):
        if isinstance(inner, BaseException):
            found.extend(_os_errors(inner, seen))
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        found.extend(_os_errors(reason, seen))
    return found


def _socket_path(address: str) -> str | None:
    return address[len("unix://"):] if address.startswith("unix://") else None


def explain_connection_error(exc: BaseException, address: str) -> EngineUnavailable | EnginePermissionDenied:
    codes = {e.errno for e in _os_errors(exc)}
    text = str(exc)
    path = _socket_path(address)
    if codes & {errno.EACCES, errno.EPERM} or "Permission denied" in text:
        return EnginePermissionDenied(
            f"Docker Engine is running, but your user may not use it (permission denied on {path or address}).",
            _permission_hint(path),
        )
    if path is not None and (codes & {errno.ENOENT, errno.ECONNREFUSED} or not os.path.exists(path)):
        return EngineUnavailable(
            f"Docker Engine is not running: nothing answers at {address}.", _start_hint()
        )
    if codes & {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}:
        return EngineUnavailable(
            f"Docker Engine does not answer at {address}.",
            "Check that the engine runs on that host and that DOCKER_HOST is right (unset it to use this machine's engine).",
        )
    detail = " ".join(text.split())
    return EngineUnavailable(
        f"Docker Engine cannot be used at {address}: {detail}",
        "Check that Docker is installed and running: `docker info` shows the same problem in Docker's own words.",
    )


def _permission_hint(path: str | None) -> str:
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "$USER"
    try:
        docker_group = grp.getgrnam("docker")
    except KeyError:
        docker_group = None
    if docker_group is not None and (docker_group.gr_gid in os.getgroups() or os.getegid() == docker_group.gr_gid):
        return (f"You are in the docker group, yet {path or 'the socket'} refuses you: check its owner and mode "
                "(`ls -l /var/run/docker.sock`, normally root:docker srw-rw----), or run the wizard with sudo.")
    if docker_group is not None and user in docker_group.gr_mem:
        return ("You were added to the docker group after this login session started: log out and back in "
                "(or run `newgrp docker`), then start the wizard again.")
    return (f"Give your user access to Docker: `sudo usermod -aG docker {user}`, then log out and back in (or run "
            "`newgrp docker`) and start the wizard again. Or run the wizard with sudo. Members of the docker group "
            "have root-equivalent rights on this machine.")


def _start_hint() -> str:
    if shutil.which("dockerd") is None and shutil.which("docker") is None:
        return ("Docker does not seem to be installed. Install it (Debian/Ubuntu: `sudo apt-get install docker.io`, "
                "or Docker's packages from https://docs.docker.com/engine/install/), then start it.")
    if os.path.isdir("/run/systemd/system"):
        return ("Start it with `sudo systemctl start docker` (and `sudo systemctl enable docker` to start it at boot). "
                "If it fails to start, `sudo journalctl -u docker -n 50` says why.")
    return "Start it with `sudo service docker start` (or run `sudo dockerd` in another terminal)."
