"""A real Docker Engine for the tests: the one already running at /var/run/docker.sock, or a `dockerd` started here.

A dockerd started here runs in the background with `--iptables=false --ip6tables=false` and logs to its own file
under a temp dir. Test sessions may overlap (a CI run while a developer runs a subset): each holds a shared lock
on USERS_LOCK while it uses the engine, and the last one to leave stops a dockerd that a test session started
(its PID is in PID_FILE); an engine that was already running otherwise is left alone. Tests get a
`docker.DockerClient` and a `docker_names` factory whose containers, volumes and images are removed after each test.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.services import unavailable

SERVICE = "Docker Engine"
SOCKET = "/var/run/docker.sock"
BASE_URL = f"unix://{SOCKET}"
START_TIMEOUT = 60.0
START_LOCK = "/run/wandb-local-setup-tests-dockerd.lock"
USERS_LOCK = "/run/wandb-local-setup-tests-dockerd.users"
PID_FILE = "/run/wandb-local-setup-tests-dockerd.pid"
NAME_PREFIX = "wlst-"  # every container/volume/image a test creates starts with this


@dataclass
class DockerEngine:
    base_url: str
    client: Any
    process: subprocess.Popen | None = None  # set only when this session started dockerd
    log_path: Path | None = None
    users_lock: Any = None  # the open USERS_LOCK file holding this session's shared lock

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


def _client_if_answering(base_url: str) -> Any | None:
    import docker

    try:
        client = docker.DockerClient(base_url=base_url, version="auto", timeout=60)
        client.ping()
        return client
    except Exception:
        return None


def start_engine(workdir: Path) -> DockerEngine:
    """Use a running engine, or start dockerd (as root). Calls unavailable() when neither is possible."""
    users_lock = _join_users()
    try:
        engine = _engine(workdir)
    except BaseException:
        users_lock.close()
        raise
    engine.users_lock = users_lock
    return engine


def _join_users() -> Any:
    """A shared lock on USERS_LOCK, taken before looking for an engine: it waits while a leaving session stops one."""
    lock = open(USERS_LOCK if os.access("/run", os.W_OK) else os.devnull, "a")
    fcntl.flock(lock, fcntl.LOCK_SH)
    return lock


def _engine(workdir: Path) -> DockerEngine:
    client = _client_if_answering(BASE_URL)
    if client is not None:
        return DockerEngine(BASE_URL, client)
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        unavailable(SERVICE, "`dockerd` is not installed (apt install docker.io)")
    if os.geteuid() != 0:
        unavailable(SERVICE, f"no engine answers at {SOCKET} and starting dockerd needs root")
    workdir.mkdir(parents=True, exist_ok=True)
    # Two test sessions starting an engine at the same moment would fight over the socket: serialise the start.
    with open(START_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = _client_if_answering(BASE_URL)
        if client is not None:
            return DockerEngine(BASE_URL, client)
        log_path = workdir / "dockerd.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [dockerd, "--iptables=false", "--ip6tables=false", f"--host={BASE_URL}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        Path(PID_FILE).write_text(str(process.pid))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                unavailable(SERVICE, f"dockerd exited with code {process.returncode}:\n{tail}")
            if os.path.exists(SOCKET):
                client = _client_if_answering(BASE_URL)
                if client is not None:
                    return DockerEngine(BASE_URL, client, process, log_path)
            time.sleep(0.2)
        _stop_dockerd(process.pid)
        unavailable(SERVICE, f"dockerd did not answer within {START_TIMEOUT:.0f} s (log: {log_path})")
    raise AssertionError("unreachable")


def stop_engine(engine: DockerEngine) -> None:
    """Leave the engine; the last session to leave stops a dockerd that a test session started."""
    if engine.client is not None:
        engine.client.close()
    if engine.users_lock is None:
        return
    fcntl.flock(engine.users_lock, fcntl.LOCK_UN)
    with engine.users_lock:
        try:
            fcntl.flock(engine.users_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another session still uses the engine: it stops it when it leaves
        try:
            pid = int(Path(PID_FILE).read_text())
        except (OSError, ValueError):
            return  # not started by a test session: left alone
        _stop_dockerd(pid)
        Path(PID_FILE).unlink(missing_ok=True)
    if engine.process is not None:
        engine.process.wait()


def _stop_dockerd(pid: int) -> None:
    """SIGTERM (dockerd stops its containers and its containerd, then exits), SIGKILL after 30 s."""
    if not _is_running_dockerd(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _is_running_dockerd(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
        time.sleep(0.1)


def _is_running_dockerd(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:][:1]
    return name == "dockerd" and state != "Z"


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    engine = start_engine(tmp_path_factory.mktemp("dockerd"))
    yield engine
    stop_engine(engine)


@pytest.fixture
def docker_client(docker_engine: DockerEngine) -> Any:
    return docker_engine.client


@dataclass
class DockerNames:
    """Unique names for one test, and the cleanup of everything that carries them."""

    client: Any
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    images: list[str] = field(default_factory=list)  # extra image references to remove

    def __call__(self, what: str) -> str:
        return f"{NAME_PREFIX}{what}-{self.tag}"

    def image(self, reference: str) -> str:
        """Register an image reference the test creates (tag, pull, load) for removal."""
        self.images.append(reference)
        return reference

    def cleanup(self) -> list[str]:
        from docker.errors import APIError, NotFound

        left = []
        for container in self.client.containers.list(all=True, filters={"name": self.tag}):
            if self.tag in container.name:
                left.append(f"container {container.name}")
                try:
                    container.remove(force=True, v=False)
                except (NotFound, APIError):
                    pass
        for volume in self.client.volumes.list(filters={"name": self.tag}):
            if self.tag in volume.name:
                try:
                    volume.remove(force=True)
                except (NotFound, APIError):
                    pass
        for reference in self.images:
            try:
                self.client.images.remove(reference, force=True)
            except (NotFound, APIError):
                pass
        # Images that lost their tag but still carry the test's name (pulled by digest, re-tagged away).
        for image in self.client.images.list(all=True):
            names = (image.attrs.get("RepoTags") or []) + (image.attrs.get("RepoDigests") or [])
            if any(self.tag in name for name in names):
                try:
                    self.client.images.remove(image.id, force=True)
                except (NotFound, APIError):
                    pass
        return left


@pytest.fixture
def docker_names(docker_client: Any) -> Iterator[DockerNames]:
    names = DockerNames(docker_client)
    yield names
    names.cleanup()
