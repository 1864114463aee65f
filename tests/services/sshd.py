"""A real OpenSSH server on loopback, for driving the wizard the way administrators do: over `ssh -tt`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.services import unavailable
from tests.services.local_process import free_port, wait_for_port

SERVICE = "OpenSSH server"


@dataclass
class SshServer:
    port: int
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen

    def command(self, remote: str) -> list[str]:
        """An `ssh -tt` command line running `remote` on this server as the current user."""
        return ["ssh", "-tt", "-p", str(self.port), "-i", str(self.client_key),
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "SendEnv=TERM",
                "-o", "ServerAliveInterval=0", "127.0.0.1", remote]


def start(folder: Path) -> SshServer:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd) or not shutil.which("ssh"):
        unavailable(SERVICE, "openssh-server / openssh-client are not installed")
    if os.geteuid() != 0:
        unavailable(SERVICE, "sshd must run as root to log users in")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key, client_key = folder / "host_key", folder / "client_key"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = folder / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    port = free_port()
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.with_suffix('.pub').read_text()}")
    config = folder / "sshd_config"
    config.write_text("\n".join([
        "ListenAddress 127.0.0.1", f"Port {port}", f"HostKey {host_key}", f"AuthorizedKeysFile {authorized}",
        "UsePAM no", "StrictModes no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password", "AcceptEnv LANG LC_* TERM COLORTERM", "PrintMotd no",
        "PrintLastLog no", f"PidFile {folder / 'sshd.pid'}", "",
    ]))
    log = open(folder / "sshd.log", "wb")
    process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    if not wait_for_port(process, port, 10):
        process.kill()
        unavailable(SERVICE, f"sshd did not start: {(folder / 'sshd.log').read_text()[-500:]}")
    return SshServer(port, client_key, known_hosts, process)


def stop(server: SshServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(5)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory) -> Iterator[SshServer]:
    server = start(tmp_path_factory.mktemp("sshd"))
    yield server
    stop(server)


def wait_until(predicate, seconds: float, interval: float = 0.1) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
