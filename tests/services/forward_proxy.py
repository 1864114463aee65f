"""A real forward proxy, tinyproxy (a Debian package), on a free loopback port: absolute-form HTTP requests and
CONNECT tunnels (HTTPS, gRPC), as a company's egress proxy takes them. Its log names every request it carried, so a
test can tell which connections went through the proxy and which went direct.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable
from tests.services.local_process import free_port, log_tail, stop, wait_for_port

SERVICE = "tinyproxy (forward proxy)"
REQUEST = re.compile(r"Request \(file descriptor \d+\): (\S+) (\S+) HTTP/")


@dataclass
class ForwardProxy:
    url: str  # http://127.0.0.1:PORT, as HTTP_PROXY / HTTPS_PROXY hold it
    log: Path
    process: subprocess.Popen

    def requests(self) -> list[tuple[str, str]]:
        """(method, target) of every request carried so far: ("GET", "http://h:p/path"), ("CONNECT", "h:p")."""
        return REQUEST.findall(self.log.read_text(errors="replace")) if self.log.exists() else []

    def targets(self) -> set[str]:
        """host:port of everything carried so far."""
        return {target if method == "CONNECT" else target.split("/")[2] for method, target in self.requests()}


def start(folder: Path) -> ForwardProxy:
    binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
    if not Path(binary).exists():
        unavailable(SERVICE, "the tinyproxy command is not installed (apt tinyproxy)")
    folder.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), folder / "tinyproxy.log"
    # No ConnectPort line: CONNECT to any port (the emulators' ports), as a proxy without a port list allows.
    (folder / "tinyproxy.conf").write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nAllow 127.0.0.1\nDisableViaHeader Yes\n"
        f'LogLevel Connect\nLogFile "{log}"\nPidFile "{folder / "tinyproxy.pid"}"\n')
    with open(folder / "output.log", "wb") as out:
        process = subprocess.Popen([binary, "-d", "-c", str(folder / "tinyproxy.conf")], stdout=out,
                                   stderr=subprocess.STDOUT)
    if not wait_for_port(process, port, 15):
        stop(process)
        unavailable(SERVICE, f"it did not start: {log_tail(folder / 'output.log')}{log_tail(log)}")
    return ForwardProxy(f"http://127.0.0.1:{port}", log, process)


@pytest.fixture
def forward_proxy(tmp_path) -> Iterator[ForwardProxy]:
    proxy = start(tmp_path / "tinyproxy")
    yield proxy
    stop(proxy.process)
