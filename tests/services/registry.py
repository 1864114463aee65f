"""A real image registry on loopback: Debian's `docker-registry serve CONFIG.yml` (distribution 2.8).

Storage lives in a temp dir; Docker Engine treats 127.0.0.0/8 registries as insecure (plain HTTP) by default, so
images pushed to 127.0.0.1:PORT can be pulled back with real layer progress and digests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import unavailable
from tests.services.docker_engine import DockerEngine
from tests.services.local_process import free_port

SERVICE = "image registry (docker-registry)"
_CONFIG = """version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@dataclass
class Registry:
    host: str  # "127.0.0.1:PORT", the registry part of image references
    process: subprocess.Popen
    log_path: Path

    def reference(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"

    def push(self, client: Any, source: str, repository: str, tag: str) -> str:
        """Tag the local image `source` into this registry and push it. Returns the pushed digest."""
        target_repo = f"{self.host}/{repository}"
        client.images.get(source).tag(target_repo, tag)
        digest = ""
        for item in client.api.push(target_repo, tag=tag, stream=True, decode=True):
            if "error" in item:
                raise RuntimeError(f"push of {source} to {target_repo}:{tag} failed: {item['error']}")
            aux = item.get("aux") or {}
            digest = aux.get("Digest", digest)
        return digest


def start_registry(root: Path) -> Registry:
    binary = shutil.which("docker-registry")
    if binary is None:
        unavailable(SERVICE, "`docker-registry` is not installed (apt install docker-registry)")
    root.mkdir(parents=True, exist_ok=True)
    (root / "storage").mkdir(exist_ok=True)
    port = free_port()
    config = root / "config.yml"
    config.write_text(_CONFIG.format(storage=root / "storage", port=port))
    log_path = root / "registry.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    registry = Registry(f"127.0.0.1:{port}", process, log_path)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            unavailable(SERVICE, f"docker-registry exited: {log_path.read_text(errors='replace')[-1500:]}")
        try:
            with opener.open(f"http://{registry.host}/v2/", timeout=1) as response:
                if response.status == 200:
                    return registry
        except OSError:
            time.sleep(0.1)
    stop_registry(registry)
    unavailable(SERVICE, f"docker-registry did not answer on {registry.host} within 15 s")
    raise AssertionError("unreachable")


def stop_registry(registry: Registry) -> None:
    if registry.process.poll() is None:
        registry.process.terminate()
        try:
            registry.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            registry.process.kill()
            registry.process.wait()


@pytest.fixture(scope="session")
def local_registry(docker_engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("registry"))
    yield registry
    stop_registry(registry)
