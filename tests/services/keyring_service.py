"""A real Secret Service for the tests: a private D-Bus session bus plus gnome-keyring-daemon, both in a temp dir.

The bus is configured without service activation, so nothing but the processes started here can appear on it,
and stopping them (by PID) leaves nothing behind. The keyring password goes to the daemon on stdin.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.services import unavailable

KEYRING_PASSWORD = "test-keyring-password"
SERVICE = "Secret Service keyring"
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class SecretServiceDaemon:
    """A running bus (+ keyring daemon). `root` holds HOME, XDG_DATA_HOME (the keyring files) and the socket."""

    root: Path
    address: str
    bus: subprocess.Popen
    keyring: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    def stop_keyring(self) -> None:
        if self.keyring is not None:
            _stop(self.keyring)
            self.keyring = None

    def stop(self) -> None:
        self.stop_keyring()
        _stop(self.bus)


def start_bus(root: Path) -> SecretServiceDaemon:
    """Start a private session bus whose files live under `root`."""
    if shutil.which("dbus-daemon") is None:
        unavailable(SERVICE, "`dbus-daemon` is not installed (apt install dbus dbus-x11)")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    for name, sub in (("HOME", "home"), ("XDG_DATA_HOME", "home/.local/share"), ("XDG_CONFIG_HOME", "home/.config"),
                      ("XDG_CACHE_HOME", "home/.cache"), ("XDG_RUNTIME_DIR", "run")):
        (root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        env[name] = str(root / sub)
    config = root / "bus.conf"
    config.write_text(_BUS_CONFIG.format(socket=root / "run" / "bus"))
    bus = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )
    ready, _, _ = select.select([bus.stdout], [], [], 10)
    address = bus.stdout.readline().strip() if ready else ""
    if not address:
        _stop(bus)
        unavailable(SERVICE, "dbus-daemon did not print its address")
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    return SecretServiceDaemon(root=root, address=address, bus=bus, env=env)


def start_keyring(daemon: SecretServiceDaemon, unlock_password: str | None) -> None:
    """Start gnome-keyring-daemon on the bus; with a password it unlocks (or creates) the login keyring."""
    if shutil.which("gnome-keyring-daemon") is None:
        daemon.stop()
        unavailable(SERVICE, "`gnome-keyring-daemon` is not installed (apt install gnome-keyring)")
    command = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
    if unlock_password is not None:
        command.append("--unlock")
    daemon.keyring = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=daemon.env
    )
    daemon.keyring.stdin.write((unlock_password or "").encode())
    daemon.keyring.stdin.close()
    if not _wait_for_name(daemon.address, "org.freedesktop.secrets", daemon.keyring):
        daemon.stop()
        unavailable(SERVICE, "gnome-keyring-daemon did not appear on the D-Bus session bus")


def start_secret_service(root: Path, state: str = "unlocked") -> SecretServiceDaemon:
    """state: "unlocked"; "wrong-password" (login keyring exists, daemon given a wrong password);
    "never-unlocked" (no login keyring and no password: creating one needs a prompt that cannot show)."""
    daemon = start_bus(root)
    if state == "wrong-password":
        start_keyring(daemon, KEYRING_PASSWORD)  # creates the login keyring
        daemon.stop_keyring()
        start_keyring(daemon, "not-the-password")
    else:
        start_keyring(daemon, KEYRING_PASSWORD if state == "unlocked" else None)
    return daemon


def _wait_for_name(address: str, name: str, process: subprocess.Popen, timeout: float = 10) -> bool:
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import unwrap_msg

    deadline = time.monotonic() + timeout
    with open_dbus_connection(bus=address) as connection:
        while time.monotonic() < deadline and process.poll() is None:
            if unwrap_msg(connection.send_and_get_reply(message_bus.NameHasOwner(name), timeout=2))[0]:
                return True
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None and not stream.closed:
            stream.close()


def _use(daemon: SecretServiceDaemon, monkeypatch: pytest.MonkeyPatch) -> SecretServiceDaemon:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", daemon.address)
    return daemon


@pytest.fixture(scope="session")
def _shared_secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretServiceDaemon]:
    daemon = start_secret_service(tmp_path_factory.mktemp("secret-service"))
    yield daemon
    daemon.stop()


@pytest.fixture
def secret_service(_shared_secret_service: SecretServiceDaemon, monkeypatch: pytest.MonkeyPatch):
    """An unlocked Secret Service (shared by the session: use distinct session names per test)."""
    return _use(_shared_secret_service, monkeypatch)


@pytest.fixture
def own_secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretServiceDaemon]:
    """An unlocked Secret Service for this test alone (it may stop the daemon)."""
    daemon = start_secret_service(tmp_path / "secret-service")
    yield _use(daemon, monkeypatch)
    daemon.stop()


@pytest.fixture(params=["wrong-password", "never-unlocked"])
def locked_secret_service(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Secret Service whose login keyring stays locked: the usual state of an SSH login on a desktop machine."""
    daemon = start_secret_service(tmp_path / "secret-service", request.param)
    yield _use(daemon, monkeypatch)
    daemon.stop()


@pytest.fixture
def bus_without_secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A D-Bus session on which nothing provides the Secret Service."""
    daemon = start_bus(tmp_path / "bus")
    yield _use(daemon, monkeypatch)
    daemon.stop()
