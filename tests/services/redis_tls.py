"""Real Redis servers on loopback for the cache checks (one of each per test session).

- `redis_tls`: TLS only (port 0, tls-port P) with a test CA, the default user off and one ACL user.
- `redis_plain`: plain TCP with `requirepass` (password-only AUTH, as Redis 5 style setups and many hosts use).
- `redis_tls_password`: TLS with `requirepass` on the default user (what W&B's operator chart connects as).
Tests that change maxmemory set it through `set_maxmemory`, and the fixtures reset it before each test.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.host_address import machine_address
from tests.services.local_process import free_port
from tests.services.openssl_certs import Certificates, make_certificates, openssl_missing

SERVICE = "Redis"
GIB = 1024 ** 3


@dataclass
class RedisServer:
    port: int
    tls: bool
    user: str | None
    password: str
    certs: Certificates | None
    process: subprocess.Popen
    log: Path

    @property
    def host(self) -> str:
        return machine_address()  # not loopback: the server container could not reach that

    def client(self):
        import redis

        extra = {"ssl": True, "ssl_ca_certs": str(self.certs.ca)} if self.tls else {}
        return redis.Redis(host=self.host, port=self.port, username=self.user, password=self.password,
                           socket_timeout=5, socket_connect_timeout=5, **extra)

    def set_maxmemory(self, value: int) -> None:
        with self.client() as client:
            client.config_set("maxmemory", value)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_redis(root: Path, tls: bool, acl: bool | None = None) -> RedisServer:
    """TLS with an ACL user (the default user off), or plain TCP with requirepass; `acl=False` with TLS: the
    default user with a password (what W&B's operator chart connects as)."""
    acl = tls if acl is None else acl
    if shutil.which("redis-server") is None:
        unavailable(SERVICE, "`redis-server` is not installed (apt install redis-server)")
    if tls and openssl_missing():
        unavailable(SERVICE, openssl_missing())
    root.mkdir(parents=True, exist_ok=True)
    port, password = free_port(), f"pw-{uuid.uuid4().hex}"
    certs = make_certificates(root / "tls") if tls else None
    lines = [f"bind 127.0.0.1 {machine_address()}", "protected-mode no", 'save ""', "appendonly no", f"dir {root}", f"logfile {root / 'redis.log'}",
             "daemonize no", "maxmemory 8gb"]
    user = "wandb" if acl else None
    if tls:
        lines += ["port 0", f"tls-port {port}", f"tls-cert-file {certs.cert}", f"tls-key-file {certs.key}",
                  f"tls-ca-cert-file {certs.ca}", "tls-auth-clients no"]
    else:
        lines.append(f"port {port}")
    lines += ["user default off", f"user {user} on >{password} ~* &* +@all"] if acl else [f"requirepass {password}"]
    config = root / "redis.conf"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    process = subprocess.Popen(["redis-server", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(port, tls, user, password, certs, process, root / "redis.log")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with server.client() as client:
                client.ping()
            return server
        except Exception:
            time.sleep(0.05)
    text = server.log.read_text(errors="replace")[-800:] if server.log.exists() else ""
    server.stop()
    unavailable(SERVICE, f"redis-server did not answer within 15 s: {text}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def _redis_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis-tls"), tls=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _redis_plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis-plain"), tls=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _redis_tls_password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis-tls-password"), tls=True, acl=False)
    yield server
    server.stop()


@pytest.fixture
def redis_tls_password(_redis_tls_password_server: RedisServer) -> RedisServer:
    """TLS Redis whose default user has a password (no ACL user), shared by the session."""
    return _redis_tls_password_server


@pytest.fixture
def redis_tls(_redis_tls_server: RedisServer) -> RedisServer:
    """TLS + ACL Redis (shared by the session) with maxmemory reset to 8 GiB."""
    _redis_tls_server.set_maxmemory(8 * GIB)
    return _redis_tls_server


@pytest.fixture
def redis_plain(_redis_plain_server: RedisServer) -> RedisServer:
    """Plain Redis with requirepass (shared by the session) with maxmemory reset to 8 GiB."""
    _redis_plain_server.set_maxmemory(8 * GIB)
    return _redis_plain_server
