"""A stand-in for the wandb/local image, built with `docker import` from busybox-static (no registry needed).

The rootfs is /bin/busybox with its applet links, the entrypoint and CGI scripts of tests/services/standin/, and
/www served by `httpd -f -p 8080 -h /www`; the image runs as UID 999, GID 0 like wandb/local, with /vol owned by
them. See standin/entrypoint.sh for what it does and the STANDIN_* variables that steer it.

Like the real server, it gets ready only when its dependencies hold: it connects to MYSQL, REDIS, an S3-compatible
BUCKET and OIDC_ISSUER (names resolve only through the container's /etc/hosts, never DNS), needs the credentials of
a cloud BUCKET and can read every file an env value names. Otherwise it prints one
`ERROR dependency VARNAME: <what is wrong>` line per problem on stderr (no secret) and never answers /ready.
A dependency a container reaches: `tests.services.bridge_listener` (a TCP listener at the bridge gateway).

Images are tagged `wandb-local-setup-standin:<variant>` and carry a label with a hash of their content, so a
session reuses an image built earlier by the same code and rebuilds it when the code changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import unavailable
from tests.services.bridge_listener import shared_listener
from tests.services.docker_engine import DockerEngine

SERVICE = "stand-in server image"
REPOSITORY = "wandb-local-setup-standin"
BUSYBOX = "/bin/busybox"
SOURCE = Path(__file__).with_name("standin")
HASH_LABEL = "wandb-local-setup-standin.hash"
UID, GID = 999, 0

# The temporary-credentials line the stand-in prints with LOCAL_RESTORE=true. W&B's exact wording is not published:
# this wording is ours, and the launcher's parser must read it without knowing it (it is shared only with the
# tests, which check the parser finds the user and the password the stand-in generated).
RESTORE_LINE = "*** LOCAL_RESTORE is on: log in as restore@wandb.com, temporary password: {password}"
RESTORE_USER = "restore@wandb.com"

# What the stand-in prints on stderr, one line per dependency problem: `ERROR dependency VARNAME: <what is wrong>`.
DEPENDENCY_ERROR = "ERROR dependency "

# Docker adds these to every container's environment (the image's ENV, the hostname, the home directory).
DOCKER_ADDED = frozenset({"PATH", "HOSTNAME", "HOME"})


def _add(tar: tarfile.TarFile, name: str, *, kind: bytes = tarfile.REGTYPE, data: bytes = b"", mode: int = 0o644,
         uid: int = 0, gid: int = 0, target: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, 1_700_000_000
    if kind == tarfile.SYMTYPE:
        info.linkname = target
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def _applets() -> list[str]:
    listing = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout
    return sorted({name for name in listing.split() if name and "/" not in name and name != "busybox"})


def build_rootfs(extra_files: dict[str, bytes] | None = None) -> bytes:
    """The stand-in's root filesystem as a tar archive (deterministic for the same inputs). `extra_files` (path
    relative to / -> content) make a rootfs layer of its own, which a pull then has to download."""
    if "{password}" not in RESTORE_LINE or any(c in RESTORE_LINE for c in "\"$`\\\n"):
        raise ValueError("RESTORE_LINE needs {password} and no shell-special characters")
    with open(BUSYBOX, "rb") as binary:
        busybox = binary.read()
    entrypoint = (SOURCE / "entrypoint.sh").read_text().replace("@RESTORE_LINE@", RESTORE_LINE).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for directory, mode, uid in (("bin", 0o755, 0), ("etc", 0o755, 0), ("proc", 0o555, 0), ("sys", 0o555, 0),
                                     ("dev", 0o755, 0), ("tmp", 0o1777, 0), ("vol", 0o775, UID), ("www", 0o775, UID),
                                     ("www/cgi-bin", 0o755, 0)):
            _add(tar, directory, kind=tarfile.DIRTYPE, mode=mode, uid=uid, gid=GID if uid == UID else 0)
        _add(tar, "bin/busybox", data=busybox, mode=0o755)
        for applet in _applets():
            _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, target="busybox", mode=0o777)
        _add(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nwandb:x:999:0:wandb:/vol:/bin/sh\n")
        _add(tar, "etc/group", data=b"root:x:0:\n")
        _add(tar, "entrypoint.sh", data=entrypoint, mode=0o755)
        for script in sorted((SOURCE / "cgi-bin").iterdir()):
            _add(tar, f"www/cgi-bin/{script.name}", data=script.read_bytes(), mode=0o755)
        for name, content in sorted((extra_files or {}).items()):
            _add(tar, name.lstrip("/"), data=content)
    return buffer.getvalue()


def _changes(env: dict[str, str], content_hash: str) -> list[str]:
    changes = [
        'ENTRYPOINT ["/entrypoint.sh"]',
        "USER 999:0",
        "WORKDIR /",
        "EXPOSE 8080",
        "ENV PATH=/bin",
        f"LABEL {HASH_LABEL}={content_hash}",
    ]
    changes += [f"ENV {name}={value}" for name, value in sorted(env.items())]
    return changes


def build_standin(client: Any, variant: str = "test", env: dict[str, str] | None = None,
                  extra_files: dict[str, bytes] | None = None) -> str:
    """Build (or reuse) the stand-in tagged `REPOSITORY:variant`, with `env` baked in as image ENV. Returns the
    reference. Calls unavailable() when busybox-static is missing."""
    from docker.errors import APIError, ImageNotFound

    if not os.path.exists(BUSYBOX):
        unavailable(SERVICE, f"{BUSYBOX} is missing (apt install busybox-static)")
    if b"ld-linux" in open(BUSYBOX, "rb").read(4096 * 4):
        unavailable(SERVICE, f"{BUSYBOX} is dynamically linked: install busybox-static")
    env = env or {}
    rootfs = build_rootfs(extra_files)
    content_hash = hashlib.sha256(rootfs + json.dumps(sorted(env.items())).encode()).hexdigest()[:16]
    reference = f"{REPOSITORY}:{variant}"
    try:
        existing = client.images.get(reference)
    except ImageNotFound:
        existing = None
    if existing is not None and (existing.attrs.get("Config", {}).get("Labels") or {}).get(HASH_LABEL) == content_hash:
        return reference
    client.api.import_image_from_data(rootfs, repository=REPOSITORY, tag=variant,
                                      changes=_changes(env, content_hash))
    if existing is not None:  # an older build, now untagged: remove it unless a container still uses it
        try:
            client.images.remove(existing.id)
        except APIError:
            pass
    return reference


def received_environment(host: str, port: int, timeout: float = 5.0) -> dict[str, str]:
    """The environment the running stand-in received from Docker, read from its CGI."""
    raw = _get(f"http://{host}:{port}/cgi-bin/received-env", timeout)
    env = {}
    for item in raw.split(b"\0"):
        if item:
            name, _, value = item.decode().partition("=")
            env[name] = value
    return env


def dependency_errors(logs: str | bytes) -> dict[str, list[str]]:
    """The stand-in's dependency problems in its log: VARNAME -> what is wrong (in order)."""
    if isinstance(logs, bytes):
        logs = logs.decode(errors="replace")
    found: dict[str, list[str]] = {}
    for line in logs.splitlines():
        if line.startswith(DEPENDENCY_ERROR):
            name, _, what = line[len(DEPENDENCY_ERROR):].partition(": ")
            found.setdefault(name, []).append(what)
    return found


def restore_password(host: str, port: int, timeout: float = 5.0) -> str:
    return _get(f"http://{host}:{port}/cgi-bin/restore-password", timeout).decode().strip()


def served_version(host: str, port: int, timeout: float = 5.0) -> str:
    return _get(f"http://{host}:{port}/cgi-bin/version", timeout).decode().strip()


def _get(url: str, timeout: float) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return response.read()


@pytest.fixture(scope="session")
def standin_image(docker_engine: DockerEngine) -> Iterator[str]:
    """`wandb-local-setup-standin:test` (kept between sessions: it is rebuilt only when its content changes).
    Starts the session's listener on the bridge gateway too, the MySQL that `standin_spec` points the server at."""
    shared_listener(docker_engine.client)
    yield build_standin(docker_engine.client)


def standin_server_toml(names: Any, image_ref: str, port: int) -> str:
    """The answers file's [server] table that launches the stand-in under the test's unique names."""
    repository, _, tag = image_ref.rpartition(":")
    return (f'[server]\nimage = "{repository}"\ntag = "{tag}"\ncontainer_name = "{names("server")}"\n'
            f'bind_address = "127.0.0.1"\nport = {port}\nvolume = "{names("data")}"\nrestart_policy = "no"\n')


def standin_mysql(names: Any) -> str:
    """The canary MYSQL URL of `standin_spec`: a password unique per test, the host and port of the session's
    `bridge_listener` (the stand-in connects to its MySQL before it gets ready: it must be reachable from inside)."""
    listener = shared_listener(names.client)
    return f"mysql://wandb_local:s3cr3t-{names.tag}-pw@{listener.address}/wandb_local"


def standin_spec(names: Any, image_ref: str, *, env: dict[str, str] | None = None, port: int | None = None,
                 volume: str | None = None, **settings: Any) -> Any:
    """A LaunchSpec for the stand-in: unique names, a free loopback port, secrets in the environment (LICENSE and
    a MYSQL URL with a password, both unique per test, the MySQL being the session's `bridge_listener`, which
    the container reaches) and a short readiness delay."""
    from tests.services.local_process import free_port
    from wizard.launcher import LaunchSpec

    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {
        "HOST": url,
        "LICENSE": f"eyJhbGciOiJSUzI1NiJ9.secret-license-{names.tag}.c2lnbmF0dXJl",
        "MYSQL": standin_mysql(names),
        "GORILLA_CORS_ORIGINS": "https://a.example.com, https://b.example.com ; x='1' & y=\"2\" $HOME",
        "STANDIN_READY_DELAY": "0.5",
        **(env or {}),
    }
    repository, _, tag = image_ref.rpartition(":")
    fields = dict(
        image=repository, tag=tag, container_name=names("server"), bind_address="127.0.0.1", port=port,
        volume=volume or names("data"), restart_policy="no", environment=environment,
        secret_names=frozenset({"LICENSE", "MYSQL"}), session_name=names("session"), host_url=url,
    )
    fields.update(settings)
    return LaunchSpec(**fields)
