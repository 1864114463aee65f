"""A real forward proxy, Squid (a Debian package), on a free loopback port: absolute-form HTTP requests and CONNECT
tunnels (HTTPS, gRPC) with persistent connections, as a company's egress proxy takes them. Its access log names
every request it carried, so a test can tell which connections went through the proxy and which went direct.

One Squid per test session; each test reads only the log lines written since it started (`forward_proxy`).
As root, Squid drops to the `proxy` user: its folder is that user's own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.local_process import free_port, log_tail, stop, wait_for_port

SERVICE = "Squid (forward proxy)"
# Production endpoints some tests send through the proxy (it can reach none of them: nothing listens on 127.0.0.1:443).
OUTSIDE_NAMES = ("storage.googleapis.com", "pubsub.googleapis.com", "oauth2.googleapis.com", "iamcredentials.googleapis.com",
                 "oauth2.private.example.test", "sts.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com",
                 "wandb-files.s3.amazonaws.com")


@dataclass
class Squid:
    url: str  # http://127.0.0.1:PORT, as HTTP_PROXY / HTTPS_PROXY hold it
    folder: Path
    process: subprocess.Popen

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"


@dataclass
class ForwardProxy:
    """The session's Squid as one test sees it."""

    squid: Squid
    start: int  # the access log's size when the test began

    @property
    def url(self) -> str:
        return self.squid.url

    def requests(self) -> list[tuple[str, str]]:
        """(method, target) of every request carried since the test began: ("GET", "http://h:p/path"),
        ("CONNECT", "h:p"). Squid writes a line when a request ends (a tunnel: when it closes)."""
        try:
            with open(self.squid.access_log, "rb") as log:
                log.seek(self.start)
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():  # time elapsed client code/status bytes method URL ...
            fields = line.split()
            if len(fields) >= 7 and fields[5] != "-":
                found.append((fields[5], fields[6]))
        return found

    def targets(self, expected: set[str] = frozenset(), seconds: float = 5.0) -> set[str]:
        """host:port of everything carried since the test began; given `expected`, once those are all there or
        `seconds` have passed (a tunnel's line is written as it closes, just after the client's end)."""
        deadline = time.monotonic() + seconds
        while True:
            found = {target if method == "CONNECT" else target.split("/")[2] for method, target in self.requests()}
            if expected <= found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def _config(folder: Path, port: int) -> str:
    return "\n".join([
        f"http_port 127.0.0.1:{port}",
        "acl here src 127.0.0.1/32",
        "http_access allow here",
        "http_access deny all",  # no port list: CONNECT to any port (the emulators'), as such a proxy allows
        "cache deny all",
        f"access_log stdio:{folder / 'access.log'} squid",
        f"cache_log {folder / 'cache.log'}",
        "cache_store_log none",
        f"pid_filename {folder / 'squid.pid'}",
        f"coredump_dir {folder}",
        "netdb_filename none",
        # Names resolve from the proxy's own hosts file only, so a DNS query never leaves this machine; the outside
        # names the tests use point at a closed local port, and the proxy answers 503 for them at once.
        f"hosts_file {folder / 'hosts'}",
        "dns_nameservers 127.0.0.1",
        "dns_timeout 2 seconds",
        "pinger_enable off",
        "shutdown_lifetime 0 seconds",
        "via off",
        "forwarded_for delete",
        "",
    ])


def start() -> Squid:
    binary = shutil.which("squid") or "/usr/sbin/squid"
    if not Path(binary).exists():
        unavailable(SERVICE, "the squid command is not installed (apt squid)")
    folder = Path(tempfile.mkdtemp(prefix="squid-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("proxy")
        os.chown(folder, user.pw_uid, user.pw_gid)
    port = free_port()
    (folder / "squid.conf").write_text(_config(folder, port))
    (folder / "hosts").write_text(f"127.0.0.1 localhost {' '.join(OUTSIDE_NAMES)}\n")
    with open(folder / "output.log", "wb") as out:
        process = subprocess.Popen([binary, "-N", "-f", str(folder / "squid.conf")], stdout=out,
                                   stderr=subprocess.STDOUT)
    if not wait_for_port(process, port, 20):
        stop(process)
        text = log_tail(folder / "output.log") + log_tail(folder / "cache.log")
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(SERVICE, f"it did not start: {text}")
    return Squid(f"http://127.0.0.1:{port}", folder, process)


@pytest.fixture(scope="session")
def squid() -> Iterator[Squid]:
    server = start()
    yield server
    stop(server.process)
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def forward_proxy(squid) -> ForwardProxy:
    size = squid.access_log.stat().st_size if squid.access_log.exists() else 0
    return ForwardProxy(squid, size)
